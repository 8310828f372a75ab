"""Discriminated and plain unions."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, Field

import hubgen


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


class Owner(BaseModel):
    name: str
    pets: list[Pet]


class PetsClient(Protocol):
    async def adopted(self, pet: Pet) -> None: ...


@hubgen.hub(client=PetsClient)
class PetsHub(Protocol):
    async def adopt(self, pet: Pet) -> Owner: ...

    async def find(self, key: int | str) -> Cat | Dog | None: ...
