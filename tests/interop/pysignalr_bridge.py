"""Drive `pysignalr` (an asyncio SignalR client from PyPI) from asyncio tests.

pysignalr reports completions, stream items and pushes through callbacks; this
turns them into awaitables with the same shape as :mod:`signalrcore_bridge`.
It runs in the test's event loop, beside the server. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage, Message
from pysignalr.protocol.abstract import Protocol
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol

from tests.interop.client_bridge import TIMEOUT, Outcome

__all__ = ["PySignalR", "connect"]

T = TypeVar("T")

PROTOCOLS: dict[str, Callable[[], Protocol]] = {
    "json": JSONProtocol,
    "messagepack": MessagepackProtocol,
}


class PySignalR:
    """One open pysignalr hub connection, with awaitable calls."""

    def __init__(self, client: SignalRClient, runner: asyncio.Task[None]) -> None:
        self._client = client
        self._runner = runner
        self.pushes: asyncio.Queue[list[Any]] = asyncio.Queue()

    def on(self, target: str, answer: Callable[[list[Any]], Awaitable[Any]] | None = None) -> None:
        """Queue the arguments of every ``target`` pushed on :attr:`pushes`, or, with
        ``answer``, reply to the server's calls with its result (client results)."""

        async def queue(arguments: list[Any]) -> None:
            await self.pushes.put(arguments)

        self._client.on(target, answer or queue)

    async def _wait(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``, bounded, failing at once if pysignalr's loop stops instead."""
        waiter = asyncio.ensure_future(awaitable)
        try:
            async with asyncio.timeout(TIMEOUT):
                await asyncio.wait({waiter, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiter.done():
                waiter.cancel()
        if not waiter.done() or waiter.cancelled():
            self._runner.result()  # raises what stopped the client, if anything did
            raise ConnectionError("pysignalr's connection loop ended")
        return waiter.result()

    async def invoke(self, method: str, *args: Any) -> Outcome:
        """``send`` with a completion callback: pysignalr hands it both results and errors."""
        completion: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        async def on_completion(message: Message) -> None:
            assert isinstance(message, CompletionMessage)
            completion.set_result(Outcome(result=message.result, error=message.error))

        await self._client.send(method, list(args), on_invocation=on_completion)
        return await self._wait(completion)

    async def stream(self, method: str, *args: Any) -> tuple[list[Any], Outcome]:
        items: list[Any] = []
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        async def on_next(item: Any) -> None:
            items.append(item)

        async def on_complete(message: Message) -> None:
            if not done.done():
                done.set_result(Outcome())

        async def on_error(message: CompletionMessage) -> None:
            if not done.done():
                done.set_result(Outcome(error=message.error))

        await self._client.stream(method, list(args), on_next, on_complete, on_error)
        return items, await self._wait(done)

    async def upload(self, method: str, items: list[Any]) -> None:
        """A client-to-server stream: like the official client's ``send`` with a
        subject, its Invocation carries no invocation id, so no result comes back."""
        async with self._client.client_stream(method) as stream:
            for item in items:
                await stream.send(item)

    async def next_push(self) -> list[Any]:
        return await self._wait(self.pushes.get())


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    protocol: str,
    headers: dict[str, str] | None = None,
    access_token: Callable[[], str] | None = None,
) -> AsyncIterator[PySignalR]:
    """Open a pysignalr connection (WebSockets, after negotiate: its only way),
    wait for its handshake, and stop it however the block ends."""
    client = SignalRClient(
        url,
        protocol=PROTOCOLS[protocol](),
        headers=dict(headers) if headers is not None else None,
        access_token_factory=access_token,
        retry_count=1,
    )
    opened = asyncio.Event()

    async def on_open() -> None:
        opened.set()

    async def on_error(message: CompletionMessage) -> None:
        # Without a global error callback pysignalr raises out of its receive
        # loop on any error completion; invoke() already hands errors back.
        return None

    client.on_open(on_open)
    client.on_error(on_error)
    runner = asyncio.create_task(client.run(), name="pysignalr")
    session = PySignalR(client, runner)
    session.on("Message")
    try:
        await session._wait(opened.wait())
        yield session
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
