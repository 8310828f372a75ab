"""The chat server: ``python -m chat.server`` serves it on 127.0.0.1:8000.

The hub is at ``/chat``; the web page (``web/public``, its script bundled by
``web/build``) at ``/``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from hubgen.server import HubOptions, HubRoute

from .hub import ChatHub, ChatStore

#: The page and its assets; ``web/build`` writes the script to ``build/app.js``.
WEB_ROOT = Path(__file__).resolve().parents[1] / "web" / "public"

log = logging.getLogger(__name__)


def create_app(
    options: HubOptions | None = None, *, hub_class: type[ChatHub] = ChatHub
) -> Starlette:
    """The chat application: the hub at ``/chat`` (state in memory), the web
    page at ``/``. ``hub_class`` is a ``ChatHub`` subclass to use instead."""
    store = ChatStore()
    hub = HubRoute("/chat", hub_class, factory=lambda: hub_class(store), options=options)
    if not (WEB_ROOT / "build" / "app.js").is_file():
        log.warning(
            "the chat page's script is not built (%s is missing): the hub works, the "
            "page at / does not; run examples/chat/web/build (needs Node.js and npm)",
            WEB_ROOT / "build" / "app.js",
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await hub.close()

    page = Mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web")
    app = Starlette(routes=[hub, page], lifespan=lifespan)
    app.state.hub = hub
    app.state.store = store
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the hubgen chat example.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    # Chat messages are small: compressing each WebSocket frame costs more CPU
    # than it saves (ASP.NET Core SignalR does not compress either). uvicorn
    # assembles each WebSocket message whole before the hub sees it: bound it
    # to a few times HubOptions.max_message_size (32 KiB by default).
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        ws_per_message_deflate=False,
        ws_max_size=128 * 1024,
    )


if __name__ == "__main__":
    main()
