"""Drive `signalrcore` (a threaded SignalR client from PyPI) from asyncio tests.

signalrcore is synchronous: ``start``, ``invoke`` and, over Server-Sent Events
and Long Polling, every send are blocking HTTP or socket calls, and it reports
everything through callbacks on threads of its own. The server under test runs
in the test's event loop, so every call into signalrcore goes through
``asyncio.to_thread`` (the loop stays free to answer it) and every callback
hands its result back with ``call_soon_threadsafe``. Every wait is bounded.

signalrcore's documented API is used (``HubConnectionBuilder``, ``on``,
``on_open``/``on_close``/``on_error``, ``invoke``, ``stream``, ``Subject``),
plus two public attributes it does not document: ``connection.transport``
(whose ``is_running()`` is the only sign of a refused handshake) and the
builder's ``keep_alive_interval`` (see :func:`connect`).

Its failures that these tests work around, rather than test, are described where
the workaround is; the ones the tests document are in ``test_third_party.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from signalrcore.hub.errors import HubConnectionError  # type: ignore[import-untyped]
from signalrcore.hub_connection_builder import (  # type: ignore[import-untyped]
    HubConnectionBuilder,
)
from signalrcore.subject import Subject  # type: ignore[import-untyped]
from signalrcore.types import (  # type: ignore[import-untyped]
    HttpTransportType,
    HubProtocolEncoding,
)

from tests.interop.client_bridge import TIMEOUT, Outcome

__all__ = ["SignalRCore", "connect", "signalrcore_threads"]

T = TypeVar("T")

TRANSPORTS = {
    "WebSockets": HttpTransportType.web_sockets,
    "ServerSentEvents": HttpTransportType.server_sent_events,
    "LongPolling": HttpTransportType.long_polling,
}
PROTOCOLS = {"json": HubProtocolEncoding.text, "messagepack": HubProtocolEncoding.binary}

# signalrcore logs the raw messages and every failure it swallows on this logger:
# keep them for the report of a failing test.
logging.getLogger("SignalRCoreClient").setLevel(logging.DEBUG)


def signalrcore_threads() -> list[threading.Thread]:
    """signalrcore's own threads still alive (its socket, polling and keep-alive threads)."""
    return [t for t in threading.enumerate() if t.name.lower().startswith("signalrcore")]


def _join_threads(timeout: float) -> list[str]:
    """Wait (bounded) for signalrcore's threads to end; the names of those left."""
    deadline = time.monotonic() + timeout
    for thread in signalrcore_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread.name for thread in signalrcore_threads()]


class SignalRCore:
    """One open signalrcore hub connection, with awaitable calls."""

    def __init__(self, connection: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._connection = connection
        self._loop = loop
        self._pending: dict[str, asyncio.Future[Outcome]] = {}
        self.pushes: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        connection.on_open(lambda: loop.call_soon_threadsafe(self.opened.set))
        connection.on_close(lambda: loop.call_soon_threadsafe(self.closed.set))
        # signalrcore routes every error completion here, not to the call's own callback
        connection.on_error(self._on_error)

    # -- callbacks (signalrcore's threads) ------------------------------------------------

    def _settle(self, invocation_id: str, outcome: Outcome) -> None:
        def settle() -> None:
            future = self._pending.pop(invocation_id, None)
            if future is not None and not future.done():
                future.set_result(outcome)

        self._loop.call_soon_threadsafe(settle)

    def _on_error(self, message: Any) -> None:
        self._settle(message.invocation_id, Outcome(error=message.error))

    def on(self, target: str) -> None:
        """Queue the arguments of every ``target`` the server pushes on :attr:`pushes`."""

        def handler(arguments: list[Any]) -> None:
            self._loop.call_soon_threadsafe(self.pushes.put_nowait, arguments)

        self._connection.on(target, handler)

    # -- calls ------------------------------------------------------------------------

    def _expect(self, invocation_id: str) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._pending[invocation_id] = future
        return future

    @staticmethod
    async def _blocking(call: Callable[[], object]) -> None:
        """Run one of signalrcore's blocking calls on a worker thread. signalrcore
        reports a connection it can no longer send on as ValueError (or
        HubConnectionError before it started): both become ConnectionError."""
        try:
            await asyncio.wait_for(asyncio.to_thread(call), TIMEOUT)
        except (ValueError, HubConnectionError) as error:
            raise ConnectionError(f"signalrcore could not send: {error}") from error

    async def _wait(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``, bounded, failing at once if the connection closes instead."""
        waiter = asyncio.ensure_future(awaitable)
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            async with asyncio.timeout(TIMEOUT):
                await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, closed):
                if not task.done():
                    task.cancel()
        if not waiter.done() or waiter.cancelled():
            raise ConnectionError("signalrcore's connection closed")
        return waiter.result()

    async def invoke(self, method: str, *args: Any) -> Outcome:
        """``connection.invoke`` with a result callback; errors come through ``on_error``,
        matched by the invocation id we choose (as signalrcore's documentation suggests)."""
        invocation_id = str(uuid.uuid4())
        future = self._expect(invocation_id)

        def on_invocation(message: Any) -> None:
            self._settle(invocation_id, Outcome(result=message.result))

        await self._blocking(
            lambda: self._connection.invoke(method, list(args), on_invocation, invocation_id)
        )
        return await self._wait(future)

    async def stream(self, method: str, *args: Any) -> tuple[list[Any], Outcome]:
        """A server-to-client stream: its items and how it ended.

        signalrcore's ``stream()`` sends the StreamInvocation *before* it returns
        the handler that ``subscribe()`` is called on, so items its receive thread
        handles in between are dropped ("next stream handler fired, no callback
        configured"). The official client sends the invocation on ``subscribe``.
        To subscribe in time without relying on timing, the receive thread is
        held inside a callback (of an ``Echo`` call) while ``stream`` and
        ``subscribe`` run, and released once the callbacks are in place.
        """
        items: list[Any] = []
        done: asyncio.Future[Outcome] = self._loop.create_future()
        held = threading.Event()
        release = threading.Event()
        gate = self._expect(gate_id := str(uuid.uuid4()))

        def hold(message: Any) -> None:
            held.set()
            release.wait(TIMEOUT)
            self._settle(gate_id, Outcome(result=message.result))

        def start() -> None:
            self._connection.invoke("Echo", ["gate"], hold, gate_id)
            if not held.wait(TIMEOUT):
                raise TimeoutError("signalrcore's receive thread never reached the gate")
            try:
                handler = self._connection.stream(method, list(args))
                stream_id: str = handler.invocation_id
                self._pending[stream_id] = done
                handler.subscribe(
                    {
                        "next": lambda item: self._loop.call_soon_threadsafe(items.append, item),
                        "complete": lambda message: self._settle(stream_id, Outcome()),
                        # signalrcore calls this only for a CancelInvocation from the
                        # server; error completions go to on_error (see _on_error)
                        "error": lambda message: self._settle(
                            stream_id, Outcome(error="CancelInvocation")
                        ),
                    }
                )
            finally:
                release.set()

        await self._blocking(start)
        await self._wait(gate)
        return items, await self._wait(done)

    async def upload(self, method: str, items: list[Any]) -> None:
        """A client-to-server stream through a ``Subject``: signalrcore sends its
        Invocation without an invocation id (like the official client's ``send``),
        so the hub method's result never comes back; the test hub reports it."""

        def run() -> None:
            subject = Subject()
            self._connection.invoke(method, subject)
            for item in items:
                subject.next(item)
            subject.complete()

        await self._blocking(run)

    async def next_push(self) -> list[Any]:
        return await self._wait(self.pushes.get())

    async def stop(self) -> None:
        """``connection.stop()``. It sends no WebSocket Close frame and does not
        shut its socket down: it closes it and joins its receive thread, which on
        Linux stays blocked in ``recv()`` until the server sends something. The
        tests' servers ping every half second so that it returns."""
        await asyncio.wait_for(asyncio.to_thread(self._connection.stop), TIMEOUT)


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    transport: str,
    protocol: str,
    skip_negotiation: bool = False,
    headers: dict[str, str] | None = None,
    access_token: Callable[[], str] | None = None,
) -> AsyncIterator[SignalRCore]:
    """Open a signalrcore connection to ``url`` (an ``http://`` hub URL), wait for
    its handshake, and stop it, with all its threads, however the block ends."""
    options: dict[str, Any] = {"transport": TRANSPORTS[transport]}
    if skip_negotiation:
        options["skip_negotiation"] = True
    if headers is not None:
        options["headers"] = dict(headers)
    if access_token is not None:
        options["access_token_factory"] = access_token
    builder = HubConnectionBuilder().with_url(url, options=options)
    builder.with_hub_protocol(PROTOCOLS[protocol])
    # Over Server-Sent Events and Long Polling, a message that arrives while
    # stop() runs is taken for a new handshake (stop() clears handshake_received
    # first) and restarts the keep-alive checker thread, which only ends after
    # keep_alive_interval seconds without messages: keep that short.
    builder.keep_alive_interval = 1
    connection = builder.build()
    session = SignalRCore(connection, asyncio.get_running_loop())
    session.on("Message")
    try:
        started = await asyncio.wait_for(asyncio.to_thread(connection.start), TIMEOUT)
        assert started, "signalrcore refused to start"
        async with asyncio.timeout(TIMEOUT):
            # signalrcore reports a failed handshake only by stopping its transport
            while not session.opened.is_set():
                if not connection.transport.is_running():
                    raise ConnectionError("signalrcore stopped before its handshake completed")
                await asyncio.sleep(0.02)
        yield session
    finally:
        await session.stop()
        left = await asyncio.to_thread(_join_threads, TIMEOUT)
        assert not left, f"signalrcore threads still running after stop(): {left}"
