"""Calls from the hub to the client: pushes, groups, registrations, client results."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from hubgen import HubError
from hubgen.client import HubConnection, Registration
from hubgen.server import HubOptions
from tests.apps.echo.contract import Item
from tests.apps.echo.generated.echo_hub_client import EchoHubClient

pytestmark = pytest.mark.timeout(30)

NO_RESULT = re.escape("Client didn't provide a result.")


def answer(value: Any) -> Callable[[str], Awaitable[Any]]:
    """A client-result handler that always answers ``value``."""

    async def handler(question: str) -> Any:
        return value

    return handler


class Inbox:
    """Collects calls; ``get`` waits for the next one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def __call__(self, *args: Any) -> None:
        await self.queue.put(args[0] if len(args) == 1 else args)

    async def get(self) -> Any:
        return await asyncio.wait_for(self.queue.get(), 5)

    def empty(self) -> bool:
        return self.queue.empty()


async def test_server_pushes_reach_every_target(hub_url: str, protocol: str) -> None:
    first = HubConnection(hub_url, protocol=protocol)  # type: ignore[arg-type]
    second = HubConnection(hub_url, protocol=protocol)  # type: ignore[arg-type]
    async with first, second:
        inbox_first, inbox_second = Inbox(), Inbox()
        first.on("message", inbox_first)  # targets match ignoring case
        second.on("MESSAGE", inbox_second)
        await first.invoke("Broadcast", "to all")
        assert await inbox_first.get() == "to all"
        assert await inbox_second.get() == "to all"
        await first.invoke("SendOthers", "to others")
        assert await inbox_second.get() == "to others"
        await first.invoke("SendTo", second.connection_id, "direct")
        assert await inbox_second.get() == "direct"
        # first got nothing after the broadcast: the server handled its calls in
        # order, so a push sent to it now arrives next.
        await first.invoke("SendCaller", "marker")
        assert await inbox_first.get() == "marker"


async def test_typed_pushes_are_decoded(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        inbox = Inbox()
        hub.on_item_received(inbox)
        item = Item(name="pushed", tags=["x"], payload=b"\x01\x02")
        await hub.send_item_to_all(item)
        received = await inbox.get()
        assert isinstance(received, Item)
        assert received == item


async def test_groups_are_visible_through_pushes(hub_url: str) -> None:
    member, outsider = HubConnection(hub_url), HubConnection(hub_url)
    async with member, outsider:
        member_hub, outsider_hub = EchoHubClient(member), EchoHubClient(outsider)
        member_inbox, outsider_inbox = Inbox(), Inbox()
        member_hub.on_message(member_inbox)
        outsider_hub.on_message(outsider_inbox)
        await member_hub.join("room")
        await outsider_hub.send_group("room", "one")
        assert await member_inbox.get() == "one"
        await member_hub.leave("room")
        await outsider_hub.send_group("room", "two")
        # Calls from one connection run in order, so "two" would have arrived
        # before this marker if the member were still in the group.
        await outsider_hub.send_to(member.connection_id or "", "marker")
        assert await member_inbox.get() == "marker"
        assert outsider_inbox.empty()


async def test_several_handlers_and_exact_disposal(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        calls: list[str] = []

        async def first(text: str) -> None:
            calls.append(f"first:{text}")

        def second(text: str) -> None:  # synchronous handlers work too
            calls.append(f"second:{text}")

        registration_first = connection.on("Message", first)
        registration_second = connection.on("Message", second)
        registration_again = connection.on("Message", first)  # independent of the first one
        marker = Inbox()
        connection.on("Message", marker)

        await connection.invoke("SendCaller", "a")
        await marker.get()
        assert calls == ["first:a", "second:a", "first:a"]

        registration_first.dispose()
        registration_first.dispose()  # idempotent
        assert registration_first.disposed
        calls.clear()
        await connection.invoke("SendCaller", "b")
        await marker.get()
        assert calls == ["second:b", "first:b"]

        with registration_second, registration_again:
            pass  # disposed on leaving the block
        calls.clear()
        await connection.invoke("SendCaller", "c")
        assert await marker.get() == "c"
        assert calls == []


async def test_register_routes_a_receiver_and_disposes_all_of_it(hub_url: str) -> None:
    class Receiver:
        def __init__(self) -> None:
            self.messages = Inbox()
            self.items = Inbox()

        async def message(self, text: str) -> None:
            await self.messages(text)

        async def item_received(self, item: Item) -> None:
            await self.items(item)

        async def ask(self, question: str) -> int:
            return len(question)

    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        receiver = Receiver()
        registration = hub.register(receiver)
        assert isinstance(registration, Registration)
        await hub.send_caller("hello")
        assert await receiver.messages.get() == "hello"
        await hub.send_item_to_all(Item(name="n"))
        assert (await receiver.items.get()).name == "n"
        assert await hub.ask_caller("four") == 4
        registration.dispose()
        with pytest.raises(HubError, match=NO_RESULT):
            await hub.ask_caller("gone")


async def test_register_rejects_an_incomplete_receiver(hub_url: str) -> None:
    class Partial:
        async def message(self, text: str) -> None: ...

    connection = HubConnection(hub_url)
    with pytest.raises(
        TypeError, match=r"does not implement these EchoClient methods: item_received, ask$"
    ):
        EchoHubClient(connection).register(Partial())  # type: ignore[arg-type]


async def test_client_result(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)

        async def ask(question: str) -> int:
            await asyncio.sleep(0)
            return len(question) * 10

        with hub.on_ask(ask):
            assert await hub.ask_caller("abc") == 30


async def test_client_result_handler_may_call_the_hub(
    serve_hub: Callable[[HubOptions], AbstractAsyncContextManager[str]],
) -> None:
    # The server must allow a second invocation to run while AskCaller waits
    # (as in ASP.NET Core, one at a time would deadlock).
    async with (
        serve_hub(HubOptions(max_parallel_invocations=2)) as url,
        HubConnection(url) as connection,
    ):
        hub = EchoHubClient(connection)

        async def ask(question: str) -> int:
            return len(await hub.echo(question)) * 10

        with hub.on_ask(ask):
            assert await hub.ask_caller("abcd") == 40


async def test_client_result_for_another_connection(hub_url: str) -> None:
    asker, answerer = HubConnection(hub_url), HubConnection(hub_url)
    async with asker, answerer:
        answerer.on("Ask", lambda question: 7)  # synchronous handlers work too
        assert await asker.invoke("AskClient", answerer.connection_id, "?") == 7


async def test_client_result_errors(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with pytest.raises(HubError, match=NO_RESULT):
            await hub.ask_caller("nobody answers")

        def none(question: str) -> None:
            return None

        # Untyped handlers: None means "no result".
        with connection.on("Ask", none), pytest.raises(HubError, match=NO_RESULT):
            await hub.ask_caller("none")

        with (
            hub.on_ask(answer(1)),
            hub.on_ask(answer(2)),
            pytest.raises(HubError, match=re.escape("Client provided multiple results.")),
        ):
            await hub.ask_caller("two answers")

        async def broken(question: str) -> int:
            raise ValueError("cannot answer that")

        with hub.on_ask(broken), pytest.raises(HubError, match="cannot answer that"):
            await hub.ask_caller("broken")

        # A later handler's success clears an earlier failure (official client rules).
        with hub.on_ask(broken), hub.on_ask(answer(5)):
            assert await hub.ask_caller("recovered") == 5

        with (
            hub.on_ask(answer("not an int")),
            pytest.raises(HubError, match=r"EchoClient\.ask returned a value that does not"),
        ):
            await hub.ask_caller("wrong type")
        assert await hub.echo("connection is fine") == "connection is fine"


async def test_handler_failures_are_logged_and_do_not_end_the_connection(
    hub_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with HubConnection(hub_url) as connection:
        inbox = Inbox()

        async def broken(text: str) -> None:
            raise RuntimeError(f"handler broke on {text}")

        connection.on("Message", broken)
        connection.on("Message", inbox)
        with caplog.at_level(logging.ERROR, logger="hubgen.client"):
            await connection.invoke("SendCaller", "x")
            assert await inbox.get() == "x"
        assert "A handler for the client method 'Message' raised" in caplog.text
        assert "handler broke on x" in caplog.text
        assert await connection.invoke("Echo", "alive") == "alive"


async def test_calls_without_handlers_are_logged(
    hub_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with HubConnection(hub_url) as connection:
        with caplog.at_level(logging.WARNING, logger="hubgen.client"):
            await connection.invoke("SendCaller", "nobody listens")
            inbox = Inbox()
            connection.on("Message", inbox)
            await connection.invoke("SendCaller", "now")
            assert await inbox.get() == "now"
        assert "No client method with the name 'message' found." in caplog.text


async def test_handlers_run_in_arrival_order(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        seen: list[int] = []
        done = asyncio.Event()

        async def slow_then_fast(text: str) -> None:
            number = int(text)
            if number % 2 == 0:
                await asyncio.sleep(0.01)  # an await must not let later calls overtake
            seen.append(number)
            if number == 19:
                done.set()

        connection.on("Message", slow_then_fast)
        for number in range(20):
            await connection.send("SendCaller", str(number))
        await asyncio.wait_for(done.wait(), 5)
        assert seen == list(range(20))
