"""A fake SignalR server over plain HTTP, for the Server-Sent Events and Long
Polling transports: the test scripts every answer.

``/hub/negotiate`` answers with connection ``connection-N`` / token
``token-N`` and the transports given. Each event stream (a GET accepting
``text/event-stream``) becomes an :class:`EventStream` the test writes raw
bytes into; each other GET becomes a :class:`Poll` the test answers; POSTs
are recorded (and can be held back), DELETEs answered with ``delete_status``;
WebSocket upgrades are refused. Every request is recorded with its headers.
The app is raw ASGI so that a poll the client abandons is noticed
(:attr:`Poll.aborted`) and an event stream can be cut off mid-body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Message, Receive, Scope, Send

RS = "\x1e"

Offer = dict[str, object]

SSE: Offer = {"transport": "ServerSentEvents", "transferFormats": ["Text"]}
LONG_POLLING: Offer = {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]}
WEBSOCKETS: Offer = {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}


@dataclass
class Request:
    """One HTTP request the peer received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def token(self) -> str | None:
        return self.query.get("id")


@dataclass
class Poll:
    """A Long Polling GET waiting for the test's answer."""

    request: Request
    answer_future: asyncio.Future[tuple[int, bytes]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    #: Set when the client went away before the answer.
    aborted: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, status: int = 200, body: bytes | str = b"") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.answer_future.set_result((status, data))


@dataclass
class EventStream:
    """An event stream response: the test writes raw bytes, then ends or breaks it."""

    request: Request
    chunks: asyncio.Queue[bytes | BaseException | None] = field(default_factory=asyncio.Queue)
    #: Set when the client went away.
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def write(self, data: bytes | str) -> None:
        self.chunks.put_nowait(data.encode() if isinstance(data, str) else data)

    def end(self) -> None:
        """Finish the response normally."""
        self.chunks.put_nowait(None)

    def cut(self) -> None:
        """Drop the connection mid-body (the chunked body never completes)."""
        self.chunks.put_nowait(ConnectionAbortedError("cut by the test"))


def messages(*records: dict[str, Any]) -> str:
    """JSON hub messages, each followed by the record separator."""
    return "".join(json.dumps(record) + RS for record in records)


class HttpPeer:
    """A scripted hub at ``/hub`` for the HTTP transports."""

    def __init__(
        self,
        transports: Sequence[Offer] = (SSE, LONG_POLLING),
        *,
        stream_status: int = 200,
        stream_content_type: str = "text/event-stream",
        delete_status: int = 202,
    ) -> None:
        self.transports = list(transports)
        self.stream_status = stream_status
        self.stream_content_type = stream_content_type
        self.delete_status = delete_status
        self.requests: list[Request] = []
        self.polls: asyncio.Queue[Poll] = asyncio.Queue()
        self.streams: asyncio.Queue[EventStream] = asyncio.Queue()
        self.posts: asyncio.Queue[Request] = asyncio.Queue()
        self.deletes: asyncio.Queue[Request] = asyncio.Queue()
        #: POSTs wait for this before they are answered (set: answer at once).
        self.post_gate = asyncio.Event()
        self.post_gate.set()
        #: The status POSTs are answered with.
        self.post_status = 200
        #: Bearer tokens answered with 401 on every request but negotiate.
        self.expired_tokens: set[str] = set()
        #: A cookie negotiate sets (``name=value``), as a load balancer's affinity cookie.
        self.negotiate_cookie: str | None = None
        #: Bodies that replace the Nth (from 1) negotiate response.
        self.negotiate_answers: dict[int, dict[str, object]] = {}
        self._negotiations = 0

    def of(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and "negotiate" not in r.path]

    def negotiations(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/negotiate")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                if event == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["type"] == "websocket":
            # WebSockets are always refused: the upgrade fails with HTTP 403.
            self.requests.append(Request("WEBSOCKET", scope["path"], query, headers))
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = Request(scope["method"], scope["path"], query, headers, body)
        self.requests.append(request)
        if request.path == "/hub/negotiate":
            await self._negotiate(send)
            return
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if bearer in self.expired_tokens:
            await _respond(send, 401)
            return
        if request.method == "POST":
            await self.posts.put(request)
            await self.post_gate.wait()
            await _respond(send, self.post_status)
        elif request.method == "DELETE":
            await self.deletes.put(request)
            await _respond(send, self.delete_status)
        elif "text/event-stream" in headers.get("accept", ""):
            await self._stream(request, receive, send)
        else:
            await self._poll(request, receive, send)

    async def _negotiate(self, send: Send) -> None:
        self._negotiations += 1
        n = self._negotiations
        body = self.negotiate_answers.get(n) or {
            "negotiateVersion": 1,
            "connectionId": f"connection-{n}",
            "connectionToken": f"token-{n}",
            "availableTransports": self.transports,
        }
        cookie = [] if self.negotiate_cookie is None else [(b"set-cookie", self.negotiate_cookie)]
        await _respond(send, 200, json.dumps(body).encode(), "application/json", cookie)

    async def _poll(self, request: Request, receive: Receive, send: Send) -> None:
        poll = Poll(request)
        await self.polls.put(poll)
        gone = asyncio.ensure_future(_disconnected(receive))
        either: set[asyncio.Future[Any]] = {poll.answer_future, gone}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not poll.answer_future.done():
            poll.aborted.set()
            return
        status, data = poll.answer_future.result()
        await _respond(send, status, data, "application/octet-stream")

    async def _stream(self, request: Request, receive: Receive, send: Send) -> None:
        stream = EventStream(request)
        await self.streams.put(stream)
        if self.stream_status != 200:
            await _respond(send, self.stream_status, b"no stream for you")
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", self.stream_content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b":\r\n", "more_body": True})
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            while True:
                chunk = asyncio.ensure_future(stream.chunks.get())
                await asyncio.wait({chunk, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not chunk.done():
                    chunk.cancel()
                    stream.closed.set()
                    return
                item = chunk.result()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                await send({"type": "http.response.body", "body": item, "more_body": True})
        finally:
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    message: Message = {"type": ""}
    while message["type"] != "http.disconnect":
        message = await receive()


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: str = "text/plain",
    cookies: list[tuple[bytes, str]] | None = None,
) -> None:
    headers = [(b"content-type", content_type.encode())]
    headers += [(name, value.encode()) for name, value in cookies or ()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
