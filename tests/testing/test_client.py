"""hubgen.testing's clients: everything the generated proxies do, in memory —
calls, errors, streams both ways, receivers, client results, groups — and
waiting for what the server pushes without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from hubgen import HubError
from hubgen.client import ConnectionClosedError, HubConnectionState
from hubgen.protocol import InvocationMessage
from hubgen.server import HubRoute
from hubgen.server.lifetime import SerializedMessage
from hubgen.testing import ClientCall, HubTestServer, hub_test_client
from tests.apps.echo.contract import Color, EchoClient, Item
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import EchoHubImpl, create_app
from tests.testing.apps import GreetingHub, app_with

Protocol = Literal["json", "messagepack"]


@pytest.fixture(params=["json", "messagepack"])
def protocol(request: pytest.FixtureRequest) -> Protocol:
    value: Protocol = request.param
    return value


@pytest.fixture
async def server() -> AsyncIterator[HubTestServer]:
    async with HubTestServer(create_app()) as server:
        yield server


async def numbers(*values: int) -> AsyncIterator[int]:
    for value in values:
        yield value


async def test_calls_results_and_errors(server: HubTestServer, protocol: Protocol) -> None:
    client = await server.connect(EchoHubClient, protocol=protocol)
    echo = client.hub
    assert await echo.echo("hi") == "hi"
    assert await echo.add(2) == 12
    item = Item(name="box", quantity=3, tags=["a"], color=Color.GREEN, payload=b"\x00\x01")
    assert await echo.echo_item(item) == item
    assert await echo.echo_blob(b"\x00\xff") == b"\x00\xff"
    assert await echo.echo_big(2**53 + 1) == 2**53 + 1
    with pytest.raises(HubError, match=r"HubException: nope$"):
        await echo.fail("nope")
    with pytest.raises(HubError, match="An unexpected error occurred invoking 'Crash'"):
        await echo.crash()
    with pytest.raises(HubError, match="Error binding argument 'n'"):
        await echo.bounded(11)
    assert client.connection_id == await echo.whoami()
    assert client.connection.protocol.name == protocol


async def test_streams_and_uploads(server: HubTestServer, protocol: Protocol) -> None:
    echo = (await server.connect(EchoHubClient, protocol=protocol)).hub
    assert [n async for n in echo.counter(4)] == [0, 1, 2, 3]
    assert await echo.sum_upload(numbers(1, 2, 3, 4)) == 10
    assert [n async for n in echo.double_upload(numbers(5, 6))] == [10, 12]
    seen: list[int] = []

    async def read_failing() -> None:
        async for n in echo.failing_stream(2):
            seen.append(n)

    with pytest.raises(HubError, match="stream broke"):
        await read_failing()
    assert seen == [0, 1]
    # a stream left early is cancelled on the server; the connection goes on
    async for n in echo.counter(1000):
        if n == 2:
            break
    assert await echo.echo("still here") == "still here"


async def test_next_call_returns_pushes_in_order(server: HubTestServer) -> None:
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob", protocol="messagepack")
    await alice.hub.broadcast("one")
    await alice.hub.send_item_to_all(Item(name="two"))
    await alice.hub.broadcast("three")
    # bob's calls come in the order the server made them, decoded to the contract's types
    assert await bob.next_call() == ClientCall("message", ("one",))
    assert await bob.next_call() == ClientCall("item_received", (Item(name="two"),))
    assert await bob.next_call() == ClientCall("message", ("three",))
    # by method: the others stay pending, in order
    assert await alice.next_call("message") == ClientCall("message", ("one",))
    assert await alice.next_call(EchoClient.message) == ClientCall("message", ("three",))
    item = await alice.next_call(EchoClient.item_received)
    assert item.arguments == {"item": Item(name="two")}
    assert repr(item) == f"item_received({Item(name='two')!r})"
    assert [c.method for c in alice.received] == ["message", "item_received", "message"]
    await alice.expect_no_calls()
    await bob.expect_no_calls()


async def test_next_call_waits_for_a_push_still_on_its_way(server: HubTestServer) -> None:
    """``send_others`` returns to alice before bob has been told: next_call
    waits for exactly that (no sleep, no polling)."""
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob")
    waiting = asyncio.ensure_future(bob.next_call("message"))
    await asyncio.sleep(0)
    assert not waiting.done()
    await alice.hub.send_others("psst")
    assert await waiting == ClientCall("message", ("psst",))
    await alice.expect_no_calls()


async def test_next_call_fails_clearly(server: HubTestServer) -> None:
    alice = await server.connect(EchoHubClient, user="alice")
    await alice.hub.send_caller("first")
    with pytest.raises(AssertionError) as info:
        await alice.next_call("item_received", timeout=0.05)
    assert str(info.value) == (
        "alice: no call to item_received within 0.05 s; pending calls: message('first')"
    )
    with pytest.raises(ValueError, match=r"EchoClient has no client method 'mesage' \(it has: "):
        await alice.next_call("mesage")
    # the connection goes: waiting ends at once, saying so
    waiting = asyncio.ensure_future(alice.next_call("item_received", timeout=60))
    with pytest.raises(ConnectionClosedError):
        await alice.hub.abort_me()
    with pytest.raises(AssertionError) as info:
        await waiting
    assert str(info.value) == (
        "alice: the connection closed before a call to item_received came; "
        "pending calls: message('first')"
    )
    assert alice.connection.state is HubConnectionState.DISCONNECTED
    unstarted = server.client(EchoHubClient, name="later")
    with pytest.raises(AssertionError, match="later: not connected: start it first"):
        await unstarted.next_call()


async def test_expect_no_calls_and_take_calls(server: HubTestServer) -> None:
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob")
    await alice.hub.join("kitchen")
    await alice.hub.send_group("kitchen", "for the kitchen")
    await bob.expect_no_calls()  # bob is not in the group
    with pytest.raises(AssertionError) as info:
        await alice.expect_no_calls()
    assert str(info.value) == (
        "alice received 1 call(s) the test did not expect: message('for the kitchen')"
    )
    await alice.expect_no_calls("item_received")
    assert await alice.take_calls() == [ClientCall("message", ("for the kitchen",))]
    await alice.expect_no_calls()
    for text in ("a", "b", "c"):
        await bob.hub.send_to(alice.connection_id or "", text)
    # take_calls settles first: all three have arrived
    assert [c.args for c in await alice.take_calls("message")] == [("a",), ("b",), ("c",)]


async def test_groups(server: HubTestServer) -> None:
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob")
    carol = await server.connect(EchoHubClient, user="carol")
    for client in (alice, bob):
        await client.hub.join("lobby")
    await carol.hub.add_to_group(carol.connection_id or "", "kitchen")
    await bob.hub.send_others_in_group("lobby", "hello lobby")
    assert await alice.next_call("message") == ClientCall("message", ("hello lobby",))
    await alice.hub.leave("lobby")
    await carol.hub.send_group("lobby", "anyone?")
    assert await bob.next_call("message") == ClientCall("message", ("anyone?",))
    await carol.hub.send_group("kitchen", "just me")
    assert await carol.next_call("message") == ClientCall("message", ("just me",))
    for client in (alice, bob, carol):
        await client.expect_no_calls()


async def test_receivers_and_client_results(server: HubTestServer) -> None:
    """The test's own receivers run as they would in an application, next to
    the recording; a client result is what the test's handler answers."""
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob")

    class Receiver:
        def __init__(self) -> None:
            self.messages: list[str] = []

        async def message(self, text: str) -> None:
            self.messages.append(text)

        async def item_received(self, item: Item) -> None:
            pass

        async def ask(self, question: str) -> int:
            return len(question)

    receiver = Receiver()
    with bob.hub.register(receiver):
        await alice.hub.send_to(bob.connection_id or "", "hi bob")
        assert await alice.hub.ask_client(bob.connection_id or "", "seven?") == 6
        assert await bob.take_calls() == [
            ClientCall("message", ("hi bob",)),
            ClientCall("ask", ("seven?",)),
        ]
        assert receiver.messages == ["hi bob"]

    async def refuse(question: str) -> int:
        raise HubError(f"no answer to {question!r}")

    with bob.hub.on_ask(refuse), pytest.raises(HubError, match="no answer to 'why'"):
        await alice.hub.ask_client(bob.connection_id or "", "why")
    # with no handler of the test's, the recording answers nothing
    with pytest.raises(HubError, match="Client didn't provide a result"):
        await alice.hub.ask_client(bob.connection_id or "", "anyone?")
    assert [c.args for c in await bob.take_calls("ask")] == [("why",), ("anyone?",)]


async def test_handlers_registered_before_start_see_on_connected() -> None:
    async with HubTestServer(app_with(GreetingHub)) as server:
        client = server.client(EchoHubClient, user="dana")
        greetings: list[str] = []

        async def greeted(text: str) -> None:
            greetings.append(text)

        client.hub.on_message(greeted)
        async with client:
            assert await client.next_call("message") == ClientCall("message", ("welcome, dana",))
            assert greetings == ["welcome, dana"]
        assert client.connection.state is HubConnectionState.DISCONNECTED


async def test_hub_test_client_is_one_client_of_a_server_of_its_own() -> None:
    async with hub_test_client(create_app(), EchoHubClient, user="erin") as erin:
        assert await erin.hub.user_name() == "erin"
        frank = await erin.server.connect(EchoHubClient, user="frank")
        await frank.hub.send_user("erin", "hello erin")
        assert await erin.next_call("message") == ClientCall("message", ("hello erin",))
    assert erin.connection.state is HubConnectionState.DISCONNECTED
    assert frank.connection.state is HubConnectionState.DISCONNECTED


async def test_arguments_that_do_not_fit_the_contract_fail_where_taken() -> None:
    """The server pushes what the contract does not allow (code that goes
    around the typed proxies): the recorded call says so when it is taken."""
    app = create_app()
    route: HubRoute[EchoHubImpl] = app.state.hub
    async with HubTestServer(app) as server:
        alice = await server.connect(EchoHubClient, user="alice")
        wrong = InvocationMessage("ItemReceived", [{"quantity": "many"}])
        await route.lifetime.send_connections(
            (alice.connection_id or "",), SerializedMessage(lambda wire: wrong)
        )
        with pytest.raises(AssertionError) as info:
            await alice.next_call("item_received")
        assert str(info.value).startswith(
            "the server called item_received with arguments that do not match the contract: "
        )
        assert "{'quantity': 'many'}" in str(info.value)


async def test_next_call_returns_once_the_test_s_handlers_have_run(
    server: HubTestServer,
) -> None:
    """A receiver of the test's that awaits the hub before it records what
    came has finished by the time next_call returns the call."""
    alice = await server.connect(EchoHubClient, user="alice")
    bob = await server.connect(EchoHubClient, user="bob")
    handled: list[str] = []

    async def message(text: str) -> None:
        handled.append(await bob.hub.echo(text.upper()))

    bob.hub.on_message(message)
    await alice.hub.send_others("shout")
    assert await bob.next_call("message") == ClientCall("message", ("shout",))
    assert handled == ["SHOUT"]
