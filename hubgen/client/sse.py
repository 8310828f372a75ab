"""The Server-Sent Events transport (client side), as the official client has it.

Server → client: ``GET {url}?id=<token>`` with ``Accept: text/event-stream``,
read as an event stream for as long as the connection lives. The access
token travels in the ``access_token`` query parameter (an ``EventSource``
cannot send headers; the official client does the same outside browsers);
user headers and the HTTP client's cookies go along. ``connect`` returns as
soon as the response starts (a hubgen or ASP.NET Core server writes the
comment ``:\\r\\n`` at once), before any event.

Client → server: POSTs (:class:`~hubgen.client.http_transport.HttpTransport`).

Server-Sent Events carry text only: the connection never picks them for
MessagePack. The server ending the stream is a normal close (as the official
client treats it); the stream breaking is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import ClassVar, Final
from urllib.parse import quote

import httpx

from hubgen.client.errors import TransportError, exception_text
from hubgen.client.http_transport import HttpTransport
from hubgen.client.negotiate import USER_AGENT, merge_headers
from hubgen.client.transport import TransportName
from hubgen.protocol import TransferFormat

__all__ = ["EventStreamParser", "ServerSentEventsTransport"]

logger = logging.getLogger("hubgen.client")

_FAILED_TO_CONNECT: Final = (
    "EventSource failed to connect. The connection could not be found on the server, either "
    "the connection ID is not present on the server, or a proxy is refusing/buffering the "
    "connection. If you have multiple servers check that sticky sessions are enabled."
)
_END_OF_LINE: Final = re.compile(rb"\r\n|\r|\n")
_BOM: Final = b"\xef\xbb\xbf"


class EventStreamParser:
    """Turns a ``text/event-stream`` body, fed in chunks of any size, into
    the data of its messages, as an ``EventSource`` reports them to
    ``onmessage``.

    Lines end with CRLF, LF or CR; a leading byte order mark is dropped;
    lines starting with ``:`` are comments; the values of an event's ``data``
    fields are joined with LF; a blank line dispatches the event, unless it
    had no ``data`` field or its ``event`` type is neither empty nor
    ``message``; an unfinished event at the end of the stream is dropped.
    ``id`` and ``retry`` (reconnection hints) are ignored: SignalR never
    reconnects an event stream. Works on bytes: SignalR's payload is UTF-8
    and goes to the hub protocol as bytes anyway.
    """

    def __init__(self) -> None:
        #: The start of a line whose end has not arrived yet.
        self._pending = bytearray()
        self._started = False
        self._data: list[bytes] = []
        self._event = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Parse ``chunk``; the data of each message it completed, in order."""
        pending = self._pending
        # What was pending holds no line end, except perhaps a CR at its very
        # end: look for line ends from there on only (a long line arriving in
        # many chunks is scanned once).
        scan_from = max(len(pending) - 1, 0)
        pending += chunk
        if not self._started:
            if len(pending) < len(_BOM) and _BOM.startswith(pending):
                return []  # may still become a byte order mark
            self._started = True
            if pending.startswith(_BOM):
                del pending[: len(_BOM)]
                scan_from = 0
        messages: list[bytes] = []
        start = 0
        for end in _END_OF_LINE.finditer(pending, scan_from):
            if end.group() == b"\r" and end.end() == len(pending):
                break  # a CR at the very end may be half of a CRLF
            self._line(bytes(pending[start : end.start()]), messages)
            start = end.end()
        del pending[:start]
        return messages

    def _line(self, line: bytes, messages: list[bytes]) -> None:
        if not line:
            if self._data and self._event in (b"", b"message"):
                messages.append(b"\n".join(self._data))
            self._data = []
            self._event = b""
            return
        if line.startswith(b":"):
            return  # a comment (the server's first bytes, or a keep-alive)
        name, _, value = line.partition(b":")
        value = value.removeprefix(b" ")
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value


class ServerSentEventsTransport(HttpTransport):
    """Server → client as an event stream; client → server by POST."""

    name: ClassVar[TransportName] = "ServerSentEvents"

    _response: httpx.Response | None = None
    _reader: asyncio.Task[None] | None = None

    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        if transfer_format is not TransferFormat.TEXT:
            raise TransportError(
                "The Server-Sent Events transport only supports the 'Text' transfer format"
            )
        token = await self._fetch_token()
        stream_url = url
        if token:
            stream_url += ("&" if "?" in url else "?") + "access_token=" + quote(token, safe="")
        context = self.context
        request = context.http.build_request(
            "GET",
            stream_url,
            headers=merge_headers(
                {
                    "User-Agent": USER_AGENT,
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-cache",
                },
                context.headers,
            ),
            # Waiting for the next event may take as long as the connection lives.
            timeout=httpx.Timeout(context.connect_timeout, read=None),
        )
        try:
            async with asyncio.timeout(context.connect_timeout):
                response = await context.http.send(request, stream=True)
        except TimeoutError:
            raise TransportError(
                f"{_FAILED_TO_CONNECT} (no answer within {context.connect_timeout:g} seconds)"
            ) from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{_FAILED_TO_CONNECT} ({exception_text(exc)})") from exc
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or not content_type.lower().startswith("text/event-stream"):
            detail = await _refusal(response, content_type, context.connect_timeout)
            raise TransportError(f"{_FAILED_TO_CONNECT} ({detail})")
        logger.debug("SSE connected to %s", url)
        self._url = url
        self._response = response
        self._reader = asyncio.get_running_loop().create_task(
            self._read(response), name="hubgen-client-sse"
        )

    async def _read(self, response: httpx.Response) -> None:
        parser = EventStreamParser()
        error: TransportError | None = None
        try:
            async for chunk in response.aiter_bytes():
                for data in parser.feed(chunk):
                    if data and not await self._inbox.put(data):
                        return  # closed meanwhile
            logger.debug("The server ended the event stream.")
        except (httpx.HTTPError, OSError) as exc:
            error = TransportError(f"The Server-Sent Events stream broke: {exception_text(exc)}")
        finally:
            self._inbox.end(error)
            await response.aclose()

    async def close(self) -> None:
        self._inbox.end()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()


async def _refusal(response: httpx.Response, content_type: str, timeout: float) -> str:
    """Why an event stream response was refused, for the error text (the
    response is closed)."""
    try:
        if response.status_code == 200:
            return f"HTTP 200 with Content-Type '{content_type or 'none'}', not 'text/event-stream'"
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        try:
            async with asyncio.timeout(timeout):
                body = (await response.aread()).decode("utf-8", "replace").strip()
        except (TimeoutError, httpx.HTTPError):
            body = ""
        return f"{status}: {body[:200]}" if body else status
    finally:
        await response.aclose()
