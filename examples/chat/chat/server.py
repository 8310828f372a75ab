"""The chat server: ``python -m chat.server`` serves it on 127.0.0.1:8000.

The hub is at ``/chat``, for signed-in users only; ``POST /login`` signs in
(``chat.auth``: a name and the server's passphrase for a JWT); the web page
(``web/public``, its script bundled by ``web/build``) is at ``/``.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hubgen.server import HubLifetimeManager, HubOptions, HubRoute, InMemoryLifetimeManager
from hubgen.server.authentication import BearerAuthBackend, RedactAccessToken
from hubgen.server.wsprotocol import HubWebSocketProtocol

from .auth import Login, Tokens, passphrase_from_environment
from .hub import ChatHub, ChatStore

#: The page and its assets; ``web/build`` writes the script to ``build/app.js``.
WEB_ROOT = Path(__file__).resolve().parents[1] / "web" / "public"

log = logging.getLogger(__name__)

#: Browsers send the access token in the URL of WebSocket and Server-Sent
#: Events requests: keep it out of uvicorn's access log.
_REDACT = RedactAccessToken()


def lifetime_from_environment() -> HubLifetimeManager:
    """On Redis when ``CHAT_REDIS_URL`` names one (several server processes:
    messages reach every user wherever they connected; the message history
    and who is online stay each process's own), else in memory."""
    url = os.environ.get("CHAT_REDIS_URL")
    if url:
        from hubgen.server.redis import RedisLifetimeManager  # needs hubgen[redis]

        log.info("the chat hub scales out on Redis at %s", url)
        return RedisLifetimeManager(url)
    return InMemoryLifetimeManager()


def create_app(
    options: HubOptions | None = None,
    *,
    hub_class: type[ChatHub] = ChatHub,
    tokens: Tokens | None = None,
    passphrase: str | None = None,
) -> Starlette:
    """The chat application: the hub at ``/chat`` (state in memory), sign-in
    at ``/login``, the web page at ``/``. ``hub_class`` is a ``ChatHub``
    subclass to use instead; ``tokens`` and ``passphrase`` default to the
    environment's (``chat.auth``)."""
    lifetime = lifetime_from_environment()
    store = ChatStore(sees_everyone=isinstance(lifetime, InMemoryLifetimeManager))
    tokens = tokens or Tokens.from_environment()
    if passphrase is None:
        passphrase = passphrase_from_environment()
    hub = HubRoute(
        "/chat",
        hub_class,
        factory=lambda: hub_class(store),
        options=options,
        lifetime=lifetime,
    )
    if not (WEB_ROOT / "build" / "app.js").is_file():
        log.warning(
            "the chat page's script is not built (%s is missing): the hub works, the "
            "page at / does not; run examples/chat/web/build (needs Node.js and npm)",
            WEB_ROOT / "build" / "app.js",
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # here rather than in main(): uvicorn sets its loggers up after that
        logging.getLogger("uvicorn.access").addFilter(_REDACT)
        async with hub.lifespan(app):
            yield

    login = Route("/login", Login(tokens, passphrase).handle, methods=["POST"])
    page = Mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web")
    # The token is read on every request (the hub's own may carry it as
    # ?access_token=); a request without a valid one is anonymous, and the
    # hub's @authorize() answers it 401.
    backend = BearerAuthBackend(tokens.validate, hubs=[hub])
    app = Starlette(
        routes=[login, hub, page],
        middleware=[Middleware(AuthenticationMiddleware, backend=backend)],
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.store = store
    app.state.tokens = tokens
    return app


def main() -> None:
    """Serve the chat; sign in with the passphrase in ``CHAT_PASSPHRASE`` (or
    the one this logs when that is unset)."""
    parser = argparse.ArgumentParser(
        description="Serve the hubgen chat example.",
        epilog="Environment: CHAT_PASSPHRASE, the passphrase to sign in with (made up and "
        "logged when unset); CHAT_JWT_SECRET, the key tokens are signed with (made up "
        "when unset; give every process the same one); CHAT_REDIS_URL, a Redis for "
        "several server processes (memory when unset).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    # hubgen's own WebSocket protocol: hub connections read and write frames
    # themselves, and a message to a room is framed once for everyone in it.
    # Chat messages are small: compressing each WebSocket frame costs more CPU
    # than it saves (ASP.NET Core SignalR does not compress either). Each
    # WebSocket message is assembled whole before the hub sees it: bound it
    # to a few times HubOptions.max_message_size (32 KiB by default).
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        ws=HubWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_max_size=128 * 1024,
    )


if __name__ == "__main__":
    main()
