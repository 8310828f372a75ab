"""hubgen's Python client on every transport × hub protocol the protocol
allows (not Server-Sent Events with MessagePack: they carry text only),
through the generated typed proxy of the echo hub, against the real hubgen
server: calls, errors, pushes, groups, streams both ways with cancellation,
client results, model round trips, closing from either side, and where the
access token travels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest

from hubgen import HubError
from hubgen.client import (
    ConnectionClosedError,
    HubConnection,
    HubConnectionError,
    HubConnectionState,
)
from hubgen.client.transport import TransportName
from hubgen.codec import Codec, WireFormat
from tests.apps.echo.contract import Color, Item, Sample
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import REFERENCE_SAMPLE
from tests.client.apps import ClientTestHub, Recorder, create_app
from tests.support.server import serve

pytestmark = pytest.mark.timeout(60)

Protocol = Literal["json", "messagepack"]

MATRIX: list[tuple[TransportName, Protocol]] = [
    ("WebSockets", "json"),
    ("WebSockets", "messagepack"),
    ("ServerSentEvents", "json"),
    ("LongPolling", "json"),
    ("LongPolling", "messagepack"),
]
IDS = [f"{transport}-{protocol}" for transport, protocol in MATRIX]


class Inbox:
    """What the server pushed to one client's ``Message`` and ``ItemReceived``."""

    def __init__(self, hub: EchoHubClient) -> None:
        self.messages: asyncio.Queue[str] = asyncio.Queue()
        self.items: asyncio.Queue[Item] = asyncio.Queue()
        hub.on_message(self._message)
        hub.on_item_received(self._item)

    async def _message(self, text: str) -> None:
        await self.messages.put(text)

    async def _item(self, item: Item) -> None:
        await self.items.put(item)

    async def next(self) -> str:
        return await asyncio.wait_for(self.messages.get(), 5)


@dataclass
class Client:
    connection: HubConnection
    hub: EchoHubClient
    inbox: Inbox

    @property
    def id(self) -> str:
        connection_id = self.connection.connection_id
        assert connection_id is not None
        return connection_id


@dataclass
class Setup:
    transport: TransportName
    protocol: Protocol
    url: str
    recorder: Recorder

    def connection(self, **options: object) -> HubConnection:
        return HubConnection(
            self.url,
            protocol=self.protocol,
            transports=self.transport,
            **options,  # type: ignore[arg-type]
        )

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Client]:
        async with self.connection() as connection:
            hub = EchoHubClient(connection)
            yield Client(connection, hub, Inbox(hub))


@pytest.fixture(params=MATRIX, ids=IDS)
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    transport, protocol = request.param
    app = create_app()
    async with serve(app) as url:
        yield Setup(transport, protocol, url + "/echo", app)


async def numbers(count: int) -> AsyncIterator[int]:
    for n in range(1, count + 1):
        yield n


async def test_invocations_results_and_errors(setup: Setup) -> None:
    async with setup.client() as a:
        assert await a.hub.whoami() == a.id
        assert await a.hub.echo("héllo ✓ 😀") == "héllo ✓ 😀"
        assert await a.hub.add(1) == 11  # the default for b
        assert await a.hub.add(1, 2) == 3
        assert await a.hub.sleep(0.01) == 0.01
        calls = [a.hub.echo(str(n)) for n in range(20)]  # many in flight at once
        assert await asyncio.gather(*calls) == [str(n) for n in range(20)]
        with pytest.raises(HubError) as caught:
            await a.hub.fail("nope")
        assert caught.value.message == (
            "An unexpected error occurred invoking 'Fail' on the server. HubException: nope"
        )
        with pytest.raises(HubError) as caught:
            await a.hub.crash()
        assert (
            caught.value.message == "An unexpected error occurred invoking 'Crash' on the server."
        )
        with pytest.raises(HubError) as caught:
            await a.connection.invoke("NoSuchMethod")
        assert caught.value.message == (
            "Failed to invoke 'NoSuchMethod' due to an error on the server. "
            "HubException: Method does not exist."
        )
        assert await a.hub.echo("still connected") == "still connected"
        assert a.connection.state is HubConnectionState.CONNECTED


async def test_models_round_trip(setup: Setup) -> None:
    full = Item(
        name="box ✓",
        quantity=2,
        tags=["a", "ü"],
        color=Color.GREEN,
        created_at=datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        payload=bytes(range(256)),
    )
    defaults = Item(name="defaults")
    offset = Item(
        name="offset",
        created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    )
    async with setup.client() as a:
        assert await a.hub.echo_item(full) == full
        echoed = await a.hub.echo_item(defaults)
        assert echoed == defaults
        assert (echoed.quantity, echoed.tags, echoed.color, echoed.payload) == (
            1,
            [],
            Color.RED,
            b"",
        )
        assert echoed.created_at is None
        back = await a.hub.echo_item(offset)
        assert back.created_at == offset.created_at  # the same instant
        await a.hub.send_item_to_all(full)  # pushed to the client as a model
        assert await asyncio.wait_for(a.inbox.items.get(), 5) == full


async def test_every_codec_table_type_round_trips(setup: Setup) -> None:
    reference = REFERENCE_SAMPLE
    # a naive datetime means UTC: it is sent as UTC and comes back aware
    received_naive = reference.naive.replace(tzinfo=UTC)
    async with setup.client() as a:
        sample = await a.hub.make_sample()
        assert sample == reference.model_copy(update={"naive": received_naive})
        assert sample.naive.tzinfo is not None
        assert sample.naive == received_naive
        # JSON keeps the sender's offset; a MessagePack timestamp is the instant only
        offset = timedelta(hours=2) if setup.protocol == "json" else timedelta(0)
        assert sample.aware.utcoffset() == offset
        assert sample.aware == reference.aware
        assert sample.big == 2**53 + 1  # exact: Python has no 2^53 limit
        assert isinstance(sample.amount, type(reference.amount))
        assert await a.hub.echo_sample(reference) == sample
        bound = await a.hub.describe_sample(reference)
        assert bound["naive"] == "2024-05-01T12:30:00+00:00"
        assert bound["big"] == "9007199254740993"
        assert bound["nick"] == "'nick'"
        assert bound["tag_map"] == "{'four': Tag(label='four', weight=4)}"
        for n in (2**63 - 1, -(2**63), -1, 0):
            assert await a.hub.echo_big(n) == n
        assert await a.hub.echo_blob(bytes(range(256))) == bytes(range(256))
        assert await a.hub.echo_when(datetime(2024, 1, 2, 3, 4, 5, 6)) == datetime(
            2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC
        )


async def test_integers_beyond_64_bits(setup: Setup) -> None:
    async with setup.client() as a:
        if setup.protocol == "json":
            assert await a.hub.echo_big(2**70) == 2**70
        else:
            with pytest.raises(ValueError, match="out of MessagePack's range"):
                await a.hub.echo_big(2**70)
            # a result the server cannot write is an error Completion, not a hang
            with pytest.raises(HubError) as caught:
                await a.hub.add(2**63, 2**63)
            assert caught.value.message == (
                "An unexpected error occurred invoking 'Add' on the server."
            )
        assert await a.hub.echo("still connected") == "still connected"


async def test_none_versus_absent(setup: Setup) -> None:
    codec = Codec(Sample, WireFormat.JSON if setup.protocol == "json" else WireFormat.MSGPACK)
    wire = codec.encode(REFERENCE_SAMPLE)
    assert "nick_name" in wire
    for left_out in ("defaulted", "optional", "nick_name"):
        del wire[left_out]
    wire["nullable"] = None
    async with setup.client() as a:
        bound = await a.connection.invoke("DescribeSample", wire)
        assert (bound["defaulted"], bound["optional"], bound["nick"]) == ("'preset'", "None", "''")
        del wire["nullable"]
        with pytest.raises(HubError) as caught:
            await a.connection.invoke("DescribeSample", wire)
        assert caught.value.message == (
            "Failed to invoke 'DescribeSample' due to an error on the server. "
            "InvalidDataException: Error binding argument 'sample' (position 0): "
            "nullable: Field required"
        )
        with pytest.raises(HubError) as caught:
            await a.connection.invoke("Bounded", 11)
        assert caught.value.message == (
            "Failed to invoke 'Bounded' due to an error on the server. "
            "InvalidDataException: Error binding argument 'n' (position 0): "
            "Input should be less than or equal to 10"
        )
        with pytest.raises(HubError) as caught:
            await a.connection.invoke("Add", 1, 2, 3)
        assert caught.value.message == (
            "Failed to invoke 'Add' due to an error on the server. "
            "InvalidDataException: Invocation provides 3 argument(s) but target expects 1 to 2."
        )
        assert a.connection.state is HubConnectionState.CONNECTED


async def test_send_and_every_kind_of_push(setup: Setup) -> None:
    async with setup.client() as a, setup.client() as b:
        await a.connection.send("Broadcast", "to all")  # fire and forget
        assert await a.inbox.next() == "to all"
        assert await b.inbox.next() == "to all"
        await a.hub.send_others("to others")
        await a.hub.send_caller("to a")  # a's next message: it got nothing from send_others
        assert await a.inbox.next() == "to a"
        assert await b.inbox.next() == "to others"
        await a.hub.send_to(b.id, "to b by id")
        assert await b.inbox.next() == "to b by id"
        assert a.inbox.messages.empty()


async def test_groups(setup: Setup) -> None:
    async with setup.client() as a, setup.client() as b:
        await b.hub.join("g")
        await a.hub.send_group("g", "to g")
        assert await b.inbox.next() == "to g"
        await a.hub.join("g")
        await a.hub.send_others_in_group("g", "others in g")
        assert await b.inbox.next() == "others in g"
        await b.hub.leave("g")
        await a.hub.send_group("g", "after b left")
        assert await a.inbox.next() == "after b left"
        await a.hub.send_to(b.id, "marker")
        assert await b.inbox.next() == "marker"  # nothing from the group before it


async def test_server_streams_and_their_cancellation(setup: Setup) -> None:
    async with setup.client() as a:
        assert [n async for n in a.hub.counter(5)] == [0, 1, 2, 3, 4]
        assert (await asyncio.wait_for(ClientTestHub.streams.get(), 5)).cancelled is False
        async for n in a.hub.counter(1_000_000, 0.01):
            if n == 2:
                break  # leaving the loop cancels the stream on the server
        log = await asyncio.wait_for(ClientTestHub.streams.get(), 5)
        await asyncio.wait_for(log.ended.wait(), 5)
        assert log.cancelled
        received: list[int] = []

        async def collect() -> None:
            async for n in a.hub.failing_stream(3):
                received.append(n)

        with pytest.raises(HubError, match="stream broke"):
            await collect()
        assert received == [0, 1, 2]
        assert await a.hub.echo("after the streams") == "after the streams"


async def test_upload_streams_and_their_cancellation(setup: Setup) -> None:
    async with setup.client() as a:
        assert await a.hub.sum_upload(numbers(25)) == 325
        assert [n async for n in a.hub.double_upload(numbers(3))] == [2, 4, 6]

        async def broken() -> AsyncIterator[int]:
            yield 1
            raise ValueError("source broke")

        with pytest.raises(HubError, match=r"HubException: source broke$"):
            await a.hub.sum_upload(broken())

        source_started = asyncio.Event()
        source_closed = asyncio.Event()

        async def endless() -> AsyncIterator[int]:
            source_started.set()
            try:
                n = 0
                while True:
                    n += 1
                    yield n
                    await asyncio.sleep(0.005)
            finally:
                source_closed.set()

        async for doubled in a.hub.double_upload(endless()):
            if doubled == 6:
                break  # cancels the stream, and with it the upload
        await asyncio.wait_for(source_closed.wait(), 5)

        source_started.clear()
        source_closed.clear()
        upload = asyncio.create_task(a.hub.sum_upload(endless()))
        await asyncio.wait_for(source_started.wait(), 5)
        upload.cancel()  # the caller gives up: the upload stops
        with pytest.raises(asyncio.CancelledError):
            await upload
        await asyncio.wait_for(source_closed.wait(), 5)
        assert await a.hub.echo("after the uploads") == "after the uploads"


async def test_client_results(setup: Setup) -> None:
    async with setup.client() as a, setup.client() as b:

        async def answer(question: str) -> int:
            return len(question)

        with a.hub.on_ask(answer):
            assert await a.hub.ask_caller("four") == 4
            assert await b.hub.ask_client(a.id, "seven!!") == 7

        async def refuse(question: str) -> int:
            raise RuntimeError("no answer")

        with a.hub.on_ask(refuse), pytest.raises(HubError, match=r"HubException: no answer$"):
            await a.hub.ask_caller("?")


class Closes:
    def __init__(self, connection: HubConnection) -> None:
        self.errors: asyncio.Queue[Exception | None] = asyncio.Queue()
        connection.on_close(self.errors.put_nowait)

    async def next(self) -> Exception | None:
        return await asyncio.wait_for(self.errors.get(), 5)


async def test_close_by_the_client(setup: Setup) -> None:
    connection = setup.connection()
    closes = Closes(connection)
    await connection.start()
    connection_id = connection.connection_id
    await connection.stop()
    assert await closes.next() is None
    assert connection.state is HubConnectionState.DISCONNECTED
    # The server saw the connection end cleanly.
    assert await asyncio.wait_for(ClientTestHub.disconnects.get(), 5) == (connection_id, None)


async def test_close_by_the_server(setup: Setup) -> None:
    connection = setup.connection()
    closes = Closes(connection)
    await connection.start()
    await connection.send("AbortMe")  # the hub aborts the connection
    assert await closes.next() is None
    assert connection.state is HubConnectionState.DISCONNECTED

    await connection.start()  # again, for a message over the server's size limit
    expected = "Server returned an error on close: Connection closed with an error."
    with pytest.raises(ConnectionClosedError, match=f"^{expected}$"):
        await connection.invoke("Echo", "x" * 40_000)
    error = await closes.next()
    assert isinstance(error, HubConnectionError)
    assert str(error) == expected

    await connection.start()  # and again, for a server shutdown
    await setup.recorder.route.close()
    assert await closes.next() is None
    assert connection.state is HubConnectionState.DISCONNECTED


async def test_where_the_access_token_travels(setup: Setup) -> None:
    issued: list[str] = []

    def token() -> str:
        issued.append(f"tok/{len(issued) + 1}+=&x")
        return issued[-1]

    async with setup.connection(access_token=token) as connection:
        assert await connection.invoke("Echo", "authorized") == "authorized"
    recorder = setup.recorder
    (negotiation,) = recorder.negotiations()
    assert negotiation.headers["authorization"] == f"Bearer {issued[0]}"
    assert len(issued) == 2  # negotiate, then the transport's connect
    requests = [s for s in recorder.seen if s.path == "/echo"]
    bearer = f"Bearer {issued[1]}"
    if setup.transport == "WebSockets":
        (upgrade,) = requests
        assert upgrade.headers["authorization"] == bearer
        assert "access_token" not in upgrade.query
    elif setup.transport == "ServerSentEvents":
        stream, *posts = requests
        # The event stream carries it in the query (URL-encoded), the POSTs in a header.
        assert "access_token=tok%2F2%2B%3D%26x" in stream.query.split("&")
        assert "authorization" not in stream.headers
        assert posts
        assert all(p.method == "POST" for p in posts)
        assert all(p.headers["authorization"] == bearer for p in posts)
    else:
        # Polls, POSTs and the closing DELETE: a header, never the query.
        assert {r.method for r in requests} == {"GET", "POST", "DELETE"}
        assert all(r.headers["authorization"] == bearer for r in requests)
        assert not any("access_token" in r.query for r in requests)
