"""A terminal chat client on the generated, typed Python client.

    python -m chat.client --user alice                 # chat: type lines, Ctrl-D to quit
    python -m chat.client --user bob --say "hi all"    # post, show what arrives, leave

It joins a room, prints its recent history, then every message and
presence change in it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from hubgen import HubError
from hubgen.client import HubConnection

from .contract import ChatMessage
from .generated.chat_hub_client import ChatHubClient


def show(message: ChatMessage) -> None:
    print(f"{message.sent_at:%H:%M:%S} [{message.room}] {message.author}: {message.text}")


class Printer:
    """Receives what the server calls on chat clients: it implements the
    contract's ChatClient Protocol, which mypy checks at ``register``."""

    async def message_received(self, message: ChatMessage) -> None:
        show(message)

    async def user_joined(self, room: str, user: str) -> None:
        print(f"* {user} joined {room}")

    async def user_left(self, room: str, user: str) -> None:
        print(f"* {user} left {room}")


async def chat(url: str, user: str, room: str, say: list[str], linger: float) -> None:
    async with HubConnection(url) as connection:
        hub = ChatHubClient(connection)
        with hub.register(Printer()):
            for message in await hub.join(room, user):
                show(message)
            print(f"* joined {room} as {user}; {', '.join(await hub.members(room))} here")
            if say:
                for text in say:
                    await hub.send(room, text)
                await asyncio.sleep(linger)
                return
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                text = line.strip()
                if not text:
                    continue
                try:
                    await hub.send(room, text)
                except HubError as exc:
                    print(f"! {exc}")
            await hub.leave(room)


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat on the hubgen chat example server.")
    parser.add_argument("--url", default="http://127.0.0.1:8000/chat")
    parser.add_argument("--user", required=True)
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--say", action="append", default=[], help="post this and leave")
    parser.add_argument(
        "--linger", type=float, default=0.5, help="seconds to stay after --say (default 0.5)"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(chat(args.url, args.user, args.room, args.say, args.linger))


if __name__ == "__main__":
    main()
