"""Hub behaviour over WebSockets + JSON, checked on the wire."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from hubgen.server import HubOptions
from tests.apps.echo.hub import EVENTS, create_app
from tests.support.raw import RS, RawClient
from tests.support.server import serve

# -- handshake ---------------------------------------------------------------------------


async def test_handshake_response_is_exactly_empty_object(base_url: str) -> None:
    client = await RawClient.open(base_url, handshake=False)
    assert await client.handshake() == "{}" + RS
    await client.close()


@pytest.mark.parametrize(
    ("request_text", "error"),
    [
        ('{"protocol":"xml","version":1}', "The protocol 'xml' is not supported."),
        (
            '{"protocol":"json","version":3}',
            "The server does not support version 3 of the 'json' protocol.",
        ),
    ],
)
async def test_handshake_errors(base_url: str, request_text: str, error: str) -> None:
    client = await RawClient.open(base_url, handshake=False)
    await client.send_raw(request_text + RS)
    frame = await asyncio.wait_for(client.ws.recv(), 5)
    assert json.loads(str(frame).rstrip(RS)) == {"error": error}
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(client.ws.recv(), 5)


async def test_handshake_timeout_cancels_the_handshake() -> None:
    async with serve(create_app(HubOptions(handshake_timeout=0.2))) as base_url:
        client = await RawClient.open(base_url, handshake=False)
        frame = await asyncio.wait_for(client.ws.recv(), 5)
        assert json.loads(str(frame).rstrip(RS)) == {"error": "Handshake was canceled."}


async def test_handshake_split_across_frames_and_followed_by_a_message(base_url: str) -> None:
    client = await RawClient.open(base_url, handshake=False)
    await client.send_raw('{"protocol":"js')
    await client.send_raw(
        'on","version":1}'
        + RS
        + '{"type":1,"invocationId":"7","target":"Echo","arguments":["x"]}'
        + RS
    )
    frame = await asyncio.wait_for(client.ws.recv(), 5)
    assert frame == "{}" + RS
    completion = await client.expect(3, invocation_id="7")
    assert completion["result"] == "x"
    await client.close()


# -- invocations -------------------------------------------------------------------------


async def test_invoke_returns_result_in_dotnet_property_order(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send(
        {"arguments": ["hi"], "invocationId": "0", "target": "Echo", "type": 1}
    )  # the JS client's order
    frame = await asyncio.wait_for(client.ws.recv(), 5)
    assert frame == '{"type":3,"invocationId":"0","result":"hi"}' + RS
    await client.close()


async def test_method_names_match_ignoring_case(base_url: str) -> None:
    client = await RawClient.open(base_url)
    assert (await client.call("eCHo", "x"))["result"] == "x"
    await client.close()


async def test_void_method_completes_with_null_result(base_url: str) -> None:
    client = await RawClient.open(base_url)
    completion = await client.call("Join", "g")
    assert completion == {"type": 3, "invocationId": completion["invocationId"], "result": None}
    await client.close()


async def test_defaults_fill_missing_trailing_arguments(base_url: str) -> None:
    client = await RawClient.open(base_url)
    assert (await client.call("Add", 1))["result"] == 11
    assert (await client.call("Add", 1, 2))["result"] == 3
    await client.close()


async def test_fire_and_forget_gets_no_completion_even_on_error(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send({"type": 1, "target": "Crash", "arguments": []})
    await client.send({"type": 1, "target": "Nope", "arguments": []})
    await client.send({"type": 1, "target": "SendCaller", "arguments": ["done"]})
    message = await client.expect(1)
    assert message == {"type": 1, "target": "Message", "arguments": ["done"]}
    await client.close()


async def test_model_round_trip_uses_wire_names_and_codec_rules(base_url: str) -> None:
    client = await RawClient.open(base_url)
    item = {
        "name": "box",
        "quantity": 3,
        "tags": ["a"],
        "color": "green",
        "createdAt": "2024-05-01T12:30:00Z",
        "payload": "+/8=",
    }
    completion = await client.call("EchoItem", item)
    assert completion["result"] == item
    minimal = await client.call("EchoItem", {"name": "n"})
    assert minimal["result"] == {
        "name": "n",
        "quantity": 1,
        "tags": [],
        "color": "red",
        "createdAt": None,
        "payload": "",
    }
    await client.close()


@pytest.mark.parametrize(
    ("target", "args", "error"),
    [
        (
            "Nope",
            [],
            "Failed to invoke 'Nope' due to an error on the server. "
            "HubException: Method does not exist.",
        ),
        (
            "Echo",
            [],
            "Failed to invoke 'Echo' due to an error on the server. "
            "InvalidDataException: Invocation provides 0 argument(s) but target expects 1.",
        ),
        (
            "Add",
            [1, 2, 3],
            "Failed to invoke 'Add' due to an error on the server. "
            "InvalidDataException: Invocation provides 3 argument(s) but target expects 1 to 2.",
        ),
        (
            "Add",
            ["one"],
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: "
            "Error binding argument 'a' (position 0): Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            "EchoItem",
            [{"name": "x", "quantity": "many"}],
            "Failed to invoke 'EchoItem' due to an error on the server. InvalidDataException: "
            "Error binding argument 'item' (position 0): quantity: Input should be a valid "
            "integer, unable to parse string as an integer",
        ),
        (
            "Fail",
            ["nope"],
            "An unexpected error occurred invoking 'Fail' on the server. HubException: nope",
        ),
        ("Crash", [], "An unexpected error occurred invoking 'Crash' on the server."),
        ("WrongResult", [], "An unexpected error occurred invoking 'WrongResult' on the server."),
        (
            "Counter",
            [3],
            "The client attempted to invoke the streaming 'Counter' method with a "
            "non-streaming invocation.",
        ),
    ],
)
async def test_errors_come_back_as_completions_and_connection_survives(
    base_url: str, target: str, args: list[object], error: str
) -> None:
    client = await RawClient.open(base_url)
    completion = await client.call(target, *args)
    assert completion.get("error") == error
    assert "result" not in completion
    assert (await client.call("Echo", "still here"))["result"] == "still here"
    await client.close()


async def test_detailed_errors_add_the_exception() -> None:
    async with serve(create_app(HubOptions(detailed_errors=True))) as base_url:
        client = await RawClient.open(base_url)
        completion = await client.call("Crash")
        assert completion["error"] == (
            "An unexpected error occurred invoking 'Crash' on the server. "
            "RuntimeError: secret internals"
        )
        await client.close()


async def test_invocations_run_in_order_one_at_a_time_by_default(base_url: str) -> None:
    client = await RawClient.open(base_url)
    slow = await client.invoke("Sleep", 0.2)
    fast = await client.invoke("Echo", "fast")
    first = await client.expect(3)
    second = await client.expect(3)
    assert [first["invocationId"], second["invocationId"]] == [slow, fast]
    await client.close()


async def test_parallel_invocations_when_allowed() -> None:
    async with serve(create_app(HubOptions(max_parallel_invocations=2))) as base_url:
        client = await RawClient.open(base_url)
        slow = await client.invoke("Sleep", 0.3)
        fast = await client.invoke("Echo", "fast")
        first = await client.expect(3)
        assert first["invocationId"] == fast
        assert (await client.expect(3))["invocationId"] == slow
        await client.close()


async def test_many_invocations_on_one_connection(base_url: str) -> None:
    client = await RawClient.open(base_url)
    ids = [await client.invoke("Add", i, i) for i in range(300)]
    results = {}
    for _ in ids:
        completion = await client.expect(3)
        results[completion["invocationId"]] = completion["result"]
    assert [results[i] for i in ids] == [2 * n for n in range(300)]
    await client.close()


async def test_batched_messages_in_one_frame(base_url: str) -> None:
    client = await RawClient.open(base_url)
    batch = "".join(
        json.dumps({"type": 1, "invocationId": f"b{i}", "target": "Echo", "arguments": [i]}) + RS
        for i in range(3)
    )
    await client.send_raw(batch[:10])
    await client.send_raw(batch[10:])
    assert [(await client.expect(3))["invocationId"] for _ in range(3)] == ["b0", "b1", "b2"]
    await client.close()


# -- addressing clients ------------------------------------------------------------------


async def test_all_others_caller_and_one_client(base_url: str) -> None:
    a = await RawClient.open(base_url)
    b = await RawClient.open(base_url)
    await a.call("Broadcast", "to all")
    for client in (a, b):
        assert (await client.expect(1))["arguments"] == ["to all"]
    await a.call("SendOthers", "to others")
    assert (await b.expect(1))["arguments"] == ["to others"]
    await a.call("SendCaller", "to caller")
    assert (await a.expect(1))["arguments"] == ["to caller"]
    await a.call("SendTo", b.connection_id, "direct")
    assert (await b.expect(1))["arguments"] == ["direct"]
    # a got exactly the two messages meant for it
    assert (await a.call("Echo", "end"))["result"] == "end"
    assert [m["arguments"] for m in a.unclaimed] == []
    assert [m["arguments"] for m in b.unclaimed] == []
    await a.close()
    await b.close()


async def test_groups(base_url: str) -> None:
    a = await RawClient.open(base_url)
    b = await RawClient.open(base_url)
    c = await RawClient.open(base_url)
    await a.call("Join", "room")
    await b.call("Join", "room")
    await c.call("SendGroup", "room", "hello room")
    assert (await a.expect(1))["arguments"] == ["hello room"]
    assert (await b.expect(1))["arguments"] == ["hello room"]
    await a.call("SendOthersInGroup", "room", "not to a")
    assert (await b.expect(1))["arguments"] == ["not to a"]
    await b.call("Leave", "room")
    await c.call("SendGroup", "room", "only a")
    assert (await a.expect(1))["arguments"] == ["only a"]
    assert (await b.call("Echo", "b idle"))["result"] == "b idle"
    assert (await c.call("Echo", "c idle"))["result"] == "c idle"
    for client in (a, b, c):
        assert client.unclaimed == []
        await client.close()


async def test_pushed_models_are_encoded_once_per_protocol_with_wire_names(base_url: str) -> None:
    a = await RawClient.open(base_url)
    b = await RawClient.open(base_url)
    await a.call("SendItemToAll", {"name": "x", "payload": "AAE="})
    for client in (a, b):
        message = await client.expect(1)
        assert message["target"] == "ItemReceived"
        assert message["arguments"][0]["payload"] == "AAE="
        assert message["arguments"][0]["createdAt"] is None
    await a.close()
    await b.close()


# -- streams -----------------------------------------------------------------------------


async def test_server_stream_items_then_empty_completion(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [3]})
    items = [(await client.expect(2, invocation_id="s"))["item"] for _ in range(3)]
    assert items == [0, 1, 2]
    assert await client.expect(3, invocation_id="s") == {"type": 3, "invocationId": "s"}
    await client.close()


async def test_cancel_invocation_stops_the_stream(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send(
        {"type": 4, "invocationId": "s", "target": "Counter", "arguments": [1000, 0.01]}
    )
    await client.expect(2, invocation_id="s")
    await client.send({"type": 5, "invocationId": "s"})
    while (message := await client.recv())["type"] == 2:
        pass
    assert message == {"type": 3, "invocationId": "s"}
    assert (await client.call("Echo", "after"))["result"] == "after"
    await client.close()


async def test_stream_error_ends_with_error_completion(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send({"type": 4, "invocationId": "s", "target": "FailingStream", "arguments": [2]})
    assert (await client.expect(2))["item"] == 0
    assert (await client.expect(2))["item"] == 1
    assert (await client.expect(3))["error"] == (
        "An error occurred on the server while streaming results. HubException: stream broke"
    )
    await client.close()


async def test_stream_invocation_of_non_streaming_method_is_refused(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send({"type": 4, "invocationId": "s", "target": "Echo", "arguments": ["x"]})
    assert (await client.expect(3))["error"] == (
        "The client attempted to invoke the non-streaming 'Echo' method with a "
        "streaming invocation."
    )
    await client.close()


async def test_duplicate_stream_invocation_id_is_refused(base_url: str) -> None:
    client = await RawClient.open(base_url)
    start = {"type": 4, "invocationId": "s", "target": "Counter", "arguments": [1000, 0.05]}
    await client.send(start)
    await client.send(start)
    while (message := await client.recv())["type"] != 3:
        pass
    assert message["error"] == "Invocation ID 's' is already in use."
    await client.send({"type": 5, "invocationId": "s"})
    await client.close()


async def test_upload_stream_feeds_the_method(base_url: str) -> None:
    client = await RawClient.open(base_url)
    invocation_id = await client.invoke("SumUpload", stream_ids=["u1"])
    for n in range(1, 26):  # more than the stream buffer capacity
        await client.send({"type": 2, "invocationId": "u1", "item": n})
    await client.send({"type": 3, "invocationId": "u1"})
    assert (await client.expect(3, invocation_id=invocation_id))["result"] == 325
    await client.close()


async def test_upload_stream_error_reaches_the_method(base_url: str) -> None:
    client = await RawClient.open(base_url)
    invocation_id = await client.invoke("SumUpload", stream_ids=["u1"])
    await client.send({"type": 2, "invocationId": "u1", "item": 1})
    await client.send({"type": 3, "invocationId": "u1", "error": "client gave up"})
    assert (await client.expect(3, invocation_id=invocation_id))["error"] == (
        "An unexpected error occurred invoking 'SumUpload' on the server. "
        "HubException: client gave up"
    )
    await client.close()


async def test_upload_stream_count_mismatch(base_url: str) -> None:
    client = await RawClient.open(base_url)
    invocation_id = await client.invoke("SumUpload", stream_ids=["u1", "u2"])
    assert (await client.expect(3, invocation_id=invocation_id))["error"] == (
        "An unexpected error occurred invoking 'SumUpload' on the server. "
        "HubException: Client sent 2 stream(s), Hub method expects 1 "
        "(stream parameter 'numbers')."
    )
    await client.close()


async def test_stream_in_both_directions(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send(
        {
            "type": 4,
            "invocationId": "s",
            "target": "DoubleUpload",
            "arguments": [],
            "streamIds": ["u"],
        }
    )
    for n in (1, 2, 3):
        await client.send({"type": 2, "invocationId": "u", "item": n})
        assert (await client.expect(2, invocation_id="s"))["item"] == 2 * n
    await client.send({"type": 3, "invocationId": "u"})
    assert await client.expect(3, invocation_id="s") == {"type": 3, "invocationId": "s"}
    await client.close()


# -- client results ----------------------------------------------------------------------


async def test_client_result_from_the_caller_does_not_deadlock(base_url: str) -> None:
    client = await RawClient.open(base_url)
    call = await client.invoke("AskCaller", "six times seven?")
    request = await client.expect(1)
    assert request["target"] == "Ask"
    assert request["arguments"] == ["six times seven?"]
    assert len(request["invocationId"]) == 22
    await client.send({"type": 3, "invocationId": request["invocationId"], "result": 42})
    assert (await client.expect(3, invocation_id=call))["result"] == 42
    await client.close()


async def test_client_result_from_another_connection(base_url: str) -> None:
    asker = await RawClient.open(base_url)
    answerer = await RawClient.open(base_url)
    call = await asker.invoke("AskClient", answerer.connection_id, "?")
    request = await answerer.expect(1)
    await answerer.send(
        {
            "type": 3,
            "invocationId": request["invocationId"],
            "error": "Client didn't provide a result.",
        }
    )
    assert (await asker.expect(3, invocation_id=call))["error"] == (
        "An unexpected error occurred invoking 'AskClient' on the server. "
        "HubException: Client didn't provide a result."
    )
    await asker.close()
    await answerer.close()


async def test_client_result_of_the_wrong_type_is_an_error(base_url: str) -> None:
    client = await RawClient.open(base_url)
    call = await client.invoke("AskCaller", "?")
    request = await client.expect(1)
    await client.send({"type": 3, "invocationId": request["invocationId"], "result": "many"})
    error = (await client.expect(3, invocation_id=call))["error"]
    assert error.startswith(
        "An unexpected error occurred invoking 'AskCaller' on the server. HubException: "
        "The client's result for 'Ask' does not match the contract:"
    )
    await client.close()


async def test_client_result_when_the_client_disconnects(base_url: str) -> None:
    asker = await RawClient.open(base_url)
    answerer = await RawClient.open(base_url)
    call = await asker.invoke("AskClient", answerer.connection_id, "?")
    await answerer.expect(1)
    await answerer.close()
    assert (await asker.expect(3, invocation_id=call))["error"] == (
        "An unexpected error occurred invoking 'AskClient' on the server. "
        f"HubException: Connection '{answerer.connection_id}' disconnected."
    )
    await asker.close()


async def test_client_result_for_unknown_connection(base_url: str) -> None:
    client = await RawClient.open(base_url)
    assert (await client.call("AskClient", "nobody", "?"))["error"] == (
        "An unexpected error occurred invoking 'AskClient' on the server. "
        "HubException: Connection 'nobody' does not exist."
    )
    await client.close()


async def test_client_result_timeout() -> None:
    async with serve(create_app(HubOptions(client_result_timeout=0.2))) as base_url:
        client = await RawClient.open(base_url)
        call = await client.invoke("AskCaller", "?")
        await client.expect(1)
        assert (await client.expect(3, invocation_id=call))["error"] == (
            "An unexpected error occurred invoking 'AskCaller' on the server."
        )
        await client.close()


# -- connection lifetime -----------------------------------------------------------------


async def test_connect_and_disconnect_hooks(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.call("Echo", "x")
    await client.send({"type": 7})
    with pytest.raises(ConnectionClosed):
        await client.recv(timeout=5)
    await asyncio.sleep(0.1)
    recorded = list(EVENTS)
    assert recorded == [
        ("connected", client.connection_id, None),
        ("disconnected", client.connection_id, None),
    ]


async def test_abort_from_hub_sends_close_without_reconnect(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.invoke("AbortMe")
    assert await client.expect(7) == {"type": 7}
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert client.ws.close_code == 1000


async def test_malformed_message_closes_with_error_and_others_go_on(base_url: str) -> None:
    bad = await RawClient.open(base_url)
    good = await RawClient.open(base_url)
    await bad.send_raw('{"type":1,"target":"Echo"' + RS)
    close = await bad.expect(7)
    assert close == {"type": 7, "error": "Connection closed with an error."}
    assert (await good.call("Echo", "fine"))["result"] == "fine"
    await good.close()


async def test_oversized_message_closes_the_connection() -> None:
    options = HubOptions(max_message_size=1000, detailed_errors=True)
    async with serve(create_app(options)) as base_url:
        client = await RawClient.open(base_url)
        await client.invoke("Echo", "x" * 2000)
        close = await client.expect(7)
        assert "The maximum message size of 1000B was exceeded." in close["error"]


async def test_server_pings_on_keep_alive_interval() -> None:
    async with serve(create_app(HubOptions(keep_alive_interval=0.2))) as base_url:
        client = await RawClient.open(base_url)
        assert await client.recv(timeout=2) == {"type": 6}
        await client.close()


async def test_silent_client_times_out_after_its_first_ping() -> None:
    options = HubOptions(client_timeout=0.3, keep_alive_interval=10)
    async with serve(create_app(options)) as base_url:
        client = await RawClient.open(base_url)
        await client.send({"type": 6})
        close = await client.expect(7, timeout=3)
        assert close == {
            "type": 7,
            "error": "Connection closed with an error. ClientTimedOut: Client hasn't sent "
            "a message/ping within the configured client_timeout.",
            "allowReconnect": True,
        }


async def test_route_clients_reach_connections_from_outside_hub_methods() -> None:
    app = create_app()
    async with serve(app) as base_url:
        client = await RawClient.open(base_url)
        await client.call("Join", "news")
        await app.state.hub.clients.group("news").message("extra!")
        assert (await client.expect(1))["arguments"] == ["extra!"]
        assert app.state.hub.connection_count == 1
        await client.close()
