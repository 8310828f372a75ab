"""Every type the contract language supports, as parameters, results and fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel

import hubgen


class Scalars(BaseModel):
    """One field of each scalar type."""

    text: str
    count: int
    ratio: float
    flag: bool
    blob: bytes
    moment: datetime
    day: date
    clock: time
    span: timedelta
    ident: UUID
    amount: Decimal


class Containers(BaseModel):
    numbers: list[int]
    unique: set[str]
    frozen: frozenset[int]
    rest: tuple[int, ...]
    pair: tuple[int, str]
    empty: tuple[()]
    table: dict[str, float]
    nested: dict[str, list[Scalars | None]]
    maybe: Scalars | None = None
    either: int | str = 0
    label: str = "none"


class TypesClient(Protocol):
    async def scalars_changed(self, value: Scalars, previous: Scalars | None) -> None: ...

    async def pick(self, options: list[str]) -> int | None: ...


@hubgen.hub(client=TypesClient)
class TypesHub(Protocol):
    async def echo_scalars(self, value: Scalars) -> Scalars: ...

    async def echo_containers(self, value: Containers) -> Containers: ...

    async def primitives(
        self,
        text: str,
        count: int,
        ratio: float,
        flag: bool,
        blob: bytes,
        moment: datetime,
        day: date,
        clock: time,
        span: timedelta,
        ident: UUID,
        amount: Decimal,
    ) -> list[str]: ...

    async def with_defaults(
        self,
        text: str = 'it\'s "quoted"',
        count: int = -3,
        ratio: float = 0.5,
        flag: bool = True,
        nothing: str | None = None,
        *,
        limit: int = 10,
        required_after_star: str,
    ) -> None: ...

    async def nothing(self) -> None: ...

    async def optional_result(self) -> Scalars | None: ...

    def numbers(self, start: int, stop: int) -> AsyncIterator[int]: ...

    def models(self) -> AsyncIterator[Containers]: ...

    async def upload_many(
        self, first: AsyncIterator[Scalars], second: AsyncIterator[bytes], tag: str
    ) -> dict[str, int]: ...
