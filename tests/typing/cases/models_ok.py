"""Correct construction of contract models, by hand and through generated
code: mypy --strict with the pydantic plugin settings of pyproject.toml (the
ones the README recommends) accepts it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from chat.contract import ChatMessage
from chat.generated.chat_hub_server import ChatHubBase

from hubgen.client import HubConnection
from tests.apps.echo.contract import Color, Item, Priority, Sample, Tag
from tests.apps.echo.generated.echo_hub_client import EchoHubClient


def message(text: str) -> ChatMessage:
    return ChatMessage(
        id=uuid.uuid4(), room="lobby", author="me", text=text, sent_at=datetime.now(UTC)
    )


def sample() -> Sample:
    # every required field; the aliased one under its alias, as pydantic expects
    return Sample(
        aware=datetime.now(UTC),
        naive=datetime(2024, 1, 1),
        day=date(2024, 1, 1),
        clock=time(12, 30),
        span=timedelta(seconds=5),
        blob=b"\x00",
        amount=Decimal("1.5"),
        ident=uuid.uuid4(),
        priority=Priority.HIGH,
        color=Color.GREEN,
        big=2**70,
        nullable=None,
        nick_name="bob",
        tag=Tag(label="a"),
        tags=[Tag(label="b", weight=2)],
        tag_map={"c": Tag(label="c")},
    )


class Hub(ChatHubBase):
    async def join(self, room: str) -> list[ChatMessage]:
        return [message(f"{self.context.user_identifier} joined")]

    async def leave(self, room: str) -> None:
        return None

    async def send(self, room: str, text: str) -> ChatMessage:
        sent = message(text)
        await self.clients.group(room).message_received(sent.model_copy(update={"text": "x"}))
        return sent

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return []

    async def members(self, room: str) -> list[str]:
        return []


async def call(connection: HubConnection) -> None:
    echo = EchoHubClient(connection)
    item = await echo.echo_item(Item(name="pen", quantity=2, tags=["office"]))
    same = await echo.echo_item(Item.model_construct(name=item.name))
    back: Sample = await echo.echo_sample(sample())
    print(item.quantity, same, back.nick)
