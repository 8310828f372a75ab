"""The chat hub, implemented on the base class `hubgen generate` wrote.

``@authorize()`` lets only signed-in users connect (negotiate answers 401
without a valid token, see ``chat.auth``), so every call has a user:
``self.context.user_identifier``, the token's ``sub``. Authors come from it,
never from what a client sends, and ``clients.user(name)`` reaches every
connection (every tab) of that user.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import UTC, datetime

from hubgen import HubError
from hubgen.server.authorization import authorize

from .contract import ChatMessage, PrivateMessage
from .generated.chat_hub_server import ChatHubBase

HISTORY_SIZE = 200


class ChatStore:
    """Who is online, rooms with their recent messages and members, in memory.
    Private messages are delivered, not kept."""

    def __init__(self, *, sees_everyone: bool = True) -> None:
        #: Whether everyone online is connected here: false when several
        #: server processes share the hub (on Redis), each seeing its own.
        self.sees_everyone = sees_everyone
        self.history: dict[str, deque[ChatMessage]] = {}
        self.members: dict[str, dict[str, str]] = {}  # room -> connection id -> user
        self.online: dict[str, set[str]] = {}  # user -> connection ids

    def post(self, room: str, author: str, text: str) -> ChatMessage:
        message = ChatMessage(
            id=uuid.uuid4(), room=room, author=author, text=text, sent_at=datetime.now(UTC)
        )
        self.history.setdefault(room, deque(maxlen=HISTORY_SIZE)).append(message)
        return message

    def recent(self, room: str, limit: int) -> list[ChatMessage]:
        messages = list(self.history.get(room, ()))
        return messages[-limit:] if limit > 0 else []

    def enter(self, room: str, connection_id: str, user: str) -> bool:
        """Put a connection in ``room``; true when it is its user's first there."""
        members = self.members.setdefault(room, {})
        first = user not in members.values()
        members[connection_id] = user
        return first

    def exit(self, room: str, connection_id: str) -> str | None:
        """Take a connection out of ``room``: its user when that was their last
        connection there, else None."""
        members = self.members.get(room, {})
        user = members.pop(connection_id, None)
        if not members:
            self.members.pop(room, None)
        return None if user is None or user in members.values() else user


@authorize()
class ChatHub(ChatHubBase):
    """One instance per call; state lives in the shared store."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store

    @property
    def me(self) -> str:
        """The signed-in user making this call."""
        user = self.context.user_identifier
        if user is None:  # cannot happen under @authorize(): kept for a subclass without it
            raise HubError("Sign in first.")
        return user

    async def on_connected(self) -> None:
        self.store.online.setdefault(self.me, set()).add(self.context.connection_id)

    async def join(self, room: str) -> list[ChatMessage]:
        if not room:
            raise HubError("The room name must not be empty.")
        first = self.store.enter(room, self.context.connection_id, self.me)
        await self.groups.add(self.context.connection_id, room)
        if first:
            await self.clients.others_in_group(room).user_joined(room, self.me)
        return self.store.recent(room, 50)

    async def leave(self, room: str) -> None:
        await self.groups.remove(self.context.connection_id, room)
        gone = self.store.exit(room, self.context.connection_id)
        if gone is not None:
            await self.clients.group(room).user_left(room, gone)

    async def send(self, room: str, text: str) -> ChatMessage:
        if self.context.connection_id not in self.store.members.get(room, {}):
            raise HubError(f"You are not in room '{room}'.")
        message = self.store.post(room, self.me, text)
        await self.clients.group(room).message_received(message)
        return message

    async def send_private(self, to_user: str, text: str) -> PrivateMessage:
        if self.store.sees_everyone and not self.store.online.get(to_user):
            raise HubError(f"'{to_user}' is not online.")
        message = PrivateMessage(
            id=uuid.uuid4(),
            author=self.me,
            recipient=to_user,
            text=text,
            sent_at=datetime.now(UTC),
        )
        # every tab of the recipient, and every tab of the sender (so their
        # other tabs show the conversation too); each connection once, also
        # when writing to yourself
        await self.clients.users(to_user, self.me).private_message_received(message)
        return message

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return self.store.recent(room, limit)

    async def members(self, room: str) -> list[str]:
        return sorted(set(self.store.members.get(room, {}).values()))

    async def on_disconnected(self, exception: BaseException | None) -> None:
        connection_id = self.context.connection_id
        connections = self.store.online.get(self.me, set())
        connections.discard(connection_id)
        if not connections:
            self.store.online.pop(self.me, None)
        for room in [r for r, members in self.store.members.items() if connection_id in members]:
            gone = self.store.exit(room, connection_id)
            if gone is not None:
                await self.clients.group(room).user_left(room, gone)
