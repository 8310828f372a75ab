"""pysignalr, a SignalR client from PyPI that nobody here wrote, against a
hubgen server: invoke, errors, push, groups, server streams and client results,
over WebSockets (its only transport) with JSON and with MessagePack."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol

from tests.apps.echo.hub import create_app
from tests.support.server import serve


class Calls:
    """pysignalr reports completions through callbacks: turn them into awaitables."""

    def __init__(self, client: SignalRClient) -> None:
        self.client = client

    async def invoke(self, method: str, *args: Any) -> CompletionMessage:
        done: asyncio.Future[CompletionMessage] = asyncio.get_running_loop().create_future()

        async def on_completion(message: Any) -> None:
            done.set_result(message)

        await self.client.send(method, list(args), on_invocation=on_completion)
        async with asyncio.timeout(5):
            return await done

    async def stream(self, method: str, *args: Any) -> tuple[list[Any], Any]:
        items: list[Any] = []
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def on_next(item: Any) -> None:
            items.append(item)

        async def on_complete(message: Any) -> None:
            if not done.done():
                done.set_result(getattr(message, "error", None))

        async def on_error(message: Any) -> None:
            if not done.done():
                done.set_result(message.error)

        await self.client.stream(method, list(args), on_next, on_complete, on_error)
        async with asyncio.timeout(5):
            return items, await done


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_pysignalr_against_hubgen(protocol: str) -> None:
    async with serve(create_app()) as base_url:
        chosen = JSONProtocol() if protocol == "json" else MessagepackProtocol()
        client = SignalRClient(f"{base_url}/echo", protocol=chosen)
        opened = asyncio.Event()
        pushed: asyncio.Queue[list[Any]] = asyncio.Queue()

        async def on_open() -> None:
            opened.set()

        async def on_message(arguments: list[Any]) -> None:
            await pushed.put(arguments)

        async def on_ask(arguments: list[Any]) -> int:
            return len(arguments[0])

        errors: list[str] = []

        async def on_error(message: Any) -> None:
            # pysignalr needs this callback or it stops on any error completion
            errors.append(message.error)

        client.on_open(on_open)
        client.on_error(on_error)
        client.on("Message", on_message)
        client.on("Ask", on_ask)
        runner = asyncio.create_task(client.run())
        try:
            async with asyncio.timeout(10):
                await opened.wait()
            calls = Calls(client)

            echoed = await calls.invoke("Echo", "hi from pysignalr")
            assert (echoed.result, echoed.error) == ("hi from pysignalr", None)
            assert (await calls.invoke("Add", 2)).result == 12
            item = (await calls.invoke("EchoItem", {"name": "pkg", "tags": ["x"]})).result
            assert isinstance(item, dict)
            assert (item["name"], item["tags"], item["quantity"]) == ("pkg", ["x"], 1)
            failed = await calls.invoke("Fail", "refused")
            assert failed.error == (
                "An unexpected error occurred invoking 'Fail' on the server. HubException: refused"
            )
            assert errors == [failed.error]

            await calls.invoke("Broadcast", "to all")
            await calls.invoke("Join", "g")
            await calls.invoke("SendGroup", "g", "to g")
            async with asyncio.timeout(5):
                assert await pushed.get() == ["to all"]
                assert await pushed.get() == ["to g"]

            items, error = await calls.stream("Counter", 4)
            assert (items, error) == ([0, 1, 2, 3], None)
            items, error = await calls.stream("FailingStream", 1)
            assert items == [0]
            assert error == (
                "An error occurred on the server while streaming results. "
                "HubException: stream broke"
            )

            assert (await calls.invoke("AskCaller", "seven")).result == 5
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
