"""HubStream: the items of a server-to-client stream, as an async iterable.

The StreamInvocation is sent when iteration starts (or on ``async with``),
not when the stream object is made. Leaving the stream early — ``break``
out of ``async for``, an exception in the loop body, :meth:`HubStream.cancel`,
or the end of an ``async with`` block — sends a CancelInvocation so the
server stops producing::

    async with hub.ticker("MSFT") as prices:
        async for price in prices:
            if price > 400:
                break
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from hubgen.codec import CodecError
from hubgen.spec import BindingError

__all__ = ["HubStream"]

T = TypeVar("T")

logger = logging.getLogger("hubgen.client")


class _End:
    """The end of the stream: normal (``error`` None) or failed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class HubStream(Generic[T]):
    """Items a hub method streams to this client.

    Iterate it once with ``async for``. Errors the server reports raise
    :class:`hubgen.HubError` from the loop; a connection that closes mid-stream
    raises :class:`~hubgen.client.ConnectionClosedError`.
    """

    __slots__ = ("_cancel", "_decode", "_describe", "_id", "_iterated", "_open", "_queue", "_state")

    def __init__(
        self,
        open: Callable[[HubStream[T]], Awaitable[None]],
        cancel: Callable[[str], Awaitable[None]],
        decode: Callable[[Any], T],
        describe: str,
    ) -> None:
        self._open = open
        self._cancel = cancel
        self._decode = decode
        self._describe = describe
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._id: str | None = None
        #: "new" → "open" → "done"
        self._state = "new"
        self._iterated = False

    @property
    def invocation_id(self) -> str | None:
        """The stream's invocation id, once started."""
        return self._id

    @property
    def done(self) -> bool:
        """True once the stream completed, failed or was cancelled."""
        return self._state == "done"

    # -- called by the connection --------------------------------------------------------

    def _started(self, invocation_id: str) -> None:
        """The connection assigned the invocation id (before sending it)."""
        self._id = invocation_id

    def _push(self, item: Any) -> None:
        if self._state == "open":
            self._queue.put_nowait(item)

    def _finish(self, error: BaseException | None) -> None:
        if self._state != "done":
            self._state = "done"
            self._queue.put_nowait(_End(error))

    # -- the consumer side -----------------------------------------------------------------

    async def start(self) -> None:
        """Send the StreamInvocation now (iteration does it otherwise)."""
        if self._state == "new":
            self._state = "open"
            try:
                await self._open(self)
            except BaseException:
                self._state = "done"
                raise

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterated:
            raise RuntimeError(f"{self._describe} can be iterated only once")
        self._iterated = True
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        # An async generator, not __anext__ on self: when the loop is left
        # early the generator is closed (at once on CPython), and its
        # ``finally`` cancels the stream on the server.
        await self.start()
        try:
            while True:
                event = await self._queue.get()
                if isinstance(event, _End):
                    if event.error is not None:
                        raise event.error
                    return
                try:
                    item = self._decode(event)
                except CodecError as exc:
                    raise BindingError(
                        f"{self._describe}: an item from the server does not match the "
                        f"contract: {exc.message}"
                    ) from exc
                yield item
        finally:
            await self.cancel()

    async def cancel(self) -> None:
        """Stop the stream: the server is told to stop producing (if it has
        not finished), and iteration ends. Idempotent."""
        state, self._state = self._state, "done"
        if state == "open":
            self._queue.put_nowait(_End(None))
            if self._id is not None:
                await self._cancel(self._id)

    async def aclose(self) -> None:
        """Same as :meth:`cancel`."""
        await self.cancel()

    async def __aenter__(self) -> HubStream[T]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.cancel()

    def __repr__(self) -> str:
        return f"<HubStream {self._describe} {self._state}>"
