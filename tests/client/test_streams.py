"""Streams: server-to-client streams with cancellation, and upload streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from hubgen import HubError
from hubgen.client import HubConnection, HubStream
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.client.apps import ClientTestHub, StreamLog

pytestmark = pytest.mark.timeout(30)


async def numbers(count: int, *, fail_after: int | None = None) -> AsyncIterator[int]:
    for n in range(count):
        if fail_after is not None and n == fail_after:
            raise ValueError("the source broke")
        await asyncio.sleep(0)
        yield n


async def server_stream() -> StreamLog:
    """The server's log of the next counter stream to start."""
    return await asyncio.wait_for(ClientTestHub.streams.get(), 5)


async def collect(stream: HubStream[int], into: list[int]) -> None:
    async for n in stream:
        into.append(n)


async def test_stream_items_arrive_in_order(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        stream = hub.counter(50)
        assert isinstance(stream, HubStream)
        assert [n async for n in stream] == list(range(50))
        assert stream.done
        untyped = [n async for n in connection.stream("counter", 3)]
        assert untyped == [0, 1, 2]


async def test_stream_error_raises_hub_error_after_the_items(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        received: list[int] = []
        with pytest.raises(HubError, match="stream broke"):
            await collect(EchoHubClient(connection).failing_stream(3), received)
        assert received == [0, 1, 2]


async def test_breaking_out_of_the_loop_cancels_the_stream_on_the_server(
    hub_url: str, protocol: str
) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        async for n in hub.counter(100_000, 0.005):
            if n == 2:
                break
        log = await server_stream()
        await asyncio.wait_for(log.ended.wait(), 5)
        assert log.cancelled
        assert log.produced < 100_000
        assert await hub.echo("still connected") == "still connected"


async def test_cancel_and_async_with_stop_the_stream(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)

        stream = hub.counter(100_000, 0.005)
        iterator = aiter(stream)
        assert await anext(iterator) == 0
        await stream.cancel()
        await stream.cancel()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await anext(iterator)
        first = await server_stream()
        await asyncio.wait_for(first.ended.wait(), 5)
        assert first.cancelled

        async with hub.counter(100_000, 0.005) as second_stream:
            assert second_stream.invocation_id is not None  # sent on entering the block
            items = aiter(second_stream)
            assert await anext(items) == 0
        assert second_stream.done
        second = await server_stream()
        await asyncio.wait_for(second.ended.wait(), 5)
        assert second.cancelled


async def test_an_exception_in_the_loop_body_cancels_the_stream(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:

        async def consume() -> None:
            async with EchoHubClient(connection).counter(100_000, 0.005) as stream:
                async for _ in stream:
                    raise KeyError("consumer failed")

        with pytest.raises(KeyError):
            await consume()
        log = await server_stream()
        await asyncio.wait_for(log.ended.wait(), 5)
        assert log.cancelled


async def test_a_stream_is_iterated_once(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        stream = EchoHubClient(connection).counter(2)
        assert [n async for n in stream] == [0, 1]
        with pytest.raises(RuntimeError, match="can be iterated only once"):
            aiter(stream)


async def test_streams_interleave_with_calls(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)

        async def collect(count: int) -> list[int]:
            return [n async for n in hub.counter(count)]

        results = await asyncio.gather(collect(20), collect(30), hub.add(1, 2), collect(5))
        assert list(results) == [list(range(20)), list(range(30)), 3, list(range(5))]


async def test_upload_stream_to_an_invocation(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        assert await hub.sum_upload(numbers(100)) == sum(range(100))
        assert await connection.invoke("SumUpload", numbers(10)) == 45
        assert await hub.sum_upload(numbers(0)) == 0


async def test_upload_and_download_in_one_call(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        doubled = [n async for n in EchoHubClient(connection).double_upload(numbers(20))]
        assert doubled == [2 * n for n in range(20)]


async def test_a_failing_upload_source_fails_the_call(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with pytest.raises(HubError):
            await hub.sum_upload(numbers(10, fail_after=3))
        assert await hub.sum_upload(numbers(3)) == 3


async def test_typed_upload_items_are_checked(
    hub_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def bad() -> AsyncIterator[int]:
        yield 1
        yield "two"  # type: ignore[misc]

    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with caplog.at_level(logging.WARNING, logger="hubgen.client"), pytest.raises(HubError):
            await hub.sum_upload(bad())
        assert "EchoHub.sum_upload: an uploaded item does not fit" in caplog.text
        assert await hub.echo("ok") == "ok"
