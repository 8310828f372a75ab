"""Misuse of the generated server module: each line carrying an error mark
must be a mypy error containing the mark's text, and no other line may be."""

from __future__ import annotations

from chat.contract import ChatMessage
from chat.generated.chat_hub_server import ChatHubBase

from hubgen.server import HubRoute


class Incomplete(ChatHubBase):
    async def join(self, room: str) -> list[ChatMessage]:
        await self.clients.all.message_received("not a message")  # E: incompatible type "str"; expected "ChatMessage"
        await self.clients.all.message_recieved(None)  # E: has no attribute "message_recieved"
        await self.clients.group("x").user_joined("x")  # E: Missing positional argument "user"
        return [1]  # E: List item 0 has incompatible type "int"

    async def leave(self, room: int) -> None:  # E: Argument 1 of "leave" is incompatible with supertype
        return None

    async def send(self, room: str, text: str) -> str:  # E: Return type "Coroutine[Any, Any, str]" of "send" incompatible
        return text


route = HubRoute("/chat", Incomplete)  # E: Only concrete class can be given
async def push() -> None:
    await route.clients.all.user_joined(1, "x")  # E: incompatible type "int"; expected "str"
