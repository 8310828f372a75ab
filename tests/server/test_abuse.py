"""What one hostile or broken client can do to a whole server: nothing lasting.

Each test runs a real server and real sockets, and checks what an operator
would see: other clients answered, CPU time, memory, sockets, exit on SIGTERM.
Servers a client could stall run in a process of their own
(tests/support/process.py), so a regression fails the test instead of
stalling the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hubgen.server import HubOptions
from tests.apps.echo.hub import create_app
from tests.support.process import ServerProcess, serve_process
from tests.support.raw import RS, RawClient
from tests.support.server import serve

pytestmark = pytest.mark.timeout(120)

README = Path(__file__).parents[2] / "README.md"


def reset(ws: ClientConnection) -> None:
    """Drop the client's TCP connection with a reset (RST), as a crashed
    client or a middlebox does: no close frame, no FIN."""
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


async def answers_within(url: str, seconds: float) -> bool:
    """Whether a new client gets through negotiate, handshake and one call
    within ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            client = await RawClient.open(url)
            result = (await client.call("Echo", "still here", timeout=seconds))["result"]
            await client.close()
            return bool(result == "still here")
    except (TimeoutError, OSError, ConnectionClosed, httpx.HTTPError):
        return False


async def settle_cpu(server: ServerProcess, window: float = 1.0) -> float:
    """CPU seconds the server spends over ``window`` seconds of wall time."""
    before = server.cpu_seconds()
    await asyncio.sleep(window)
    return server.cpu_seconds() - before


# -- a stream whose peer is gone must not hold the event loop -----------------------------


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_a_reset_during_a_stream_does_not_stall_the_server(protocol: str) -> None:
    """A stream whose generator never awaits, its client reset mid-stream:
    once the peer is gone every write completes at once and is dropped, so
    before the fix the stream loop never let the event loop run again (no
    other client answered, SIGTERM was ignored) until the client-chosen count
    ran out."""
    async with serve_process() as server:
        ws = await connect(server.url.replace("http", "ws") + "/echo", open_timeout=5)
        if protocol == "json":
            await ws.send('{"protocol":"json","version":1}' + RS)
            await ws.recv()
            await ws.send(
                json.dumps(
                    {"type": 4, "invocationId": "s", "target": "Counter", "arguments": [10**9]}
                )
                + RS
            )
        else:
            await ws.send('{"protocol":"messagepack","version":1}' + RS)
            await ws.recv()
            body = msgpack.packb([4, {}, "s", "Counter", [10**9], []])
            await ws.send(bytes([len(body)]) + body)
        for _ in range(10):  # the stream is flowing
            await asyncio.wait_for(ws.recv(), 5)
        reset(ws)
        assert await answers_within(server.url, 5), "the server stopped answering"
        assert await settle_cpu(server) < 0.5, "the stream is still running for nobody"
        assert server.terminate(timeout=10) < 5


async def test_a_stream_to_a_live_client_shares_the_event_loop() -> None:
    """While a fast stream to a reading client runs, other clients' calls are
    answered promptly: the stream yields every few items."""
    async with serve(create_app()) as base_url:
        streamer = await RawClient.open(base_url)
        await streamer.send(
            {"type": 4, "invocationId": "s", "target": "Counter", "arguments": [200_000]}
        )
        other = await RawClient.open(base_url)
        started = time.monotonic()
        assert (await other.call("Echo", "between items"))["result"] == "between items"
        assert time.monotonic() - started < 2
        await other.close()
        await streamer.close()


# -- the size limit is checked in linear time ----------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "message"),
    [
        ("messagepack", b"\xff" * (4 << 20)),  # one endless length prefix
        ("messagepack", b"\x80" * 4 + b"\x01" + b"x" * (4 << 20)),  # 2**28 announced
        ("json", b"x" * (4 << 20)),  # one endless record
    ],
    ids=["varint-run", "huge-announced-frame", "json-record"],
)
async def test_an_oversized_message_is_refused_without_stalling_the_server(
    protocol: str, message: bytes
) -> None:
    """Before the fix the binary size check walked a run of continuation
    bytes to its end every time data arrived: a 512 KiB message of 0xff
    stalled the server for 9 s, 4 MiB for minutes."""
    async with serve_process(options={"detailed_errors": True}) as server:
        ws = await connect(
            server.url.replace("http", "ws") + "/echo", open_timeout=5, max_size=None
        )
        await ws.send(json.dumps({"protocol": protocol, "version": 1}) + RS)
        await ws.recv()
        await ws.send(message)
        assert await answers_within(server.url, 3), "the server stalled on the size check"
        # the sender learns why (with detailed errors), and its connection ends
        frames: list[str] = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await asyncio.wait_for(ws.recv(), 5)
                frames.append(frame.decode("latin-1") if isinstance(frame, bytes) else frame)
        assert any("maximum message size" in f or "2GB" in f for f in frames), frames


# -- what one connection can make the server hold -------------------------------------------

#: The uvicorn options the README recommends for a hub (max_message_size 32 KiB).
RECOMMENDED_WS_MAX = "--ws-max-size"


def recommended_uvicorn_options() -> list[str]:
    """The ``--ws-max-size`` value the README's uvicorn command line uses."""
    text = README.read_text()
    marker = f"{RECOMMENDED_WS_MAX} "
    assert marker in text, "the README must recommend --ws-max-size for hubs"
    value = text.split(marker, 1)[1].split()[0].strip("`")
    return [RECOMMENDED_WS_MAX, value]


async def test_large_websocket_messages_do_not_grow_the_server() -> None:
    """With the README's uvicorn options, 20 clients each sending a 15 MiB
    WebSocket message make the server hold a few MiB, not the ~920 MB that
    uvicorn's default (16 MiB messages, assembled whole) let them."""
    payload = b"x" * (15 << 20)
    async with serve_process(*recommended_uvicorn_options()) as server:
        baseline = server.memory_kib("VmHWM")

        async def one() -> None:
            ws = await connect(
                server.url.replace("http", "ws") + "/echo", open_timeout=5, max_size=None
            )
            await ws.send('{"protocol":"json","version":1}' + RS)
            await ws.recv()
            try:
                await ws.send(payload)
                await asyncio.wait_for(ws.recv(), 10)  # closed: the message is too big
            except ConnectionClosed:
                pass
            finally:
                await ws.close()

        await asyncio.gather(*(one() for _ in range(20)))
        assert await answers_within(server.url, 5)
        grown = server.memory_kib("VmHWM") - baseline
        assert grown < 48 * 1024, f"peak memory grew by {grown} KiB"


@pytest.mark.parametrize("transport", ["LongPolling", "ServerSentEvents"])
async def test_large_posts_are_refused_as_they_stream_in(transport: str) -> None:
    """A POST body is read no faster than the hub takes it and checked
    against max_message_size as it arrives: 20 clients each posting 15 MiB
    cost the server a few MiB, and each is refused with the size error."""
    chunk = b"x" * (64 << 10)

    async def body() -> Any:
        for _ in range(240):  # 15 MiB
            yield chunk

    async with serve_process() as server, httpx.AsyncClient(timeout=10) as http:
        baseline = server.memory_kib("VmHWM")

        async def one() -> None:
            negotiated = (await http.post(f"{server.url}/echo/negotiate?negotiateVersion=1")).json()
            url = f"{server.url}/echo?id={negotiated['connectionToken']}"
            if transport == "ServerSentEvents":
                async with http.stream("GET", url, headers={"Accept": "text/event-stream"}):
                    await http.post(url, content=b'{"protocol":"json","version":1}\x1e')
                    posted = await http.post(url, content=body())
            else:
                await http.get(url)  # the first poll returns at once
                await http.post(url, content=b'{"protocol":"json","version":1}\x1e')
                posted = await http.post(url, content=body())
            # 404: the connection ended (too large) before the body was taken
            assert posted.status_code in (200, 404)

        await asyncio.gather(*(one() for _ in range(20)))
        assert await answers_within(server.url, 5)
        grown = server.memory_kib("VmHWM") - baseline
        assert grown < 48 * 1024, f"peak memory grew by {grown} KiB"


# -- a client closed for not reading is released ---------------------------------------------


def established(port: int) -> int:
    """Server-side TCP sockets on ``port`` still holding a connection: any
    state but LISTEN and TIME_WAIT (a socket closed with data its peer never
    took lingers in FIN_WAIT1, kernel memory and all, for minutes)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] not in ("0A", "06"):
                count += 1
    return count


def small_socket(port: int) -> socket.socket:
    """A blocking client socket connected to ``port`` with a tiny receive
    buffer, set before connecting so the window it offers stays small: once
    nobody reads it, the server's writes to it soon stop completing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def read_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        data += sock.recv(1)
    return data


def stalled_websocket(port: int) -> socket.socket:
    """A WebSocket client written by hand (no library reading in the
    background): it upgrades, completes the hub handshake, then never reads."""
    sock = small_socket(port)
    sock.sendall(
        b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    assert read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 101")
    payload = b'{"protocol":"json","version":1}\x1e'
    mask = b"\x01\x02\x03\x04"
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    assert read_until(sock, b"{}\x1e") == b"\x81\x03{}\x1e"
    return sock


async def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def flood(base_url: str, target_id: str | None) -> None:
    """Pushes far beyond what the sockets buffer: to ``target_id``, or to
    every other connection."""
    sender = await RawClient.open(base_url)
    payload = "x" * 20_000
    for _ in range(400):
        if target_id is None:
            await sender.send({"type": 1, "target": "SendOthers", "arguments": [payload]})
        else:
            await sender.send({"type": 1, "target": "SendTo", "arguments": [target_id, payload]})
    assert (await sender.call("Echo", "done", timeout=10))["result"] == "done"
    await sender.close()


async def test_a_websocket_closed_for_not_reading_is_released() -> None:
    """slow_client_policy="close" used to log and forget the connection while
    its socket, its ASGI task and its queue stayed for as long as the peer
    kept not reading: the graceful close waited on writes that never happen."""
    options = HubOptions(max_buffered_bytes=256 * 1024, close_timeout=0.5)
    app = create_app(options)
    async with serve(app) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        stalled = await asyncio.to_thread(stalled_websocket, port)
        await flood(base_url, None)
        assert await wait_for(lambda: app.state.hub.connection_count == 0, 5)
        # the close waits close_timeout for the writes, then drops the socket
        assert await wait_for(lambda: established(port) == 0, 5), "the socket is still held"
        stalled.close()


async def test_an_event_stream_closed_for_not_reading_is_released() -> None:
    options = HubOptions(max_buffered_bytes=256 * 1024, close_timeout=0.5)
    app = create_app(options)
    async with serve(app) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        async with httpx.AsyncClient() as http:
            negotiated = (await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")).json()
        token = negotiated["connectionToken"]
        # a raw socket that asks for the event stream, then never reads
        stalled = await asyncio.to_thread(small_socket, port)
        request = f"GET /echo?id={token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
        stalled.sendall(request.encode())  # and never reads
        async with httpx.AsyncClient() as http:
            posted = await http.post(
                f"{base_url}/echo?id={token}", content=b'{"protocol":"json","version":1}\x1e'
            )
            assert posted.status_code == 200
        await flood(base_url, negotiated["connectionId"])
        assert await wait_for(lambda: app.state.hub.connection_count == 0, 5)
        assert await wait_for(lambda: established(port) == 0, 5), "the socket is still held"
        stalled.close()


# -- negotiate version 0 can be refused --------------------------------------------------------


async def test_negotiate_version_zero_can_be_refused() -> None:
    app = create_app(HubOptions(min_negotiate_version=1))
    async with serve(app) as base_url, httpx.AsyncClient() as http:
        for query in ("", "?negotiateVersion=0"):
            response = await http.post(f"{base_url}/echo/negotiate{query}")
            assert response.status_code == 200
            assert response.json() == {
                "error": "The client requested version '0', but the server does not "
                "support this version."
            }
        body = (await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")).json()
        assert body["connectionToken"] != body["connectionId"]


def test_min_negotiate_version_is_checked() -> None:
    with pytest.raises(ValueError, match="min_negotiate_version"):
        HubOptions(min_negotiate_version=2)
