"""What the client puts on the wire, and how it copes with a misbehaving server.

The server here is a scripted peer (tests/client/peers.py) that speaks JSON by
hand: it shows the client's exact messages and frames, and does what the real
server never does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from hubgen.client import (
    ConnectionClosedError,
    ConnectionLostError,
    HandshakeError,
    HubConnection,
    HubConnectionError,
    HubConnectionState,
    TransportError,
)
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.client.peers import RS, Peer, PeerSocket, idle

pytestmark = pytest.mark.timeout(30)

ServePeer = Callable[[Peer], AbstractAsyncContextManager[str]]
SERVER_TIMEOUT = "Server timeout elapsed without receiving a message from the server."


def state_of(connection: HubConnection) -> HubConnectionState:
    """The state, read through a call so that mypy does not narrow it."""
    return connection.state


def on_close_queue(connection: HubConnection) -> asyncio.Queue[Exception | None]:
    queue: asyncio.Queue[Exception | None] = asyncio.Queue()
    connection.on_close(queue.put_nowait)
    return queue


async def next_close(queue: asyncio.Queue[Exception | None]) -> Exception | None:
    return await asyncio.wait_for(queue.get(), 5)


# -- the handshake -------------------------------------------------------------------------


async def test_json_handshake_ping_messages_and_close(serve_peer: ServePeer) -> None:
    seen: list[dict[str, Any]] = []

    async def script(socket: PeerSocket) -> None:
        seen.append(await socket.handshake())
        for _ in range(4):
            message = await socket.message(skip_pings=False)
            assert message is not None
            seen.append(message)
            if message["type"] == 1:
                await socket.send_messages(
                    {"type": 3, "invocationId": message["invocationId"], "result": 1}
                )
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        async with HubConnection(url) as connection:
            await connection.invoke("First", "a")
            await connection.invoke("Second")
        await asyncio.wait_for(peer.disconnected.wait(), 5)
    assert seen == [
        {"protocol": "json", "version": 1},
        {"type": 6},  # the official client pings right after the handshake
        {"type": 1, "invocationId": "0", "target": "First", "arguments": ["a"]},
        {"type": 1, "invocationId": "1", "target": "Second", "arguments": []},
        {"type": 7},  # stop(): a Close message...
    ]
    assert peer.close_code == 1000  # ...then a normal WebSocket close
    assert all(isinstance(frame, str) for frame in peer.frames)


async def test_messagepack_handshake_is_text_then_binary_frames(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        assert await socket.handshake() == {"protocol": "messagepack", "version": 1}
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        async with HubConnection(url, protocol="messagepack"):
            pass
        await asyncio.wait_for(peer.disconnected.wait(), 5)
    handshake, *rest = peer.frames
    assert isinstance(handshake, str)
    # Ping [6] then Close [7, nil, false], each VarInt-length-prefixed, as bytes.
    assert b"".join(f for f in rest if isinstance(f, bytes)) == b"\x02\x91\x06\x04\x93\x07\xc0\xc2"
    assert all(isinstance(frame, bytes) for frame in rest)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ('{"error":"not today"}' + RS, "Server returned handshake error: not today"),
        (
            '{"type":6}' + RS,
            "Error parsing handshake response: Expected a handshake response from the server.",
        ),
        ("not json" + RS, "Error parsing handshake response: "),
    ],
)
async def test_bad_handshake_responses(serve_peer: ServePeer, response: str, error: str) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake(response)
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        with pytest.raises(HandshakeError) as caught:
            await connection.start()
        assert str(caught.value).startswith(error)
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        await asyncio.wait_for(peer.disconnected.wait(), 5)  # the client closed the socket


async def test_connection_closed_during_the_handshake(serve_peer: ServePeer) -> None:
    async def close_cleanly(socket: PeerSocket) -> None:
        await socket.handshake(response="")
        await socket.close(1000)

    async def close_with_error(socket: PeerSocket) -> None:
        await socket.handshake(response="")
        await socket.close(1011, "internal failure")

    async with serve_peer(Peer(close_cleanly)) as url:
        with pytest.raises(
            HandshakeError,
            match=r"^The underlying connection was closed before the hub handshake could "
            r"complete\.$",
        ):
            await HubConnection(url).start()
    async with serve_peer(Peer(close_with_error)) as url:
        with pytest.raises(
            TransportError,
            match=r"^WebSocket closed with status code: 1011 \(internal failure\)\.$",
        ):
            await HubConnection(url).start()


async def test_handshake_timeout(serve_peer: ServePeer) -> None:
    async def silent(socket: PeerSocket) -> None:
        await socket.handshake(response="")
        await socket.drain()

    peer = Peer(silent)
    async with serve_peer(peer) as url:
        connection = HubConnection(url, handshake_timeout=0.2)
        with pytest.raises(
            HandshakeError,
            match=r"^The server did not answer the handshake within 0\.2 seconds\.$",
        ):
            await connection.start()
        assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_stop_during_start(serve_peer: ServePeer) -> None:
    async def silent(socket: PeerSocket) -> None:
        await socket.handshake(response="")
        await socket.drain()

    peer = Peer(silent)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        starting = asyncio.create_task(connection.start())
        await asyncio.wait_for(peer.handshake_received.wait(), 5)
        assert state_of(connection) is HubConnectionState.CONNECTING
        await connection.stop()
        with pytest.raises(
            HubConnectionError,
            match=r"^The connection was stopped before the hub handshake could complete\.$",
        ):
            await starting
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        await asyncio.wait_for(peer.disconnected.wait(), 5)


async def test_cancelling_start_cleans_up(serve_peer: ServePeer) -> None:
    async def silent(socket: PeerSocket) -> None:
        await socket.handshake(response="")
        await socket.drain()

    peer = Peer(silent)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        starting = asyncio.create_task(connection.start())
        await asyncio.wait_for(peer.handshake_received.wait(), 5)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        await asyncio.wait_for(peer.disconnected.wait(), 5)


# -- after the handshake -------------------------------------------------------------------


async def test_server_timeout(serve_peer: ServePeer) -> None:
    peer = Peer(idle)  # answers the handshake, then never says anything
    async with serve_peer(peer) as url:
        connection = HubConnection(url, server_timeout=0.3, keep_alive_interval=0.05)
        closes = on_close_queue(connection)
        await connection.start()
        lost = f"The connection to the server was lost: {SERVER_TIMEOUT}"
        with pytest.raises(ConnectionLostError, match=f"^{lost}$") as caught:
            await connection.invoke("NeverAnswered")
        assert str(caught.value.__cause__) == SERVER_TIMEOUT
        error = await next_close(closes)
        assert isinstance(error, HubConnectionError)
        assert str(error) == SERVER_TIMEOUT
        assert state_of(connection) is HubConnectionState.DISCONNECTED
    # Meanwhile the client kept pinging the silent server.
    pings = [f for f in peer.frames if f == '{"type":6}' + RS]
    assert len(pings) >= 2


async def test_many_messages_in_one_frame(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        request = await socket.receive()
        assert request == '{"protocol":"json","version":1}' + RS
        socket.peer.handshake_received.set()
        # The handshake response and a push in one frame.
        await socket.send(
            "{}" + RS + json.dumps({"type": 1, "target": "Push", "arguments": [0]}) + RS
        )
        first = await socket.message()
        second = await socket.message()
        assert first is not None
        assert second is not None
        # Both completions and two more pushes in one frame.
        await socket.send_messages(
            {"type": 3, "invocationId": second["invocationId"], "result": "second"},
            {"type": 1, "target": "Push", "arguments": [1]},
            {"type": 3, "invocationId": first["invocationId"], "result": "first"},
            {"type": 1, "target": "push", "arguments": [2]},
        )
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        pushes: asyncio.Queue[int] = asyncio.Queue()
        connection.on("PUSH", pushes.put)
        async with connection:
            results = await asyncio.gather(connection.invoke("A"), connection.invoke("B"))
            assert list(results) == ["first", "second"]
            assert [await asyncio.wait_for(pushes.get(), 5) for _ in range(3)] == [0, 1, 2]


async def test_close_message_with_error_and_allow_reconnect(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        await socket.message()
        await socket.send_messages({"type": 7, "error": "going down", "allowReconnect": True})
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        closes = on_close_queue(connection)
        await connection.start()
        expected = "Server returned an error on close: going down"
        with pytest.raises(ConnectionClosedError, match=f"^{expected}$"):
            await connection.invoke("Anything")
        assert str(await next_close(closes)) == expected


async def test_garbage_from_the_server_closes_with_an_error(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        await socket.send("{this is not json" + RS)
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        closes = on_close_queue(connection)
        await connection.start()
        error = await next_close(closes)
        assert str(error).startswith("The server sent data that is not a valid message: ")


async def test_unknown_completions_and_message_types_are_ignored(
    serve_peer: ServePeer, caplog: pytest.LogCaptureFixture
) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        message = await socket.message()
        assert message is not None
        await socket.send_messages(
            {"type": 3, "invocationId": "999", "result": "nobody asked"},
            {"type": 42, "future": True},
            {"type": 5, "invocationId": "x"},  # CancelInvocation is not for clients
            {"type": 3, "invocationId": message["invocationId"], "result": "ok"},
        )
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url, HubConnection(url) as connection:
        with caplog.at_level(logging.WARNING, logger="hubgen.client"):
            assert await connection.invoke("Call") == "ok"
        assert "Invalid message type: 5." in caplog.text


async def test_invocation_and_stream_ids_share_one_counter(serve_peer: ServePeer) -> None:
    fire_and_forget_done = asyncio.Event()

    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        messages: list[dict[str, Any]] = []
        waiting: dict[str, str] = {}  # upload stream id -> invocation to complete after it
        while (message := await socket.message()) is not None:
            messages.append(message)
            if message["type"] == 1 and "invocationId" in message:
                if "streamIds" in message:
                    waiting[message["streamIds"][0]] = message["invocationId"]
                else:
                    await socket.send_messages(
                        {"type": 3, "invocationId": message["invocationId"], "result": None}
                    )
            if message == {"type": 3, "invocationId": "4"}:
                fire_and_forget_done.set()
            if message["type"] == 3 and message["invocationId"] in waiting:
                await socket.send_messages(
                    {"type": 3, "invocationId": waiting.pop(message["invocationId"])}
                )
            if message["type"] == 4:
                await socket.send_messages(
                    {"type": 2, "invocationId": message["invocationId"], "item": "x"},
                    {"type": 3, "invocationId": message["invocationId"]},
                )
        socket.peer.messages = messages  # type: ignore[attr-defined]

    async def two() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    peer = Peer(script)
    async with serve_peer(peer) as url:
        async with HubConnection(url) as connection:
            await connection.invoke("Plain", 1)
            await connection.invoke("Upload", 1, two())
            assert [item async for item in connection.stream("Download")] == ["x"]
            await connection.send("FireAndForget", two())
            await asyncio.wait_for(fire_and_forget_done.wait(), 5)
        await asyncio.wait_for(peer.done.wait(), 5)
    messages = peer.messages  # type: ignore[attr-defined]
    assert messages[:2] == [
        {"type": 1, "invocationId": "0", "target": "Plain", "arguments": [1]},
        # Upload stream ids are taken from the counter before the invocation id.
        {"type": 1, "invocationId": "2", "target": "Upload", "arguments": [1], "streamIds": ["1"]},
    ]
    assert messages[2:5] == [
        {"type": 2, "invocationId": "1", "item": "a"},
        {"type": 2, "invocationId": "1", "item": "b"},
        {"type": 3, "invocationId": "1"},
    ]
    assert messages[5] == {"type": 4, "invocationId": "3", "target": "Download", "arguments": []}
    assert messages[6:] == [
        {"type": 1, "target": "FireAndForget", "arguments": [], "streamIds": ["4"]},
        {"type": 2, "invocationId": "4", "item": "a"},
        {"type": 2, "invocationId": "4", "item": "b"},
        {"type": 3, "invocationId": "4"},
        {"type": 7},
    ]


async def test_arguments_that_do_not_bind_are_logged_and_answered(
    serve_peer: ServePeer, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[dict[str, Any]] = []

    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        await socket.send_messages(
            {"type": 1, "target": "Message", "arguments": [123]},  # not a string
            {"type": 1, "invocationId": "s1", "target": "Ask", "arguments": [[]]},
            {"type": 1, "target": "Message", "arguments": ["fine"]},
        )
        answer = await socket.message()
        assert answer is not None
        answers.append(answer)
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        hub = EchoHubClient(connection)
        messages: asyncio.Queue[str] = asyncio.Queue()
        hub.on_message(messages.put)

        async def ask(question: str) -> int:
            return 1

        hub.on_ask(ask)
        with caplog.at_level(logging.ERROR, logger="hubgen.client"):
            async with connection:
                assert await asyncio.wait_for(messages.get(), 5) == "fine"
                assert state_of(connection) is HubConnectionState.CONNECTED
        await asyncio.wait_for(peer.done.wait(), 5)
    assert "Cannot handle the server's call to 'Message': EchoClient.message: " in caplog.text
    assert "argument 'text'" in caplog.text
    (answer,) = answers
    assert answer["type"] == 3
    assert answer["invocationId"] == "s1"
    assert answer["error"].startswith("EchoClient.ask: Error binding argument 'question'")


async def test_stream_items_that_do_not_match_the_contract(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        message = await socket.message()
        assert message is not None
        assert message["type"] == 4
        await socket.send_messages(
            {"type": 2, "invocationId": message["invocationId"], "item": 0},
            {"type": 2, "invocationId": message["invocationId"], "item": "not a number"},
        )
        cancel = await socket.message()
        assert cancel == {"type": 5, "invocationId": message["invocationId"]}
        await socket.drain()

    peer = Peer(script)
    async with serve_peer(peer) as url, HubConnection(url) as connection:
        received: list[int] = []

        async def collect() -> None:
            async for n in EchoHubClient(connection).counter(5):
                received.append(n)

        with pytest.raises(ValueError, match=r"EchoHub\.counter: an item from the server does"):
            await collect()
        assert received == [0]


async def test_uploads_stop_when_the_invocation_completes(serve_peer: ServePeer) -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        message = await socket.message()
        assert message is not None
        # The server answers without reading the whole stream.
        await socket.send_messages({"type": 3, "invocationId": message["invocationId"]})
        await socket.drain()

    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    peer = Peer(script)
    async with serve_peer(peer) as url, HubConnection(url) as connection:
        assert await connection.invoke("TakesAStream", endless()) is None
        await asyncio.wait_for(closed.wait(), 5)  # the source was closed, not left running
