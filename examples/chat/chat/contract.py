"""The chat contract: what clients may call, and what the server calls on them.

`hubgen generate` turns this module into the server base in
``chat/generated``, the typed Python client, and the TypeScript client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol
from uuid import UUID

from pydantic import BaseModel, Field

import hubgen


class ChatMessage(BaseModel):
    """A message posted to a room."""

    id: UUID
    room: str
    author: str
    text: str = Field(min_length=1, max_length=2000)
    sent_at: datetime


class ChatClient(Protocol):
    """What the server calls on every connected chat client."""

    async def message_received(self, message: ChatMessage) -> None:
        """A message was posted to a room you are in."""
        ...

    async def user_joined(self, room: str, user: str) -> None:
        """Someone entered a room you are in."""
        ...

    async def user_left(self, room: str, user: str) -> None:
        """Someone left a room you are in (or disconnected)."""
        ...


@hubgen.hub(client=ChatClient)
class ChatHub(Protocol):
    """A chat with rooms: join one, post to it, read its history."""

    async def join(self, room: str, user: str) -> list[ChatMessage]:
        """Enter ``room`` as ``user``; returns the room's recent messages."""
        ...

    async def leave(self, room: str) -> None:
        """Leave ``room``."""
        ...

    async def send(
        self, room: str, text: Annotated[str, Field(min_length=1, max_length=2000)]
    ) -> ChatMessage:
        """Post ``text`` to ``room``; everyone in it, you included, receives it."""
        ...

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        """The last ``limit`` messages of ``room``, oldest first."""
        ...

    async def members(self, room: str) -> list[str]:
        """Who is in ``room`` now."""
        ...
