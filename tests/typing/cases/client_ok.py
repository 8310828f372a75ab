"""Correct use of the chat example's generated client module: mypy --strict accepts it."""

from __future__ import annotations

from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient

from hubgen.client import HubConnection, Registration


class Receiver:
    async def message_received(self, message: ChatMessage) -> None:
        print(message.text)

    async def private_message_received(self, message: PrivateMessage) -> None:
        print(message.recipient)

    async def user_joined(self, room: str, user: str) -> None:
        print(room, user)

    async def user_left(self, room: str, user: str) -> None:
        print(room, user)


async def on_message(message: ChatMessage) -> None:
    print(message.author)


async def main() -> None:
    async with HubConnection("http://127.0.0.1:8000/chat", access_token="a token") as connection:
        chat = ChatHubClient(connection)
        registration: Registration = chat.register(Receiver())
        with chat.on_message_received(on_message):
            history: list[ChatMessage] = await chat.join("lobby")
            sent: ChatMessage = await chat.send("lobby", "hi")
            private: PrivateMessage = await chat.send_private("bob", "psst")
            recent = await chat.history("lobby")
            fewer = await chat.history("lobby", limit=5)
            names: list[str] = await chat.members("lobby")
            print(history, sent.sent_at.isoformat(), private.author, recent, fewer, names)
        registration.dispose()
