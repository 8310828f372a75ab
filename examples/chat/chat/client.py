"""A terminal chat client on the generated, typed Python client.

    python -m chat.client --user alice                 # chat: type lines, Ctrl-D to quit
    python -m chat.client --user bob --say "hi all"    # post, show what arrives, leave
    python -m chat.client --user bob --to alice --say "psst"   # a private message

It signs in (``POST /login`` with the server's passphrase: ``--passphrase``,
or ``CHAT_PASSPHRASE``, or asked for), connects with the token it gets,
joins a room, prints its recent history, then every message and presence
change in it, and private messages. Type ``/msg alice hello`` to write to
alice alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from urllib.parse import urljoin

import httpx

from hubgen import HubError
from hubgen.client import HubConnection

from .contract import ChatMessage, PrivateMessage
from .generated.chat_hub_client import ChatHubClient


class SignInError(Exception):
    """The server refused to sign us in; the message says why."""


async def sign_in(hub_url: str, user: str, passphrase: str) -> str:
    """An access token for ``user`` from the server's ``/login`` (next to the hub)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            urljoin(hub_url, "login"), json={"name": user, "passphrase": passphrase}
        )
    if response.status_code != 200:
        try:
            reason = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            reason = response.text or response.reason_phrase
        raise SignInError(f"sign-in refused ({response.status_code}): {reason}")
    token: str = response.json()["access_token"]
    return token


def show(message: ChatMessage) -> None:
    print(f"{message.sent_at:%H:%M:%S} [{message.room}] {message.author}: {message.text}")


def show_private(message: PrivateMessage) -> None:
    print(
        f"{message.sent_at:%H:%M:%S} (private) {message.author} → {message.recipient}: "
        f"{message.text}"
    )


class Printer:
    """Receives what the server calls on chat clients: it implements the
    contract's ChatClient Protocol, which mypy checks at ``register``."""

    async def message_received(self, message: ChatMessage) -> None:
        show(message)

    async def private_message_received(self, message: PrivateMessage) -> None:
        show_private(message)

    async def user_joined(self, room: str, user: str) -> None:
        print(f"* {user} joined {room}")

    async def user_left(self, room: str, user: str) -> None:
        print(f"* {user} left {room}")


async def post(hub: ChatHubClient, room: str, line: str, to: str | None = None) -> None:
    """Send one line: to ``to`` privately, to whom ``/msg name text`` names,
    or to the room."""
    if to is None and line.startswith("/msg"):
        command, *rest = line.split(maxsplit=2)
        if command == "/msg":
            if len(rest) != 2:
                print("! usage: /msg <user> <text>")
                return
            to, line = rest
    if to is not None:
        await hub.send_private(to, line)
    else:
        await hub.send(room, line)


async def chat(
    url: str, user: str, passphrase: str, room: str, say: list[str], to: str | None, linger: float
) -> None:
    token = await sign_in(url, user, passphrase)
    async with HubConnection(url, access_token=token) as connection:
        hub = ChatHubClient(connection)
        with hub.register(Printer()):
            for message in await hub.join(room):
                show(message)
            print(f"* joined {room} as {user}; {', '.join(await hub.members(room))} here")
            if say:
                for text in say:
                    await post(hub, room, text, to)
                await asyncio.sleep(linger)
                return
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                text = line.strip()
                if not text:
                    continue
                try:
                    await post(hub, room, text, to)
                except HubError as exc:
                    print(f"! {exc}")
            await hub.leave(room)


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat on the hubgen chat example server.")
    parser.add_argument("--url", default="http://127.0.0.1:8000/chat", help="the hub's URL")
    parser.add_argument("--user", required=True, help="the name to sign in as")
    parser.add_argument(
        "--passphrase", help="the server's passphrase (default: $CHAT_PASSPHRASE, or asked for)"
    )
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--say", action="append", default=[], help="post this and leave")
    parser.add_argument("--to", help="send --say (or every line) privately to this user")
    parser.add_argument(
        "--linger", type=float, default=0.5, help="seconds to stay after --say (default 0.5)"
    )
    args = parser.parse_args()
    passphrase = args.passphrase or os.environ.get("CHAT_PASSPHRASE")
    if not passphrase:
        if not sys.stdin.isatty():
            parser.error("give --passphrase or set CHAT_PASSPHRASE (the server logs it)")
        passphrase = getpass.getpass("passphrase: ")
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(
                chat(args.url, args.user, passphrase, args.room, args.say, args.to, args.linger)
            )
        except SignInError as exc:
            sys.exit(f"chat: {exc}")


if __name__ == "__main__":
    main()
