"""The chat example as two server processes on one Redis (CHAT_REDIS_URL):
alice on one, bob on the other; a room message and a private message reach
across, as the example's docstring says."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from chat.client import sign_in
from chat.contract import ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient

from hubgen.client import HubConnection
from tests.support.redis import RedisServer, free_port

EXAMPLE = Path(__file__).parents[2] / "examples" / "chat"
PASSPHRASE = "open sesame"
pytestmark = pytest.mark.timeout(90)


@contextmanager
def chat_server(redis_url: str) -> Iterator[str]:
    port = free_port()
    environment = {
        **os.environ,
        "CHAT_REDIS_URL": redis_url,
        "CHAT_PASSPHRASE": PASSPHRASE,
        "CHAT_JWT_SECRET": "the same secret on every process, 32 bytes or more",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "chat.server", "--port", str(port)],
        cwd=EXAMPLE,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the chat server exited"
            try:
                httpx.get(url)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the chat server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def test_two_chat_processes_on_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with ExitStack() as stack:
            first, second = (stack.enter_context(chat_server(redis.url)) for _ in range(2))
            alice_token = await sign_in(f"{first}/chat", "alice", PASSPHRASE)
            bob_token = await sign_in(f"{second}/chat", "bob", PASSPHRASE)
            room: asyncio.Queue[ChatMessage] = asyncio.Queue()
            private: asyncio.Queue[PrivateMessage] = asyncio.Queue()

            async def in_room(message: ChatMessage) -> None:
                room.put_nowait(message)

            async def whispered(message: PrivateMessage) -> None:
                private.put_nowait(message)

            async with (
                HubConnection(f"{first}/chat", access_token=alice_token) as a,
                HubConnection(f"{second}/chat", access_token=bob_token) as b,
            ):
                alice, bob = ChatHubClient(a), ChatHubClient(b)
                bob.on_message_received(in_room)
                bob.on_private_message_received(whispered)
                await alice.join("lobby")
                await bob.join("lobby")
                await alice.send("lobby", "hello from the first process")
                message = await asyncio.wait_for(room.get(), 5)
                assert (message.author, message.text) == ("alice", "hello from the first process")
                await alice.send_private("bob", "psst")
                whisper = await asyncio.wait_for(private.get(), 5)
                assert whisper.text == "psst"
    finally:
        redis.stop()
