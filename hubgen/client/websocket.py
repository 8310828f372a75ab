"""The WebSockets transport, on the ``websockets`` library's asyncio client.

As the official client does outside browsers, the access token travels in an
``Authorization: Bearer`` header and the user's headers (and the HTTP client's
cookies, for sticky sessions) go with the upgrade request. Text is sent as
text frames and bytes as binary frames. WebSocket-level pings are off: SignalR
keeps the connection alive with its own Ping messages. A connection's
``websocket_factory`` (``TransportContext``) opens the socket instead of the
``websockets`` library when it is set: the headers, the error texts and the
rest stay the same.
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import ClassVar, Final

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from hubgen.client.errors import TransportError, exception_text
from hubgen.client.negotiate import USER_AGENT, merge_headers, resolve_token
from hubgen.client.transport import ClientWebSocket, Transport, TransportName
from hubgen.protocol import TransferFormat

__all__ = ["WebSocketTransport"]

_FAILED_TO_CONNECT: Final = (
    "WebSocket failed to connect. The connection could not be found on the server, either "
    "the endpoint may not be a SignalR endpoint, the connection ID is not present on the "
    "server, or there is a proxy blocking WebSockets. If you have multiple servers check "
    "that sticky sessions are enabled."
)


def websocket_url(url: str) -> str:
    """``http(s)://`` → ``ws(s)://``; ``ws(s)://`` URLs are kept."""
    if url.startswith("http"):
        return "ws" + url[4:]
    return url


def _closed_error(exc: ConnectionClosed) -> TransportError | None:
    """None for a clean close (status 1000), else the official client's text."""
    frame = exc.rcvd
    if frame is not None and frame.code == 1000:
        return None
    code = frame.code if frame is not None else 1006
    reason = (frame.reason if frame is not None else "") or "no reason given"
    return TransportError(f"WebSocket closed with status code: {code} ({reason}).")


class WebSocketTransport(Transport):
    """A connection over one WebSocket."""

    name: ClassVar[TransportName] = "WebSockets"
    inherent_keep_alive: ClassVar[bool] = False

    _socket: ClientWebSocket | None = None

    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        context = self.context
        headers = {"User-Agent": USER_AGENT}
        token = await resolve_token(context.access_token)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        cookie = self._cookie_header(url)
        if cookie:
            headers["Cookie"] = cookie
        headers = merge_headers(headers, context.headers)
        factory = context.websocket_factory
        try:
            if factory is not None:
                async with asyncio.timeout(context.connect_timeout):
                    self._socket = await factory(websocket_url(url), headers)
            else:
                self._socket = await connect(
                    websocket_url(url),
                    additional_headers=headers,
                    user_agent_header=None,
                    open_timeout=context.connect_timeout,
                    ping_interval=None,
                    max_size=None,
                    close_timeout=5,
                )
        except InvalidStatus as exc:
            response = exc.response
            body = response.body.decode("utf-8", "replace").strip() if response.body else ""
            detail = f"{response.status_code} {response.reason_phrase}".strip()
            raise TransportError(
                f"{_FAILED_TO_CONNECT} (HTTP {detail}{': ' + body if body else ''})"
            ) from exc
        except TimeoutError as exc:
            raise TransportError(
                f"{_FAILED_TO_CONNECT} (no answer within {context.connect_timeout:g} seconds)"
            ) from exc
        except (OSError, WebSocketException) as exc:
            raise TransportError(f"{_FAILED_TO_CONNECT} ({exception_text(exc)})") from exc

    def _cookie_header(self, url: str) -> str | None:
        """The cookies the HTTP client holds for ``url`` (e.g. a load balancer's
        affinity cookie set on negotiate)."""
        jar = self.context.http.cookies.jar
        if not len(jar):
            return None
        http_url = "http" + url[2:] if url.startswith("ws") else url
        request = urllib.request.Request(http_url)
        jar.add_cookie_header(request)
        return request.get_header("Cookie")

    def _open_socket(self) -> ClientWebSocket:
        if self._socket is None:
            raise TransportError("WebSocket is not in the OPEN state")
        return self._socket

    async def send(self, data: str | bytes) -> None:
        socket = self._open_socket()
        try:
            await socket.send(data)
        except ConnectionClosed as exc:
            raise TransportError("WebSocket is not in the OPEN state") from exc

    async def receive(self) -> bytes | None:
        socket = self._open_socket()
        try:
            data = await socket.recv()
        except ConnectionClosed as exc:
            error = _closed_error(exc)
            if error is None:
                return None
            raise error from exc
        return data.encode("utf-8") if isinstance(data, str) else data

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close(1000)
