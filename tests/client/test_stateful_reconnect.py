"""Stateful reconnect (``HubConnection(stateful_reconnect=True)``) against the
real server behind the fault proxy, and on the wire against a scripted peer:
a dropped WebSocket is replaced by a new one to the same connection, and
nothing either side sent is lost or repeated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.requests import Request

from hubgen.client import (
    ConnectionClosedError,
    ConnectionLostError,
    HubConnection,
    HubConnectionError,
    HubConnectionState,
    NegotiationError,
)
from hubgen.client.negotiate import negotiate_url
from hubgen.protocol import JSON_PROTOCOL, InvocationMessage
from hubgen.server import HubOptions, TransportType
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.secure import create_secure_app
from tests.client.apps import Recorder, create_app
from tests.client.peers import Peer, PeerSocket, default_negotiate
from tests.support.faultproxy import FaultProxy
from tests.support.server import serve

pytestmark = pytest.mark.timeout(60)

ServePeer = Callable[[Peer], AbstractAsyncContextManager[str]]

STATEFUL = HubOptions(allow_stateful_reconnects=True)
LOST = "The connection to the server was lost: "


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def state_of(connection: HubConnection) -> HubConnectionState:
    """The state, read through a call so that mypy does not narrow it."""
    return connection.state


def resumes(app: Recorder, connection_id: str) -> int:
    """How many new WebSockets the server's connection has taken over (the
    test reads the server's own count); -1 once the connection is gone."""
    connection = app.route._handler.connections.get(connection_id)
    return -1 if connection is None else int(connection.generation)


def kept_by_server(app: Recorder, connection_id: str) -> bool:
    """Whether the server keeps messages for a stateful reconnect of this connection."""
    return app.route._handler.connections[connection_id].replay is not None


async def resumed(app: Recorder, connection_id: str, count: int, timeout: float = 10.0) -> None:
    """Wait until the server's connection has taken over ``count`` new sockets."""
    async with asyncio.timeout(timeout):
        while resumes(app, connection_id) < count:  # noqa: ASYNC110 - the server's count
            await asyncio.sleep(0.01)


@asynccontextmanager
async def proxied(
    options: HubOptions = STATEFUL,
) -> AsyncIterator[tuple[str, FaultProxy, Recorder]]:
    """The client tests' server behind a fault proxy: (hub URL through the
    proxy, the proxy, the server's request recorder)."""
    app = create_app(options)
    async with serve(app) as url, FaultProxy(port_of(url)) as proxy:
        yield proxy.url + "/echo", proxy, app


class Outcomes:
    """What the reconnecting, reconnected and close callbacks saw, in order."""

    def __init__(self, connection: HubConnection) -> None:
        self.log: list[tuple[str, Any]] = []
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.reconnected: asyncio.Queue[str | None] = asyncio.Queue()
        connection.on_reconnecting(lambda error: self.log.append(("reconnecting", error)))
        connection.on_reconnected(self._reconnected)
        connection.on_close(self._closed)

    def _reconnected(self, connection_id: str | None) -> None:
        self.log.append(("reconnected", connection_id))
        self.reconnected.put_nowait(connection_id)

    def _closed(self, error: Exception | None) -> None:
        self.log.append(("closed", error))
        if not self.closed.done():
            self.closed.set_result(error)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.log]


# -- the option ------------------------------------------------------------------------------


def test_the_option_is_checked_where_it_is_given() -> None:
    url = "http://127.0.0.1:1/hub"
    with pytest.raises(ValueError, match="cannot be used with skip_negotiation"):
        HubConnection(url, skip_negotiation=True, stateful_reconnect=True)
    with pytest.raises(ValueError, match="over WebSockets only"):
        HubConnection(url, transports=["ServerSentEvents", "LongPolling"], stateful_reconnect=True)
    for size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="stateful_reconnect_buffer_size must be a positive"):
            HubConnection(url, stateful_reconnect=True, stateful_reconnect_buffer_size=size)  # type: ignore[arg-type]
    connection = HubConnection(url, stateful_reconnect=True, stateful_reconnect_buffer_size=10)
    assert connection.stateful_reconnect is True
    assert connection.stateful_reconnect_buffer_size == 10
    assert HubConnection(url).stateful_reconnect_buffer_size == 100_000


def test_negotiate_asks_for_it() -> None:
    assert negotiate_url("http://h/hub", stateful_reconnect=True) == (
        "http://h/hub/negotiate?negotiateVersion=1&useStatefulReconnect=true"
    )
    # what the URL says already stands
    assert negotiate_url("http://h/hub?useStatefulReconnect=false", stateful_reconnect=True) == (
        "http://h/hub/negotiate?useStatefulReconnect=false&negotiateVersion=1"
    )
    assert negotiate_url("http://h/hub") == "http://h/hub/negotiate?negotiateVersion=1"


# -- 20 drops, 10,000 messages each way -------------------------------------------------------

COUNT = 10_000
DROPS = 20


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_nothing_lost_nothing_repeated_through_20_drops(protocol: str) -> None:
    """Behind a proxy that drops the connection 20 times, 10,000 numbered
    stream items from the server and 10,000 numbered fire-and-forget calls
    to it all arrive, once, in order, on the same connection; automatic
    reconnect, also on, never has anything to do."""
    options = HubOptions(allow_stateful_reconnects=True, stateful_reconnect_buffer_size=1_000_000)
    async with proxied(options) as (url, proxy, app):
        # a slow link: the run lasts a few seconds, long enough for every drop
        proxy.slow(rate=100_000)
        connection = HubConnection(
            url,
            protocol=protocol,  # type: ignore[arg-type]
            stateful_reconnect=True,
            stateful_reconnect_buffer_size=1_000_000,
            reconnect=True,
        )
        outcomes = Outcomes(connection)
        hub = EchoHubClient(connection)
        dropped = 0

        async def drop_again_and_again(connection_id: str) -> None:
            nonlocal dropped
            while dropped < DROPS:
                await asyncio.sleep(0.1)
                if proxy.drop():
                    dropped += 1
                # one drop at a time: the next once the server has the connection back
                await resumed(app, connection_id, dropped)

        async with connection:
            connection_id = connection.connection_id
            assert connection_id is not None
            assert kept_by_server(app, connection_id)  # handshake version 2
            received: list[int] = []

            async def receive() -> None:
                async for item in hub.counter(COUNT):
                    received.append(item)

            receiving = asyncio.create_task(receive())
            dropper = asyncio.create_task(drop_again_and_again(connection_id))
            try:
                for n in range(COUNT):
                    await connection.send("Record", n)
                async with asyncio.timeout(60):
                    await receiving
                recorded = await hub.recorded()
                assert await hub.whoami() == connection_id
                assert connection.connection_id == connection_id
            finally:
                dropper.cancel()
        assert received == list(range(COUNT))
        assert recorded == list(range(COUNT))
        assert dropped == DROPS, "the run ended before every drop"
        assert resumes(app, connection_id) == -1  # stop() ended it on the server
        assert outcomes.log == [("closed", None)]


# -- what the server keeps for the connection --------------------------------------------------


async def test_groups_user_items_and_a_pending_client_result_survive(protocol: str) -> None:
    app = create_secure_app(STATEFUL)
    async with serve(app) as base, FaultProxy(port_of(base)) as proxy:
        alice = HubConnection(
            proxy.url + "/echo",
            protocol=protocol,  # type: ignore[arg-type]
            access_token="alice",
            stateful_reconnect=True,
        )
        bob = HubConnection(base + "/echo", access_token="bob")  # not through the proxy
        alice_hub, bob_hub = EchoHubClient(alice), EchoHubClient(bob)
        messages: asyncio.Queue[str] = asyncio.Queue()
        asked = asyncio.Event()
        answer = asyncio.Event()

        async def on_message(text: str) -> None:
            await messages.put(text)

        async def on_ask(question: str) -> int:
            asked.set()
            await answer.wait()
            return 42

        alice_hub.on_message(on_message)
        alice_hub.on_ask(on_ask)
        async with alice, bob:
            alice_id = alice.connection_id
            assert alice_id is not None
            await alice_hub.join("room")
            for n in range(3):
                await alice_hub.record(n)
            # The server awaits alice's answer (a client result) for bob's
            # call, and alice's own call is running, when the socket drops.
            question = asyncio.create_task(bob_hub.ask_client(alice_id, "six times seven?"))
            await asyncio.wait_for(asked.wait(), 5)
            sleeping = asyncio.create_task(alice_hub.sleep(0.5))
            await asyncio.sleep(0.1)
            assert proxy.drop() >= 1
            answer.set()  # the answer goes out while alice reconnects
            assert await asyncio.wait_for(question, 10) == 42
            assert await asyncio.wait_for(sleeping, 10) == 0.5
            # Still the same connection on the server, with everything it had.
            assert await alice_hub.whoami() == alice_id
            assert await alice_hub.user_name() == "alice"
            assert await alice_hub.recorded() == [0, 1, 2]
            await bob_hub.send_group("room", "to the room")
            assert await asyncio.wait_for(messages.get(), 5) == "to the room"
            await bob_hub.send_user("alice", "to alice")
            assert await asyncio.wait_for(messages.get(), 5) == "to alice"
            assert alice.connection_id == alice_id
            assert messages.empty()


async def test_streams_both_ways_go_on_through_drops(protocol: str) -> None:
    """An upload whose items the server streams back doubled, and an upload
    summed, each dropped three times midway."""
    async with proxied() as (url, proxy, app):
        connection = HubConnection(
            url,
            protocol=protocol,  # type: ignore[arg-type]
            stateful_reconnect=True,
        )
        hub = EchoHubClient(connection)
        async with connection:
            connection_id = connection.connection_id
            assert connection_id is not None
            drops = 0

            async def numbers(count: int) -> AsyncIterator[int]:
                nonlocal drops
                for n in range(count):
                    if n % 50 == 25:  # mid-stream
                        assert proxy.drop() >= 1
                        drops += 1
                    if n % 50 == 35:  # and on again once the server has the new socket
                        await resumed(app, connection_id, drops)
                    yield n
                    await asyncio.sleep(0)

            doubled = [item async for item in hub.double_upload(numbers(150))]
            assert doubled == [2 * n for n in range(150)]
            assert await hub.sum_upload(numbers(150)) == sum(range(150))
            assert drops == 6
            assert await hub.whoami() == connection_id


# -- servers that do not offer it, and one that offers it unasked -----------------------------


async def test_a_server_that_does_not_offer_it_gives_a_plain_connection() -> None:
    async with proxied(HubOptions()) as (url, proxy, app):
        connection = HubConnection(url, stateful_reconnect=True)
        outcomes = Outcomes(connection)
        hub = EchoHubClient(connection)
        await connection.start()
        (negotiation,) = app.negotiations()
        assert negotiation.query == "negotiateVersion=1&useStatefulReconnect=true"
        connection_id = connection.connection_id
        assert connection_id is not None
        assert not kept_by_server(app, connection_id)
        assert await hub.echo("plain") == "plain"
        sleeping = asyncio.create_task(hub.sleep(5))
        await asyncio.sleep(0.1)
        proxy.drop()  # lost, as without the option
        with pytest.raises(ConnectionLostError, match=f"^{LOST}"):
            await asyncio.wait_for(sleeping, 5)
        error = await asyncio.wait_for(outcomes.closed, 5)
        assert isinstance(error, HubConnectionError)
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        assert len(app.websockets()) == 1  # no second socket was tried


async def test_over_another_transport_the_connection_is_plain() -> None:
    """The server agrees, but offers WebSockets not at all: the handshake asks
    for version 1 over Server-Sent Events, and a drop loses the connection."""
    options = HubOptions(
        allow_stateful_reconnects=True,
        transports=TransportType.SERVER_SENT_EVENTS | TransportType.LONG_POLLING,
    )
    async with proxied(options) as (url, proxy, app):
        connection = HubConnection(url, stateful_reconnect=True)
        outcomes = Outcomes(connection)
        await connection.start()
        connection_id = connection.connection_id
        assert connection_id is not None
        assert not kept_by_server(app, connection_id)
        assert await EchoHubClient(connection).echo("over SSE") == "over SSE"
        proxy.drop()
        error = await asyncio.wait_for(outcomes.closed, 5)
        assert isinstance(error, HubConnectionError)


def offering(count: int, request: Request) -> dict[str, Any]:
    """A negotiate answer that offers stateful reconnect, asked or not."""
    return {**default_negotiate(count, request), "useStatefulReconnect": True}


async def test_a_server_that_offers_it_unasked_is_refused(serve_peer: ServePeer) -> None:
    async def never(socket: PeerSocket) -> None:
        raise AssertionError("no WebSocket after a refused negotiation")

    peer = Peer(never, negotiate=offering)
    async with serve_peer(peer) as url:
        connection = HubConnection(url)
        with pytest.raises(NegotiationError) as caught:
            await connection.start()
        assert str(caught.value) == "Client didn't negotiate Stateful Reconnect but the server did."
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        assert peer.negotiations[0].query_params.get("useStatefulReconnect") is None
    assert peer.sockets == []


# -- on the wire ------------------------------------------------------------------------------


def _message(text: str) -> dict[str, Any]:
    return {"type": 1, "target": "Message", "arguments": [text]}


async def test_the_wire_acks_sequences_replay_and_duplicates(serve_peer: ServePeer) -> None:
    """What the client sends and what it makes of what it gets, against a
    peer scripted from the protocol: handshake version 2, an Ack within a
    second, and after a drop a new socket to the same connection, without a
    handshake, that starts with a Sequence and the unacknowledged messages;
    the server's replay is taken from its Sequence, duplicates dropped. A
    Sequence beyond what was received ends the connection."""
    acks: list[int] = []
    after_the_drop: list[dict[str, Any]] = []

    async def script(socket: PeerSocket) -> None:
        if len(socket.peer.sockets) == 1:
            request = await socket.handshake()
            assert request == {"protocol": "json", "version": 2}
            await socket.send_messages(_message("one"), _message("two"))
            seen: list[dict[str, Any]] = []
            while not (acks and len(seen) == 1):
                message = await socket.message()
                assert message is not None
                if message["type"] == 8:
                    acks.append(message["sequenceId"])
                else:
                    seen.append(message)
            assert seen == [{"type": 1, "target": "Record", "arguments": [1]}]
            await socket.close(1011)  # the socket goes; the connection stays
            return
        # The new socket: no handshake; the client says where its replay
        # starts (nothing of it was acknowledged) and sends it again.
        assert socket.websocket.query_params["id"] == "peer-token-1"
        for _ in range(2):
            message = await socket.message()
            assert message is not None
            after_the_drop.append(message)
        # The server's replay: from 1 (as if our Ack got lost), so "one" and
        # "two" come again, and then "three", which is new.
        await socket.send_messages(
            {"type": 9, "sequenceId": 1}, _message("one"), _message("two"), _message("three")
        )
        message = await socket.message()
        assert message == {"type": 8, "sequenceId": 3}
        acks.append(message["sequenceId"])
        # A replay that starts past what the client received is fatal.
        await socket.send_messages({"type": 9, "sequenceId": 9})
        await socket.drain()

    peer = Peer(script, negotiate=offering)
    async with serve_peer(peer) as url:
        connection = HubConnection(url, stateful_reconnect=True)
        outcomes = Outcomes(connection)
        texts: list[str] = []
        connection.on("Message", texts.append)
        await connection.start()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await connection.send("Record", 1)
        error = await asyncio.wait_for(outcomes.closed, 10)
        assert isinstance(error, HubConnectionError)
        assert str(error) == "Sequence ID greater than amount of messages we've received."
    assert len(peer.negotiations) == 1
    assert len(peer.sockets) == 2
    assert acks == [2, 3]
    assert after_the_drop == [
        {"type": 9, "sequenceId": 1},
        {"type": 1, "target": "Record", "arguments": [1]},
    ]
    assert texts == ["one", "two", "three"]
    assert loop.time() - began < 5  # Acks come within a second each


# -- back-pressure ----------------------------------------------------------------------------


async def test_sends_wait_for_the_server_past_the_buffer_size() -> None:
    limit = 200
    record = len(JSON_PROTOCOL.write(InvocationMessage("Record", [10])))
    fit = -(-limit // record)  # the send that reaches the limit waits
    async with proxied() as (url, proxy, _):
        connection = HubConnection(
            url, stateful_reconnect=True, stateful_reconnect_buffer_size=limit
        )
        hub = EchoHubClient(connection)
        async with connection:
            proxy.stall()  # nothing gets through now, so no Ack comes back
            sent = 0

            async def send_all() -> None:
                nonlocal sent
                for n in range(10, 16):
                    await connection.send("Record", n)
                    sent += 1

            sending = asyncio.create_task(send_all())
            await asyncio.sleep(0.5)
            assert not sending.done()
            assert sent == fit - 1
            proxy.resume()  # the messages arrive; the server's Acks free the buffer
            await asyncio.wait_for(sending, 10)
            assert await hub.recorded() == list(range(10, 16))


async def test_a_send_waiting_for_room_fails_when_the_connection_closes() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, stateful_reconnect=True, stateful_reconnect_buffer_size=1)
        await connection.start()
        proxy.stall()
        waiting = asyncio.create_task(connection.send("Record", 1))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # (one byte: every message waits for its Ack)
        proxy.on_connect = "reset"  # the socket breaks, and no new one opens
        proxy.reset()
        with pytest.raises(ConnectionLostError, match=f"^{LOST}"):
            await asyncio.wait_for(waiting, 5)
        assert state_of(connection) is HubConnectionState.DISCONNECTED


# -- when the new socket does not come ---------------------------------------------------------


async def test_a_refused_reconnect_hands_over_to_automatic_reconnect() -> None:
    """The new socket reaches a server that does not know the connection (a
    restarted one, or another behind the balancer): refused, so the
    connection is lost; automatic reconnect then starts a new one, which is
    stateful again."""
    first_app, second_app = create_app(STATEFUL), create_app(STATEFUL)
    async with (
        serve(first_app) as first_url,
        serve(second_app) as second_url,
        FaultProxy(port_of(first_url)) as proxy,
    ):
        connection = HubConnection(proxy.url + "/echo", stateful_reconnect=True, reconnect=[0])
        outcomes = Outcomes(connection)
        hub = EchoHubClient(connection)
        async with connection:
            first_id = connection.connection_id
            assert first_id is not None
            sleeping = asyncio.create_task(hub.sleep(5))
            await asyncio.sleep(0.1)
            proxy.upstream = port_of(second_url)
            proxy.drop()
            with pytest.raises(ConnectionLostError, match=f"^{LOST}WebSocket closed"):
                await asyncio.wait_for(sleeping, 10)
            second_id = await asyncio.wait_for(outcomes.reconnected.get(), 10)
            assert second_id is not None
            assert second_id != first_id
            assert outcomes.kinds() == ["reconnecting", "reconnected"]
            # the refused socket, then the new connection's
            assert len(second_app.websockets()) == 2
            assert kept_by_server(second_app, second_id)
            # The new connection resumes by itself after a drop.
            proxy.drop()
            await resumed(second_app, second_id, 1)
            assert await hub.whoami() == second_id
            assert outcomes.kinds() == ["reconnecting", "reconnected"]
        assert outcomes.kinds() == ["reconnecting", "reconnected", "closed"]


async def test_without_automatic_reconnect_a_refused_reconnect_closes() -> None:
    first_app, second_app = create_app(STATEFUL), create_app(STATEFUL)
    async with (
        serve(first_app) as first_url,
        serve(second_app) as second_url,
        FaultProxy(port_of(first_url)) as proxy,
    ):
        connection = HubConnection(proxy.url + "/echo", stateful_reconnect=True)
        outcomes = Outcomes(connection)
        await connection.start()
        proxy.upstream = port_of(second_url)
        proxy.drop()
        error = await asyncio.wait_for(outcomes.closed, 10)
        assert isinstance(error, HubConnectionError)
        assert str(error).startswith("WebSocket closed with status code: 1006")
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        assert len(second_app.websockets()) == 1  # the one attempt


async def test_stop_during_a_stateful_reconnect() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, stateful_reconnect=True)
        outcomes = Outcomes(connection)
        hub = EchoHubClient(connection)
        await connection.start()
        proxy.on_connect = "stall"  # the new socket never opens
        accepted = proxy.accepted
        sleeping = asyncio.create_task(hub.sleep(5))
        await asyncio.sleep(0.1)
        proxy.drop()
        async with asyncio.timeout(5):
            while proxy.accepted == accepted:  # noqa: ASYNC110 - the proxy's count
                await asyncio.sleep(0.01)
        # Calls made meanwhile wait for the new socket, as calls in flight do.
        echo = asyncio.create_task(hub.echo("meanwhile"))
        await asyncio.sleep(0.1)
        assert not echo.done()
        assert state_of(connection) is HubConnectionState.CONNECTED
        loop = asyncio.get_running_loop()
        began = loop.time()
        await connection.stop()
        assert loop.time() - began < 1.0
        assert await outcomes.closed is None
        for call in (sleeping, echo):
            with pytest.raises(ConnectionClosedError):
                await call
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        proxy.resume()
        await proxy.wait_idle()


async def test_a_new_socket_that_never_opens_loses_the_connection() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, stateful_reconnect=True, handshake_timeout=0.5)
        outcomes = Outcomes(connection)
        await connection.start()
        proxy.on_connect = "stall"
        proxy.drop()
        error = await asyncio.wait_for(outcomes.closed, 5)
        assert isinstance(error, HubConnectionError)
        assert str(error).startswith("WebSocket closed with status code: 1006")
        proxy.resume()
        await proxy.wait_idle()


async def test_a_server_shutting_down_ends_a_connection_awaiting_its_client() -> None:
    """Draining the hub (what SIGTERM does under HubRoute.lifespan) used to
    wait for a connection whose client's new socket was awaited, until the
    disconnect timeout ended it."""
    app = create_app(STATEFUL)
    async with FaultProxy(0) as proxy, serve(app) as url:
        proxy.upstream = port_of(url)
        connection = HubConnection(proxy.url + "/echo", stateful_reconnect=True)
        outcomes = Outcomes(connection)
        await connection.start()
        proxy.on_connect = "reset"  # the client's new socket never arrives
        proxy.drop()
        await asyncio.wait_for(outcomes.closed, 5)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await app.route.drain(timeout=0.5)
        assert app.route.connection_count == 0
        assert loop.time() - began < 1.5
