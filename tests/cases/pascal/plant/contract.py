"""A plant's sensors, shared with a .NET service that sends PascalCase fields.

``[naming] fields = "pascal"``: ``sensor_id`` travels as ``SensorId``, the tag
of the ``Event`` union as ``Kind``; the aliased ``unit`` keeps its alias. The
``readings`` stream has two parameters with defaults, the first a model, so
its options may take the place of either (tests/interop/test_pascal_contract.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, Field

import hubgen


class Reading(BaseModel):
    """One measurement of one sensor."""

    sensor_id: str
    value: float
    taken_at: datetime
    unit: str = Field("C", alias="unitCode")
    """A code the .NET service names itself."""


class ReadingFilter(BaseModel):
    """Which readings a stream sends."""

    min_value: float | None = None
    sensor_ids: list[str] = []


class Alarm(BaseModel):
    kind: Literal["alarm"] = "alarm"
    sensor_id: str
    threshold: float


class Notice(BaseModel):
    kind: Literal["notice"] = "notice"
    text: str


Event = Annotated[Alarm | Notice, Field(discriminator="kind")]


class Console(Protocol):
    """What the server calls on an operator's console."""

    async def reading_taken(self, reading: Reading) -> None: ...

    async def event_raised(self, event: Event) -> None: ...


@hubgen.hub(client=Console)
class SensorHub(Protocol):
    async def record(self, reading: Reading) -> Reading:
        """Stores ``reading`` and sends it to every console."""
        ...

    async def raise_event(self, event: Event) -> None: ...

    def readings(
        self, count: int, where: ReadingFilter | None = None, delay: float = 0.0
    ) -> AsyncIterator[Reading]:
        """``count`` readings that pass ``where``, ``delay`` seconds apart."""
        ...
