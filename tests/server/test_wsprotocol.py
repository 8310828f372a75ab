"""hubgen's own WebSocket protocol (hubgen.server.wsprotocol) under uvicorn:
what is specific to it, always on it whatever HUBGEN_TEST_WS says (the
whole suite runs on it too, see tests/support/server.py).

Bad frames over real sockets close only their connection, with the code RFC
6455 prescribes (a fuzzed run included); a plain WebSocket endpoint beside
the hub still gets ASGI messages; permessage-deflate is negotiated as
configured; a broadcast writes one buffer to every socket; reading pauses
while the hub is behind; frames sent before the accept reach the hub;
keep-alive pings, server shutdown and the hub's own close codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hubgen.server import HubOptions
from hubgen.server.websocket import DirectWebSocketTransport
from tests.apps.echo.hub import create_app
from tests.server.frames_model import RawFrame, read, sequences
from tests.support.raw import RS, RawClient
from tests.support.server import OWNED_WS, serve

pytestmark = pytest.mark.timeout(120)

PING = b'{"type":6}' + RS.encode()


# -- a WebSocket client by hand ------------------------------------------------------------------


class RawSocket:
    """A WebSocket client over a blocking socket, writing whatever frames it
    is given (right or wrong) and reading the server's frames."""

    def __init__(self, port: int, path: str = "/echo", *, handshake: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.upgrade(path)
        self.read_head()
        if handshake:
            self.send(RawFrame(0x1, b'{"protocol":"json","version":1}' + RS.encode()).encode())
            assert self.frame() == (0x1, b"{}" + RS.encode())

    def upgrade(self, path: str) -> None:
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self) -> tuple[int, bytes]:
        """The server's next frame (unmasked): opcode and payload."""
        while len(self.buffer) < 2:
            self.buffer += self.recv()
        first, second = self.buffer[0], self.buffer[1]
        assert not second & 0x80, "a server's frames are not masked"
        length, start = second & 0x7F, 2
        if length == 126:
            start = 4
        elif length == 127:
            start = 10
        while len(self.buffer) < start:
            self.buffer += self.recv()
        if start > 2:
            length = int.from_bytes(self.buffer[2:start], "big")
        while len(self.buffer) < start + length:
            self.buffer += self.recv()
        payload = self.buffer[start : start + length]
        self.buffer = self.buffer[start + length :]
        assert first & 0x80, "the server writes whole messages"
        return first & 0x0F, payload

    def until_closed(self) -> list[tuple[int, bytes]]:
        """Every frame until the server closes the connection (pings of the
        hub's keep-alive left out)."""
        frames = []
        with contextlib.suppress(EOFError):
            while True:
                opcode, payload = self.frame()
                if opcode == 0x1 and payload == PING:
                    continue
                frames.append((opcode, payload))
        return frames

    def close(self) -> None:
        self.sock.close()


def close_code(frame: tuple[int, bytes]) -> int | None:
    opcode, payload = frame
    assert opcode == 0x8, frame
    return int.from_bytes(payload[:2], "big") if payload else None


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def connection_count(app: Starlette, expected: int, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while app.state.hub.connection_count != expected and time.monotonic() < deadline:  # noqa: ASYNC110 - polling server state
        await asyncio.sleep(0.02)
    count: int = app.state.hub.connection_count
    return count


# -- bad frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([RawFrame(0x1, PING, masked=False)], 1002),
        ([RawFrame(0x3, b"")], 1002),
        ([RawFrame(0x9, b"ping", fin=False)], 1002),
        ([RawFrame(0xA, b"x" * 126)], 1002),
        ([RawFrame(0x1, PING, rsv=4)], 1002),
        ([RawFrame(0x0, PING)], 1002),
        ([RawFrame(0x1, PING[:3], fin=False), RawFrame(0x2, PING)], 1002),
        ([RawFrame(0x2, PING, length="msb")], 1002),
        ([RawFrame(0x1, b"\xff" + PING)], 1007),
        ([RawFrame(0x8, b"\x03")], 1002),
        ([RawFrame(0x8, (1006).to_bytes(2, "big"))], 1002),
        ([RawFrame(0x8, b"\x03\xe8\xc3")], 1007),
        ([RawFrame(0x2, b"\0" * 5000)], 1009),
        ([RawFrame(0x2, PING * 300, fin=False), RawFrame(0x0, PING * 200)], 1009),
    ],
    ids=[
        "unmasked",
        "reserved-opcode",
        "fragmented-ping",
        "long-pong",
        "rsv3",
        "stray-continuation",
        "new-message-inside-fragments",
        "64-bit-length-top-bit",
        "text-not-utf8",
        "close-one-byte",
        "close-code-1006",
        "close-reason-not-utf8",
        "message-over-ws-max-size",
        "fragments-over-ws-max-size",
    ],
)
async def test_a_bad_frame_closes_only_its_connection_with_its_code(
    frames: list[RawFrame], code: int
) -> None:
    app = create_app()
    async with serve(app, ws="owned", ws_max_size=4096, ws_per_message_deflate=False) as url:
        healthy = await RawClient.open(url)
        bad = await asyncio.to_thread(RawSocket, port_of(url))
        assert await connection_count(app, 2) == 2
        await asyncio.to_thread(bad.send, b"".join(f.encode() for f in frames))
        answered = await asyncio.to_thread(bad.until_closed)
        assert answered, "the server closed without a close frame"
        assert close_code(answered[-1]) == code
        assert await connection_count(app, 1) == 1
        assert (await healthy.call("Echo", "still here"))["result"] == "still here"
        await healthy.close()
        bad.close()


# -- fuzzed frames over real sockets -------------------------------------------------------------

#: --ws-max-size of the fuzzed server: small, so that some messages exceed it.
FUZZ_MAX_SIZE = 100


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[tuple[int, Starlette]]:
    """One server for every fuzzed example, on its own thread and event loop
    (hypothesis runs the examples synchronously)."""
    app = create_app()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ws=OWNED_WS,
        ws_max_size=FUZZ_MAX_SIZE,
        ws_per_message_deflate=False,
        log_level="error",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn exited"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port, app
    finally:
        server.should_exit = True
        thread.join(10)


def echo_works(port: int) -> bool:
    client = RawSocket(port)
    call = {"type": 1, "invocationId": "1", "target": "Echo", "arguments": ["ok"]}
    client.send(RawFrame(0x1, json.dumps(call).encode() + RS.encode()).encode())
    opcode, payload = client.frame()
    client.close()
    return opcode == 0x1 and json.loads(payload.rstrip(RS.encode()))["result"] == "ok"


#: Whole hub messages a client may send at any time (pings), in data frames.
HARMLESS = st.integers(1, 12).map(lambda n: PING * n)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=sequences(HARMLESS))
def test_fuzzed_frames_over_a_socket(
    threaded_server: tuple[int, Starlette], frames: list[RawFrame]
) -> None:
    """Whatever a client sends, the server answers as RFC 6455 says: a close
    frame with the code of the first violation, the client's own close code
    echoed, or nothing; then only that connection ends, and others are
    served. The data messages are hub pings, which the hub takes silently, so
    every close frame is the frame layer's."""
    port, _ = threaded_server
    data = b"".join(frame.encode() for frame in frames)
    outcome = read(data, FUZZ_MAX_SIZE)
    client = RawSocket(port)
    try:
        client.send(data)
        if outcome.error is not None:
            answered = client.until_closed()
            assert [f[0] for f in answered].count(0x8) == 1, answered
            assert close_code(answered[-1]) == outcome.error
        elif outcome.closed:
            code = outcome.events[-1][1]
            answered = client.until_closed()
            assert close_code(answered[-1]) == (None if code == 1005 else code)
        else:
            # no violation, no close: the pings and pongs were answered
            pings = [e for e in outcome.events if e[0] == "ping"]
            if not outcome.waiting:
                client.send(RawFrame(0x8, (1000).to_bytes(2, "big")).encode())
                answered = client.until_closed()
                pongs = [f for f in answered if f[0] == 0xA]
                assert [f[1] for f in pongs] == [e[1] for e in pings]
                assert close_code(answered[-1]) == 1000
    finally:
        client.close()
    assert echo_works(port)


# -- a plain WebSocket endpoint beside the hub ----------------------------------------------------


async def plain(websocket: WebSocket) -> None:
    """Echoes text and bytes; ``close:CODE`` closes with that code; records
    the client's close code."""
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                websocket.app.state.closed.append(message.get("code"))
                return
            text = message.get("text")
            if text is not None and text.startswith("close:"):
                await websocket.close(int(text[6:]), reason="asked to")
                return
            if text is not None:
                await websocket.send_text(text)
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect as exc:
        websocket.app.state.closed.append(exc.code)


def plain_app() -> Starlette:
    hub = create_app()
    app = Starlette(routes=[WebSocketRoute("/plain", plain), *hub.routes])
    app.state.closed = []
    app.state.hub = hub.state.hub
    return app


@pytest.mark.parametrize("deflate", [False, True], ids=["no-deflate", "deflate"])
async def test_a_plain_websocket_endpoint_gets_asgi_messages(deflate: bool) -> None:
    app = plain_app()
    async with serve(app, ws="owned", ws_per_message_deflate=deflate) as url:
        ws_url = url.replace("http", "ws") + "/plain"
        async with connect(ws_url) as ws:
            assert bool(ws.protocol.extensions) is deflate
            await ws.send("héllo")
            assert await ws.recv() == "héllo"
            await ws.send(b"\x00\xff" * 1000)
            assert await ws.recv() == b"\x00\xff" * 1000
            await ws.send(["frag", "ment", "ed"])  # one message in three frames
            assert await ws.recv() == "fragmented"
            await asyncio.wait_for(await ws.ping(b"are you there"), 5)
            await ws.send("close:4001")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "asked to")
        async with connect(ws_url) as ws:
            await ws.send("x")
            await ws.recv()
            await ws.close(4002, "done")
        deadline = time.monotonic() + 5
        while 4002 not in app.state.closed and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert 4002 in app.state.closed
        # the hub beside it takes its connections over as usual
        client = await RawClient.open(url)
        assert (await client.call("Echo", "hub"))["result"] == "hub"
        await client.close()


# -- permessage-deflate as configured, and the hub -------------------------------------------------


@pytest.mark.parametrize("deflate", [False, True], ids=["no-deflate", "deflate"])
async def test_the_hub_with_and_without_permessage_deflate(deflate: bool) -> None:
    app = create_app()
    async with serve(app, ws="owned", ws_per_message_deflate=deflate) as url:
        clients = [await RawClient.open(url) for _ in range(3)]
        assert all(bool(c.ws.protocol.extensions) is deflate for c in clients)
        transports = [c.transport for c in app.state.hub._handler.connections.values()]
        assert all(isinstance(t, DirectWebSocketTransport) for t in transports)
        long = "é" * 4_000  # (\u00e9 each: within HubOptions.max_message_size)
        assert (await clients[0].call("Echo", long))["result"] == long
        # one hub message in fragments, its record cut anywhere
        call = json.dumps({"type": 1, "invocationId": "f", "target": "Echo", "arguments": ["f"]})
        record = call + RS
        await clients[1].ws.send([record[:5], record[5:17], record[17:]])
        assert (await clients[1].expect(3, invocation_id="f"))["result"] == "f"
        await clients[2].send({"type": 1, "target": "Broadcast", "arguments": [long]})
        for client in clients:
            message = await client.expect(1)
            assert (message["target"], message["arguments"]) == ("Message", [long])
        for client in clients:
            await client.close()


async def test_a_broadcast_writes_one_buffer_to_every_socket() -> None:
    """Without per-connection compression, the frame of a broadcast is made
    once, and every receiver's socket is handed the very same bytes object."""
    app = create_app()
    async with serve(app, ws="owned", ws_per_message_deflate=False) as url:
        clients = [await RawClient.open(url) for _ in range(4)]
        written: dict[str, list[bytes]] = {}
        for connection in app.state.hub._handler.connections.values():
            transport = connection.transport
            assert isinstance(transport, DirectWebSocketTransport)
            transport._socket = _Recording(transport._socket, written, connection.connection_id)
        await clients[0].send({"type": 1, "target": "Broadcast", "arguments": ["to all"]})
        for client in clients:
            message = await client.expect(1)
            assert (message["target"], message["arguments"]) == ("Message", ["to all"])
        frames = [frame for frames in written.values() for frame in frames if b"to all" in frame]
        assert len(frames) == 4
        assert all(frame is frames[0] for frame in frames)
        for client in clients:
            await client.close()


class _Recording:
    """A socket transport that records what is written to it."""

    def __init__(self, inner: Any, written: dict[str, list[bytes]], name: str) -> None:
        self._inner = inner
        self._written = written.setdefault(name, [])

    def write(self, data: bytes) -> None:
        self._written.append(data)
        self._inner.write(data)

    def writelines(self, frames: list[bytes]) -> None:
        self._written.extend(frames)
        self._inner.writelines(frames)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# -- back-pressure on reading ---------------------------------------------------------------------


async def test_reading_pauses_while_the_hub_is_behind() -> None:
    """A client that sends calls far faster than the hub runs them (one at a
    time, behind a long one) is held back by TCP: the server stops reading
    its socket once 64 KiB wait unread, and holds little more than that."""
    app = create_app()
    async with serve(app, ws="owned", ws_per_message_deflate=False) as url:
        flooder = await asyncio.to_thread(RawSocket, port_of(url))
        call = {"type": 1, "invocationId": "s", "target": "Sleep", "arguments": [30]}
        first = RawFrame(0x1, json.dumps(call).encode() + b"\x1e").encode()
        await asyncio.to_thread(flooder.send, first)
        echo = json.dumps({"type": 1, "target": "Echo", "arguments": ["x" * 40]}).encode()
        echo += b"\x1e"
        chunk = RawFrame(0x1, echo * 1000).encode()  # ~60 kB of calls per frame

        def flood() -> int:
            sent = 0
            flooder.sock.settimeout(3)
            with contextlib.suppress(TimeoutError):
                for _ in range(500):  # ~30 MB
                    flooder.sock.sendall(chunk)
                    sent += len(chunk)
            return sent

        sent = await asyncio.to_thread(flood)
        assert sent < 500 * len(chunk), "the server read everything"
        (connection,) = app.state.hub._handler.connections.values()
        transport = connection.transport
        assert isinstance(transport, DirectWebSocketTransport)
        assert transport._read_paused
        # 64 KiB, and what the socket had read already when it paused (a
        # read takes up to 256 KiB)
        assert transport._pending_size < 64 * 1024 + 256 * 1024 + len(chunk)
        # everyone else is served meanwhile
        other = await RawClient.open(url)
        assert (await other.call("Echo", "fine"))["result"] == "fine"
        await other.close()
        flooder.close()


# -- frames sent before the accept ----------------------------------------------------------------


class SlowToAccept:
    """Middleware that takes its time before a WebSocket reaches the app (as
    an authentication backend asking a database might)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await asyncio.sleep(0.5)
        await self.app(scope, receive, send)


async def test_frames_sent_before_the_accept_reach_the_hub() -> None:
    app = create_app()
    async with serve(SlowToAccept(app), ws="owned") as url:

        def early_handshake() -> tuple[int, bytes]:
            client = socket.create_connection(("127.0.0.1", port_of(url)), timeout=5)
            raw = RawSocket.__new__(RawSocket)
            raw.sock, raw.buffer = client, b""
            raw.upgrade("/echo")
            time.sleep(0.1)  # uvicorn has handed the socket over; the app has not accepted
            raw.send(RawFrame(0x1, b'{"protocol":"json","version":1}\x1e').encode())
            raw.read_head()
            answer = raw.frame()
            raw.close()
            return answer

        assert await asyncio.to_thread(early_handshake) == (0x1, b"{}\x1e")


# -- keep-alive, shutdown, the hub's close codes -------------------------------------------------


async def test_a_client_that_answers_no_keepalive_ping_is_closed() -> None:
    app = create_app()
    async with serve(app, ws="owned", ws_ping_interval=0.2, ws_ping_timeout=0.3) as url:
        silent = await asyncio.to_thread(RawSocket, port_of(url))
        answering = await RawClient.open(url)  # websockets answers pings by itself
        frames = await asyncio.to_thread(silent.until_closed)
        assert frames[0][0] == 0x9  # uvicorn's keep-alive ping
        assert close_code(frames[-1]) == 1011
        await asyncio.sleep(0.6)
        assert (await answering.call("Echo", "alive"))["result"] == "alive"
        await answering.close()
        silent.close()


async def test_server_shutdown_closes_with_1012() -> None:
    """Without the hub's graceful shutdown (no lifespan), uvicorn's shutdown
    closes every WebSocket with 1012 (service restart)."""
    app = create_app()
    async with serve(app, ws="owned") as url:
        client = await RawClient.open(url)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012


async def test_the_hub_closes_with_1000_and_1011() -> None:
    """The hub's Close message goes with 1000; a refused handshake with 1011."""
    app = create_app(HubOptions())
    async with serve(app, ws="owned") as url:
        client = await RawClient.open(url)
        await client.send({"type": 1, "target": "AbortMe", "arguments": []})
        assert (await client.expect(7))["type"] == 7  # the hub's Close message
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(client.ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1000
        refused = await RawClient.open(url, handshake=False)
        answer = await refused.handshake("nonsense")
        assert "not supported" in answer
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(refused.ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1011


async def test_a_message_arriving_slowly_is_no_silence() -> None:
    """The client timeout counts any bytes as a sign of life, as ASP.NET
    Core's does: a large message dribbling in over a slow link for longer
    than ``client_timeout`` (its pings queued behind it) does not end the
    connection. hubgen's protocol sees those bytes; ASGI shows whole
    messages only."""
    timeout = 0.5
    app = create_app(HubOptions(client_timeout=timeout, keep_alive_interval=0.1))
    async with serve(app, ws="owned") as url:
        client = await asyncio.to_thread(RawSocket, port_of(url))
        # the client's first ping arms its timeout
        await asyncio.to_thread(client.send, RawFrame(0x1, PING).encode())
        text = "x" * 3000
        invocation = json.dumps(
            {"type": 1, "invocationId": "1", "target": "Echo", "arguments": [text]}
        )
        frame = RawFrame(0x1, invocation.encode() + RS.encode()).encode()
        pieces = [frame[i : i + 200] for i in range(0, len(frame), 200)]
        started = time.monotonic()
        for piece in pieces:  # 16 pieces, 0.1 s apart: three client timeouts
            await asyncio.to_thread(client.send, piece)
            await asyncio.sleep(0.1)
        assert time.monotonic() - started > 3 * timeout
        reply: dict[str, Any] = {}
        while reply.get("type") != 3:
            opcode, payload = await asyncio.to_thread(client.frame)
            assert opcode == 0x1, (opcode, payload)
            reply = json.loads(payload.rstrip(RS.encode()))
        assert reply["result"] == text
        client.close()


@pytest.mark.parametrize(("installed", "refused"), [("0.51.0", True), ("0.52.1", False)])
def test_an_older_uvicorn_is_refused_at_import(installed: str, refused: bool) -> None:
    """The protocol builds on uvicorn's sans-I/O protocol as 0.52.1 made it:
    with an older uvicorn it says so when imported, rather than failing on
    the first connection."""
    script = (
        "import importlib.metadata as metadata\n"
        "real = metadata.version\n"
        f"metadata.version = lambda name: {installed!r} if name == 'uvicorn' else real(name)\n"
        "import hubgen.server.wsprotocol\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    if refused:
        assert result.returncode == 1
        assert "ImportError: hubgen.server.wsprotocol needs uvicorn>=0.52.1" in result.stderr
        assert "uvicorn 0.51.0 is installed" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
