"""hubgen's Python client on every transport × protocol the protocol allows,
through the generated typed proxy, against the real hubgen server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

import pytest

from hubgen import HubError
from hubgen.client import HubConnection, TransportError
from hubgen.server import HubOptions, TransportType
from tests.apps.echo.contract import Color, Item
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import create_app
from tests.support.server import serve

Protocol = Literal["json", "messagepack"]

MATRIX = [
    ("WebSockets", "json"),
    ("WebSockets", "messagepack"),
    ("ServerSentEvents", "json"),
    ("LongPolling", "json"),
    ("LongPolling", "messagepack"),
]


async def numbers(count: int) -> AsyncIterator[int]:
    for n in range(1, count + 1):
        yield n


@pytest.mark.parametrize(("transport", "protocol"), MATRIX)
async def test_everything_over(transport: str, protocol: Protocol) -> None:
    async with serve(create_app(HubOptions(keep_alive_interval=1))) as base_url:
        url = f"{base_url}/echo"
        async with (
            HubConnection(url, protocol=protocol, transports=[transport]) as one,
            HubConnection(url, protocol=protocol, transports=[transport]) as two,
        ):
            a, b = EchoHubClient(one), EchoHubClient(two)
            assert await a.whoami() == one.connection_id
            assert await a.echo("héllo ✓") == "héllo ✓"
            assert await a.add(1) == 11
            item = Item(
                name="box",
                quantity=2,
                tags=["t"],
                color=Color.GREEN,
                created_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
                payload=b"\x00\xff",
            )
            assert await a.echo_item(item) == item
            with pytest.raises(HubError, match="HubException: nope"):
                await a.fail("nope")

            received: asyncio.Queue[str] = asyncio.Queue()

            async def on_message(text: str) -> None:
                await received.put(text)

            with b.on_message(on_message):
                await a.broadcast("to all")
                await b.join("g")
                await a.send_group("g", "to g")
                async with asyncio.timeout(5):
                    assert await received.get() == "to all"
                    assert await received.get() == "to g"

            assert [n async for n in a.counter(4)] == [0, 1, 2, 3]
            async with asyncio.timeout(5):
                async for n in a.counter(1000, 0.01):
                    if n == 2:
                        break  # leaving the loop cancels the stream
            assert await a.echo("after cancel") == "after cancel"
            assert await a.sum_upload(numbers(25)) == 325
            assert [n async for n in a.double_upload(numbers(3))] == [2, 4, 6]

            async def answer(question: str) -> int:
                return len(question)

            with a.on_ask(answer):
                assert await a.ask_caller("four") == 4


async def test_messagepack_never_picks_server_sent_events() -> None:
    options = HubOptions(transports=TransportType.SERVER_SENT_EVENTS)
    async with serve(create_app(options)) as base_url:
        connection = HubConnection(f"{base_url}/echo", protocol="messagepack")
        with pytest.raises(TransportError) as info:
            await connection.start()
        assert "Unable to connect to the server with any of the available transports." in str(
            info.value
        )
        assert "'ServerSentEvents' does not support Binary." in str(info.value)


async def test_falls_back_when_websockets_fail() -> None:
    """The server offers WebSockets first but refuses the upgrade: the client
    negotiates again and connects with the next transport."""
    app = create_app()

    async def refusing_websockets(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await app(scope, receive, send)

    async with (
        serve(refusing_websockets) as base_url,
        HubConnection(f"{base_url}/echo") as connection,
    ):
        client = EchoHubClient(connection)
        assert await client.echo("fell back") == "fell back"
        assert await client.whoami() == connection.connection_id
        assert connection.connection_id is not None


async def test_transports_the_client_disallows_are_skipped() -> None:
    options = HubOptions(transports=TransportType.WEBSOCKETS)
    async with serve(create_app(options)) as base_url:
        connection = HubConnection(f"{base_url}/echo", transports=["LongPolling"])
        with pytest.raises(TransportError, match=r"'WebSockets' is disabled by the client\."):
            await connection.start()


def test_skip_negotiation_needs_websockets() -> None:
    with pytest.raises(ValueError, match=r"Negotiation can only be skipped"):
        HubConnection("http://127.0.0.1:1/echo", skip_negotiation=True, transports=["LongPolling"])


async def test_server_ending_a_long_polling_connection_closes_cleanly() -> None:
    async with serve(create_app()) as base_url:
        connection = HubConnection(f"{base_url}/echo", transports=["LongPolling"])
        closed: asyncio.Queue[Exception | None] = asyncio.Queue()
        connection.on_close(closed.put_nowait)
        await connection.start()
        await connection.send("AbortMe")  # the server ends the connection
        async with asyncio.timeout(5):
            assert await closed.get() is None  # a 204 poll: a clean close
