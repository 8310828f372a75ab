"""A telemetry service: devices report readings, dashboards watch them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

import hubgen

T = TypeVar("T")


class Unit(StrEnum):
    """What a reading measures."""

    CELSIUS = "celsius"
    PERCENT = "percent"


class Reading(BaseModel):
    """One measurement of one device."""

    device: str
    value: float
    unit: Unit
    taken_at: datetime
    note: str | None = None


class Page(BaseModel, Generic[T]):
    """A page of results, oldest first."""

    items: list[T]
    next_cursor: str | None = None


class Snapshot(BaseModel):
    """A camera image of a device."""

    device: str
    image: bytes
    taken_at: datetime


class Dashboard(Protocol):
    """What the server calls on every dashboard."""

    async def reading_added(self, reading: Reading) -> None:
        """A device reported ``reading``."""
        ...

    async def acknowledge(self, alert: str) -> bool:
        """Ask the operator to acknowledge ``alert`` (a client result)."""
        ...


@hubgen.hub(client=Dashboard)
class TelemetryHub(Protocol):
    """Devices report readings here; dashboards watch them."""

    async def report(self, reading: Reading) -> None:
        """Store ``reading`` and tell every dashboard."""
        ...

    async def recent(self, device: str, limit: int = 20) -> Page[Reading]:
        """The last ``limit`` readings of ``device``."""
        ...

    def watch(self, device: str) -> AsyncIterator[Reading]:
        """Readings of ``device`` as they arrive."""
        ...

    async def upload_snapshots(self, snapshots: AsyncIterator[Snapshot]) -> int:
        """Store uploaded snapshots; returns how many arrived."""
        ...

    async def devices(self) -> list[str]:
        """Every device that ever reported."""
        ...


@hubgen.hub(client=Dashboard)
class AdminHub(Protocol):
    """Maintenance, for operators."""

    async def reset(self, device: str) -> int:
        """Forget ``device``'s readings; returns how many were dropped."""
        ...
