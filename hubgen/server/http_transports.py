"""The HTTP transports: Server-Sent Events and Long Polling (server side).

Both carry server → client data over HTTP responses and receive the client's
messages through ``POST {path}?id=<token>``, which the endpoint hands to
:meth:`HttpTransport.feed`. The hub layer sees them as any other
:class:`~hubgen.server.transport.Transport`.

Both directions have back-pressure, as ASP.NET Core's pipes give it: a POST
completes only as fast as the hub reads it, and Long Polling stops taking
messages once :data:`MAX_UNPOLLED` bytes wait for a poll, so the connection's
own queue and its ``slow_client_policy`` apply to a client that stops polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from hubgen.server.transport import (
    Transport,
    TransportClosed,
    drop_socket,
    drop_unsent_later,
    server_socket,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from starlette.types import Receive, Send

__all__ = [
    "MAX_UNPOLLED",
    "HttpTransport",
    "LongPollingTransport",
    "ServerSentEventsTransport",
    "format_event",
    "wait_disconnect",
]

#: Bytes Long Polling holds for the next poll before ``send`` waits for one
#: (ASP.NET Core's default transport buffer is the same size).
MAX_UNPOLLED = 64 * 1024

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache,no-store"),
    (b"pragma", b"no-cache"),
    (b"content-encoding", b"identity"),
    (b"x-accel-buffering", b"no"),  # ask nginx-style proxies not to buffer the stream
]
_OCTETS = "application/octet-stream"
_TEXT = "text/plain"


def format_event(data: bytes) -> bytes:
    """``data`` as one Server-Sent Event: a ``data: `` line for each line of
    ``data`` (split on LF, a CR just before it dropped), then a blank line.
    EventSource joins the lines back with LF."""
    if not data:
        return b"\r\n"
    lines = (line.removesuffix(b"\r") for line in data.split(b"\n"))
    return b"".join(b"data: " + line + b"\r\n" for line in lines) + b"\r\n"


async def wait_disconnect(receive: Receive) -> None:
    """Return once the client of an HTTP request has gone (``http.disconnect``).
    Call it only when nothing else reads the request body."""
    while (await receive())["type"] != "http.disconnect":
        pass


class HttpTransport(Transport):
    """What SSE and Long Polling share: client data arrives by POST.

    At most one chunk of client data waits for the hub at a time, so a POST
    completes as the hub takes in its body, and POSTs go one after another:
    their messages never interleave.
    """

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._post_lock = asyncio.Lock()
        #: True once the connection has ended: no more data in either direction.
        self.closed = False

    def preload(self, data: bytes) -> None:
        """Client data that arrived before this transport started: the hub
        reads it first."""
        if data:
            self._chunks.append(data)
            self._readable.set()

    async def feed(self, body: AsyncIterable[bytes]) -> bool:
        """Hand a POST body to the hub chunk by chunk, no faster than the hub
        reads it. False when the connection ended before all of it was taken."""
        async with self._post_lock:
            if self.closed:
                return False
            async for chunk in body:
                if chunk and not await self._put(chunk):
                    return False
            return True

    async def _put(self, chunk: bytes) -> bool:
        while self._chunks and not self.closed:
            self._writable.clear()
            await self._writable.wait()
        if self.closed:
            return False
        self._chunks.append(chunk)
        self._readable.set()
        return True

    async def receive(self) -> bytes | None:
        while not self._chunks:
            if self.closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        self._writable.set()
        return chunk

    def _end(self) -> None:
        """The connection is over: readers get None, POSTs stop waiting."""
        self.closed = True
        self._readable.set()
        self._writable.set()


class ServerSentEventsTransport(HttpTransport):
    """Server → client as ``text/event-stream`` on one long GET response."""

    name = "ServerSentEvents"
    supports_binary = False

    def __init__(self, send: Send, receive: Receive) -> None:
        super().__init__()
        self._send = send
        self._socket = server_socket(receive)
        self._response_ended = False

    async def open(self) -> None:
        """Start the response and write the comment that makes EventSource open."""
        await self._send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await self._send({"type": "http.response.body", "body": b":\r\n", "more_body": True})

    async def watch(self, receive: Receive) -> None:
        """End the connection when the GET request goes away (EventSource closed)."""
        await wait_disconnect(receive)
        self._end()

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise TransportClosed("the event stream was closed")
        event = format_event(data)
        try:
            await self._send({"type": "http.response.body", "body": event, "more_body": True})
        except OSError as exc:
            self._end()
            raise TransportClosed(str(exc)) from exc

    async def close(self, *, error: bool = False) -> None:
        self._end()
        if not self._response_ended:
            self._response_ended = True
            with contextlib.suppress(OSError):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def abort(self) -> None:
        # The response never completes: the socket cannot be reused, drop it.
        self._end()
        self._response_ended = True
        if self._socket is not None:
            drop_socket(self._socket)

    def abort_later(self, delay: float) -> None:
        # A complete response the client has not taken: it stopped reading.
        # One that took it all keeps its socket for its next request.
        if self._socket is not None:
            drop_unsent_later(self._socket, delay)


class LongPollingTransport(HttpTransport):
    """Server → client as answers to polls; the connection lives between them."""

    name = "LongPolling"
    inherent_keep_alive = True

    def __init__(self, poll_timeout: float) -> None:
        super().__init__()
        self._poll_timeout = poll_timeout
        self._outbound: deque[bytes] = deque()
        self._unpolled = 0
        self._has_data = asyncio.Event()
        self._drained = asyncio.Event()
        self._poll: asyncio.Future[None] | None = None
        self._polled_once = False
        #: When the last poll ended (None while one is pending).
        self.idle_since: float | None = time.monotonic()

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise TransportClosed("the long-polling connection was closed")
        self._outbound.append(data)
        self._unpolled += len(data)
        self._has_data.set()
        while self._unpolled >= MAX_UNPOLLED and not self.closed:
            self._drained.clear()
            await self._drained.wait()

    async def close(self, *, error: bool = False) -> None:
        """End the connection, and return once a poll has taken what is left
        (the Close message, say): the caller bounds the wait. Without it, a
        server shutting down would be gone before the client's next poll."""
        self.abort()
        while self._outbound:
            self._drained.clear()
            await self._drained.wait()

    def abort(self) -> None:
        # Nothing here waits on the client: polls still take what is buffered,
        # then learn the connection is over.
        self._end()
        self._has_data.set()
        self._drained.set()

    async def poll(self) -> tuple[int, bytes, str]:
        """Answer one poll: (status, body, content type).

        ``200`` with data; ``200`` empty when the poll timed out; ``204`` when
        the connection has ended or a newer poll took over (:attr:`closed`
        tells which). Cancelling a poll (its client went away) takes nothing.
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
                        either, timeout=self._poll_timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waiter.cancel()
                if superseded.done():
                    return 204, b"", _TEXT
            if self._outbound:
                body = b"".join(self._outbound)
                self._outbound.clear()
                self._unpolled = 0
                self._drained.set()
                return 200, body, _OCTETS
            if self.closed:
                return 204, b"", _TEXT
            return 200, b"", _TEXT
        finally:
            if self._poll is superseded:
                self._poll = None
                self.idle_since = time.monotonic()
