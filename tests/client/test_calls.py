"""Calls from the client to the hub: invoke, send, typed proxies, on both protocols."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hubgen import HubError
from hubgen.client import HubConnection, HubConnectionError, HubProxy
from tests.apps.echo.contract import Color, Item
from tests.apps.echo.generated.echo_hub_client import EchoHubClient

pytestmark = pytest.mark.timeout(30)


async def test_invoke_returns_the_result(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        assert await connection.invoke("Echo", "hello") == "hello"
        assert await connection.invoke("Add", 2, 3) == 5
        assert await connection.invoke("add", 2) == 12  # names match ignoring case; default b
        assert await connection.invoke("Join", "g") is None


async def test_invoke_error_raises_hub_error_and_connection_survives(
    hub_url: str, protocol: str
) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        with pytest.raises(HubError) as caught:
            await connection.invoke("Fail", "no luck")
        assert caught.value.message == (
            "An unexpected error occurred invoking 'Fail' on the server. HubException: no luck"
        )
        with pytest.raises(HubError, match=r"^Failed to invoke 'Nope' due to an error"):
            await connection.invoke("Nope")
        assert await connection.invoke("Echo", "still here") == "still here"


async def test_typed_proxy_round_trips_models(hub_url: str, protocol: str) -> None:
    item = Item(
        name="widget",
        quantity=3,
        tags=["a", "b"],
        color=Color.GREEN,
        created_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        payload=b"\x00\xff binary",
    )
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        assert hub.connection is connection
        assert await hub.echo_item(item) == item
        assert await hub.add(1) == 11
        assert await hub.get_header("x-missing") is None
        assert await hub.whoami() == connection.connection_id
        await hub.join("group")  # void


async def test_typed_proxy_raises_hub_error(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with pytest.raises(HubError, match=r"HubException: typed failure$"):
            await hub.fail("typed failure")
        with pytest.raises(
            HubError, match=r"^An unexpected error occurred invoking 'Crash' on the server\.$"
        ):
            await hub.crash()


async def test_typed_proxy_checks_its_arguments_before_sending(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with pytest.raises(TypeError, match=r"echo_item\(\): argument 'item'"):
            await hub.echo_item("not an item")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"must be an async iterable"):
            await hub.sum_upload([1, 2])  # type: ignore[arg-type]
        assert await hub.echo("fine") == "fine"


async def test_send_is_fire_and_forget(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        received: asyncio.Queue[str] = asyncio.Queue()

        async def on_message(text: str) -> None:
            await received.put(text)

        connection.on("Message", on_message)
        # Errors of fire-and-forget calls are never reported...
        await connection.send("Fail", "ignored")
        # ...and the server runs the call: its push arrives.
        await connection.send("SendCaller", "pushed")
        assert await asyncio.wait_for(received.get(), 5) == "pushed"


async def test_typed_send_helper(hub_url: str) -> None:
    from tests.apps.echo.generated.echo_hub_binders import HUB

    class Sender(HubProxy):
        spec = HUB

        async def send_caller(self, text: str) -> None:
            await self._send(HUB.method("send_caller"), text)

    async with HubConnection(hub_url) as connection:
        received: asyncio.Queue[str] = asyncio.Queue()
        EchoHubClient(connection).on_message(received.put)
        await Sender(connection).send_caller("typed push")
        assert await asyncio.wait_for(received.get(), 5) == "typed push"


async def test_many_concurrent_invocations_on_one_connection(hub_url: str, protocol: str) -> None:
    async with HubConnection(hub_url, protocol=protocol) as connection:  # type: ignore[arg-type]
        hub = EchoHubClient(connection)
        results = await asyncio.gather(*(hub.add(i, i) for i in range(300)))
        assert results == [2 * i for i in range(300)]


async def test_calls_need_a_connected_connection(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    message = "Cannot send data if the connection is not in the 'Connected' State."
    with pytest.raises(HubConnectionError, match=message):
        await connection.invoke("Echo", "x")
    with pytest.raises(HubConnectionError, match=message):
        await connection.send("Echo", "x")
    with pytest.raises(HubConnectionError, match=message):
        async for _ in connection.stream("Counter", 1):
            pass
    await connection.start()
    await connection.stop()
    with pytest.raises(HubConnectionError, match=message):
        await connection.invoke("Echo", "x")


async def test_a_cancelled_invoke_leaves_the_connection_usable(hub_url: str) -> None:
    async with HubConnection(hub_url) as connection:
        hub = EchoHubClient(connection)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await hub.sleep(0.3)
        assert await hub.echo("after") == "after"
