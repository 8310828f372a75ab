"""The chat hub of hubgen's design document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

import hubgen


class ChatMessage(BaseModel):
    """One message in a room."""

    author: str
    text: str
    sent_at: datetime
    reactions: list[str] = Field(default_factory=list)


class ChatClient(Protocol):
    """What the server may call on each connected client."""

    async def message_received(self, message: ChatMessage) -> None:
        """A message was posted to a room the client is in."""
        ...

    async def confirm(self, question: str) -> bool:
        """Ask the user; the answer goes back to the server (a client result)."""
        ...


@hubgen.hub(client=ChatClient)
class ChatHub(Protocol):
    """What clients may call on the server."""

    async def send(self, text: str) -> None:
        """Post ``text`` to everyone, as "the caller"."""
        ...

    async def history(self, limit: int = 50) -> list[ChatMessage]:
        """The latest messages, newest last."""
        ...

    def ticker(self, symbol: str) -> AsyncIterator[float]:
        """Prices of ``symbol`` as they change."""
        ...

    async def upload(self, lines: AsyncIterator[str]) -> int:
        """Store uploaded lines; returns how many arrived."""
        ...
