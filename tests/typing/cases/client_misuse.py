"""Misuse of the generated client module: each line carrying an error mark
must be a mypy error containing the mark's text, and no other line may be."""

from __future__ import annotations

from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient

from hubgen.client import HubConnection


class WrongReceiver:
    async def message_received(self, message: str) -> None:
        print(message)

    async def private_message_received(self, message: PrivateMessage) -> None:
        print(message)

    async def user_joined(self, room: str, user: str) -> None:
        print(room, user)

    async def user_left(self, room: str, user: str) -> None:
        print(room, user)


class IncompleteReceiver:
    async def message_received(self, message: ChatMessage) -> None:
        print(message)


async def on_joined(room: str) -> None:
    print(room)


async def main(connection: HubConnection) -> None:
    chat = ChatHubClient(connection)
    await chat.send("lobby", 42)  # E: Argument 2 to "send" of "ChatHubClient" has incompatible type "int"; expected "str"
    await chat.join("lobby", "alice")  # E: Too many arguments for "join" of "ChatHubClient"
    await chat.shout("lobby", "hi")  # E: "ChatHubClient" has no attribute "shout"
    await chat.history("lobby", limit="ten")  # E: incompatible type "str"; expected "int"
    text: str = await chat.send("lobby", "hi")  # E: Incompatible types in assignment
    chat.register(WrongReceiver())  # E: Argument 1 to "register" of "ChatHubClient" has incompatible type "WrongReceiver"; expected "ChatClient"
    chat.register(IncompleteReceiver())  # E: expected "ChatClient"
    chat.on_user_joined(on_joined)  # E: Argument 1 to "on_user_joined" of "ChatHubClient" has incompatible type
    print(text)
