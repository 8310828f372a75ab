"""The real hubgen server the client tests talk to.

The echo hub (``tests/apps/echo``) at ``/echo``, with two additions for the
client's sake: its ``counter`` stream records when the server sees it end
(so a test can prove a cancellation reached the server), and a few plain
negotiate routes that redirect or fail the way proxies and other servers do.
Every HTTP and WebSocket request is recorded, so tests can check what the
client sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hubgen.server import HubOptions, HubRoute
from tests.apps.echo.hub import EchoHubImpl


@dataclass
class StreamLog:
    """What the server saw of ``counter`` streams."""

    ended: asyncio.Event = field(default_factory=asyncio.Event)
    #: True when the stream ended because it was cancelled.
    cancelled: bool = False
    produced: int = 0


class ClientTestHub(EchoHubImpl):
    """The echo hub, reporting what the client tests need to see.

    The queues are class-wide (hub instances live for one call) and replaced
    by :func:`create_app`.
    """

    #: A log per ``counter`` stream, as each starts.
    streams: asyncio.Queue[StreamLog] = asyncio.Queue()
    #: ``(connection id, error text)`` as each connection ends.
    disconnects: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    async def on_disconnected(self, exception: BaseException | None) -> None:
        await super().on_disconnected(exception)
        await self.disconnects.put(
            (self.context.connection_id, None if exception is None else str(exception))
        )

    async def counter(self, count: int, delay: float = 0.0) -> AsyncIterator[int]:
        log = StreamLog()
        await self.streams.put(log)
        try:
            for i in range(count):
                if delay:
                    await asyncio.sleep(delay)
                log.produced += 1
                yield i
        except (asyncio.CancelledError, GeneratorExit):
            log.cancelled = True
            raise
        finally:
            log.ended.set()


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    type: str  # "http" or "websocket"
    method: str
    path: str
    query: str
    headers: dict[str, str]


class Recorder:
    """ASGI middleware that records every request."""

    def __init__(self, app: ASGIApp, route: HubRoute[Any]) -> None:
        self.app = app
        #: The echo hub's route (``route.close()`` is what a shutdown does).
        self.route = route
        self.seen: list[Seen] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.seen.append(
                Seen(
                    type=scope["type"],
                    method=scope.get("method", "GET"),
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode(),
                    headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                )
            )
        await self.app(scope, receive, send)

    def negotiations(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/negotiate")]

    def websockets(self) -> list[Seen]:
        return [s for s in self.seen if s.type == "websocket"]


async def _redirect(request: Request) -> Response:
    """``/redirect/negotiate`` sends the client on to ``/echo`` with a new token."""
    target = str(request.base_url).rstrip("/") + "/echo"
    return JSONResponse({"url": target, "accessToken": "redirected-token"})


async def _redirect_loop(request: Request) -> Response:
    target = str(request.base_url).rstrip("/") + "/loop"
    return JSONResponse({"url": target})


async def _status(request: Request) -> Response:
    """``/status/{code}/negotiate`` answers ``code`` with the ``body`` query value."""
    code = int(request.path_params["code"])
    return Response(request.query_params.get("body", ""), status_code=code)


def create_app(options: HubOptions | None = None) -> Recorder:
    """The client tests' server: ``/echo`` plus the negotiate oddities, recorded."""
    ClientTestHub.streams = asyncio.Queue()
    ClientTestHub.disconnects = asyncio.Queue()
    route = HubRoute("/echo", ClientTestHub, options=options)
    app = Starlette(
        routes=[
            route,
            Route("/redirect/negotiate", _redirect, methods=["POST"]),
            Route("/loop/negotiate", _redirect_loop, methods=["POST"]),
            Route("/status/{code:int}/negotiate", _status, methods=["POST"]),
        ]
    )
    return Recorder(app, route)
