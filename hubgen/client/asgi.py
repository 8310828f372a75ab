"""A WebSocket to an ASGI application in this process: no socket, no network.

:class:`ASGIWebSocketFactory` is a ``websocket_factory`` for
:class:`~hubgen.client.HubConnection`; with ``httpx.ASGITransport`` for the
HTTP requests (negotiate) a connection reaches an application in memory,
through the application's own code path, middleware included::

    connection = HubConnection(
        "http://app/chat",
        transports="WebSockets",
        http_transport=httpx.ASGITransport(app),
        websocket_factory=ASGIWebSocketFactory(app),
    )

The application runs as a task on the running event loop and speaks the ASGI
WebSocket protocol with in-memory queues, as a server would: ``connect``,
then ``accept``, ``receive`` and ``send``, ``close`` and ``disconnect``. A
refusal (a close before the accept, or a denial response of the
``websocket.http.response`` extension, which is offered) raises
``websockets.exceptions.InvalidStatus`` with its status and body, and a closed
socket raises ``websockets.exceptions.ConnectionClosed``, as the
``websockets`` client does: the WebSockets transport reports both with the
texts it uses over a network. :mod:`hubgen.testing` builds on this.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import unquote, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)
from websockets.frames import Close
from websockets.http11 import Response

__all__ = ["ASGIApp", "ASGIWebSocket", "ASGIWebSocketFactory", "AppErrorHandler"]

logger = logging.getLogger("hubgen.client")

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
#: An ASGI application (Starlette, FastAPI, or any ASGI 3 callable).
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Told about an exception the application raised (instead of logging it).
AppErrorHandler: TypeAlias = Callable[[Exception], None]

_DEFAULT_PORTS: Final = {"ws": 80, "wss": 443}
#: Close codes of a normal close. (The ``websockets`` library's ``OK_CLOSE_CODES``
#: also has 1005, a close frame without a code, which an ASGI app's close never is.)
_OK_CLOSE_CODES: Final = (1000, 1001)


class _Closed:
    """What the client's inbox holds once the socket is closed."""


_CLOSED: Final = _Closed()


class ClientGone(OSError):
    """The application sent on a socket the client has closed (ASGI servers
    raise an ``OSError`` there too)."""


def _status(code: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> Response:
    try:
        reason = http.HTTPStatus(code).phrase
    except ValueError:
        reason = ""
    return Response(code, reason, Headers(headers or []), body)


class ASGIWebSocket:
    """One WebSocket to an ASGI application: the client's end, shaped as the
    WebSockets transport uses a socket (``send``, ``recv``, ``close``). Made
    and opened by :class:`ASGIWebSocketFactory`."""

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        on_error: AppErrorHandler | None = None,
        on_finished: Callable[[ASGIWebSocket], None] | None = None,
    ) -> None:
        self._app = app
        self.scope = scope
        self._on_error = on_error
        self._on_finished = on_finished
        #: What the application's ``receive()`` returns, in order.
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        #: What the application sent: data, then the close marker.
        self._to_client: asyncio.Queue[str | bytes | _Closed] = asyncio.Queue()
        self.state: Literal["connecting", "open", "closed"] = "connecting"
        #: The close frame: received from the application (or its echo of ours).
        self._rcvd: Close | None = None
        #: The close frame we sent (or echoed).
        self._sent: Close | None = None
        #: Whether the application closed first (None until closed).
        self._rcvd_then_sent: bool | None = None
        self._handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._denial: tuple[int, list[tuple[str, str]]] | None = None
        self._denial_body = bytearray()
        self._task: asyncio.Task[None] | None = None

    # -- opening -------------------------------------------------------------------------

    async def open(self) -> None:
        """Run the application and wait for it to accept the socket; raises
        ``InvalidStatus`` when it refuses."""
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"hubgen-asgi-websocket {self.scope['path']}"
        )
        if self._on_finished is not None:
            on_finished = self._on_finished
            self._task.add_done_callback(lambda _: on_finished(self))
        try:
            await asyncio.shield(self._handshake)
        except BaseException:
            if not self._handshake.done():  # cancelled (a timeout): the attempt is over
                self._task.cancel()
            raise

    async def _run(self) -> None:
        error: BaseException | None = None
        try:
            await self._app(self.scope, self._receive, self._send)
        except asyncio.CancelledError:
            error = asyncio.CancelledError()
            raise
        except Exception as exc:
            error = exc
            if self._on_error is not None:
                self._on_error(exc)
            else:
                logger.error("the ASGI application raised", exc_info=exc)
        finally:
            # An application that returns (or fails) leaves no socket behind:
            # as ASGI servers do, refuse the upgrade it never answered (500),
            # or close the socket it accepted (1011 after an error).
            if self.state == "connecting":
                self._refuse(_status(500))
            elif self.state == "open":
                self._closed_by_app(1000 if error is None else 1011, "")

    # -- the application's side --------------------------------------------------------

    async def _receive(self) -> Message:
        message = await self._to_app.get()
        if message["type"] == "websocket.disconnect":
            self._to_app.put_nowait(message)  # and again, if asked again
        return message

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            if self.state != "open":
                if self.state == "closed":
                    raise ClientGone("the WebSocket is closed")
                raise RuntimeError("'websocket.send' before 'websocket.accept'")
            text = message.get("text")
            self._to_client.put_nowait(text if text is not None else bytes(message["bytes"]))
        elif kind == "websocket.accept":
            if self.state != "connecting":
                raise RuntimeError(f"'websocket.accept' on a socket that is {self.state}")
            self.state = "open"
            self._handshake.set_result(None)
        elif kind == "websocket.close":
            if self.state == "connecting":
                # a close before the accept: servers answer the upgrade 403
                self._refuse(_status(403))
            elif self.state == "open":
                self._closed_by_app(int(message.get("code", 1000)), message.get("reason") or "")
            else:
                raise ClientGone("the WebSocket is closed")
        elif kind == "websocket.http.response.start":
            if self.state != "connecting" or self._denial is not None:
                raise RuntimeError("'websocket.http.response.start' after the handshake")
            headers = [
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", [])
            ]
            self._denial = (int(message["status"]), headers)
        elif kind == "websocket.http.response.body":
            if self._denial is None:
                raise RuntimeError("'websocket.http.response.body' before its start")
            self._denial_body += message.get("body", b"")
            if not message.get("more_body", False):
                status, headers = self._denial
                self._refuse(_status(status, bytes(self._denial_body), headers))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a WebSocket")

    def _refuse(self, response: Response) -> None:
        self.state = "closed"
        if not self._handshake.done():
            self._handshake.set_exception(InvalidStatus(response))

    def _closed_by_app(self, code: int, reason: str) -> None:
        self.state = "closed"
        self._rcvd = self._sent = Close(code, reason)  # and the client's echo
        self._rcvd_then_sent = True
        self._to_client.put_nowait(_CLOSED)
        # the client answers the close frame: the application hears of it
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- the client's side -------------------------------------------------------------

    def _connection_closed(self) -> ConnectionClosed:
        """As the ``websockets`` library says it: OK when both close frames
        carry a normal code, else an error."""
        rcvd, sent = self._rcvd, self._sent
        if (
            rcvd is not None
            and sent is not None
            and rcvd.code in _OK_CLOSE_CODES
            and sent.code in _OK_CLOSE_CODES
        ):
            return ConnectionClosedOK(rcvd, sent, self._rcvd_then_sent)
        return ConnectionClosedError(rcvd, sent, self._rcvd_then_sent)

    async def send(self, message: str | bytes) -> None:
        """Deliver ``message`` to the application (``str`` as text)."""
        if self.state != "open":
            raise self._connection_closed()
        if isinstance(message, str):
            self._to_app.put_nowait({"type": "websocket.receive", "text": message})
        else:
            self._to_app.put_nowait({"type": "websocket.receive", "bytes": bytes(message)})

    async def recv(self) -> str | bytes:
        """The next message the application sent; raises ``ConnectionClosed``
        once the socket is closed and everything before was read."""
        item = await self._to_client.get()
        if isinstance(item, _Closed):
            self._to_client.put_nowait(item)
            raise self._connection_closed()
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket: the application receives ``websocket.disconnect``."""
        if self.state != "open":
            return
        self.state = "closed"
        self._sent = self._rcvd = Close(code, reason)  # the application's echo
        self._rcvd_then_sent = False
        self._to_client.put_nowait(_CLOSED)
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- the application's task --------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the application still serves this socket."""
        return self._task is not None and not self._task.done()

    async def wait_closed(self) -> None:
        """Wait until the application has finished with this socket."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def abort(self) -> None:
        """Cancel the application's task (it ignored the close)."""
        if self._task is not None:
            self._task.cancel()


class ASGIWebSocketFactory:
    """Opens :class:`ASGIWebSocket` s to ``app``: a
    :data:`~hubgen.client.transport.WebSocketFactory`.

    The request scope carries the URL's path and query, the upgrade request's
    headers (``Authorization``, cookies, the user's headers), ``client`` as the
    peer address and ``root_path``. An exception the application raises goes
    to ``on_error`` when given, else to the ``hubgen.client`` log. Keep the
    factory to :meth:`aclose` it: it ends the sockets it opened.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client: tuple[str, int] = ("127.0.0.1", 123),
        root_path: str = "",
        on_error: AppErrorHandler | None = None,
    ) -> None:
        self.app = app
        self.client = client
        self.root_path = root_path
        self.on_error = on_error
        #: The sockets opened so far whose application has not finished.
        self.sockets: set[ASGIWebSocket] = set()

    def scope(self, url: str, headers: Mapping[str, str]) -> Scope:
        """The ASGI scope of a WebSocket to ``url`` (``ws://`` or ``wss://``)."""
        parts = urlsplit(url)
        scheme = parts.scheme if parts.scheme in _DEFAULT_PORTS else "ws"
        host = parts.hostname or "testserver"
        port = parts.port or _DEFAULT_PORTS[scheme]
        raw = [
            ("host", parts.netloc or host),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", base64.b64encode(os.urandom(16)).decode()),
        ]
        given = {name.lower() for name in headers}
        raw = [(name, value) for name, value in raw if name not in given]
        raw += [(name.lower(), value) for name, value in headers.items()]
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": scheme,
            "server": (host, port),
            "client": self.client,
            "root_path": self.root_path,
            "path": unquote(parts.path) or "/",
            "raw_path": (parts.path or "/").encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in raw],
            "subprotocols": [],
            "extensions": {"websocket.http.response": {}},
        }

    async def __call__(self, url: str, headers: Mapping[str, str]) -> ASGIWebSocket:
        socket = ASGIWebSocket(
            self.app, self.scope(url, headers), self.on_error, self.sockets.discard
        )
        self.sockets.add(socket)
        await socket.open()
        return socket

    async def aclose(self, timeout: float = 5.0) -> list[ASGIWebSocket]:
        """Close every socket still open and wait up to ``timeout`` seconds
        for the application to finish with each; the ones it did not finish
        with are cancelled and returned."""
        sockets = list(self.sockets)
        for socket in sockets:
            await socket.close()
        stuck: list[ASGIWebSocket] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                for socket in sockets:
                    await socket.wait_closed()
        for socket in sockets:
            if socket.running:
                socket.abort()
                stuck.append(socket)
        for socket in stuck:
            with contextlib.suppress(asyncio.CancelledError):
                await socket.wait_closed()
        return stuck
