"""The benchmark hub: the smallest contract that exercises a round trip."""

from __future__ import annotations

from typing import Protocol

import hubgen


class BenchClient(Protocol):
    async def received(self, payload: str) -> None: ...


@hubgen.hub(client=BenchClient)
class BenchHub(Protocol):
    async def echo(self, payload: str) -> str: ...

    async def broadcast(self, payload: str) -> None: ...
