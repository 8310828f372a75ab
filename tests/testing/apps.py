"""Applications the test kit's tests run: the echo hub, and variants that
call their clients from ``on_connected`` or keep count of who left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from hubgen.server import HubOptions, HubRoute
from tests.apps.echo.hub import EchoHubImpl


class GreetingHub(EchoHubImpl):
    """Greets every client as it connects: a receiver registered after the
    connection started may miss it."""

    async def on_connected(self) -> None:
        await super().on_connected()
        await self.clients.caller.message(f"welcome, {self.context.user_identifier}")


class FarewellHub(EchoHubImpl):
    """Tells everyone else when a connection leaves."""

    async def on_disconnected(self, exception: BaseException | None) -> None:
        await super().on_disconnected(exception)
        await self.clients.all.message(f"{self.context.user_identifier} left")


def app_with(hub: type[EchoHubImpl], options: HubOptions | None = None) -> Starlette:
    route = HubRoute("/echo", hub, options=options)
    return Starlette(routes=[route], lifespan=route.lifespan)


class Lifecycle:
    """An application lifespan that records what ran, and yields state."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @asynccontextmanager
    async def __call__(self, app: Starlette) -> AsyncIterator[dict[str, str]]:
        self.events.append("startup")
        yield {"greeting": "hello from the lifespan"}
        self.events.append("shutdown")
