"""What most Python users pick today: python-socketio as an ASGI app.

Events mirror the hub's methods: ``echo`` (acknowledged with its payload),
``broadcast`` (``received`` to everyone), ``join`` (enter a room,
acknowledged) and ``send_to_group`` (``received`` to a room). Socket.IO has
no streams, so the stream scenario has no python-socketio row.
"""

from __future__ import annotations

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")


@sio.event  # type: ignore[untyped-decorator,unused-ignore]
async def echo(sid: str, payload: str) -> str:
    return payload


@sio.event  # type: ignore[untyped-decorator,unused-ignore]
async def broadcast(sid: str, payload: str) -> None:
    await sio.emit("received", payload)


@sio.event  # type: ignore[untyped-decorator,unused-ignore]
async def join(sid: str, group: str) -> bool:
    await sio.enter_room(sid, group)
    return True


@sio.event  # type: ignore[untyped-decorator,unused-ignore]
async def send_to_group(sid: str, group: str, payload: str) -> None:
    await sio.emit("received", payload, room=group)


app = socketio.ASGIApp(sio)
