"""The hubgen server under benchmark: ``uvicorn bench.apps.hubgen_app:app``.

``BENCH_KEEP_ALIVE`` (optional) sets the seconds between the server's pings
(default 15, ASP.NET Core's). ``bench.instructions`` sets it to an hour:
under valgrind a run lasts about fifty times as long, and a ping to every
connection every 15 s of that would be counted as work per message that it
is not.
"""

from __future__ import annotations

import asyncio
import os
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


def options() -> HubOptions:
    """The options of every benchmark hub (no message size limit)."""
    keep_alive = float(os.environ.get("BENCH_KEEP_ALIVE") or 15.0)
    return HubOptions(
        max_message_size=None, keep_alive_interval=keep_alive, client_timeout=2 * keep_alive
    )


app = Starlette(routes=[HubRoute("/hub", BenchHub, options=options())])
