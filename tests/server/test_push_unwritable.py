"""A push that one protocol cannot write (an integer beyond MessagePack's 64
bits, a lone surrogate) still reaches every connection whose protocol can; the
hub method that pushed gets the error, saying who missed the message, and
every connection goes on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import pytest

from hubgen import HubError
from hubgen.client import HubConnection
from hubgen.server import HubOptions
from tests.apps.echo.contract import Item
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import create_app
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)


@dataclass
class Peer:
    protocol: str
    hub: EchoHubClient
    items: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)
    messages: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def nothing_arrives(self) -> None:
        await asyncio.sleep(0.2)
        assert self.items.empty()
        assert self.messages.empty()


@asynccontextmanager
async def peers(
    *protocols: Literal["json", "messagepack"], detailed: bool = False
) -> AsyncIterator[list[Peer]]:
    """Connections in this order (the order the server addresses them in)."""
    app = create_app(HubOptions(detailed_errors=detailed))
    async with serve(app) as url, AsyncExitStack() as stack:
        made: list[Peer] = []
        for protocol in protocols:
            connection = await stack.enter_async_context(
                HubConnection(url + "/echo", protocol=protocol, transports="WebSockets")
            )
            peer = Peer(protocol, EchoHubClient(connection))
            peer.hub.on_item_received(peer.items.put)
            peer.hub.on_message(peer.messages.put)
            made.append(peer)
        yield made


async def test_an_integer_messagepack_cannot_carry_reaches_the_json_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="hubgen.server")
    big = Item(name="big", quantity=2**64)
    async with peers("json", "messagepack", "json", "messagepack", "json") as (
        sender,
        packed,
        before_last,
        packed_too,
        last,
    ):
        with pytest.raises(HubError) as caught:
            await sender.hub.send_item_to_all(big)
        assert caught.value.message == (
            "An unexpected error occurred invoking 'SendItemToAll' on the server."
        )
        # every JSON connection got it, including those after the first failure
        for peer in (sender, before_last, last):
            assert await asyncio.wait_for(peer.items.get(), 5) == big
        for peer in (packed, packed_too):
            await peer.nothing_arrives()
        # the server log says what happened and who missed it
        logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
        assert "out of MessagePack's range" in logged, logged
        assert (
            "2 connections using messagepack did not receive it: the message cannot be "
            "written in that protocol; the addressed connections using other protocols did."
        ) in logged, logged
        # nobody was disconnected, and what every protocol can write still goes to all
        small = Item(name="small", quantity=2)
        await packed.hub.send_item_to_all(small)
        for peer in (sender, packed, before_last, packed_too, last):
            assert await asyncio.wait_for(peer.items.get(), 5) == small


async def test_the_caller_reads_why_with_detailed_errors() -> None:
    async with peers("json", "messagepack", detailed=True) as (sender, packed):
        with pytest.raises(HubError) as caught:
            await sender.hub.broadcast("lone \ud800 surrogate")
        assert caught.value.message == (
            "An unexpected error occurred invoking 'Broadcast' on the server. ValueError: "
            "a string holds a lone surrogate (U+D800 at index 5), which MessagePack cannot "
            "carry: its strings are UTF-8"
        )
        assert await asyncio.wait_for(sender.messages.get(), 5) == "lone \ud800 surrogate"
        await packed.nothing_arrives()
        assert await packed.hub.echo("still here") == "still here"


async def test_a_push_to_one_connection_that_cannot_be_written_fails_the_call() -> None:
    async with peers("json", "messagepack") as (sender, packed):
        whom = packed.hub.connection.connection_id
        assert whom is not None
        with pytest.raises(HubError):
            await sender.hub.send_to(whom, "lone \ud800 surrogate")
        await packed.nothing_arrives()
        await sender.hub.send_to(whom, "fine")
        assert await asyncio.wait_for(packed.messages.get(), 5) == "fine"
