"""Two hubs sharing models and a client Protocol."""

from __future__ import annotations

from typing import Protocol

import hubgen

from .models import Event


class Listener(Protocol):
    async def event(self, event: Event) -> None: ...


@hubgen.hub(client=Listener)
class OrdersHub(Protocol):
    async def place(self, event: Event) -> int: ...


@hubgen.hub(client=Listener)
class AuditHub(Protocol):
    async def recent(self, limit: int = 10) -> list[Event]: ...
