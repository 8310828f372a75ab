"""Enums and literals."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel

import hubgen


class Color(StrEnum):
    """A color by name."""

    RED = "red"
    """Warm."""
    GREEN = "green"
    BLUE = "blue"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


Mode = Literal["fast", "safe"]


class Swatch(BaseModel):
    color: Color
    priority: Priority = Priority.LOW
    mode: Mode = "safe"
    weights: dict[Color, float]
    flags: dict[Literal["a", "b"], bool]
    mixed: Literal[1, "one", True]


class PaletteClient(Protocol):
    async def color_changed(self, color: Color, mode: Mode) -> None: ...

    async def choose(self, choices: list[Color]) -> Color: ...


@hubgen.hub(client=PaletteClient)
class PaletteHub(Protocol):
    async def paint(
        self, color: Color = Color.RED, priority: Priority = Priority.HIGH, mode: Mode = "fast"
    ) -> Swatch: ...

    async def swatches(self, colors: set[Color]) -> dict[Color, Swatch]: ...
