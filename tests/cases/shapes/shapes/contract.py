"""Generic and recursive models."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

import hubgen

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results."""

    items: list[T]
    total: int
    cursor: str | None = None


class Item(BaseModel):
    name: str
    tags: list[str] = []


class Tree(BaseModel):
    """A node and its children."""

    label: str
    children: list[Tree] = []


class Wrapper(BaseModel):
    page: Page[Item]


class ShapesClient(Protocol):
    async def tree_changed(self, tree: Tree) -> None: ...


@hubgen.hub(client=ShapesClient)
class ShapesHub(Protocol):
    async def items(self, page: Page[Item]) -> Page[Item]: ...

    async def numbers(self) -> Page[int]: ...

    async def grow(self, tree: Tree) -> Tree: ...

    async def wrap(self, wrapper: Wrapper) -> list[Wrapper]: ...
