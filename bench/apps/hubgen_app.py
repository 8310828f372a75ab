"""The hubgen server under benchmark: ``uvicorn bench.apps.hubgen_app:app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from hubgen.server import HubOptions, HubRoute

from .generated.bench_hub_server import BenchHubBase


class BenchHub(BenchHubBase):
    async def echo(self, payload: str) -> str:
        return payload

    async def broadcast(self, payload: str) -> None:
        await self.clients.all.received(payload)

    async def join(self, group: str) -> None:
        await self.groups.add(self.context.connection_id, group)

    async def send_to_group(self, group: str, payload: str) -> None:
        await self.clients.group(group).received(payload)

    async def counter(self, count: int) -> AsyncIterator[int]:
        for i in range(count):
            if not i & 255:
                await asyncio.sleep(0)  # as in every server's Counter: see raw_ws.stream
            yield i


app = Starlette(routes=[HubRoute("/hub", BenchHub, options=HubOptions(max_message_size=None))])
