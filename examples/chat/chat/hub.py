"""The chat hub, implemented on the base class `hubgen generate` wrote."""

from __future__ import annotations

import uuid
from collections import deque
from datetime import UTC, datetime

from hubgen import HubError

from .contract import ChatMessage
from .generated.chat_hub_server import ChatHubBase

HISTORY_SIZE = 200


class ChatStore:
    """Rooms, their recent messages and members, in memory."""

    def __init__(self) -> None:
        self.history: dict[str, deque[ChatMessage]] = {}
        self.members: dict[str, dict[str, str]] = {}  # room -> connection id -> user

    def post(self, room: str, author: str, text: str) -> ChatMessage:
        message = ChatMessage(
            id=uuid.uuid4(), room=room, author=author, text=text, sent_at=datetime.now(UTC)
        )
        self.history.setdefault(room, deque(maxlen=HISTORY_SIZE)).append(message)
        return message

    def recent(self, room: str, limit: int) -> list[ChatMessage]:
        messages = list(self.history.get(room, ()))
        return messages[-limit:] if limit > 0 else []


class ChatHub(ChatHubBase):
    """One instance per call; state lives in the shared store and in
    ``self.context.items`` (per connection)."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store

    @property
    def user(self) -> str:
        user = self.context.items.get("user")
        if not isinstance(user, str):
            raise HubError("Join a room first.")
        return user

    async def join(self, room: str, user: str) -> list[ChatMessage]:
        if not room or not user:
            raise HubError("Room and user name must not be empty.")
        self.context.items["user"] = user
        self.store.members.setdefault(room, {})[self.context.connection_id] = user
        await self.groups.add(self.context.connection_id, room)
        await self.clients.others_in_group(room).user_joined(room, user)
        return self.store.recent(room, 50)

    async def leave(self, room: str) -> None:
        members = self.store.members.get(room, {})
        user = members.pop(self.context.connection_id, None)
        await self.groups.remove(self.context.connection_id, room)
        if user is not None:
            await self.clients.group(room).user_left(room, user)

    async def send(self, room: str, text: str) -> ChatMessage:
        if self.context.connection_id not in self.store.members.get(room, {}):
            raise HubError(f"You are not in room '{room}'.")
        message = self.store.post(room, self.user, text)
        await self.clients.group(room).message_received(message)
        return message

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return self.store.recent(room, limit)

    async def members(self, room: str) -> list[str]:
        return sorted(set(self.store.members.get(room, {}).values()))

    async def on_disconnected(self, exception: BaseException | None) -> None:
        for room, members in self.store.members.items():
            user = members.pop(self.context.connection_id, None)
            if user is not None:
                await self.clients.group(room).user_left(room, user)
