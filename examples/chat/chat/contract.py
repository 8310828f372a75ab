"""The chat contract: what clients may call, and what the server calls on them.

`hubgen generate` turns this module into the server base in
``chat/generated``, the typed Python client, and the TypeScript client.

Who is who is not part of the contract: a client signs in (``POST /login``,
see ``chat.auth``) and connects with the token it gets; the server takes
every author from that (``self.context.user_identifier``), so nothing a
client sends can claim to be someone else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol
from uuid import UUID

from pydantic import BaseModel, Field

import hubgen

#: What a message's text may be: 1 to 2000 characters.
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class ChatMessage(BaseModel):
    """A message posted to a room."""

    id: UUID
    room: str
    #: The signed-in user who posted it.
    author: str
    text: str = Field(min_length=1, max_length=2000)
    sent_at: datetime


class PrivateMessage(BaseModel):
    """A message from one user to another; only the two of them receive it."""

    id: UUID
    #: The signed-in user who sent it.
    author: str
    recipient: str
    text: str = Field(min_length=1, max_length=2000)
    sent_at: datetime


class ChatClient(Protocol):
    """What the server calls on every connected chat client."""

    async def message_received(self, message: ChatMessage) -> None:
        """A message was posted to a room you are in."""
        ...

    async def private_message_received(self, message: PrivateMessage) -> None:
        """A private message to you, or one you sent (every connection of yours
        receives both, so all your tabs show the conversation)."""
        ...

    async def user_joined(self, room: str, user: str) -> None:
        """Someone entered a room you are in."""
        ...

    async def user_left(self, room: str, user: str) -> None:
        """Someone left a room you are in (their last connection in it left or
        disconnected)."""
        ...


@hubgen.hub(client=ChatClient)
class ChatHub(Protocol):
    """A chat with rooms and private messages, for signed-in users: join a
    room, post to it, read its history, write to one user."""

    async def join(self, room: str) -> list[ChatMessage]:
        """Enter ``room`` as yourself; returns the room's recent messages."""
        ...

    async def leave(self, room: str) -> None:
        """Leave ``room``."""
        ...

    async def send(self, room: str, text: Text) -> ChatMessage:
        """Post ``text`` to ``room``; everyone in it, you included, receives it."""
        ...

    async def send_private(self, to_user: str, text: Text) -> PrivateMessage:
        """Send ``text`` to ``to_user`` alone: every connection of theirs and
        of yours receives it. Fails when ``to_user`` is not online."""
        ...

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        """The last ``limit`` messages of ``room``, oldest first."""
        ...

    async def members(self, room: str) -> list[str]:
        """Who is in ``room`` now."""
        ...
