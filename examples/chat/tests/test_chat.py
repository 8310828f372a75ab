"""The chat hub, end to end in memory: signing in, rooms, private messages
and presence. Each test connects real clients (the generated ChatHubClient)
as different users, and checks what every one of them received — and that
nobody received anything more."""

from __future__ import annotations

from typing import Literal

import pytest
from chat.contract import ChatClient, ChatMessage, PrivateMessage
from chat.generated.chat_hub_client import ChatHubClient

from hubgen import HubError
from hubgen.client import NegotiationError
from hubgen.testing import ClientCall, HubTestClient, HubTestServer


async def test_sign_in_then_connect(server: HubTestServer, passphrase: str) -> None:
    """The page's way in: POST /login, then connect with the token it gives."""
    response = await server.http.post("/login", json={"name": "ann", "passphrase": passphrase})
    assert response.status_code == 200
    token = response.json()["access_token"]
    ann = await server.connect(ChatHubClient, access_token=token)
    with pytest.raises(HubError, match="You are not in room 'lobby'"):
        await ann.hub.send("lobby", "hi")
    assert await ann.hub.join("lobby") == []
    assert (await ann.hub.send("lobby", "hello")).author == "ann"

    wrong = await server.http.post("/login", json={"name": "ann", "passphrase": "guess"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "wrong passphrase"})
    with pytest.raises(NegotiationError, match="Status code '401'"):
        await server.connect(ChatHubClient)  # nobody
    with pytest.raises(NegotiationError, match="Status code '401'"):
        await server.connect(ChatHubClient, access_token=token + "x")


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_room_messages(
    server: HubTestServer, protocol: Literal["json", "messagepack"]
) -> None:
    alice = await server.connect(ChatHubClient, user="alice", protocol=protocol)
    bob = await server.connect(ChatHubClient, user="bob", protocol=protocol)
    carol = await server.connect(ChatHubClient, user="carol", protocol=protocol)
    assert await alice.hub.join("lobby") == []
    assert await bob.hub.join("lobby") == []
    await carol.hub.join("kitchen")
    assert await alice.next_call(ChatClient.user_joined) == ClientCall(
        "user_joined", ("lobby", "bob")
    )

    sent = await alice.hub.send("lobby", "hello bob")
    # the author is who signed in: the client never says
    assert (sent.author, sent.room, sent.text) == ("alice", "lobby", "hello bob")
    assert sent.sent_at.tzinfo is not None
    for member in (alice, bob):  # the sender too
        assert await member.next_call(ChatClient.message_received) == ClientCall(
            "message_received", (sent,)
        )
    assert await bob.hub.history("lobby") == [sent]
    assert await bob.hub.history("lobby", limit=0) == []
    assert await carol.hub.members("lobby") == ["alice", "bob"]
    # joining later: the history comes back from join, and the others are told
    dave = await server.connect(ChatHubClient, user="dave", protocol=protocol)
    assert await dave.hub.join("lobby") == [sent]
    for member in (alice, bob):
        assert await member.next_call(ChatClient.user_joined) == ClientCall(
            "user_joined", ("lobby", "dave")
        )

    with pytest.raises(HubError, match="You are not in room 'lobby'"):
        await carol.hub.send("lobby", "let me in")
    with pytest.raises(HubError) as info:
        await bob.hub.send("lobby", "")  # the contract's Annotated constraint
    assert info.value.message == (
        "Failed to invoke 'Send' due to an error on the server. InvalidDataException: "
        "Error binding argument 'text' (position 1): String should have at least 1 character"
    )

    await bob.hub.leave("lobby")
    for member in (alice, dave):
        assert await member.next_call(ChatClient.user_left) == ClientCall(
            "user_left", ("lobby", "bob")
        )
    await assert_nothing_more(alice, bob, carol, dave)


async def test_private_messages_reach_their_users_only(server: HubTestServer) -> None:
    """bob writes to alice, who has two connections (two tabs): both get it,
    and so does bob's other tab; carol, in the same room, does not."""
    alice_1 = await server.connect(ChatHubClient, user="alice", name="alice's tab 1")
    alice_2 = await server.connect(ChatHubClient, user="alice", name="alice's tab 2")
    bob_1 = await server.connect(ChatHubClient, user="bob", name="bob's tab 1")
    bob_2 = await server.connect(ChatHubClient, user="bob", name="bob's tab 2")
    carol = await server.connect(ChatHubClient, user="carol")

    sent = await bob_1.hub.send_private("alice", "just between us")
    assert isinstance(sent, PrivateMessage)
    assert (sent.author, sent.recipient, sent.text) == ("bob", "alice", "just between us")
    for tab in (alice_1, alice_2, bob_1, bob_2):
        assert await tab.next_call(ChatClient.private_message_received) == ClientCall(
            "private_message_received", (sent,)
        )

    # writing to yourself reaches each of your connections once
    note = await carol.hub.send_private("carol", "note to self")
    assert await carol.take_calls() == [ClientCall("private_message_received", (note,))]

    with pytest.raises(HubError, match="'dave' is not online"):
        await bob_1.hub.send_private("dave", "anyone?")
    with pytest.raises(HubError, match="String should have at least 1 character"):
        await bob_1.hub.send_private("alice", "")
    await assert_nothing_more(alice_1, alice_2, bob_1, bob_2, carol)


async def test_presence_counts_users_not_connections(server: HubTestServer) -> None:
    """A user with two connections in a room joins once and leaves with the
    last one — also when that one disconnects without leaving."""
    watcher = await server.connect(ChatHubClient, user="watcher")
    await watcher.hub.join("lobby")
    first = await server.connect(ChatHubClient, user="dora")
    second = await server.connect(ChatHubClient, user="dora")
    await first.hub.join("lobby")
    await second.hub.join("lobby")
    assert await watcher.take_calls() == [ClientCall("user_joined", ("lobby", "dora"))]
    assert await watcher.hub.members("lobby") == ["dora", "watcher"]

    await second.hub.leave("lobby")
    await watcher.expect_no_calls()  # dora is still there, in her first tab
    await first.stop()  # her last tab closes
    assert await watcher.next_call() == ClientCall("user_left", ("lobby", "dora"))
    assert await watcher.hub.members("lobby") == ["watcher"]

    # online in a tab in no room: private messages still reach her (and her
    # own copy of what she sends)
    whisper = await second.hub.send_private("watcher", "still here")
    for client in (watcher, second):
        assert await client.next_call() == ClientCall("private_message_received", (whisper,))
    await second.stop()
    with pytest.raises(HubError, match="'dora' is not online"):
        await watcher.hub.send_private("dora", "gone?")
    await assert_nothing_more(watcher, second)


async def test_what_a_client_receives_is_the_contract_s_types(server: HubTestServer) -> None:
    """Pushes arrive decoded, as the receivers a client registers get them."""
    alice = await server.connect(ChatHubClient, user="alice")
    seen: list[ChatMessage] = []

    class Receiver:
        async def message_received(self, message: ChatMessage) -> None:
            seen.append(message)

        async def private_message_received(self, message: PrivateMessage) -> None:
            pass

        async def user_joined(self, room: str, user: str) -> None:
            pass

        async def user_left(self, room: str, user: str) -> None:
            pass

    with alice.hub.register(Receiver()):
        await alice.hub.join("lobby")
        sent = await alice.hub.send("lobby", "typed")
        call = await alice.next_call(ChatClient.message_received)
    assert call.arguments == {"message": sent}
    assert seen == [sent]
    assert isinstance(seen[0], ChatMessage)


async def assert_nothing_more(*clients: HubTestClient[ChatHubClient]) -> None:
    for client in clients:
        await client.expect_no_calls()
