"""The baseline: bare WebSockets on the same stack (Starlette + uvicorn).

One route per scenario, so the baseline parses nothing:

* ``/ws`` echoes every text message;
* ``/broadcast`` sends every text message to every connection on the route;
* ``/group?g=NAME`` sends every text message to the connections that opened
  the route with the same ``g``;
* ``/stream`` answers a text message ``N`` with the N text messages ``0``…``N-1``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


_everyone: set[WebSocket] = set()
_groups: defaultdict[str, set[WebSocket]] = defaultdict(set)


async def _relay(websocket: WebSocket, members: set[WebSocket]) -> None:
    await websocket.accept()
    members.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            for member in list(members):
                try:
                    await member.send_text(text)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    members.discard(member)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(websocket)


async def broadcast(websocket: WebSocket) -> None:
    await _relay(websocket, _everyone)


async def group(websocket: WebSocket) -> None:
    await _relay(websocket, _groups[websocket.query_params.get("g", "")])


async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        count = int(await websocket.receive_text())
        for i in range(count):
            # Every server's Counter yields to the event loop every 256 items:
            # a send into a socket the client has closed may not, and the loop
            # would spin without ever noticing the disconnect.
            if not i & 255:
                await asyncio.sleep(0)
            await websocket.send_text(str(i))
        await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


app = Starlette(
    routes=[
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/broadcast", broadcast),
        WebSocketRoute("/group", group),
        WebSocketRoute("/stream", stream),
    ]
)
