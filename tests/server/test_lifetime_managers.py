"""The lifetime-manager conformance suite, in the spirit of ASP.NET Core's
HubLifetimeManagerTestsBase: the in-memory manager and the Redis manager
(three managers on a real redis-server, each as a process of its own would
have it) pass the same tests. Every addressing mode, excludes, groups, users,
cleanup on disconnect, client results and errors; then what only Redis has:
subscriptions, its wire format, garbage on its channels, and a restart.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import pytest
from starlette.authentication import AuthCredentials, SimpleUser
from starlette.requests import HTTPConnection

from hubgen import HubError
from hubgen.protocol import (
    JSON_PROTOCOL,
    MESSAGEPACK_PROTOCOL,
    CompletionMessage,
    HubProtocol,
    InvocationMessage,
)
from hubgen.server import HubOptions
from hubgen.server.authorization import ANONYMOUS, Principal
from hubgen.server.connection import Connection
from hubgen.server.lifetime import HubLifetimeManager, InMemoryLifetimeManager, SerializedMessage
from hubgen.server.redis import RedisBackplane, RedisLifetimeManager
from hubgen.server.transport import Transport
from hubgen.wire import WireFormat
from tests.support.redis import RedisServer

pytestmark = pytest.mark.timeout(60)

PROTOCOLS = (JSON_PROTOCOL, MESSAGEPACK_PROTOCOL)


class Recording(Transport):
    """A transport that keeps what the server writes to it."""

    name = "WebSockets"

    def __init__(self) -> None:
        self.data = bytearray()
        self.written = asyncio.Event()
        #: ``send`` calls: one a write to the socket on a real transport
        self.writes = 0

    async def receive(self) -> bytes | None:
        await asyncio.Event().wait()
        return None

    async def send(self, data: bytes) -> None:
        self.data += data
        self.writes += 1
        self.written.set()

    async def close(self, *, error: bool = False) -> None:
        pass


@dataclass
class Client:
    """A connection on one of the servers, and what it received."""

    connection: Connection
    transport: Recording
    received: list[Any] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.connection.connection_id

    def _parse(self) -> None:
        for message in self.connection.protocol.parse(self.transport.data):
            self.received.append(message)

    async def next(self, timeout: float = 5) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                self._parse()
                if self.received:
                    return self.received.pop(0)
                self.transport.written.clear()
                await self.transport.written.wait()

    async def texts(self, count: int) -> list[str]:
        return [(await self.next()).arguments[0] for _ in range(count)]

    async def nothing(self, wait: float = 0.3) -> None:
        """Nothing (more) arrives within ``wait`` seconds."""
        await asyncio.sleep(wait)
        self._parse()
        assert self.received == [], self.received


def hello(text: str) -> SerializedMessage:
    return SerializedMessage(lambda wire: InvocationMessage(target="Hello", arguments=[text]))


_REQUEST = HTTPConnection({"type": "http", "headers": [], "query_string": b"", "path": "/"})


class Cluster:
    """Servers of one hub: for the in-memory manager, one manager three
    times (one process); for Redis, three managers with a backplane each."""

    def __init__(self, servers: list[HubLifetimeManager]) -> None:
        self.servers = servers

    async def connect(
        self,
        server: int,
        *,
        user: str | None = None,
        protocol: HubProtocol = JSON_PROTOCOL,
        reading: bool = True,
    ) -> Client:
        transport = Recording()
        principal = (
            ANONYMOUS if user is None else Principal(SimpleUser(user), AuthCredentials(), user)
        )
        connection = Connection(
            uuid.uuid4().hex, protocol, transport, HubOptions(), _REQUEST, principal
        )
        await self.servers[server].on_connected(connection)
        connection.reading = reading  # (as the handler sets it once on_connected returned)
        return Client(connection, transport)

    async def disconnect(self, server: int, client: Client) -> None:
        client.connection.abort()
        await self.servers[server].on_disconnected(client.connection)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def redis_managers(url: str, count: int = 3, **options: Any) -> list[RedisLifetimeManager]:
    key = f"Hub{uuid.uuid4().hex[:8]}"  # channels of their own, per test
    managers = []
    for _ in range(count):
        manager = RedisLifetimeManager(RedisBackplane(url), hub_key=key, **options)
        manager.bind("EchoHub", PROTOCOLS)
        managers.append(manager)
    return managers


@pytest.fixture(params=["memory", "redis"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    servers: list[HubLifetimeManager]
    if request.param == "memory":
        manager = InMemoryLifetimeManager()
        manager.bind("EchoHub", PROTOCOLS)
        servers = [manager] * 3
    else:
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        servers = list(redis_managers(redis_server.url))
    for server in servers:
        await server.start()
    yield Cluster(servers)
    for server in servers:
        await server.close()


# -- every addressing mode ------------------------------------------------------------------


async def test_all_reaches_every_connection_once(cluster: Cluster) -> None:
    clients = [await cluster.connect(i % 3) for i in range(6)]
    await cluster.servers[1].send_all(hello("everyone"))
    for client in clients:
        assert await client.texts(1) == ["everyone"]
    for client in clients:
        await client.nothing(0.05)


async def test_all_except_leaves_out_the_excluded(cluster: Cluster) -> None:
    a, b, c = [await cluster.connect(i) for i in range(3)]
    await cluster.servers[0].send_all(hello("not b or c"), exclude={b.id, c.id})
    assert await a.texts(1) == ["not b or c"]
    await b.nothing()
    await c.nothing(0)


async def test_connections_here_and_elsewhere(cluster: Cluster) -> None:
    a, b, c = [await cluster.connect(i) for i in range(3)]
    await cluster.servers[0].send_connections([a.id, c.id, a.id, "nobody"], hello("you"))
    assert await a.texts(1) == ["you"]
    assert await c.texts(1) == ["you"]
    await b.nothing()
    await a.nothing(0)


async def test_groups_span_the_servers(cluster: Cluster) -> None:
    """Joined on one server (for a connection on another), sent from a third."""
    a, b, c = [await cluster.connect(i) for i in range(3)]
    await cluster.servers[0].add_to_group(b.id, "room")  # b lives on server 1
    await cluster.servers[2].add_to_group(c.id, "room")
    await cluster.servers[2].send_groups(["room"], hello("to the room"))
    assert await b.texts(1) == ["to the room"]
    assert await c.texts(1) == ["to the room"]
    await a.nothing()
    await cluster.servers[0].remove_from_group(b.id, "room")
    await cluster.servers[1].send_groups(["room"], hello("again"))
    assert await c.texts(1) == ["again"]
    await b.nothing()


async def test_group_except_and_others_in_group(cluster: Cluster) -> None:
    members = [await cluster.connect(i % 3) for i in range(4)]
    for member in members:
        await cluster.servers[0].add_to_group(member.id, "room")
    caller = members[0]
    await cluster.servers[0].send_groups(["room"], hello("others"), exclude={caller.id})
    for member in members[1:]:
        assert await member.texts(1) == ["others"]
    await caller.nothing()


async def test_a_member_of_several_groups_gets_a_send_to_them_once(cluster: Cluster) -> None:
    both, one = await cluster.connect(1), await cluster.connect(2)
    for group in ("a", "b"):
        await cluster.servers[0].add_to_group(both.id, group)
    await cluster.servers[0].add_to_group(one.id, "b")
    await cluster.servers[2].send_groups(["a", "b", "a"], hello("once"))
    assert await both.texts(1) == ["once"]
    assert await one.texts(1) == ["once"]
    await both.nothing()


async def test_users_on_several_servers(cluster: Cluster) -> None:
    """Every connection of a user, wherever it is, including one that comes later."""
    first = await cluster.connect(0, user="ann")
    second = await cluster.connect(1, user="ann")
    other = await cluster.connect(2, user="bob")
    await cluster.servers[2].send_users(["ann"], hello("to ann"))
    assert await first.texts(1) == ["to ann"]
    assert await second.texts(1) == ["to ann"]
    third = await cluster.connect(2, user="ann")
    await cluster.servers[1].send_users(["ann", "bob"], hello("both"))
    for client in (first, second, third, other):
        assert await client.texts(1) == ["both"]
    await cluster.disconnect(0, first)
    await cluster.servers[0].send_users(["ann"], hello("still"))
    assert await second.texts(1) == ["still"]
    assert await third.texts(1) == ["still"]
    await first.nothing(0)


async def test_a_disconnected_connection_is_in_no_group_and_reaches_no_one(
    cluster: Cluster,
) -> None:
    gone, stays = await cluster.connect(1, user="ann"), await cluster.connect(2)
    for client in (gone, stays):
        await cluster.servers[0].add_to_group(client.id, "room")
    await cluster.disconnect(1, gone)
    assert gone.connection.groups == set()
    await cluster.servers[0].send_groups(["room"], hello("room"))
    await cluster.servers[0].send_users(["ann"], hello("ann"))
    await cluster.servers[0].send_connections([gone.id], hello("you"))
    assert await stays.texts(1) == ["room"]
    await gone.nothing()


async def test_a_burst_of_sends_reaches_a_connection_in_one_write(cluster: Cluster) -> None:
    """Sends from one server in a row, as a hub method's or a sender's
    invocations make them, reach every connection, here and on the other
    servers, in order and in one or two writes (its writer sends what is
    queued together): a send does not wait for Redis to answer, so the
    sends travel together and arrive together, as they do in memory. (On
    Redis they went one round trip each, and every delivery was a write.)"""
    here, there = await cluster.connect(0), await cluster.connect(1)
    texts = [f"message {i}" for i in range(16)]
    for text in texts:
        await cluster.servers[0].send_all(hello(text))
    for client in (here, there):
        assert await client.texts(16) == texts
        assert client.transport.writes <= 2, client.transport.writes
    await there.nothing(0.05)


# -- client results -------------------------------------------------------------------------


async def test_a_client_result_answered_on_another_server(cluster: Cluster) -> None:
    target = await cluster.connect(1, protocol=MESSAGEPACK_PROTOCOL)

    def build(invocation_id: str, wire: WireFormat) -> InvocationMessage:
        return InvocationMessage(target="Ask", arguments=["how many?"], invocation_id=invocation_id)

    asking = asyncio.ensure_future(cluster.servers[0].invoke_connection(target.id, build))
    request = await target.next()
    assert request.target == "Ask"
    answer = CompletionMessage.with_result(request.invocation_id, 42)
    assert await cluster.servers[1].set_client_result(target.connection, answer)
    completion, wire = await asyncio.wait_for(asking, 5)
    assert (completion.result, completion.error, wire) == (42, None, WireFormat.MSGPACK)
    # answered once: a second answer is nobody's
    assert not await cluster.servers[1].set_client_result(target.connection, answer)


async def test_a_client_result_from_a_connection_that_leaves_fails(cluster: Cluster) -> None:
    target = await cluster.connect(2)

    def build(invocation_id: str, wire: WireFormat) -> InvocationMessage:
        return InvocationMessage(target="Ask", arguments=[], invocation_id=invocation_id)

    asking = asyncio.ensure_future(cluster.servers[0].invoke_connection(target.id, build))
    await target.next()
    await cluster.disconnect(2, target)
    # as the proxy reports it: the manager raises, or answers with the error
    try:
        completion, _ = await asyncio.wait_for(asking, 5)
        error = completion.error
    except HubError as exc:
        error = exc.message
    assert error == f"Connection '{target.id}' disconnected."


async def test_a_client_result_before_on_connected_returned_fails_at_once(
    cluster: Cluster,
) -> None:
    """Its messages are read only from then on: asked from on_connected, a
    client result used to wait for client_result_timeout (30 s)."""
    here = await cluster.connect(0, reading=False)
    there = await cluster.connect(2, reading=False)

    def build(invocation_id: str, wire: WireFormat) -> InvocationMessage:
        return InvocationMessage(target="Ask", arguments=[], invocation_id=invocation_id)

    for target in (here, there):
        try:
            completion, _ = await asyncio.wait_for(
                cluster.servers[0].invoke_connection(target.id, build), 5
            )
            error = completion.error
        except HubError as exc:
            error = exc.message
        assert error == (
            f"Connection '{target.id}' cannot answer a client result before its "
            "on_connected has returned: what it sends is read from then on."
        )


async def test_a_client_result_from_no_connection_fails(cluster: Cluster) -> None:
    def build(invocation_id: str, wire: WireFormat) -> InvocationMessage:
        return InvocationMessage(target="Ask", arguments=[], invocation_id=invocation_id)

    with pytest.raises(HubError, match=r"Connection 'nobody' does not exist\."):
        await cluster.servers[0].invoke_connection("nobody", build)


# -- errors -----------------------------------------------------------------------------------


async def test_a_message_one_protocol_cannot_write_reaches_the_others(cluster: Cluster) -> None:
    """An integer beyond MessagePack's 64 bits: JSON connections get it, the
    sender learns who did not."""
    json_client = await cluster.connect(1)
    msgpack_client = await cluster.connect(2, protocol=MESSAGEPACK_PROTOCOL)
    message = SerializedMessage(lambda wire: InvocationMessage(target="Hello", arguments=[2**70]))
    with pytest.raises(ValueError, match="out of MessagePack's range") as raised:
        await cluster.servers[0].send_all(message)
    assert any("messagepack did not receive it" in note for note in raised.value.__notes__)
    assert (await json_client.next()).arguments == [2**70]
    await msgpack_client.nothing()


# -- what only Redis has ----------------------------------------------------------------------


async def test_adding_a_connection_no_server_has_times_out_clearly(
    redis_server: RedisServer,
) -> None:
    (manager,) = redis_managers(redis_server.url, 1, ack_timeout=0.3)
    await manager.start()
    try:
        with pytest.raises(TimeoutError, match="No server acknowledged adding connection"):
            await manager.add_to_group("nobody", "room")
    finally:
        await manager.close()


async def test_joins_and_leaves_leave_no_subscription_behind(redis_server: RedisServer) -> None:
    a, b = redis_managers(redis_server.url, 2)
    cluster = Cluster([a, b])
    for manager in (a, b):
        await manager.start()
    try:
        clients = [await cluster.connect(i % 2, user=f"user{i}") for i in range(20)]
        for round_ in range(50):
            for index, client in enumerate(clients):
                group = f"g{(round_ + index) % 7}"
                await cluster.servers[(index + round_) % 2].add_to_group(client.id, group)
            for index, client in enumerate(clients):
                group = f"g{(round_ + index) % 7}"
                await cluster.servers[index % 2].remove_from_group(client.id, group)
        prefix = a.channel("").decode()
        async with asyncio.timeout(5):  # UNSUBSCRIBE is sent, not awaited
            while redis_server.channels(f"{prefix}group:*"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        for index, client in enumerate(clients):
            await cluster.disconnect(index % 2, client)
        await asyncio.sleep(0.1)
        left = redis_server.channels(f"{prefix}*")
        assert {c.decode().removeprefix(prefix) for c in left} == {
            "all",
            "internal:groups",
            f"internal:ack:{a.backplane.server_name}",
            f"internal:ack:{b.backplane.server_name}",
            f"internal:return:{a.backplane.server_name}",
            f"internal:return:{b.backplane.server_name}",
        }
    finally:
        for manager in (a, b):
            await manager.close()
    assert not redis_server.channels(f"{prefix}*")


async def test_the_wire_format_is_asp_net_core_s(redis_server: RedisServer) -> None:
    """Byte for byte: the channel names and payloads of ASP.NET Core's Redis
    backplane (protocol.md §13), so the two can share a Redis."""
    (manager,) = redis_managers(redis_server.url, 1)
    await manager.start()
    key = manager.channel("").decode()
    listener = redis_server.client().pubsub()
    listener.psubscribe(f"{key}*")
    try:
        client = await Cluster([manager]).connect(0, user="ann")
        await manager.send_all(hello("hi"), exclude={"x"})
        await manager.send_groups(["room"], hello("g"))
        await manager.send_users(["bob"], hello("u"))
        await manager.send_connections(["elsewhere"], hello("c"))

        def listen() -> list[tuple[str, Any]]:
            # in a thread: the sends are published by the event loop meanwhile
            seen: list[tuple[str, Any]] = []
            for _ in range(200):
                message = listener.get_message(timeout=0.05)
                if message and message["type"] == "pmessage":
                    seen.append(
                        (
                            message["channel"].decode().removeprefix(key),
                            msgpack.unpackb(message["data"]),
                        )
                    )
                if len(seen) == 4:
                    break
            return seen

        seen = await asyncio.to_thread(listen)
        json_hi = b'{"type":1,"target":"Hello","arguments":["hi"]}\x1e'
        msgpack_hi = MESSAGEPACK_PROTOCOL.write(InvocationMessage(target="Hello", arguments=["hi"]))
        assert seen[0] == ("all", [["x"], {"json": json_hi, "messagepack": msgpack_hi}])
        assert [channel for channel, _ in seen[1:]] == [
            "group:room",
            "user:bob",
            "connection:elsewhere",
        ]
        assert all(payload[0] == [] for _, payload in seen[1:])
        assert client.received == []
    finally:
        listener.close()
        await manager.close()
    assert key.endswith(":")
    assert manager.channel("all") == f"{key}all".encode()


async def test_garbage_on_the_hub_channels_is_dropped(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A fuzz test: random bytes and wrongly shaped MessagePack on every
    channel a process listens to. Nothing crashes; sends still work after."""
    a, b = redis_managers(redis_server.url, 2)
    cluster = Cluster([a, b])
    for manager in (a, b):
        await manager.start()
    try:
        client = await cluster.connect(1, user="ann")
        await b.add_to_group(client.id, "room")
        channels = sorted(redis_server.channels(a.channel("").decode() + "*"))
        rng = random.Random(1234)
        shapes: list[Any] = [None, 1, "x", [], [1], [["x"], "not a map"], [[1], {}], {"a": 1}]
        shapes += [[1, "s", 3, "g", "c"], [[], {"json": "text, not bytes"}], ["json", b"x"]]
        with redis_server.client() as publisher:
            for _ in range(600):
                channel = rng.choice(channels)
                if rng.random() < 0.5:
                    payload = rng.randbytes(rng.randint(0, 64))
                else:
                    payload = msgpack.packb(rng.choice(shapes))
                publisher.publish(channel, payload)
        await a.send_groups(["room"], hello("after the garbage"))
        assert await client.texts(1) == ["after the garbage"]
        await client.nothing()
    finally:
        for manager in (a, b):
            await manager.close()
    warnings = [r for r in caplog.records if r.name == "hubgen.server.redis"]
    assert warnings, "dropped payloads are logged"
    assert len(warnings) < 40, "and the log stays readable"


async def test_a_redis_restart_stops_nothing_and_delivery_resumes(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = redis_managers(redis_server.url, 2)
    cluster = Cluster([a, b])
    for manager in (a, b):
        await manager.start()
    try:
        here, there = await cluster.connect(0), await cluster.connect(1)
        await a.send_all(hello("before"))
        assert await here.texts(1) == ["before"]
        assert await there.texts(1) == ["before"]
        redis_server.stop()
        await a.send_all(hello("during"))  # logged, delivered here only
        assert await here.texts(1) == ["during"]
        assert any("a send that needed Redis failed" in r.getMessage() for r in caplog.records), (
            "a send that needed Redis is never dropped silently"
        )
        redis_server.start()
        async with asyncio.timeout(15):
            while not (a.backplane.connected and b.backplane.connected):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await a.send_all(hello("after"))
        assert await here.texts(1) == ["after"]
        assert await there.texts(1) == ["after"]
        await there.nothing()
    finally:
        for manager in (a, b):
            await manager.close()


async def test_what_a_process_sent_before_it_closes_is_published(
    redis_server: RedisServer,
) -> None:
    """A send returns before Redis has the message: closing the manager
    right after (an application stopping) publishes it first."""
    a, b = redis_managers(redis_server.url, 2)
    cluster = Cluster([a, b])
    for manager in (a, b):
        await manager.start()
    try:
        there = await cluster.connect(1)
        await a.send_all(hello("last words"))
        await a.close()
        assert await there.texts(1) == ["last words"]
    finally:
        for manager in (a, b):
            await manager.close()


async def test_a_send_waits_when_redis_falls_behind(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sends do not wait for Redis's answer, until more publishes than the
    backlog allows are unanswered: then a send waits for its own, so a
    Redis that cannot keep up slows the senders instead of filling memory."""
    monkeypatch.setattr("hubgen.server.redis._PUBLISH_BACKLOG", 2)
    a, b = redis_managers(redis_server.url, 2)
    cluster = Cluster([a, b])
    for manager in (a, b):
        await manager.start()
    try:
        there = await cluster.connect(1)
        with redis_server.client() as admin:
            admin.execute_command("CLIENT", "PAUSE", 600, "ALL")
        loop = asyncio.get_running_loop()
        began = loop.time()
        await a.send_all(hello("one"))
        await a.send_all(hello("two"))
        assert loop.time() - began < 0.3, "within the backlog, a send does not wait"
        await a.send_all(hello("three"))
        assert loop.time() - began > 0.4, "beyond it, the send waits for Redis"
        assert await there.texts(3) == ["one", "two", "three"]
    finally:
        for manager in (a, b):
            await manager.close()


async def test_an_idle_process_keeps_its_subscriptions(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing arrives for longer than redis-py's read timeout (5 s by default
    in the pinned redis-py 8.2): the subscribing connection is not dropped for it (it
    was, every 5 s, losing what was published while it subscribed again).
    Whether Redis is still there is the health check's to say (PING every
    ``health_interval``), set long here so that no PING lands in the wait."""
    key = f"Hub{uuid.uuid4().hex[:8]}"
    a, b = (
        RedisLifetimeManager(RedisBackplane(redis_server.url, health_interval=60), hub_key=key)
        for _ in range(2)
    )
    cluster = Cluster([a, b])
    for manager in (a, b):
        manager.bind("EchoHub", PROTOCOLS)
        await manager.start()
    try:
        there = await cluster.connect(1)
        await asyncio.sleep(6)
        assert not [r.getMessage() for r in caplog.records if r.name == "hubgen.server.redis"]
        await a.send_all(hello("after a quiet while"))
        assert await there.texts(1) == ["after a quiet while"]
    finally:
        for manager in (a, b):
            await manager.close()


def test_a_manager_serves_one_hub() -> None:
    manager = InMemoryLifetimeManager()
    manager.bind("ChatHub", PROTOCOLS)
    manager.bind("ChatHub", PROTOCOLS)
    with pytest.raises(ValueError, match="serves hub 'ChatHub' already"):
        manager.bind("AdminHub", PROTOCOLS)
