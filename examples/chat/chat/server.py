"""The chat server: ``python -m chat.server`` serves it on 127.0.0.1:8000."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hubgen.server import HubOptions, HubRoute

from .hub import ChatHub, ChatStore


def create_app(options: HubOptions | None = None) -> Starlette:
    """The chat application: the hub at ``/chat`` (state in memory)."""
    store = ChatStore()
    hub = HubRoute("/chat", ChatHub, factory=lambda: ChatHub(store), options=options)

    async def index(_: object) -> PlainTextResponse:
        return PlainTextResponse("hubgen chat example: the hub is at /chat\n")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await hub.close()

    app = Starlette(routes=[Route("/", index), hub], lifespan=lifespan)
    app.state.hub = hub
    app.state.store = store
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the hubgen chat example.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
