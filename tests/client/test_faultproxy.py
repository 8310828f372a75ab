"""The fault-injection proxy (tests/support/faultproxy.py) does what it says,
checked with raw sockets against an echo server, so the reconnect tests can
trust it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(20)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with server, FaultProxy(server.sockets[0].getsockname()[1]) as proxy:
        yield proxy


async def connect(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    before = len(proxy.links)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    # The link exists once the proxy reached the upstream server.
    async with asyncio.timeout(5):
        while len(proxy.links) == before:  # noqa: ASYNC110 - the proxy announces no links
            await asyncio.sleep(0.005)
    return reader, writer


async def roundtrip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), 5)


async def test_forwards_both_ways(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    payload = bytes(range(256)) * 1000
    assert await roundtrip(reader, writer, payload) == payload
    link = proxy.links[0]
    assert (link.sent, link.received) == (len(payload), len(payload))
    writer.close()
    await proxy.wait_idle()  # the client's close went through to the server and back


async def test_drop_closes_cleanly(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    assert await roundtrip(reader, writer, b"hi") == b"hi"
    assert proxy.drop() == 1
    assert await asyncio.wait_for(reader.read(), 5) == b""  # a FIN, not an error
    await proxy.wait_idle()
    writer.close()


async def test_reset_aborts(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    assert await roundtrip(reader, writer, b"hi") == b"hi"
    assert proxy.reset() == 1
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(), 5)
    await proxy.wait_idle()
    writer.close()


async def test_stall_holds_everything_until_resumed(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    assert proxy.stall() == 1
    writer.write(b"held")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.3)
    assert proxy.links[0].sent == 0
    assert proxy.resume() == 1
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"held"
    writer.close()
    await proxy.wait_idle()


async def test_a_stalled_link_does_not_pass_a_close(proxy: FaultProxy) -> None:
    _, writer = await connect(proxy)
    proxy.stall()
    writer.close()  # the client goes; the proxy keeps the server side open (half-open)
    await asyncio.sleep(0.2)
    assert len(proxy.links) == 1
    proxy.resume()
    await proxy.wait_idle()


async def test_slow_delays_each_chunk(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    proxy.slow(latency=0.1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await roundtrip(reader, writer, b"x") == b"x"
    assert loop.time() - began >= 0.2  # held once each way
    proxy.slow(rate=20_000)
    began = loop.time()
    assert await roundtrip(reader, writer, b"y" * 4000) == b"y" * 4000
    assert loop.time() - began >= 0.35  # 4000 bytes at 20 kB/s, each way
    proxy.slow()
    began = loop.time()
    assert await roundtrip(reader, writer, b"z") == b"z"
    assert loop.time() - began < 0.1
    writer.close()


async def test_new_connections_reset_or_stall(proxy: FaultProxy) -> None:
    proxy.on_connect = "reset"
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert proxy.links == []

    proxy.on_connect = "stall"
    reader, writer = await connect(proxy)
    writer.write(b"lost")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.3)
    proxy.on_connect = "forward"
    proxy.resume()
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"lost"
    writer.close()


async def test_close_ends_every_link_and_task() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with server:
        before = len(asyncio.all_tasks())
        proxy = FaultProxy(server.sockets[0].getsockname()[1])
        await proxy.start()
        streams = [await connect(proxy) for _ in range(3)]
        proxy.links[0].stall()
        await proxy.close()
        for reader, writer in streams:
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        await asyncio.sleep(0.05)
        assert len(asyncio.all_tasks()) <= before


async def test_an_upstream_that_is_down_looks_like_a_reset() -> None:
    probe = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with FaultProxy(port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 5)
        writer.close()
