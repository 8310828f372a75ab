"""The chat example's generated Python client: against the chat server, next
to a Node client on the generated TypeScript client, and as the example script."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from pathlib import Path
from typing import Literal, TypeVar

import httpx
import pytest
from chat.contract import ChatMessage
from chat.generated.chat_hub_client import ChatHubClient
from chat.server import create_app

from hubgen import HubError
from hubgen.client import HubConnection
from hubgen.codec import Codec
from tests.support.server import serve
from tests.support.tsnode import NodeProcess, build_driver

ROOT = Path(__file__).parents[2]


class Inbox:
    """A ChatClient receiver that queues what arrives."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[ChatMessage] = asyncio.Queue()
        self.joined: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.left: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def message_received(self, message: ChatMessage) -> None:
        await self.messages.put(message)

    async def user_joined(self, room: str, user: str) -> None:
        await self.joined.put((room, user))

    async def user_left(self, room: str, user: str) -> None:
        await self.left.put((room, user))


T = TypeVar("T")


async def next_item(queue: asyncio.Queue[T]) -> T:
    async with asyncio.timeout(5):
        return await queue.get()


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_python_clients_chat(protocol: Literal["json", "messagepack"]) -> None:
    async with (
        serve(create_app()) as base_url,
        HubConnection(f"{base_url}/chat", protocol=protocol) as one,
        HubConnection(f"{base_url}/chat", protocol=protocol) as two,
    ):
        alice, bob = ChatHubClient(one), ChatHubClient(two)
        alice_inbox, bob_inbox = Inbox(), Inbox()
        with alice.register(alice_inbox), bob.register(bob_inbox):
            assert await alice.join("lobby", "alice") == []
            await bob.join("lobby", "bob")
            assert await next_item(alice_inbox.joined) == ("lobby", "bob")

            sent = await alice.send("lobby", "hello bob")
            assert isinstance(sent, ChatMessage)
            assert (sent.author, sent.text, sent.room) == ("alice", "hello bob", "lobby")
            assert sent.sent_at.tzinfo is not None
            assert await next_item(bob_inbox.messages) == sent
            assert await next_item(alice_inbox.messages) == sent

            assert await bob.history("lobby") == [sent]
            assert await bob.history("lobby", limit=0) == []
            assert await bob.members("lobby") == ["alice", "bob"]
            with pytest.raises(HubError, match="You are not in room 'kitchen'"):
                await bob.send("kitchen", "x")
            with pytest.raises(HubError) as info:
                await bob.send("lobby", "")  # the contract's Annotated constraint
            assert info.value.message == (
                "Failed to invoke 'Send' due to an error on the server. InvalidDataException: "
                "Error binding argument 'text' (position 1): String should have at least "
                "1 character"
            )

            await bob.leave("lobby")
            assert await next_item(alice_inbox.left) == ("lobby", "bob")


@pytest.mark.node
async def test_python_and_node_clients_see_each_other() -> None:
    driver = build_driver(
        ROOT / "tests" / "node" / "interop" / "chat-driver.ts",
        ROOT / "examples" / "chat" / "web" / "chat-client" / "src",
    )
    async with serve(create_app()) as base_url:
        node = await NodeProcess.start(driver, f"{base_url}/chat", "nadia", "lobby")
        await node.event("joined")
        async with HubConnection(f"{base_url}/chat") as connection:
            python = ChatHubClient(connection)
            inbox = Inbox()
            with python.register(inbox):
                await python.join("lobby", "pete")
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
        await node.finish()


async def test_the_example_client_script() -> None:
    async with serve(create_app()) as base_url:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat.client",
            "--url",
            f"{base_url}/chat",
            "--user",
            "sam",
            "--say",
            "scripted hello",
            "--linger",
            "0.2",
            cwd=ROOT / "examples" / "chat",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "* joined lobby as sam; sam here" in output
    assert "[lobby] sam: scripted hello" in output


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
        app = create_app()
    assert "the chat page's script is not built" in caplog.text
    async with serve(app) as base_url:
        async with httpx.AsyncClient() as http:
            page = await http.get(f"{base_url}/")
            assert page.status_code == 200
            assert "examples/chat/web/build" in page.text
            assert (await http.get(f"{base_url}/build/app.js")).status_code == 404
        async with HubConnection(f"{base_url}/chat") as connection:
            assert await ChatHubClient(connection).join("lobby", "nodeless") == []
