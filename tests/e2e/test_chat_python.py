"""The chat example's generated Python client over a network: against the
chat server under uvicorn, next to a Node client on the generated TypeScript
client, and as the example script. Every client signs in through the
server's ``/login``. What the hub does — rooms, private messages, presence —
is tested in memory by the example's own tests (examples/chat/tests, on
hubgen.testing)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient

from hubgen.codec import Codec
from tests.e2e.chat_support import PASSPHRASE, chat_app, connected, token_for
from tests.support.server import serve
from tests.support.tsnode import NodeProcess, build_driver

ROOT = Path(__file__).parents[2]


class Inbox:
    """A ChatClient receiver that queues what arrives."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[ChatMessage] = asyncio.Queue()
        self.private: asyncio.Queue[PrivateMessage] = asyncio.Queue()
        self.joined: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.left: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def message_received(self, message: ChatMessage) -> None:
        await self.messages.put(message)

    async def private_message_received(self, message: PrivateMessage) -> None:
        await self.private.put(message)

    async def user_joined(self, room: str, user: str) -> None:
        await self.joined.put((room, user))

    async def user_left(self, room: str, user: str) -> None:
        await self.left.put((room, user))


T = TypeVar("T")


async def next_item(queue: asyncio.Queue[T]) -> T:
    async with asyncio.timeout(5):
        return await queue.get()


@pytest.mark.node
async def test_python_and_node_clients_see_each_other() -> None:
    driver = build_driver(
        ROOT / "tests" / "node" / "interop" / "chat-driver.ts",
        ROOT / "examples" / "chat" / "web" / "chat-client" / "src",
    )
    async with serve(chat_app()) as base_url:
        node = await NodeProcess.start(
            driver, f"{base_url}/chat", await token_for(base_url, "nadia"), "lobby"
        )
        await node.event("joined")
        async with connected(base_url, "pete") as connection:
            python = ChatHubClient(connection)
            inbox = Inbox()
            with python.register(inbox):
                await python.join("lobby")
                assert await node.event("userJoined") == {"room": "lobby", "user": "pete"}

                from_python = await python.send("lobby", "hello from Python")
                pushed = await node.event("messageReceived")
                assert pushed == Codec(ChatMessage).encode(from_python)  # the wire form
                assert set(pushed) == {"id", "room", "author", "text", "sentAt"}

                await node.command("send hello from Node")
                from_node = await next_item(inbox.messages)
                while from_node.author != "nadia":  # our own message arrives first
                    from_node = await next_item(inbox.messages)
                assert from_node.text == "hello from Node"
                assert from_node == Codec(ChatMessage).decode(await node.event("sent"))

                whisper = await python.send_private("nadia", "psst, Node")
                pushed = await node.event("privateMessageReceived")
                assert pushed == Codec(PrivateMessage).encode(whisper)
                assert set(pushed) == {"id", "author", "recipient", "text", "sentAt"}
                await node.command("whisper pete psst, Python")
                answer = Codec(PrivateMessage).decode(await node.event("whispered"))
                assert await next_item(inbox.private) == whisper
                assert await next_item(inbox.private) == answer
                assert (answer.author, answer.recipient) == ("nadia", "pete")
        await node.finish()


async def run_client(
    *args: str, passphrase: str | None = None, typed: str = ""
) -> tuple[int, str, str]:
    """``python -m chat.client ARGS`` in examples/chat, ``CHAT_PASSPHRASE`` set
    to ``passphrase``, ``typed`` on its standard input: exit code, stdout, stderr."""
    env = {name: value for name, value in os.environ.items() if name != "CHAT_PASSPHRASE"}
    if passphrase is not None:
        env["CHAT_PASSPHRASE"] = passphrase
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat.client",
        *args,
        cwd=ROOT / "examples" / "chat",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        stdout, stderr = await process.communicate(typed.encode())
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_the_example_client_script() -> None:
    async with (
        serve(chat_app()) as base_url,
        connected(base_url, "rita") as connection,
    ):
        rita = ChatHubClient(connection)
        inbox = Inbox()
        with rita.register(inbox):
            common = ["--url", f"{base_url}/chat", "--user", "sam", "--linger", "0.2"]
            code, output, errors = await run_client(
                *common, "--passphrase", PASSPHRASE, "--say", "scripted hello"
            )
            assert code == 0, errors
            assert "* joined lobby as sam; sam here" in output
            assert "[lobby] sam: scripted hello" in output

            code, output, errors = await run_client(
                *common, "--to", "rita", "--say", "for rita only", "--room", "elsewhere"
            )  # no passphrase, no terminal to ask on: a usage error
            assert code == 2
            assert "give --passphrase or set CHAT_PASSPHRASE" in errors

            code, output, errors = await run_client(*common, "--passphrase", "guess", "--say", "x")
            assert code == 1
            assert "chat: sign-in refused (401): wrong passphrase" in errors

            code, output, errors = await run_client(
                *common,
                "--room",
                "elsewhere",
                "--to",
                "rita",
                "--say",
                "for rita only",
                passphrase=PASSPHRASE,
            )
            assert code == 0, errors
            assert "(private) sam → rita: for rita only" in output
            whisper = await next_item(inbox.private)
            assert (whisper.author, whisper.recipient, whisper.text) == (
                "sam",
                "rita",
                "for rita only",
            )

            # typed lines: /msg writes to one user, anything else to the room
            await rita.join("lobby")
            code, output, errors = await run_client(
                *common,
                passphrase=PASSPHRASE,
                typed="/msg rita  hi  rita \n/msg rita\nhello room\n/msg nobody x\n",
            )
            assert code == 0, errors
            assert "(private) sam → rita: hi  rita" in output
            assert "! usage: /msg <user> <text>" in output
            assert "[lobby] sam: hello room" in output
            assert "HubException: 'nobody' is not online." in output
            typed = await next_item(inbox.private)
            assert (typed.author, typed.text) == ("sam", "hi  rita")
            while (message := await next_item(inbox.messages)).author != "sam":
                pass
            assert message.text == "hello room"
            assert inbox.private.empty()


async def test_the_hub_is_served_when_the_page_is_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A machine without Node.js cannot build the page: the server says so and
    serves the hub (and the page's HTML, which tells how to build it)."""
    import chat.server

    public = tmp_path / "public"
    shutil.copytree(chat.server.WEB_ROOT, public, ignore=shutil.ignore_patterns("build"))
    monkeypatch.setattr(chat.server, "WEB_ROOT", public)
    with caplog.at_level(logging.WARNING, logger="chat.server"):
        app = chat_app()
    assert "the chat page's script is not built" in caplog.text
    async with serve(app) as base_url:
        async with httpx.AsyncClient() as http:
            page = await http.get(f"{base_url}/")
            assert page.status_code == 200
            assert "examples/chat/web/build" in page.text
            assert (await http.get(f"{base_url}/build/app.js")).status_code == 404
        async with connected(base_url, "nodeless") as connection:
            assert await ChatHubClient(connection).join("lobby") == []
