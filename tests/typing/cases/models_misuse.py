"""Misconstructed contract models, by hand and in calls of generated code:
each line carrying an error mark must be a mypy error containing the mark's
text, and no other line may be. Without the pydantic plugin's init_typed and
init_forbid_extra (pyproject.toml, [tool.pydantic-mypy]) most of these pass
mypy, and pydantic coerces, rejects or silently drops them at run time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chat.contract import ChatMessage
from pydantic import AliasChoices, BaseModel, Field
from chat.generated.chat_hub_server import ChatHubBase

from hubgen.client import HubConnection
from tests.apps.echo.contract import Color, Item, Priority, Sample, Tag
from tests.apps.echo.generated.echo_hub_client import EchoHubClient

NOW = datetime.now(UTC)


class Renamed(BaseModel):
    """Accepted as "login" or "user": mypy cannot know which keyword __init__
    takes, so it cannot check this model's construction, and says so."""

    login: str = Field(validation_alias=AliasChoices("login", "user"))  # E: Required dynamic aliases disallowed


def by_hand() -> list[ChatMessage]:
    return [
        ChatMessage(id="42", room="r", author="a", text="t", sent_at=NOW),  # E: Argument "id" to "ChatMessage" has incompatible type "str"; expected "UUID"
        ChatMessage(id=uuid.uuid4(), room="r", author="a", text="t", sent_at="now"),  # E: Argument "sent_at" to "ChatMessage" has incompatible type "str"; expected "datetime"
        ChatMessage(id=uuid.uuid4(), room="r", author="a", text="t", sent_at=NOW, edited=True),  # E: Unexpected keyword argument "edited" for "ChatMessage"
        ChatMessage(id=uuid.uuid4(), room="r", text="t", sent_at=NOW),  # E: Missing named argument "author" for "ChatMessage"
        ChatMessage(uuid.uuid4(), "r", "a", "t", NOW),  # E: Too many positional arguments for "ChatMessage"
        ChatMessage.model_construct(id=uuid.uuid4(), room=1, author="a", text="t", sent_at=NOW),  # E: Argument "room" to "model_construct" of "ChatMessage" has incompatible type "int"; expected "str"
    ]


def aliased() -> Sample:
    # Sample.nick travels as "nick_name", and pydantic takes it under that alias
    # only: given as nick="bob" it would be dropped without a word
    # (extra="ignore") and the sample sent with nick=""
    return Sample(  # E: Unexpected keyword argument "nick" for "Sample"
        aware=NOW,
        naive=NOW,
        day=NOW.date(),
        clock=NOW.time(),
        span=timedelta(),
        blob=b"",
        amount=Decimal(1),
        ident=uuid.uuid4(),
        priority=Priority.LOW,
        color=Color.RED,
        big=1,
        nullable=None,
        nick="bob",
        tag=Tag(label="x", weight="heavy"),  # E: Argument "weight" to "Tag" has incompatible type "str"; expected "int"
        tags=[],
        tag_map={},
    )


class Hub(ChatHubBase):
    async def join(self, room: str) -> list[ChatMessage]:
        return []

    async def leave(self, room: str) -> None:
        return None

    async def send(self, room: str, text: str) -> ChatMessage:
        message = ChatMessage(id=uuid.uuid4(), room=room, author=None, text=text, sent_at=NOW)  # E: Argument "author" to "ChatMessage" has incompatible type "None"; expected "str"
        await self.clients.group(room).message_received(message)
        return message

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return []

    async def members(self, room: str) -> list[str]:
        return []


async def call(connection: HubConnection) -> None:
    echo = EchoHubClient(connection)
    await echo.echo_item(Item(name="pen", quantity="2"))  # E: Argument "quantity" to "Item" has incompatible type "str"; expected "int"
    await echo.echo_item(Item(name="pen", tag=["office"]))  # E: Unexpected keyword argument "tag" for "Item"
    await echo.echo_item(Item(title="pen"))  # E: Unexpected keyword argument "title" for "Item"
