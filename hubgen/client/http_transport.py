"""What Server-Sent Events and Long Polling share: plain HTTP requests.

Both receive over HTTP responses and send with ``POST {url}?id=<token>``, a
body of one or more whole messages (the connection's send queue batches what
piled up while a POST was in flight): ``text/plain;charset=UTF-8`` for text,
``application/octet-stream`` for binary, as the official client's
``sendMessage`` does. Every request carries the user agent,
``X-Requested-With``, the user's headers, the cookies the connection's HTTP
client holds (a load balancer's affinity cookie from negotiate), and the
access token as ``Authorization: Bearer``. The token is resolved when the
transport connects and reused; when the server answers ``401`` and the token
comes from a function, it is asked for a new one and the request is repeated
once (the official ``AccessTokenHttpClient``).

What the server sends goes through an :class:`Inbox`, which holds a few
chunks at most: a consumer that stops reading stops the reading of the
response (Server-Sent Events) or the next poll (Long Polling), so the server
sees back-pressure rather than the client buffering without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Final

import httpx

from hubgen.client.errors import TransportError, exception_text
from hubgen.client.negotiate import USER_AGENT, http_error_text, merge_headers, resolve_token
from hubgen.client.transport import Transport, TransportContext

__all__ = ["INBOX_CAPACITY", "HttpTransport", "Inbox"]

logger = logging.getLogger("hubgen.client")

#: Chunks of server data an :class:`Inbox` holds before its producer waits.
INBOX_CAPACITY: Final = 8

_NOT_CONNECTED: Final = "Cannot send until the transport is connected"


class Inbox:
    """Server data on its way to :meth:`Transport.receive`: one producer (the
    transport's reader), one consumer (the connection), bounded."""

    def __init__(self, capacity: int = INBOX_CAPACITY) -> None:
        self._chunks: deque[bytes] = deque()
        self._capacity = capacity
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._ended = False
        self._error: TransportError | None = None

    @property
    def ended(self) -> bool:
        return self._ended

    async def put(self, data: bytes) -> bool:
        """Add ``data``, waiting while the inbox is full. False (``data``
        dropped) once the inbox has ended."""
        while len(self._chunks) >= self._capacity and not self._ended:
            self._writable.clear()
            await self._writable.wait()
        if self._ended:
            return False
        self._chunks.append(data)
        self._readable.set()
        return True

    def end(self, error: TransportError | None = None) -> None:
        """No more data: after what is queued, :meth:`get` returns None (or
        raises ``error``). The first call decides; later ones do nothing."""
        if not self._ended:
            self._ended = True
            self._error = error
        self._readable.set()
        self._writable.set()

    async def get(self) -> bytes | None:
        """The next chunk; None at a clean end. Raises the error it ended with."""
        while not self._chunks:
            if self._ended:
                if self._error is not None:
                    raise self._error
                return None
            self._readable.clear()
            await self._readable.wait()
        data = self._chunks.popleft()
        self._writable.set()
        return data


class HttpTransport(Transport):
    """Sending by POST, HTTP requests with the access token, and the inbox."""

    def __init__(self, context: TransportContext) -> None:
        super().__init__(context)
        self._inbox = Inbox()
        #: The transport URL (``...?id=<token>``); set by ``connect``.
        self._url: str | None = None
        self._token: str | None = None

    @property
    def connected(self) -> bool:
        """True between a successful ``connect`` and the end of the transport."""
        return self._url is not None and not self._inbox.ended

    async def _fetch_token(self) -> str | None:
        """Resolve the access token anew and remember it."""
        self._token = await resolve_token(self.context.access_token)
        return self._token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "X-Requested-With": "XMLHttpRequest"}
        if extra:
            headers.update(extra)
        headers = merge_headers(headers, self.context.headers)
        if self._token:
            headers = merge_headers(headers, {"Authorization": f"Bearer {self._token}"})
        return headers

    async def _request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One request with the current token, read to the end; once more
        with a fresh token when the server answers 401 and the token comes
        from a function. Raises :class:`httpx.HTTPError`."""
        http = self.context.http
        timeout_arg = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        response = await http.request(
            method, url, content=content, headers=self._headers(headers), timeout=timeout_arg
        )
        if response.status_code == 401 and callable(self.context.access_token):
            logger.debug("%s %s: 401, retrying with a new access token", method, url)
            await self._fetch_token()
            response = await http.request(
                method, url, content=content, headers=self._headers(headers), timeout=timeout_arg
            )
        return response

    async def send(self, data: str | bytes) -> None:
        url = self._url
        if url is None or not self.connected:
            raise TransportError(_NOT_CONNECTED)
        if isinstance(data, str):
            content, content_type = data.encode("utf-8"), "text/plain;charset=UTF-8"
        else:
            content, content_type = data, "application/octet-stream"
        try:
            response = await self._request(
                "POST", url, content=content, headers={"Content-Type": content_type}
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"Sending to the server failed: {exception_text(exc)}") from exc
        if not response.is_success:
            raise TransportError(http_error_text(response))

    async def receive(self) -> bytes | None:
        return await self._inbox.get()
