"""The chat example's web page in headless Chromium.

Users sign in on the page (name and the server's passphrase, for a token the
page keeps in memory): ann on JSON, bob in two tabs (MessagePack, where the
transport carries binary, and JSON).
They chat through the generated npm package bundled with esbuild, and a
Python client (the generated ``ChatHubClient`` over
``hubgen.client.HubConnection``, signed in too) joins: every message shows on
every page with its authenticated author, and a private message shows in
both of its recipient's tabs and its sender's, and nowhere else. Run once per
transport; the server records which transport the pages really used.
Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient
from chat.hub import ChatHub
from chat.server import WEB_ROOT

from tests.e2e.chat_support import PASSPHRASE, chat_app, connected
from tests.support.node import NODE_DIR, ensure_node_modules
from tests.support.server import serve

ROOT = Path(__file__).parents[2]
BUILD = ROOT / "examples" / "chat" / "web" / "build"
DRIVER = NODE_DIR / "browser" / "chat-pages.mjs"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"

pytestmark = pytest.mark.node


class RecordingChatHub(ChatHub):
    """The chat hub, noting how each user's connections joined: (transport, protocol)."""

    joined: ClassVar[dict[str, set[tuple[str, str]]]] = {}

    async def join(self, room: str) -> list[ChatMessage]:
        self.joined.setdefault(self.me, set()).add((self.context.transport, self.context.protocol))
        return await super().join(room)


class Inbox:
    """The Python client's ChatClient receiver."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[ChatMessage] = asyncio.Queue()
        self.private: list[PrivateMessage] = []

    async def message_received(self, message: ChatMessage) -> None:
        await self.messages.put(message)

    async def private_message_received(self, message: PrivateMessage) -> None:
        self.private.append(message)

    async def user_joined(self, room: str, user: str) -> None:
        pass

    async def user_left(self, room: str, user: str) -> None:
        pass

    async def wait_for(self, author: str, text: str) -> ChatMessage:
        async with asyncio.timeout(10):
            while True:
                message = await self.messages.get()
                if (message.author, message.text) == (author, text):
                    return message


@pytest.fixture(scope="module")
def page_bundle() -> Path:
    """examples/chat/web/build: the generated package compiled, the page bundled."""
    assert CHROMIUM.exists(), "Debian's chromium is needed: run scripts/bootstrap dev"
    assert shutil.which("npm"), "npm is needed to build the chat page"
    ensure_node_modules()
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    result = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    bundle = WEB_ROOT / "build" / "app.js"
    assert bundle.is_file()
    return bundle


class Browser:
    """The browser driver (tests/node/browser/chat-pages.mjs): one command at a
    time, each answered by one JSON event line."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(cls, *args: str, log: Path) -> Browser:
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                "node",
                str(DRIVER),
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(process, log)

    async def call(self, line: str, timeout: float = 15) -> Any:
        """Run a command; the data of its answer (a failed command fails the test)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(timeout):
            answer = await self.process.stdout.readline()
        if not answer:
            raise AssertionError(f"the browser driver exited: {self.log.read_text()}")
        event = json.loads(answer)
        if event["event"] == "error":
            raise AssertionError(f"browser driver: {event['data']}")
        assert event["event"] == line.split(" ", 1)[0], event
        return event["data"]

    async def close(self) -> list[str]:
        """Quit; the page errors the driver saw (uncaught exceptions, console errors)."""
        try:
            problems: list[str] = await self.call("quit", timeout=20)
            async with asyncio.timeout(20):
                await self.process.wait()
            return problems
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()


TRANSPORTS = {
    "websockets": "WebSockets",
    "serversentevents": "ServerSentEvents",
    "longpolling": "LongPolling",
}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_signed_in_pages_and_a_python_client_chat(
    transport: str, page_bundle: Path, tmp_path: Path
) -> None:
    RecordingChatHub.joined = {}
    # Server-Sent Events carry text only: there bob's first tab uses JSON too
    bobs = "json" if transport == "serversentevents" else "messagepack"
    app = chat_app(hub_class=RecordingChatHub)
    shots = ARTIFACTS / transport
    shots.mkdir(parents=True, exist_ok=True)
    async with serve(app) as base_url:
        async with httpx.AsyncClient() as http:  # no token, no hub
            refused = await http.post(f"{base_url}/chat/negotiate?negotiateVersion=1")
            assert refused.status_code == 401
        browser = await Browser.start(
            base_url, transport, str(tmp_path / "profile"), PASSPHRASE, log=tmp_path / "driver.log"
        )
        try:
            intruder = await browser.call("open intruder ann json not the passphrase", timeout=40)
            assert intruder == {
                "state": "signed-out",
                "status": "not signed in",
                "error": "sign-in refused: wrong passphrase",
            }
            await browser.call(f"screenshot intruder {shots / 'refused.png'}")
            ann = await browser.call("open ann ann json")
            assert ann["status"] == f"ann in #lobby · json over {transport}"
            bob = await browser.call(f"open bob bob {bobs}")
            assert bob["status"] == f"bob in #lobby · {bobs} over {transport}"
            await browser.call("notice ann bob joined")
            bob2 = await browser.call("open bob2 bob json")  # bob's second tab
            assert bob2["status"] == f"bob in #lobby · json over {transport}"

            await browser.call("say ann hello from ann")
            await browser.call("say bob hi ann, bob here")
            for page in ("ann", "bob", "bob2"):
                await browser.call(f"wait {page} ann hello from ann")
                await browser.call(f"wait {page} bob hi ann, bob here")
            # bob's second tab is the same user: nobody is told he joined twice
            assert await browser.call("notices ann") == ["bob joined"]

            async with connected(base_url, "pyra") as connection:
                python = ChatHubClient(connection)
                inbox = Inbox()
                with python.register(inbox):
                    history = await python.join("lobby")
                    assert [(m.author, m.text) for m in history] == [
                        ("ann", "hello from ann"),
                        ("bob", "hi ann, bob here"),
                    ]
                    for page in ("ann", "bob", "bob2"):
                        await browser.call(f"notice {page} pyra joined")
                    sent = await python.send("lobby", "hello pages, this is Python")
                    for page in ("ann", "bob", "bob2"):
                        await browser.call(f"wait {page} pyra hello pages, this is Python")
                    await browser.call("say bob2 welcome pyra")
                    await inbox.wait_for("bob", "welcome pyra")

                    # ann writes to bob: both of bob's tabs and ann's page show it
                    await browser.call("say ann /msg bob psst, only for bob")
                    for page in ("ann", "bob", "bob2"):
                        await browser.call(f"private {page} ann bob psst, only for bob")
                    # pyra writes to bob: bob's tabs show it, ann's page does not
                    await python.send_private("bob", "pyra to bob, privately")
                    for page in ("bob", "bob2"):
                        await browser.call(f"private {page} pyra bob pyra to bob, privately")
                    # a room message after both: whoever would have received
                    # the private ones has by the time it arrives
                    await python.send("lobby", "sync")
                    await inbox.wait_for("pyra", "sync")
                    for page in ("ann", "bob", "bob2"):
                        await browser.call(f"wait {page} pyra sync")
                    to_pyra = inbox.private

                    await browser.call(f"screenshot ann {shots / 'ann.png'}")
                    await browser.call(f"screenshot bob {shots / 'bob.png'}")
                    on_ann = await browser.call("messages ann")
                    on_bob = await browser.call("messages bob")
                    on_bob2 = await browser.call("messages bob2")
            await browser.call("notice ann pyra left")
            kept = await browser.call("storage ann")
        finally:
            problems = await browser.close()

    room = [
        ("ann", "hello from ann"),
        ("bob", "hi ann, bob here"),
        ("pyra", "hello pages, this is Python"),
        ("bob", "welcome pyra"),
    ]
    to_bob = ("ann", "bob", "psst, only for bob")
    from_pyra = ("pyra", "bob", "pyra to bob, privately")
    shown = {
        page: [
            (m["author"], m["recipient"], m["text"]) if m["private"] else (m["author"], m["text"])
            for m in messages
        ]
        for page, messages in [("ann", on_ann), ("bob", on_bob), ("bob2", on_bob2)]
    }
    assert shown["ann"] == [*room, to_bob, ("pyra", "sync")]
    assert shown["bob"] == shown["bob2"] == [*room, to_bob, from_pyra, ("pyra", "sync")]
    # pyra gets the one it sent (every connection of the sender does), not ann's to bob
    assert [(m.author, m.recipient, m.text) for m in to_pyra] == [from_pyra]
    assert [m["id"] for m in on_ann[:4]] == [m["id"] for m in on_bob[:4]]
    assert on_ann[2]["id"] == str(sent.id)
    # the types the package declares: JsonWire strings, MessagePackWire Dates
    assert {m["sentAtType"] for m in on_ann} == {"string"}
    assert {m["sentAtType"] for m in on_bob} == {"Date" if bobs == "messagepack" else "string"}
    assert problems == []
    assert (shots / "ann.png").stat().st_size > 0
    assert (shots / "bob.png").stat().st_size > 0
    # the token lived in memory only: not in the URL, cookies or storage
    assert kept == {"url": kept["url"], "local": "{}", "session": "{}", "cookies": "[]"}
    assert "access_token" not in kept["url"]
    assert "passphrase" not in kept["url"]

    # the server saw the pages use the transport asked for (the Python
    # client negotiates, and gets WebSockets)
    used = TRANSPORTS[transport]
    assert RecordingChatHub.joined == {
        "ann": {(used, "json")},
        "bob": {(used, bobs), (used, "json")},
        "pyra": {("WebSockets", "json")},
    }
