"""Correct use of the chat example's generated server module: mypy --strict accepts it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_server import ChatHubBase
from starlette.applications import Starlette

from hubgen.server import HubRoute


class Hub(ChatHubBase):
    async def join(self, room: str) -> list[ChatMessage]:
        user = self.context.user_identifier or "anonymous"
        await self.groups.add(self.context.connection_id, room)
        await self.clients.others_in_group(room).user_joined(room, user)
        return []

    async def leave(self, room: str) -> None:
        await self.clients.group(room).user_left(room, "someone")

    async def send(self, room: str, text: str) -> ChatMessage:
        message = ChatMessage(
            id=uuid.uuid4(), room=room, author="me", text=text, sent_at=datetime.now(UTC)
        )
        await self.clients.all.message_received(message)
        await self.clients.caller.message_received(message)
        await self.clients.client("abc").message_received(message)
        return message

    async def send_private(self, to_user: str, text: str) -> PrivateMessage:
        message = PrivateMessage(
            id=uuid.uuid4(), author="me", recipient=to_user, text=text, sent_at=datetime.now(UTC)
        )
        await self.clients.user(to_user).private_message_received(message)
        await self.clients.users(to_user, "me").private_message_received(message)
        return message

    async def history(self, room: str, limit: int = 50) -> list[ChatMessage]:
        return []

    async def members(self, room: str) -> list[str]:
        return []


route = HubRoute("/chat", Hub)
app = Starlette(routes=[route])


async def from_outside(message: ChatMessage) -> None:
    await route.clients.all.message_received(message)
    await route.clients.group("lobby").user_joined("lobby", "bot")
