"""The hubgen server under benchmark: ``uvicorn bench.apps.hubgen_app:app``."""

from __future__ import annotations

from starlette.applications import Starlette

from hubgen.server import HubOptions, HubRoute

from .generated.bench_hub_server import BenchHubBase


class BenchHub(BenchHubBase):
    async def echo(self, payload: str) -> str:
        return payload

    async def broadcast(self, payload: str) -> None:
        await self.clients.all.received(payload)


app = Starlette(routes=[HubRoute("/hub", BenchHub, options=HubOptions(max_message_size=None))])
