"""The chat example's generated TypeScript client, on the official
@microsoft/signalr client in Node, against the chat example's server: signed
in with a token from its /login (the official client's accessTokenFactory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.chat_support import chat_app, token_for
from tests.support.server import serve
from tests.support.tsnode import NodeProcess, build_driver

ROOT = Path(__file__).parents[2]
GENERATED_TS = ROOT / "examples" / "chat" / "web" / "chat-client" / "src"
DRIVER = ROOT / "tests" / "node" / "interop" / "chat-driver.ts"

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def chat_driver() -> Path:
    return build_driver(DRIVER, GENERATED_TS)


async def test_two_typescript_clients_chat(chat_driver: Path) -> None:
    async with serve(chat_app()) as base_url:
        url = f"{base_url}/chat"
        alice_token, bob_token = (
            await token_for(base_url, "alice"),
            await token_for(base_url, "bob"),
        )
        alice = await NodeProcess.start(chat_driver, url, alice_token, "lobby")
        joined = await alice.event("joined")
        assert joined["history"] == []
        bob = await NodeProcess.start(chat_driver, url, bob_token, "lobby")
        await bob.event("joined")
        assert await alice.event("userJoined") == {"room": "lobby", "user": "bob"}

        await alice.command("send hello bob")
        sent = await alice.event("sent")
        assert sent["author"] == "alice"
        assert sent["text"] == "hello bob"
        assert sent["room"] == "lobby"
        assert set(sent) == {"id", "room", "author", "text", "sentAt"}  # camelCase wire names
        assert sent["sentAt"].endswith("Z")
        # the pushed model is exactly the returned one, for both clients
        assert await alice.event("messageReceived") == sent
        assert await bob.event("messageReceived") == sent

        await bob.command("members")
        assert await bob.event("members") == ["alice", "bob"]
        await bob.command("history")
        assert await bob.event("history") == [sent]

        # a private message: returned to its sender, pushed to both users
        await bob.command("whisper alice only for you")
        whispered = await bob.event("whispered")
        assert set(whispered) == {"id", "author", "recipient", "text", "sentAt"}
        assert (whispered["author"], whispered["recipient"]) == ("bob", "alice")
        assert whispered["text"] == "only for you"
        assert await alice.event("privateMessageReceived") == whispered
        assert await bob.event("privateMessageReceived") == whispered
        await bob.command("whisper nobody hello?")
        assert await bob.event("error") == (
            "An unexpected error occurred invoking 'SendPrivate' on the server. "
            "HubException: 'nobody' is not online."
        )

        await bob.command("bad")
        assert await bob.event("error") == (
            "An unexpected error occurred invoking 'Send' on the server. "
            "HubException: You are not in room 'no-such-room'."
        )

        # after dispose(), bob's handlers are gone: alice still receives, bob does not
        await bob.command("unregister")
        await bob.event("unregistered")
        await alice.command("send second")
        second = await alice.event("messageReceived")
        await bob.command("send from bob")
        from_bob = await bob.event("sent")
        assert await alice.event("messageReceived") == from_bob
        assert second["text"] == "second"
        # bob's connection got both pushes before its own completion, but no
        # handler printed them
        assert [e for e in bob.unclaimed if e["event"] == "messageReceived"] == []

        await bob.finish()
        await alice.finish()
