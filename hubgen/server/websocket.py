"""The WebSockets transport (server side)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from starlette.websockets import WebSocketDisconnect, WebSocketState

from hubgen.server.transport import Transport, TransportClosed

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["WebSocketTransport"]


class WebSocketTransport(Transport):
    """A hub connection over one accepted WebSocket.

    Incoming text and binary frames are both accepted at all times (the
    MessagePack handshake arrives as text); frames are not message
    boundaries. Outgoing frames are text for JSON and binary for MessagePack.
    """

    name = "WebSockets"

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._binary = False

    def use_binary(self, binary: bool) -> None:
        self._binary = binary

    async def receive(self) -> bytes | None:
        if self._websocket.client_state is not WebSocketState.CONNECTED:
            return None
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        text = message.get("text")
        return text.encode("utf-8") if text is not None else b""

    async def send(self, data: bytes) -> None:
        if self._binary:
            message = {"type": "websocket.send", "bytes": data}
        else:
            message = {"type": "websocket.send", "text": data.decode("utf-8")}
        try:
            await self._websocket.send(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise TransportClosed(str(exc)) from exc

    async def close(self, *, error: bool = False) -> None:
        if self._websocket.application_state is WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._websocket.close(code=1011 if error else 1000)
