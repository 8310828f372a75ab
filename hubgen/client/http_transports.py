"""Server-Sent Events and Long Polling (client side), as the official client has them.

Both receive over HTTP responses and send with ``POST url?id=<token>``. SSE
carries text only (MessagePack never selects it); Long Polling keeps itself
alive, so the hub connection sends no pings over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import ClassVar
from urllib.parse import quote

import httpx

from hubgen.client.errors import TransportError
from hubgen.client.negotiate import USER_AGENT, merge_headers, resolve_token
from hubgen.client.transport import Transport, TransportContext
from hubgen.protocol import TransferFormat

__all__ = ["LongPollingTransport", "ServerSentEventsTransport"]

logger = logging.getLogger("hubgen.client")

#: The official client's fixed long-poll request timeout.
POLL_TIMEOUT = 100.0

_Item = bytes | TransportError | None


def _http_error(response: httpx.Response) -> TransportError:
    text = response.text or response.reason_phrase
    return TransportError(f"{text}: Status code '{response.status_code}'")


class _HttpTransport(Transport):
    """Sending by POST, and the queue :meth:`receive` reads."""

    _url = ""
    _token: str | None = None

    def __init__(self, context: TransportContext) -> None:
        super().__init__(context)
        self._items: asyncio.Queue[_Item] = asyncio.Queue()
        self._closed = False

    async def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "X-Requested-With": "XMLHttpRequest"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if extra:
            headers.update(extra)
        return merge_headers(headers, self.context.headers)

    async def send(self, data: str | bytes) -> None:
        if self._closed:
            raise TransportError("Cannot send until the transport is connected")
        if isinstance(data, str):
            content, kind = data.encode("utf-8"), "text/plain;charset=UTF-8"
        else:
            content, kind = data, "application/octet-stream"
        try:
            response = await self.context.http.post(
                self._url, content=content, headers=await self._headers({"Content-Type": kind})
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"sending failed: {exc}") from exc
        if not response.is_success:
            raise _http_error(response)

    async def receive(self) -> bytes | None:
        if self._closed and self._items.empty():
            return None
        item = await self._items.get()
        if isinstance(item, TransportError):
            raise item
        return item


class ServerSentEventsTransport(_HttpTransport):
    """Server → client as an event stream; client → server by POST."""

    name: ClassVar[str] = "ServerSentEvents"

    _response: httpx.Response | None = None
    _reader: asyncio.Task[None] | None = None

    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        if transfer_format is not TransferFormat.TEXT:
            raise TransportError(
                "The Server-Sent Events transport only supports the 'Text' transfer format"
            )
        self._url = url
        self._token = await resolve_token(self.context.access_token)
        stream_url = url
        if self._token:
            # EventSource cannot send headers: the token travels in the query.
            stream_url += ("&" if "?" in url else "?") + "access_token=" + quote(self._token)
        request = self.context.http.build_request(
            "GET",
            stream_url,
            headers=merge_headers(
                {
                    "User-Agent": USER_AGENT,
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-cache",
                },
                self.context.headers,
            ),
            timeout=httpx.Timeout(self.context.connect_timeout, read=None),
        )
        try:
            response = await self.context.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise TransportError(f"EventSource failed to connect: {exc}") from exc
        if response.status_code != 200:
            await response.aclose()
            raise TransportError(
                "EventSource failed to connect. The connection could not be found on the "
                "server, either the connection ID is not present on the server, or a proxy "
                "is refusing/buffering the connection. If you have multiple servers check "
                "that sticky sessions are enabled."
            )
        self._response = response
        self._reader = asyncio.get_running_loop().create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        buffer = ""
        data: list[str] = []
        try:
            async for chunk in response.aiter_text():
                buffer += chunk
                while True:
                    # EventSource splits lines on CR, LF or CRLF only.
                    cut = min(
                        (i for i in (buffer.find("\r"), buffer.find("\n")) if i >= 0), default=-1
                    )
                    if cut < 0:
                        break
                    if buffer[cut] == "\r" and cut + 1 == len(buffer):
                        break  # a CR at the end may be the first half of CRLF
                    line = buffer[:cut]
                    skip = 2 if buffer.startswith("\r\n", cut) else 1
                    buffer = buffer[cut + skip :]
                    if not line:
                        if data:
                            await self._items.put("\n".join(data).encode("utf-8"))
                            data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
            await self._items.put(None)  # the server ended the stream
        except (httpx.HTTPError, OSError) as exc:
            if not self._closed:
                await self._items.put(TransportError(f"Server-Sent Events stream failed: {exc}"))
        finally:
            self._closed = True

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._response is not None:
            await self._response.aclose()
        self._items.put_nowait(None)


class LongPollingTransport(_HttpTransport):
    """Server → client as answers to polls; client → server by POST."""

    name: ClassVar[str] = "LongPolling"
    inherent_keep_alive: ClassVar[bool] = True

    _poller: asyncio.Task[None] | None = None

    def _poll_url(self) -> str:
        return f"{self._url}{'&' if '?' in self._url else '?'}_={int(time.time() * 1000)}"

    async def _get(self) -> httpx.Response:
        return await self.context.http.get(
            self._poll_url(), headers=await self._headers(), timeout=POLL_TIMEOUT
        )

    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        self._url = url
        self._token = await resolve_token(self.context.access_token)
        try:
            first = await self._get()  # the server answers the first poll at once
        except httpx.HTTPError as exc:
            raise TransportError(f"Long Polling failed to connect: {exc}") from exc
        if first.status_code != 200:
            raise _http_error(first)
        self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while not self._closed:
            try:
                response = await self._get()
            except httpx.TimeoutException:
                continue  # a client-side timeout: poll again
            except httpx.HTTPError as exc:
                await self._items.put(TransportError(f"Long Polling failed: {exc}"))
                break
            if response.status_code == 204:
                await self._items.put(None)  # the server ended the connection
                break
            if response.status_code != 200:
                await self._items.put(_http_error(response))
                break
            if response.content:
                await self._items.put(response.content)
        self._closed = True

    async def close(self) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        was_open, self._closed = not self._closed, True
        if was_open and self._url:
            try:
                await self.context.http.delete(self._url, headers=await self._headers())
            except httpx.HTTPError:
                logger.debug("DELETE of the long-polling connection failed", exc_info=True)
        self._items.put_nowait(None)
