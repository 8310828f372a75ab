"""The HTTP transports: Server-Sent Events and Long Polling (server side).

Both carry server → client data over HTTP responses and receive the client's
messages through ``POST {path}?id=<token>``, which the endpoint hands to
:meth:`HttpTransport.feed`. The hub layer sees them as any other
:class:`~hubgen.server.transport.Transport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from hubgen.server.transport import Transport, TransportClosed

if TYPE_CHECKING:
    from starlette.types import Receive, Send

__all__ = ["HttpTransport", "LongPollingTransport", "ServerSentEventsTransport"]

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache,no-store"),
    (b"pragma", b"no-cache"),
    (b"content-encoding", b"identity"),
    (b"x-accel-buffering", b"no"),
]
_OCTETS = "application/octet-stream"


class HttpTransport(Transport):
    """What SSE and Long Polling share: client data arrives by POST."""

    def __init__(self) -> None:
        self._inbound: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._post_lock = asyncio.Lock()
        self.closed = False

    async def feed(self, data: bytes) -> None:
        """Data from a POST. Concurrent POSTs are taken one at a time."""
        async with self._post_lock:
            if not self.closed:
                await self._inbound.put(data)

    def end_input(self) -> None:
        """The client is gone: :meth:`receive` returns None from now on."""
        self._inbound.put_nowait(None)

    async def receive(self) -> bytes | None:
        if self.closed and self._inbound.empty():
            return None
        return await self._inbound.get()


class ServerSentEventsTransport(HttpTransport):
    """Server → client as ``text/event-stream`` on one long GET response."""

    name = "ServerSentEvents"
    supports_binary = False

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send

    async def open(self) -> None:
        """Start the response and write the comment that makes EventSource open."""
        await self._send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await self._send({"type": "http.response.body", "body": b":\r\n", "more_body": True})

    async def watch_disconnect(self, receive: Receive) -> None:
        """End the connection when the GET request goes away."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.closed = True
                self.end_input()
                return

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise TransportClosed("the event stream was closed")
        text = data.replace(b"\r\n", b"\n").split(b"\n")
        event = b"".join(b"data: " + line + b"\r\n" for line in text) + b"\r\n"
        try:
            await self._send({"type": "http.response.body", "body": event, "more_body": True})
        except OSError as exc:
            self.closed = True
            raise TransportClosed(str(exc)) from exc

    async def close(self, *, error: bool = False) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        self.end_input()


class LongPollingTransport(HttpTransport):
    """Server → client as answers to polls; the connection lives between them."""

    name = "LongPolling"
    inherent_keep_alive = True

    def __init__(self, poll_timeout: float) -> None:
        super().__init__()
        self._poll_timeout = poll_timeout
        self._outbound: deque[bytes] = deque()
        self._has_data = asyncio.Event()
        self._poll: asyncio.Future[None] | None = None
        self._polled_once = False
        #: When the last poll ended (None while one is pending).
        self.idle_since: float | None = time.monotonic()

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise TransportClosed("the long-polling connection was closed")
        self._outbound.append(data)
        self._has_data.set()

    async def close(self, *, error: bool = False) -> None:
        self.closed = True
        self._has_data.set()
        self.end_input()

    async def poll(self) -> tuple[int, bytes, str | None]:
        """Answer one poll: (status, body, content type).

        ``200`` with data; ``200`` empty when the poll timed out; ``204`` when
        the connection has ended (or a newer poll took over).
        """
        if not self._polled_once:
            # The first poll returns at once: the client awaits it before it
            # sends the handshake.
            self._polled_once = True
            return 200, b"", _OCTETS
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)  # a newer poll replaces the pending one
        superseded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poll = superseded
        self.idle_since = None
        try:
            if not self._outbound and not self.closed:
                self._has_data.clear()
                waiter = asyncio.ensure_future(self._has_data.wait())
                either: set[asyncio.Future[Any]] = {waiter, superseded}
                try:
                    await asyncio.wait(
                        either,
                        timeout=self._poll_timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiter.cancel()
                if superseded.done():
                    return 204, b"", None
            if self._outbound:
                body = b"".join(self._outbound)
                self._outbound.clear()
                return 200, body, _OCTETS
            if self.closed:
                return 204, b"", None
            return 200, b"", "text/plain"
        finally:
            if self._poll is superseded:
                self._poll = None
                self.idle_since = time.monotonic()
