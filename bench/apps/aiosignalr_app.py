"""aiosignalr 0.1.1, the other Python SignalR server, under the same uvicorn.

As shipped it does not work with the official client over WebSockets, for
two reasons this module fixes in-process, and only these:

1. every frame goes out as a *binary* WebSocket message, so the official
   client's JSON protocol rejects it ("Expected a string"): JSON frames are
   sent as text messages here;
2. the MessagePack protocol packs the headers of StreamItem, Completion and
   CancelInvocation as the integer 0x80 instead of an empty map (0x80 is the
   *encoding* of an empty map), which the official client rejects: an empty
   map is packed instead.

Neither fix adds per-message work beyond the text frame's UTF-8 decode that
any server sending text pays. Numbers measured on this module are marked
"patched" in the results.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiosignalr.enums import TransferFormat
from aiosignalr.protocol import messagepack_protocol
from aiosignalr.server import Hub, HubConnectionContext, SignalRServer
from aiosignalr.server import server as server_module
from aiosignalr.server.transports import WebSocketServerTransport

# -- fix 2: the empty header map --------------------------------------------
messagepack_protocol._EMPTY_HEADERS = {}


# -- fix 1: JSON in text frames ----------------------------------------------
class _TextAwareWebSocketTransport(WebSocketServerTransport):  # type: ignore[misc]
    """Sends a frame as text unless the connection's protocol is binary."""

    context: Any = None

    async def send(self, data: bytes) -> None:
        protocol = self.context.protocol if self.context is not None else None
        if protocol is not None and protocol.transfer_format is TransferFormat.BINARY:
            await self._socket.send_bytes(data)
            return
        socket = self._socket
        await socket._accept()
        await socket._send({"type": "websocket.send", "text": data.decode()})


_attach_transport = HubConnectionContext.attach_transport


def _attach(self: Any, transport: Any, *, inherent_keepalive: bool) -> None:
    if isinstance(transport, _TextAwareWebSocketTransport):
        transport.context = self
    _attach_transport(self, transport, inherent_keepalive=inherent_keepalive)


HubConnectionContext.attach_transport = _attach
server_module.WebSocketServerTransport = _TextAwareWebSocketTransport


# -- the hub -------------------------------------------------------------------
class BenchHub(Hub):  # type: ignore[misc]
    # aiosignalr looks methods up by their lower-cased Python name.
    async def echo(self, payload: str) -> str:
        return payload

    async def broadcast(self, payload: str) -> None:
        await self.clients.all_.send("Received", payload)

    async def join(self, group: str) -> None:
        await self.groups.add(group)

    async def sendtogroup(self, group: str, payload: str) -> None:
        await self.clients.group(group).send("Received", payload)

    async def counter(self, count: int) -> AsyncIterator[int]:
        for i in range(count):
            if not i & 255:
                await asyncio.sleep(0)  # as in every server's Counter: see raw_ws.stream
            yield i


app = SignalRServer(BenchHub).asgi_app(path="/hub")
