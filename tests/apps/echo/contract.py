"""A contract exercising every server feature; the tests' counterpart of the
ASP.NET Core functional-test hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Protocol
from uuid import UUID

from pydantic import BaseModel, Field

import hubgen


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    """Something with every kind of field."""

    name: str
    quantity: int = 1
    tags: list[str] = Field(default_factory=list)
    color: Color = Color.RED
    created_at: datetime | None = None
    payload: bytes = b""


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Tag(BaseModel):
    """A model nested in another."""

    label: str
    weight: int = 1


class Sample(BaseModel):
    """One field of every type in the codec table (docs/codecs.md)."""

    aware: datetime
    naive: datetime
    day: date
    clock: time
    span: timedelta
    blob: bytes
    amount: Decimal
    ident: UUID
    priority: Priority
    color: Color
    big: int
    #: required, and may be null
    nullable: str | None
    #: may be left out
    defaulted: str = "preset"
    #: may be left out, or null
    optional: int | None = None
    #: travels under its alias, not the camelCase policy's name
    nick: str = Field(default="", alias="nick_name")
    tag: Tag
    tags: list[Tag]
    tag_map: dict[str, Tag]


class EchoClient(Protocol):
    """What the server calls on clients."""

    async def message(self, text: str) -> None: ...

    async def item_received(self, item: Item) -> None: ...

    async def ask(self, question: str) -> int:
        """A client result: the server waits for the answer."""
        ...


@hubgen.hub(client=EchoClient)
class EchoHub(Protocol):
    """What clients call on the server."""

    async def echo(self, text: str) -> str: ...

    async def add(self, a: int, b: int = 10) -> int: ...

    async def echo_item(self, item: Item) -> Item: ...

    async def echo_sample(self, sample: Sample) -> Sample: ...

    async def make_sample(self) -> Sample:
        """The reference Sample the interop tests expect to receive."""
        ...

    async def describe_sample(self, sample: Sample) -> dict[str, str]:
        """How the server bound each field: its Python repr (datetimes in ISO)."""
        ...

    async def echo_big(self, n: int) -> int: ...

    async def echo_blob(self, data: bytes) -> bytes: ...

    async def echo_when(self, when: datetime) -> datetime: ...

    async def bounded(self, n: Annotated[int, Field(ge=0, le=10)]) -> int:
        """Accepts 0 to 10 only: the server validates the constraint."""
        ...

    async def fail(self, message: str) -> None:
        """Raises HubError(message): always reported to the caller."""
        ...

    async def crash(self) -> None:
        """Raises RuntimeError: details only with detailed errors."""
        ...

    async def broadcast(self, text: str) -> None: ...

    async def send_others(self, text: str) -> None: ...

    async def send_caller(self, text: str) -> None: ...

    async def send_to(self, connection_id: str, text: str) -> None: ...

    async def send_item_to_all(self, item: Item) -> None: ...

    async def join(self, group: str) -> None: ...

    async def leave(self, group: str) -> None: ...

    async def record(self, number: int) -> None:
        """Keeps ``number`` in the connection's items (fire-and-forget calls)."""
        ...

    async def recorded(self) -> list[int]:
        """The numbers this connection recorded, in the order they came."""
        ...

    async def add_to_group(self, connection_id: str, group: str) -> None:
        """Adds another connection (on any server) to ``group``."""
        ...

    async def send_group(self, group: str, text: str) -> None: ...

    async def send_others_in_group(self, group: str, text: str) -> None: ...

    async def whoami(self) -> str: ...

    async def user_name(self) -> str | None:
        """The caller's user identifier (None when anonymous)."""
        ...

    async def send_user(self, user: str, text: str) -> None:
        """Sends ``text`` to every connection of ``user``."""
        ...

    async def ask_caller(self, question: str) -> int: ...

    async def ask_client(self, connection_id: str, question: str) -> int: ...

    async def abort_me(self) -> None: ...

    async def sleep(self, seconds: float) -> float: ...

    async def sleep_within(self, seconds: float, limit: float) -> bool:
        """Sleeps under ``asyncio.timeout(limit)``; False when the limit cut it short."""
        ...

    async def swap_tag(self, tag: str) -> str | None:
        """Sets a context variable for this call; returns what it held before."""
        ...

    async def get_header(self, name: str) -> str | None: ...

    async def wrong_result(self) -> int: ...

    def counter(self, count: int, delay: float = 0.0) -> AsyncIterator[int]: ...

    def failing_stream(self, after: int) -> AsyncIterator[int]: ...

    def refused_stream(self, reason: str) -> AsyncIterator[int]:
        """Raises before it returns a stream: ``HubError`` when ``reason`` is
        ``"hub"``, else ``RuntimeError``."""
        ...

    async def sum_upload(self, numbers: AsyncIterator[int]) -> int: ...

    def double_upload(self, numbers: AsyncIterator[int]) -> AsyncIterator[int]: ...
