"""The WebSockets transport (server side), over ASGI or, when the server
offers it, straight over hubgen's own WebSocket protocol.

Any ASGI server gets :class:`WebSocketTransport`, which exchanges ASGI
messages. Under uvicorn with ``--ws hubgen.server.wsprotocol:HubWebSocketProtocol``
the accepted socket's scope carries the ``hubgen.websocket`` extension, and
the hub connection switches to :class:`DirectWebSocketTransport`, which takes
whole messages from the protocol object as bytes and writes frames to the
socket itself; routing, middleware and authentication have run through ASGI
as always, up to and including the accept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Protocol

from hubgen.server.frames import binary_frame, compressed_frame, text_frame
from hubgen.server.transport import (
    DirectTransport,
    Transport,
    TransportClosed,
    drop_socket,
    drop_unsent_later,
    server_socket,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import Receive, Scope, Send
    from websockets.extensions import Extension

__all__ = ["EXTENSION", "DirectWebSocketTransport", "WebSocketTransport", "accepted_transport"]

#: The ASGI scope extension hubgen's own WebSocket protocol offers:
#: ``{"transport": <callable>}``, called once after the accept, returning
#: the connection's :class:`DirectWebSocketTransport`.
EXTENSION = "hubgen.websocket"

#: Bytes received and not yet taken by the hub connection before the socket
#: stops reading (resumed once they are taken).
_READ_AHEAD = 64 * 1024


def accepted_transport(
    scope: Scope, receive: Receive, send: Send
) -> WebSocketTransport | DirectWebSocketTransport:
    """The transport for a WebSocket the application has just accepted:
    direct when the server offers it (:data:`EXTENSION`), else over ASGI."""
    owned = (scope.get("extensions") or {}).get(EXTENSION)
    if owned is not None:
        transport = owned["transport"]()
        if isinstance(transport, DirectWebSocketTransport):
            return transport
    return WebSocketTransport(receive, send)


class WebSocketTransport(Transport):
    """A hub connection over one accepted WebSocket.

    Incoming text and binary frames are both accepted at all times (the
    MessagePack handshake arrives as text); frames are not message
    boundaries. Outgoing frames are text for JSON and binary for MessagePack.

    It talks ASGI directly once the socket is accepted: every message of
    every connection passes here, and Starlette's ``WebSocket`` would add a
    layer of state checks to each.
    """

    name = "WebSockets"

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._socket = server_socket(receive)
        #: Set once the connection is done with this socket (closed, dropped,
        #: or replaced by a stateful reconnect's new one).
        self.finished = asyncio.Event()
        self._binary = False
        #: Neither side has closed the socket yet.
        self._open = True

    def use_binary(self, binary: bool) -> None:
        self._binary = binary

    async def receive(self) -> bytes | None:
        if not self._open:
            return None
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self._open = False
            return None
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        text = message.get("text")
        return text.encode("utf-8") if text is not None else b""

    async def send(self, data: bytes) -> None:
        if not self._open:
            raise TransportClosed("the WebSocket is closed")
        if self._binary:
            message = {"type": "websocket.send", "bytes": data}
        else:
            message = {"type": "websocket.send", "text": data.decode("utf-8")}
        try:
            await self._send(message)
        except (OSError, RuntimeError) as exc:  # uvicorn's ClientDisconnected is an OSError
            self._open = False
            raise TransportClosed(str(exc)) from exc

    async def close(self, *, error: bool = False) -> None:
        self.finished.set()
        if not self._open:
            return
        self._open = False
        with contextlib.suppress(OSError, RuntimeError):
            await self._send({"type": "websocket.close", "code": 1011 if error else 1000})

    @property
    def closing(self) -> bool:
        return self._socket is not None and bool(self._socket.is_closing())

    def abort(self) -> None:
        self.finished.set()
        self._open = False
        if self._socket is not None:
            drop_socket(self._socket)

    def abort_later(self, delay: float) -> None:
        # The socket is this connection's alone, and a client that stopped
        # reading never takes the Close frame queued for it.
        if self._socket is not None:
            drop_unsent_later(self._socket, delay)


class WebSocketOwner(Protocol):
    """What :class:`DirectWebSocketTransport` asks of the protocol object
    that owns the socket (``hubgen.server.wsprotocol``)."""

    def close_websocket(self, code: int) -> None:
        """Start the closing handshake with ``code``: a close frame, then the
        socket closes once the client answers (or after a timeout)."""


class DirectWebSocketTransport(DirectTransport):
    """A hub connection over a WebSocket whose frames hubgen's own protocol
    reads and writes: whole messages come in as bytes (:meth:`received`,
    called by the protocol), frames go out through the socket's
    ``write``/``writelines``, without ASGI messages or a task between.

    Kept lean (slots, the ``finished`` event made only when awaited): a
    server holds one per connection.
    """

    __slots__ = (
        "_binary",
        "_bytes_at",
        "_done",
        "_ended",
        "_extension",
        "_finished",
        "_loop",
        "_on_writable",
        "_owner",
        "_pending",
        "_pending_size",
        "_read_paused",
        "_socket",
        "_waiter",
        "closed",
        "shared_frames",
        "writable",
    )

    name = "WebSockets"

    def __init__(
        self,
        owner: WebSocketOwner,
        socket: Any,
        extension: Extension | None,
        loop: asyncio.AbstractEventLoop,
        *,
        writable: bool = True,
    ) -> None:
        self._owner = owner
        #: The asyncio (or uvloop) transport of the socket.
        self._socket = socket
        #: permessage-deflate when negotiated: frames are this connection's own then.
        self._extension = extension
        self.shared_frames = extension is None
        self._loop = loop
        self._binary = False
        #: Whole messages received and not yet taken.
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._read_paused = False
        self._waiter: asyncio.Future[None] | None = None
        #: No more input: the client closed, broke the protocol, or went away.
        self._ended = False
        self.closed = False
        self.writable = writable
        self._on_writable: Callable[[], None] | None = None
        self._bytes_at = 0.0
        #: The connection is done with this socket (see :attr:`finished`).
        self._done = False
        self._finished: asyncio.Event | None = None

    # -- from the protocol ----------------------------------------------------------------

    def bytes_arrived(self, now: float) -> None:
        """Bytes came from the client (``now``: ``time.monotonic()``), a whole
        message or not."""
        self._bytes_at = now

    @property
    def bytes_received_at(self) -> float:
        return self._bytes_at

    def received(self, payload: bytes) -> None:
        """A whole message from the client."""
        self._pending.append(payload)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
            return
        self._pending_size += len(payload)
        if self._pending_size > _READ_AHEAD and not self._read_paused and not self.closed:
            # the hub connection is behind: let TCP hold the client back
            self._read_paused = True
            self._socket.pause_reading()

    def ended(self, *, lost: bool) -> None:
        """No more input (what was received is still taken); with ``lost``
        the socket is gone, or going, and nothing more can be written."""
        self._ended = True
        if lost:
            self._stop_writing()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def paused(self) -> None:
        """The socket's buffer is past its high-water mark."""
        self.writable = False

    def resumed(self) -> None:
        """The socket's buffer drained below its low-water mark."""
        if not self.closed:
            self.writable = True
            callback = self._on_writable
            if callback is not None:
                callback()

    # -- Transport ------------------------------------------------------------------------

    def use_binary(self, binary: bool) -> None:
        self._binary = binary

    async def receive(self) -> bytes | None:
        while True:
            pending = self._pending
            if pending:
                data = pending[0] if len(pending) == 1 else b"".join(pending)
                pending.clear()
                self._pending_size = 0
                if self._read_paused:
                    self._read_paused = False
                    if not self.closed:
                        self._socket.resume_reading()
                return data
            if self._ended:
                return None
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def send(self, data: bytes) -> None:
        # Only the handshake's answer comes this way (the connection writes
        # frames itself): one small frame, taken by the socket's buffer
        # even past its high-water mark.
        if self.closed:
            raise TransportClosed("the WebSocket is closed")
        self._socket.write(self.frame(data))

    async def close(self, *, error: bool = False) -> None:
        self._finish()
        if self.closed:
            return
        self._stop_writing()
        if self._read_paused:  # the client's close frame is to be read
            self._read_paused = False
            self._socket.resume_reading()
        self._owner.close_websocket(1011 if error else 1000)

    @property
    def closing(self) -> bool:
        return self.closed or bool(self._socket.is_closing())

    def abort(self) -> None:
        self._finish()
        self._stop_writing()
        drop_socket(self._socket)

    def abort_later(self, delay: float) -> None:
        drop_unsent_later(self._socket, delay)

    @property
    def finished(self) -> asyncio.Event:
        """Set once the connection is done with this socket (closed,
        dropped, or replaced by a stateful reconnect's new one)."""
        if self._finished is None:
            self._finished = asyncio.Event()
            if self._done:
                self._finished.set()
        return self._finished

    def _finish(self) -> None:
        self._done = True
        if self._finished is not None:
            self._finished.set()

    def _stop_writing(self) -> None:
        if not self.closed:
            self.closed = True
            self.writable = False
            callback = self._on_writable
            if callback is not None:
                callback()  # what waits for room gives up

    # -- DirectTransport ------------------------------------------------------------------

    def frame(self, data: bytes) -> bytes:
        extension = self._extension
        if extension is not None:
            return compressed_frame(data, self._binary, extension)
        return binary_frame(data) if self._binary else text_frame(data)

    def write(self, frame: bytes) -> None:
        if not self.closed:
            self._socket.write(frame)

    def write_frames(self, frames: list[bytes]) -> None:
        if not self.closed:
            self._socket.writelines(frames)

    def on_writable(self, callback: Callable[[], None] | None) -> None:
        self._on_writable = callback
