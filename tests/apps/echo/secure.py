"""The echo hub behind authentication and authorization, for the identity
tests: a bearer token names its user, scopes and expiry (``alice``,
``bob;math,upload``, ``carol;;1700000000``), and the hub and some of its
methods require them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.authentication import SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hubgen.server import HubLifetimeManager, HubOptions, HubRoute
from hubgen.server.authentication import BearerAuthBackend, Identity
from hubgen.server.authorization import AuthorizationContext, allow_anonymous, authorize

from .hub import EchoHubImpl


def validate(token: str) -> Identity | None:
    """``name[;scope,scope[;expires_at]]``; ``invalid`` is refused."""
    if token == "invalid":
        return None
    name, _, rest = token.partition(";")
    scopes, _, expires = rest.partition(";")
    return Identity(
        SimpleUser(name),
        scopes=[s for s in scopes.split(",") if s],
        expires_at=datetime.fromtimestamp(float(expires), UTC) if expires else None,
    )


async def not_mallory(context: AuthorizationContext) -> bool:
    return context.user.display_name != "mallory"


def may_crash(context: AuthorizationContext) -> bool:
    raise RuntimeError("a broken policy")


@authorize()
class SecureEchoHub(EchoHubImpl):
    """Any signed-in user may connect; ``add`` needs the ``math`` scope,
    uploads the ``upload`` scope, streams anyone but mallory."""

    @authorize(scopes=["math"])
    async def add(self, a: int, b: int = 10) -> int:
        return await super().add(a, b)

    @authorize(scopes=["upload"])
    async def sum_upload(self, numbers: AsyncIterator[int]) -> int:
        return await super().sum_upload(numbers)

    @authorize(policy=not_mallory)
    def counter(self, count: int, delay: float = 0.0) -> AsyncIterator[int]:
        return super().counter(count, delay)

    @authorize(policy=may_crash)
    async def crash(self) -> None:
        await super().crash()


class StrictEchoHub(SecureEchoHub):
    """Inherits the rules of SecureEchoHub, adds ``admin`` on ``echo``, and
    lets anyone call ``add`` (which SecureEchoHub restricts)."""

    @authorize(scopes=["admin"])
    async def echo(self, text: str) -> str:
        return text

    @allow_anonymous
    async def add(self, a: int, b: int = 10) -> int:
        return a + b


@allow_anonymous
class OpenEchoHub(SecureEchoHub):
    """SecureEchoHub's method rules, but anyone may connect."""


def create_secure_app(
    options: HubOptions | None = None, *, lifetime: HubLifetimeManager | None = None
) -> Starlette:
    """The three hubs; ``lifetime`` (a Redis manager, say) serves ``/echo``."""
    routes = [
        HubRoute("/echo", SecureEchoHub, options=options, lifetime=lifetime),
        HubRoute("/strict", StrictEchoHub, options=options),
        HubRoute("/open", OpenEchoHub, options=options),
    ]
    hub = routes[0]

    async def announce(request: Request) -> PlainTextResponse:
        """Sends from outside a hub method (``HubRoute.clients``)."""
        await hub.clients.all.message(request.query_params["text"])
        return PlainTextResponse("sent")

    backend = BearerAuthBackend(validate, hubs=routes)
    app = Starlette(
        routes=[*routes, Route("/announce", announce, methods=["POST"])],
        middleware=[Middleware(AuthenticationMiddleware, backend=backend)],
        lifespan=routes[0].lifespan,
    )
    app.state.hub = routes[0]
    return app
