"""A fake SignalR server that speaks the protocol by hand, for fault injection.

The real hubgen server behaves; this one is scripted to misbehave (refuse or
garble the handshake, go silent, close with an error, send several messages
in one frame or a message the client cannot bind) and to show exactly what
the client put on the wire. It deliberately does not use hubgen's protocol
module: what it sends and checks is spelled out as JSON text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

RS = "\x1e"

WEBSOCKETS = {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}


class PeerSocket:
    """One accepted WebSocket, with helpers to script the server side."""

    def __init__(self, websocket: WebSocket, peer: Peer) -> None:
        self.websocket = websocket
        self.peer = peer
        self._records: list[dict[str, Any]] = []

    async def receive(self) -> str | bytes | None:
        """The next frame from the client (recorded); None once it closed."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self.peer.close_code = message.get("code")
            self.peer.disconnected.set()
            return None
        frame: str | bytes = (
            message["text"] if message.get("text") is not None else message["bytes"]
        )
        self.peer.frames.append(frame)
        return frame

    async def handshake(self, response: str = "{}" + RS) -> dict[str, Any]:
        """Read the handshake request and answer it with ``response``."""
        frame = await self.receive()
        assert isinstance(frame, str), f"the handshake request must be a text frame: {frame!r}"
        assert frame.endswith(RS)
        self.peer.handshake_received.set()
        request: dict[str, Any] = json.loads(frame[:-1])
        if response:
            await self.send(response)
        return request

    async def send(self, text: str) -> None:
        await self.websocket.send_text(text)

    async def send_messages(self, *messages: dict[str, Any]) -> None:
        """Send ``messages`` as JSON records, all in one frame."""
        await self.send("".join(json.dumps(m) + RS for m in messages))

    async def message(self, *, skip_pings: bool = True) -> dict[str, Any] | None:
        """The next JSON hub message from the client; None once it closed."""
        while True:
            while not self._records:
                frame = await self.receive()
                if frame is None:
                    return None
                assert isinstance(frame, str), f"JSON must arrive as text frames: {frame!r}"
                assert frame.endswith(RS), f"frames must hold whole records: {frame!r}"
                self._records.extend(json.loads(r) for r in frame.split(RS)[:-1])
            record = self._records.pop(0)
            if not (skip_pings and record.get("type") == 6):
                return record

    async def drain(self) -> None:
        """Read (and record) until the client closes."""
        while await self.receive() is not None:
            pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.websocket.close(code, reason)


Script = Callable[[PeerSocket], Awaitable[None]]
NegotiateAnswer = Callable[[int, Request], dict[str, Any] | Response]


def default_negotiate(count: int, request: Request) -> dict[str, Any]:
    return {
        "negotiateVersion": 1,
        "connectionId": f"peer-connection-{count}",
        "connectionToken": f"peer-token-{count}",
        "availableTransports": [WEBSOCKETS],
    }


class Peer:
    """A scripted hub at ``/hub``: negotiate answers from ``negotiate``, each
    accepted WebSocket runs ``script``."""

    def __init__(
        self,
        script: Script,
        *,
        negotiate: NegotiateAnswer = default_negotiate,
        refuse: Callable[[WebSocket], bool] | None = None,
    ) -> None:
        self.script = script
        self.negotiate = negotiate
        self.refuse = refuse
        self.negotiations: list[Request] = []
        self.sockets: list[WebSocket] = []
        self.frames: list[str | bytes] = []
        self.close_code: int | None = None
        self.handshake_received = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.done = asyncio.Event()
        #: An exception the script raised (a failed assertion), re-raised by tests.
        self.error: BaseException | None = None
        self.app = Starlette(
            routes=[
                Route("/hub/negotiate", self._negotiate, methods=["POST"]),
                WebSocketRoute("/hub", self._websocket),
            ]
        )

    async def _negotiate(self, request: Request) -> Response:
        self.negotiations.append(request)
        answer = self.negotiate(len(self.negotiations), request)
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    async def _websocket(self, websocket: WebSocket) -> None:
        self.sockets.append(websocket)
        if self.refuse is not None and self.refuse(websocket):
            await websocket.close(1008)  # before accepting: the upgrade fails (HTTP 403)
            return
        await websocket.accept()
        try:
            await self.script(PeerSocket(websocket, self))
        except Exception as exc:
            self.error = exc
        finally:
            self.done.set()

    def check(self) -> None:
        """Re-raise what went wrong inside the script."""
        if self.error is not None:
            raise self.error


async def idle(socket: PeerSocket) -> None:
    """Complete the handshake, then read without ever answering."""
    await socket.handshake()
    await socket.drain()
