"""The WebSockets transport (server side)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from hubgen.server.transport import (
    Transport,
    TransportClosed,
    drop_socket,
    drop_unsent_later,
    server_socket,
)

if TYPE_CHECKING:
    from starlette.types import Receive, Send

__all__ = ["WebSocketTransport"]


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
