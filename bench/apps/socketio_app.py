"""What most Python users pick today: python-socketio as an ASGI app."""

from __future__ import annotations

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")


@sio.event  # type: ignore[untyped-decorator,unused-ignore]
async def echo(sid: str, payload: str) -> str:
    return payload


app = socketio.ASGIApp(sio)
