"""Protocol edges of dispatch: streams cancelled at any moment, methods that
fail to start, calls missing their streams, and what a client's mistakes
write to the server's log. Checked on the wire against a real server."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from typing import Any, ClassVar

import httpx
import pytest
from starlette.applications import Starlette

from hubgen import HubError
from hubgen.server import HubOptions, HubRoute
from hubgen.server.dispatcher import ConnectionDispatcher
from tests.apps.echo.hub import EchoHubImpl, create_app
from tests.support.raw import RS, RawClient
from tests.support.server import serve


def record(message: dict[str, Any]) -> str:
    return json.dumps(message) + RS


def stream_invocation(invocation_id: str, target: str, *arguments: Any) -> str:
    return record(
        {"type": 4, "invocationId": invocation_id, "target": target, "arguments": list(arguments)}
    )


def cancel(invocation_id: str) -> str:
    return record({"type": 5, "invocationId": invocation_id})


def running_invocations() -> list[asyncio.Task[Any]]:
    """Tasks the server runs for streams and uploads (named after their ids)."""
    return [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("hubgen-invocation-") and not t.done()
    ]


async def completions(client: RawClient, count: int) -> dict[str, dict[str, Any]]:
    """The next ``count`` Completions, by invocation id; no stream item may
    follow its stream's Completion."""
    done: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(10):
        while len(done) < count:
            message = await client.recv()
            if message["type"] == 2:
                assert message["invocationId"] not in done, "an item after the Completion"
            elif message["type"] == 3:
                assert message["invocationId"] not in done, "two Completions"
                done[message["invocationId"]] = message
    return done


# -- a stream cancelled at any moment completes and leaves nothing behind -----------------


async def test_streams_cancelled_in_the_message_that_starts_them_complete(base_url: str) -> None:
    """The official client cancels right behind the invocation when a
    subscription is disposed at once. Read together, the cancel used to reach
    the stream's task before it started: no Completion ever, its id "already
    in use" for good, and ~1.7 KB kept per stream."""
    client = await RawClient.open(base_url)
    ids = [f"s{i}" for i in range(50)]
    for _ in range(2):  # the second round reuses every id
        await client.send_raw(
            "".join(stream_invocation(i, "Counter", 1000, 0.01) + cancel(i) for i in ids)
        )
        done = await completions(client, len(ids))
        assert all(m == {"type": 3, "invocationId": i} for i, m in done.items())
    await asyncio.sleep(0)
    assert running_invocations() == []
    # (the batch the official client sends: its send queue joins what is
    # queued in one tick into one WebSocket message)
    (dispatcher,) = [
        o
        for o in gc.get_objects()
        if type(o) is ConnectionDispatcher and o._connection.connection_id == client.connection_id
    ]
    assert not dispatcher._streams
    assert not dispatcher._canceled
    await client.close()


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.02, 0.1])
async def test_a_stream_cancelled_at_any_moment_completes_once(base_url: str, delay: float) -> None:
    client = await RawClient.open(base_url)
    for round_ in range(3):
        await client.send_raw(stream_invocation("s", "Counter", 10_000, 0.001))
        await asyncio.sleep(delay * round_)
        await client.send_raw(cancel("s"))
        assert (await completions(client, 1))["s"] == {"type": 3, "invocationId": "s"}
    assert running_invocations() == []
    await client.close()


async def test_a_cancel_after_the_stream_ended_is_ignored(base_url: str) -> None:
    client = await RawClient.open(base_url)
    await client.send_raw(stream_invocation("s", "Counter", 3))
    await completions(client, 1)
    await client.send_raw(cancel("s") + stream_invocation("s", "Counter", 2))
    assert (await completions(client, 1))["s"] == {"type": 3, "invocationId": "s"}
    await client.close()


async def test_streams_cancelled_in_the_post_that_starts_them_complete_over_long_polling(
    base_url: str,
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        negotiated = (await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")).json()
        url = f"{base_url}/echo?id={negotiated['connectionToken']}"
        await http.get(url)
        await http.post(url, content='{"protocol":"json","version":1}' + RS)
        ids = [f"s{i}" for i in range(20)]
        body = "".join(stream_invocation(i, "Counter", 1000, 0.01) + cancel(i) for i in ids)
        assert (await http.post(url, content=body)).status_code == 200
        received: list[dict[str, Any]] = []
        while sum(m["type"] == 3 for m in received) < len(ids):
            poll = await http.get(url)
            assert poll.status_code == 200
            received += [json.loads(r) for r in poll.text.split(RS)[:-1] if r != "{}"]
        done = [m for m in received if m["type"] == 3]
        assert sorted(m["invocationId"] for m in done) == sorted(ids)
        assert all("error" not in m for m in done)
        await http.delete(url)
    assert running_invocations() == []


# -- a streaming method that fails to start --------------------------------------------------


@pytest.mark.parametrize(
    ("detailed", "reason", "error"),
    [
        (False, "hub", "HubException: not today"),
        (False, "crash", None),
        (True, "crash", "RuntimeError: secret internals"),
    ],
)
async def test_a_stream_that_fails_to_start_is_a_failed_invocation(
    detailed: bool, reason: str, error: str | None
) -> None:
    """As ASP.NET Core reports a method that throws before it returns its
    stream; "while streaming" is for failures during the iteration."""
    async with serve(create_app(HubOptions(detailed_errors=detailed))) as base_url:
        client = await RawClient.open(base_url)
        await client.send_raw(stream_invocation("s", "RefusedStream", reason))
        expected = "An unexpected error occurred invoking 'RefusedStream' on the server."
        if error is not None:
            expected += " " + error
        assert (await completions(client, 1))["s"]["error"] == expected
        await client.send_raw(stream_invocation("t", "FailingStream", 1))
        assert (await completions(client, 1))["t"]["error"] == (
            "An error occurred on the server while streaming results. HubException: stream broke"
        )
        await client.close()


# -- a method that takes an upload, called without its stream --------------------------------


async def test_an_upload_method_called_without_its_stream_is_a_binding_error(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """It used to run with the argument missing: a TypeError traceback logged
    at ERROR as if the application had failed."""
    caplog.set_level(logging.DEBUG, logger="hubgen")
    client = await RawClient.open(base_url)
    expected = (
        "An unexpected error occurred invoking '{}' on the server. HubException: Client sent "
        "0 stream(s), Hub method expects 1 (stream parameter 'numbers')."
    )
    completion = await client.call("SumUpload")
    assert completion["error"] == expected.format("SumUpload")
    await client.send_raw(stream_invocation("d", "DoubleUpload"))
    assert (await completions(client, 1))["d"]["error"] == expected.format("DoubleUpload")
    await client.send({"type": 1, "target": "SumUpload", "arguments": []})  # fire and forget
    assert (await client.call("Echo", "still open"))["result"] == "still open"
    assert [r for r in caplog.records if r.levelno > logging.DEBUG] == []
    await client.close()


async def test_stream_ids_named_twice_open_nothing(base_url: str) -> None:
    client = await RawClient.open(base_url)
    invocation_id = await client.invoke("SumUpload", stream_ids=["u", "u"])
    assert (
        "Client sent 2 stream(s)" in (await client.expect(3, invocation_id=invocation_id))["error"]
    )
    invocation_id = await client.invoke("SumUpload", stream_ids=["u"])
    await client.send({"type": 2, "invocationId": "u", "item": 5})
    await client.send({"type": 3, "invocationId": "u"})
    assert (await client.expect(3, invocation_id=invocation_id))["result"] == 5
    await client.close()


# -- a client's mistakes are not the server's warnings -----------------------------------------

#: Every kind of mistake a client can make without breaking its connection.
MISTAKES = [
    {"type": 1, "target": "NoSuchMethod", "arguments": []},
    {"type": 1, "target": "Add", "arguments": ["not a number"]},
    {"type": 1, "target": "Add", "arguments": [1, 2, 3, 4]},
    {"type": 1, "target": "Counter", "arguments": [3]},  # a stream, invoked
    {"type": 1, "target": "SumUpload", "arguments": []},  # its stream missing
    {"type": 1, "target": "SumUpload", "arguments": [], "streamIds": ["a", "b"]},
    {"type": 1, "invocationId": "x", "target": "NoSuchMethod", "arguments": []},
    {"type": 4, "invocationId": "y", "target": "Echo", "arguments": ["not a stream"]},
    {"type": 4, "invocationId": "z", "target": "Counter", "arguments": ["three"]},
    {"type": 2, "invocationId": "no-such-upload", "item": 1},
    {"type": 3, "invocationId": "no-such-call", "result": 1},
    {"type": 5, "invocationId": "no-such-stream"},
    {"type": 99, "payload": "a message type from the future"},
]

#: Frames that end the connection they arrive on.
BAD_FRAMES = [
    '{"type":1,"target":"Echo"',  # arguments missing
    "not json at all",
    '{"type":"one"}',
    '{"type":1,"invocationId":7,"target":"Echo","arguments":[]}',
    "x" * 40_000,  # over max_message_size
]


async def test_client_mistakes_are_logged_at_debug_only(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """100k fuzzed frames used to write a 3.9 MB log: every bad
    fire-and-forget call and every bad frame was a WARNING."""
    caplog.set_level(logging.DEBUG, logger="hubgen")
    client = await RawClient.open(base_url)
    for _ in range(20):
        await client.send_raw("".join(record(m) for m in MISTAKES))
    assert (await client.call("Echo", "still open", timeout=10))["result"] == "still open"
    await client.send({"type": 7, "error": "the client's own reason"})
    for frame in BAD_FRAMES:
        bad = await RawClient.open(base_url)
        await bad.send_raw(frame + RS)
        assert (await bad.expect(7))["error"] == "Connection closed with an error."
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert loud == [], [r.getMessage() for r in loud]
    debug = [r for r in caplog.records if r.name.startswith("hubgen")]
    assert debug, "the mistakes are still there to see at debug level"

    # the server's own failures stay loud
    other = await RawClient.open(base_url)
    await other.send({"type": 1, "target": "Crash", "arguments": []})
    assert (await other.call("Echo", "after"))["result"] == "after"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == "hub method EchoHub.crash raised"
    await other.close()


# -- a client result asked too early -------------------------------------------------------


class AsksOnConnected(EchoHubImpl):
    """Asks its caller a question from on_connected."""

    answers: ClassVar[list[str]] = []

    async def on_connected(self) -> None:
        try:
            self.answers.append(str(await self.clients.caller.ask("too early?")))
        except HubError as exc:
            self.answers.append(exc.message)


async def test_a_client_result_asked_in_on_connected_fails_at_once() -> None:
    """The connection's messages are read from when on_connected returns: the
    question could not be answered, and used to hang the connection for
    client_result_timeout (30 s) before anything else worked."""
    AsksOnConnected.answers = []
    app = Starlette(routes=[HubRoute("/echo", AsksOnConnected)])
    async with serve(app) as base_url:
        client = await RawClient.open(base_url)
        assert (await client.call("Echo", "straight away", timeout=2))["result"] == "straight away"
        assert AsksOnConnected.answers == [
            f"Connection '{client.connection_id}' cannot answer a client result before its "
            "on_connected has returned: what it sends is read from then on."
        ]
        await client.close()
