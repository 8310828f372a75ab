"""A deliberately dumb SignalR client for wire-level server tests.

It speaks the JSON hub protocol by hand, without hubgen's protocol module, so
server tests check the bytes on the wire rather than hubgen's own round trip.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

RS = "\x1e"


class RawClient:
    """One WebSocket connection to a hub, JSON protocol, messages as dicts."""

    def __init__(self, ws: ClientConnection, connection_id: str | None) -> None:
        self.ws = ws
        self.connection_id = connection_id
        self._pending: deque[dict[str, Any]] = deque()
        #: Messages received while waiting for others, oldest first.
        self.unclaimed: list[dict[str, Any]] = []
        self._next_id = 0

    @classmethod
    async def open(
        cls,
        base_url: str,
        path: str = "/echo",
        *,
        negotiate: bool = True,
        handshake: bool = True,
        protocol: str = "json",
        headers: dict[str, str] | None = None,
        access_token: str | None = None,
    ) -> RawClient:
        """``access_token`` goes in the query string of negotiate and of the
        WebSocket request, as browsers send it."""
        connection_id = None
        query = ""
        token = "" if access_token is None else f"access_token={access_token}"
        if negotiate:
            async with httpx.AsyncClient() as http:
                response = await http.post(
                    f"{base_url}{path}/negotiate?negotiateVersion=1"
                    + (f"&{token}" if token else "")
                )
                response.raise_for_status()
                body = response.json()
            connection_id = body["connectionId"]
            query = f"?id={body['connectionToken']}" + (f"&{token}" if token else "")
        elif token:
            query = f"?{token}"
        ws_url = base_url.replace("http://", "ws://", 1) + path + query
        ws = await connect(ws_url, additional_headers=headers or {}, open_timeout=5)
        client = cls(ws, connection_id)
        if handshake:
            response_text = await client.handshake(protocol)
            assert response_text == "{}" + RS, response_text
        return client

    async def handshake(self, protocol: str = "json", version: int = 1) -> str:
        await self.ws.send(json.dumps({"protocol": protocol, "version": version}) + RS)
        frame = await asyncio.wait_for(self.ws.recv(), 5)
        return frame if isinstance(frame, str) else frame.decode()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message) + RS)

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    async def invoke(self, target: str, *args: Any, stream_ids: list[str] | None = None) -> str:
        invocation_id = self.new_id()
        message: dict[str, Any] = {
            "type": 1,
            "invocationId": invocation_id,
            "target": target,
            "arguments": list(args),
        }
        if stream_ids:
            message["streamIds"] = stream_ids
        await self.send(message)
        return invocation_id

    async def call(self, target: str, *args: Any, timeout: float = 5) -> dict[str, Any]:
        """Invoke and return the Completion (other messages stay queued)."""
        invocation_id = await self.invoke(target, *args)
        return await self.expect(3, invocation_id=invocation_id, timeout=timeout)

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        """The next message, pings included."""
        while not self._pending:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            assert isinstance(frame, str), f"JSON must arrive in text frames, got {frame!r}"
            assert frame.endswith(RS), f"frame must hold whole records: {frame!r}"
            for record in frame.split(RS)[:-1]:
                self._pending.append(json.loads(record))
        return self._pending.popleft()

    async def expect(
        self, type_: int, *, invocation_id: str | None = None, timeout: float = 5
    ) -> dict[str, Any]:
        """The first message of ``type_`` (with ``invocation_id`` if given).
        Pings are dropped; other messages are set aside, in order, for later
        calls (see :attr:`unclaimed`)."""
        for index, message in enumerate(self.unclaimed):
            if self._matches(message, type_, invocation_id):
                del self.unclaimed[index]
                return message
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if self._matches(message, type_, invocation_id):
                    return message
                if message["type"] != 6:
                    self.unclaimed.append(message)

    @staticmethod
    def _matches(message: dict[str, Any], type_: int, invocation_id: str | None) -> bool:
        if message["type"] != type_:
            return False
        return invocation_id is None or message.get("invocationId") == invocation_id

    async def close(self) -> None:
        await self.ws.close()
