"""Many server processes on Redis: a lifetime manager over Redis pub/sub.

Every process runs the same hubs; what one sends to all, to a group, to a user
or to a connection on another process travels through Redis, in the channels
and payloads of ASP.NET Core SignalR's Redis backplane (so a hubgen server and
an ASP.NET Core server can share a Redis, given the same channel names)::

    from hubgen.server.redis import RedisLifetimeManager

    hub = HubRoute("/chat", ChatHub, lifetime=RedisLifetimeManager("redis://localhost:6379/0"))
    app = Starlette(routes=[hub], lifespan=hub.lifespan)

Several hubs in one process share one :class:`RedisBackplane` (one publishing
and one subscribing connection per process)::

    redis = RedisBackplane("redis://localhost:6379/0", channel_prefix="myapp:")
    chat = HubRoute("/chat", ChatHub, lifetime=RedisLifetimeManager(redis))
    admin = HubRoute("/admin", AdminHub, lifetime=RedisLifetimeManager(redis))

**Channels** (``<prefix>`` is ``channel_prefix`` followed by the hub key,
which is the hub's name unless ``hub_key`` says otherwise: ASP.NET Core uses
the hub class's full .NET name)::

    <prefix>:all                      sends to every connection
    <prefix>:connection:<id>          sends to one connection, client-result requests
    <prefix>:group:<name>             sends to a group
    <prefix>:user:<id>                sends to a user's connections
    <prefix>:internal:groups          group add/remove for another process's connection
    <prefix>:internal:ack:<server>    acknowledgements of those
    <prefix>:internal:return:<server> client results answered on another process

**Payloads** are MessagePack: a send is ``[excluded ids, {protocol: framed
message}]`` (every protocol the hub speaks, each message complete with its
framing, written to a connection as it is), a client-result request adds
``invocation id, return channel``; hubgen adds ``nil, nil, message id`` to a
send that goes to several groups, so that a connection in more than one of
them gets it once, and to one its own process delivered directly while its
subscriptions were down (ASP.NET Core readers ignore what follows). A group command
is ``[id, server, 1 (add) | 2 (remove), group, connection id]``, its
acknowledgement ``[id]``; a client result ``[protocol, framed Completion]``.

**Delivery** is Redis pub/sub's: at most once. A process subscribes to a
group's or a user's channel while one of its connections is in the group or
belongs to the user, to a connection's channel while the connection is
there. When Redis is unreachable the hubs go on: what is sent to connections
of this process is delivered directly, what needed Redis is logged as an
error (never silently dropped), and the manager reconnects with back-off and
subscribes again to everything it needs. What was published while a process
was disconnected from Redis does not reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgpack

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "hubgen.server.redis needs redis-py: install hubgen with its redis extra "
        "(pip install 'hubgen[redis]')"
    ) from exc

from hubgen.errors import HubError
from hubgen.protocol.base import ProtocolError
from hubgen.protocol.messages import CompletionMessage, HubMessage
from hubgen.server.lifetime import (
    HubLifetimeManager,
    SerializedMessage,
    new_invocation_id,
    not_answerable,
)

if TYPE_CHECKING:
    from hubgen.protocol.base import HubProtocol
    from hubgen.server.connection import Connection
    from hubgen.wire import WireFormat

__all__ = ["RedisBackplane", "RedisLifetimeManager"]

logger = logging.getLogger("hubgen.server.redis")

_ADD = 1
_REMOVE = 2
#: Multi-group message ids remembered, for connections in several of the groups.
_SEEN_MESSAGES = 4096
#: Faults reported per kind before the log goes quiet (then every 1000th).
_LOUD_FAULTS = 10
#: Publishes queued or unanswered beyond which a send waits for its own.
_PUBLISH_BACKLOG = 1024

Handler = Callable[[bytes], Awaitable[None] | None]

#: What a handler raises on a payload that is not what its channel carries.
_MALFORMED = (ValueError, TypeError, LookupError, ProtocolError, msgpack.UnpackException)


def _server_name() -> str:
    """``<machine>_<32 hex digits>``, as ASP.NET Core names a server."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex}"


class _Faults:
    """Counts a kind of fault and logs the first few, then every 1000th."""

    def __init__(self, what: str, level: int = logging.WARNING) -> None:
        self.what = what
        self.level = level
        self.count = 0

    def __call__(self, detail: str) -> None:
        self.count += 1
        if self.count <= _LOUD_FAULTS or self.count % 1000 == 0:
            logger.log(self.level, "%s (%d so far): %s", self.what, self.count, detail)


class RedisBackplane:
    """The Redis connections of one process: one to publish, one to subscribe.

    Share one between the hubs of a process. It connects on first use (or
    :meth:`start`), reconnects by itself with back-off, and subscribes again
    to every channel its hubs need. The subscribing connection is pinged
    every ``health_interval`` seconds: one that answers nothing for twice
    that long counts as lost (a half-open connection otherwise looks fine).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        channel_prefix: str = "",
        connect_timeout: float = 5.0,
        health_interval: float = 5.0,
    ) -> None:
        self.url = url
        #: Put in front of every channel name (ASP.NET Core's ``ChannelPrefix``).
        self.channel_prefix = channel_prefix
        #: This process, as acknowledgements and client results address it.
        self.server_name = _server_name()
        self._connect_timeout = connect_timeout
        self._health_interval = health_interval
        self._publisher: aioredis.Redis | None = None
        self._pool: aioredis.ConnectionPool | None = None
        #: The subscribing connection, while it is up, and what to write to it
        #: (by one task, so that SUBSCRIBE and UNSUBSCRIBE keep their order).
        self._connection: Any = None
        self._commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._handlers: dict[bytes, Handler] = {}
        #: SUBSCRIBE commands sent per channel, confirmed in order.
        self._confirmations: dict[bytes, list[asyncio.Future[None]]] = {}
        self._queue: asyncio.Queue[tuple[bytes, bytes, asyncio.Future[int]]] | None = None
        #: Publishes written and not yet answered, and the last one queued.
        self._in_flight = 0
        self._last_publish: asyncio.Future[int] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._users = 0
        self._starting: asyncio.Task[None] | None = None
        self._bad_payload = _Faults("dropped a malformed message from Redis")
        #: Handlers still at work (for messages whose handling awaits).
        self._handling: set[asyncio.Future[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (once; later calls wait for the first). Never raises for an
        unreachable Redis: it keeps trying in the background."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        self._publisher = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=self._connect_timeout
        )
        # No read timeout on the subscribing connection: it may rightly hear
        # nothing for long (redis-py 8.2 gives up after 5 s by default, and it
        # was dropped and made again every 5 s); _read's health check decides.
        self._pool = aioredis.ConnectionPool.from_url(
            self.url, socket_connect_timeout=self._connect_timeout, socket_timeout=None
        )
        self._queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._publish_loop(), name="hubgen-redis-publish"),
            loop.create_task(self._subscribe_loop(), name="hubgen-redis-subscribe"),
        ]
        # a moment for the first connection, so that a reachable Redis is
        # there before the first client; an unreachable one is retried
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._connect_timeout):
                await self._connected.wait()
        if not self._connected.is_set():
            logger.error("Redis at %s is unreachable: serving this process only", self.url)

    async def close(self) -> None:
        """Disconnect (when the last hub using it closes), once what was
        queued for publishing is published (for at most ``connect_timeout``)."""
        starting, self._starting = self._starting, None
        if starting is None:
            return
        with contextlib.suppress(Exception):
            await starting
        last = self._last_publish
        if last is not None and not last.done():
            # publishes go in order: the last one answered, all are
            await asyncio.wait([last], timeout=self._connect_timeout)
        for task in (*self._tasks, *self._handling):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._handling, return_exceptions=True)
        self._tasks = []
        self._handling.clear()
        queue, self._queue = self._queue, None
        while queue is not None and not queue.empty():
            queue.get_nowait()[2].cancel()  # never to be published: nobody waits forever
        self._last_publish = None
        await self._drop_connection()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.aclose()
            self._pool = None

    def acquire(self) -> None:
        """A hub uses it (each :meth:`release` undoes one; the last closes it)."""
        self._users += 1

    async def release(self) -> None:
        self._users -= 1
        if self._users <= 0:
            self._users = 0
            await self.close()

    @property
    def connected(self) -> bool:
        """Whether the subscribing connection is up."""
        return self._connected.is_set()

    # -- publishing --------------------------------------------------------------------

    async def publish(self, channel: bytes, payload: bytes) -> int:
        """Publish ``payload``; the number of processes subscribed to
        ``channel``. Raises :class:`RedisError` (or OSError) when Redis could
        not take it."""
        if self._queue is None:
            await self.start()
        return await self.publish_nowait(channel, payload)

    def publish_nowait(self, channel: bytes, payload: bytes) -> asyncio.Future[int]:
        """Queue ``payload`` for publishing (after everything queued before
        it, on one connection: in order) and return at once; the future is
        what :meth:`publish` would return or raise. The backplane must have
        been started."""
        if self._queue is None:
            raise RuntimeError("start the backplane before publishing")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((channel, payload, future))
        self._last_publish = future
        return future

    @property
    def backlog(self) -> int:
        """Publishes queued or waiting for Redis's answer."""
        return (self._queue.qsize() if self._queue is not None else 0) + self._in_flight

    async def _publish_loop(self) -> None:
        """Publishes what is queued, everything queued so far in one round
        trip (a pipeline), on the one publishing connection."""
        queue = self._queue
        publisher = self._publisher
        assert queue is not None
        assert publisher is not None
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < 1024:
                batch.append(queue.get_nowait())
            self._in_flight = len(batch)
            try:
                pipe = publisher.pipeline(transaction=False)
                for channel, payload, _ in batch:
                    pipe.publish(channel, payload)
                results = await pipe.execute()
            except asyncio.CancelledError:
                for _, _, future in batch:
                    future.cancel()
                raise
            except (RedisError, OSError) as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self._in_flight = 0
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(int(result))

    # -- subscribing -------------------------------------------------------------------

    async def subscribe(self, channel: bytes, handler: Handler) -> None:
        """Hand what arrives on ``channel`` to ``handler``, once Redis has
        confirmed the subscription (or, while Redis is unreachable, at once:
        the channel is subscribed when it is back)."""
        self._handlers[channel] = handler
        if self._starting is None:
            await self.start()
        if not self._connected.is_set():
            return
        future = self._send_subscribe([channel])[0]
        try:
            async with asyncio.timeout(self._connect_timeout):
                await future
        except (TimeoutError, asyncio.CancelledError):
            if not self._connected.is_set():
                return  # lost meanwhile: subscribed again on reconnect
            raise

    async def unsubscribe(self, channel: bytes) -> None:
        if self._handlers.pop(channel, None) is None:
            return
        if self._connection is not None and self._connected.is_set():
            self._commands.put_nowait(("UNSUBSCRIBE", channel))

    @property
    def channels(self) -> frozenset[bytes]:
        """The channels this process needs, subscribed or about to be."""
        return frozenset(self._handlers)

    def _send_subscribe(self, channels: list[bytes]) -> list[asyncio.Future[None]]:
        """Queue SUBSCRIBE; a future per channel, set when Redis confirms it
        (confirmations come in the order the commands were written)."""
        loop = asyncio.get_running_loop()
        futures = []
        for channel in channels:
            future: asyncio.Future[None] = loop.create_future()
            self._confirmations.setdefault(channel, []).append(future)
            futures.append(future)
        self._commands.put_nowait(("SUBSCRIBE", *channels))
        return futures

    async def _write_loop(self, connection: Any) -> None:
        """Writes the subscribing connection's commands, in order."""
        while True:
            command = await self._commands.get()
            try:
                await connection.send_command(*command, check_health=False)
            except (RedisError, OSError) as exc:
                logger.debug("writing %s to Redis failed: %s", command[0], exc)
                return  # the reader sees the connection fail

    async def _subscribe_loop(self) -> None:
        """Keeps the subscribing connection: reads it, pings it, and on a
        failure reconnects with back-off and subscribes to every channel again."""
        delay = 0.1
        outage = False
        while True:
            try:
                await self._connect()
                if outage:
                    logger.warning("Redis at %s is back: subscribed again", self.url)
                outage = False
                delay = 0.1
                await self._read()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                self._connected.clear()
                if not outage:
                    logger.error(
                        "lost Redis at %s (%s): reconnecting; sends to other processes "
                        "fail until it is back",
                        self.url,
                        exc or type(exc).__name__,
                    )
                outage = True
                await self._drop_connection()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _connect(self) -> None:
        assert self._pool is not None
        connection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        await connection.connect()
        self._connection = connection
        self._commands = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(connection))
        channels = list(self._handlers)
        if channels:
            futures = self._send_subscribe(channels)
            async with asyncio.timeout(self._connect_timeout):
                while not all(f.done() for f in futures):
                    await self._read_one(connection)
        self._connected.set()
        # what hubs subscribed while this connection was being made
        missing = [c for c in self._handlers if c not in channels]
        if missing:
            self._send_subscribe(missing)

    async def _drop_connection(self) -> None:
        self._connected.clear()
        connection, self._connection = self._connection, None
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
        for futures in self._confirmations.values():
            for future in futures:
                if not future.done():
                    future.cancel()
        self._confirmations.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    def _handled(self, channel: bytes) -> Callable[[asyncio.Future[None]], None]:
        def done(task: asyncio.Future[None]) -> None:
            self._handling.discard(task)
            if task.cancelled():
                return
            exc = task.exception()
            if isinstance(exc, _MALFORMED):
                self._bad_payload(f"channel {channel!r}: {exc}")
            elif exc is not None:
                logger.error(
                    "handling a message from Redis channel %r failed", channel, exc_info=exc
                )

        return done

    async def _read(self) -> None:
        connection = self._connection
        loop = asyncio.get_running_loop()
        pinger = loop.create_task(self._ping())
        try:
            while True:
                async with asyncio.timeout(self._health_interval * 2):
                    await self._read_one(connection)
        finally:
            pinger.cancel()

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self._health_interval)
            self._commands.put_nowait(("PING",))

    async def _read_one(self, connection: Any) -> None:
        # pub/sub messages are "push" replies to redis-py: ask for them
        reply = await connection.read_response(disconnect_on_error=True, push_request=True)
        if not isinstance(reply, list) or len(reply) < 2:
            return
        kind = reply[0]
        if kind == b"message" and len(reply) == 3:
            channel, data = reply[1], reply[2]
            handler = self._handlers.get(channel)
            if handler is None:
                return
            try:
                result = handler(data)
            except _MALFORMED as exc:
                self._bad_payload(f"channel {channel!r}: {exc}")
            except Exception:
                logger.exception("handling a message from Redis channel %r failed", channel)
            else:
                if result is not None:
                    # Work that waits on Redis (a subscription, a publish) runs
                    # on its own: this task is the one that reads its answers.
                    task = asyncio.ensure_future(result)
                    self._handling.add(task)
                    task.add_done_callback(self._handled(channel))
        elif kind == b"subscribe":
            channel = reply[1]
            futures = self._confirmations.get(channel)
            if futures:
                future = futures.pop(0)
                if not future.done():
                    future.set_result(None)
                if not futures:
                    del self._confirmations[channel]


class RedisLifetimeManager(HubLifetimeManager):
    """A hub's connections and groups across every process on one Redis.

    ``redis`` is a Redis URL (the manager then has a :class:`RedisBackplane`
    of its own) or a backplane shared with other hubs. ``hub_key`` names the
    hub in channel names (default: the hub's name). ``ack_timeout`` bounds the
    wait for another process to add or remove one of its connections to or
    from a group.
    """

    def __init__(
        self,
        redis: str | RedisBackplane,
        *,
        hub_key: str | None = None,
        ack_timeout: float = 30.0,
    ) -> None:
        self.backplane = RedisBackplane(redis) if isinstance(redis, str) else redis
        self._hub_key = hub_key
        self._ack_timeout = ack_timeout
        self._prefix = b""
        self._connections: dict[str, Connection] = {}
        self._groups: dict[str, dict[str, Connection]] = {}
        self._users: dict[str, dict[str, Connection]] = {}
        #: Client results this process asked for: invocation id -> (connection id, answer).
        self._pending: dict[
            str, tuple[str, asyncio.Future[tuple[CompletionMessage, WireFormat]]]
        ] = {}
        #: Client results other processes asked of a connection here:
        #: invocation id -> (connection id, return channel).
        self._remote_pending: dict[str, tuple[str, bytes]] = {}
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._ack_ids = itertools.count(1)
        self._seen: OrderedDict[bytes, set[str]] = OrderedDict()
        self._started = False
        self._failed_send = _Faults("a send that needed Redis failed", logging.ERROR)

    # -- life --------------------------------------------------------------------------

    def bind(self, hub_name: str, protocols: Iterable[HubProtocol]) -> None:
        super().bind(hub_name, tuple(protocols))
        key = self._hub_key or hub_name
        self._prefix = f"{self.backplane.channel_prefix}{key}".encode()
        self._by_name = {protocol.name: protocol for protocol in self.protocols}

    def channel(self, suffix: str) -> bytes:
        """A channel of this hub: ``channel("all")``, ``channel("group:x")``."""
        return self._prefix + b":" + suffix.encode()

    async def start(self) -> None:
        if self._started:
            return
        if not self._prefix:
            raise RuntimeError("bind the manager to a hub first (HubRoute does)")
        self._started = True
        self.backplane.acquire()
        await self.backplane.start()
        server = self.backplane.server_name
        await self.backplane.subscribe(self.channel("all"), self._on_all)
        await self.backplane.subscribe(self.channel("internal:groups"), self._on_group_command)
        await self.backplane.subscribe(self.channel(f"internal:ack:{server}"), self._on_ack)
        await self.backplane.subscribe(self.channel(f"internal:return:{server}"), self._on_return)

    async def close(self) -> None:
        if not self._started:
            return
        self._started = False
        for channel in list(self.backplane.channels):
            if channel.startswith(self._prefix + b":"):
                await self.backplane.unsubscribe(channel)
        await self.backplane.release()

    async def _ready(self) -> None:
        if not self._started:
            await self.start()

    # -- connections -------------------------------------------------------------------

    async def on_connected(self, connection: Connection) -> None:
        await self._ready()
        cid = connection.connection_id
        self._connections[cid] = connection
        await self.backplane.subscribe(self.channel(f"connection:{cid}"), self._on_connection(cid))
        user = connection.user_identifier
        if user is not None:
            members = self._users.setdefault(user, {})
            members[cid] = connection
            if len(members) == 1:
                await self.backplane.subscribe(self.channel(f"user:{user}"), self._on_user(user))

    async def on_disconnected(self, connection: Connection) -> None:
        cid = connection.connection_id
        self._connections.pop(cid, None)
        await self.backplane.unsubscribe(self.channel(f"connection:{cid}"))
        for group in list(connection.groups):
            await self._leave(connection, group)
        user = connection.user_identifier
        if user is not None and (members := self._users.get(user)) is not None:
            members.pop(cid, None)
            if not members:
                del self._users[user]
                await self.backplane.unsubscribe(self.channel(f"user:{user}"))
        for invocation_id, (owner, future) in list(self._pending.items()):
            if owner == cid:
                del self._pending[invocation_id]
                if not future.done():
                    future.set_exception(HubError(f"Connection '{cid}' disconnected."))
        for invocation_id, (owner, reply_to) in list(self._remote_pending.items()):
            if owner == cid:
                del self._remote_pending[invocation_id]
                error = CompletionMessage.with_error(
                    invocation_id, f"Connection '{cid}' disconnected."
                )
                await self._return(reply_to, connection.protocol, error)

    # -- sending -------------------------------------------------------------------------

    def _envelope(
        self, message: SerializedMessage, exclude: Collection[str] = (), *extra: Any
    ) -> tuple[bytes | None, Exception | None]:
        """The message as sends travel: framed in every protocol of the hub
        that can write it (None if none can), and the error of one that
        cannot, for the sender to raise once the others have it (as the
        in-memory manager does: an integer beyond MessagePack's 64 bits does
        not keep a message from JSON connections)."""
        framed: dict[str, bytes] = {}
        failure: Exception | None = None
        missed: list[str] = []
        for protocol in self.protocols:
            try:
                framed[protocol.name] = message.to_bytes(protocol)
            except Exception as exc:
                failure = failure or exc
                missed.append(protocol.name)
        if failure is not None:
            failure.add_note(
                f"connections using {', '.join(missed)} did not receive it: the message "
                f"cannot be written in {'that protocol' if len(missed) == 1 else 'those protocols'}"
                + ("; the addressed connections using other protocols did." if framed else ".")
            )
        if not framed:
            return None, failure
        payload: bytes = msgpack.packb([list(exclude), framed, *extra], use_bin_type=True)
        return payload, failure

    async def _publish(self, channel: bytes, payload: bytes, what: str) -> int | None:
        """Publish; the number of processes that took it, or None (logged)
        when Redis could not."""
        try:
            return await self.backplane.publish(channel, payload)
        except (RedisError, OSError) as exc:
            self._failed_send(f"{what}: Redis at {self.backplane.url}: {exc}")
            return None

    @staticmethod
    def _deliver(connections: Iterable[Connection], message: SerializedMessage) -> None:
        for connection in connections:
            try:
                connection.deliver(message)
            except Exception as exc:  # not framed in its protocol: the sender knows
                logger.debug("connection %s missed a message: %s", connection.connection_id, exc)

    async def _send(
        self,
        channels: dict[bytes, str],
        message: SerializedMessage,
        exclude: Collection[str],
        local: Callable[[bytes], Iterable[Connection]],
        *extra: Any,
    ) -> None:
        """Publish ``message`` on each of ``channels`` (channel -> what it is,
        for the log). Where Redis cannot take it, the connections of this
        process that the channel reaches (``local(channel)``) get it
        directly: a Redis outage never stops local delivery."""
        here: dict[str, Connection] = {}
        if not self.backplane.connected:
            # This process's subscriptions are down (Redis is away, or coming
            # back): its own connections get the message now, and, by its id,
            # not again if it comes back to them through Redis.
            message_id = uuid.uuid4().bytes
            extra = (None, None, message_id)
            for channel in channels:
                here.update((c.connection_id, c) for c in local(channel))
            self._remember(message_id, here)
            self._deliver((c for cid, c in here.items() if cid not in exclude), message)
        payload, failure = self._envelope(message, exclude, *extra)
        if payload is not None:
            # Queued, not waited for (as the in-memory manager queues on each
            # connection and returns): the sends of a burst, a sender's
            # invocations one after another, go to Redis in one round trip and
            # come back together, and each connection's writer sends them in
            # one write. Waiting for each answer made every delivery a write
            # of its own. Only when Redis falls behind does a send wait.
            futures = [self.backplane.publish_nowait(channel, payload) for channel in channels]
            self._on_published(futures, channels, message, exclude, local, here)
            if self.backplane.backlog > _PUBLISH_BACKLOG:
                await asyncio.wait(futures)
        if failure is not None:
            raise failure

    def _on_published(
        self,
        futures: list[asyncio.Future[int]],
        channels: dict[bytes, str],
        message: SerializedMessage,
        exclude: Collection[str],
        local: Callable[[bytes], Iterable[Connection]],
        here: Mapping[str, Connection],
    ) -> None:
        """Once Redis has answered every publish of a send: where it could not
        take one, log it, and deliver to the connections of this process that
        channel reaches (less those ``here`` that had it already), each once."""
        waiting = len(futures)

        def done(_: asyncio.Future[int]) -> None:
            nonlocal waiting
            waiting -= 1
            if waiting:
                return
            missed: dict[str, Connection] = {}
            for future, (channel, what) in zip(futures, channels.items(), strict=True):
                if future.cancelled() or (exc := future.exception()) is None:
                    continue  # published (or the backplane closed)
                self._failed_send(f"{what}: Redis at {self.backplane.url}: {exc}")
                missed.update((c.connection_id, c) for c in local(channel))
            targets = (c for cid, c in missed.items() if cid not in exclude and cid not in here)
            self._deliver(targets, message)

        for future in futures:
            future.add_done_callback(done)

    async def send_all(self, message: SerializedMessage, exclude: Collection[str] = ()) -> None:
        await self._ready()
        channels = {self.channel("all"): "a send to all"}
        await self._send(channels, message, exclude, lambda _: self._connections.values())

    async def send_connections(
        self, connection_ids: Iterable[str], message: SerializedMessage
    ) -> None:
        await self._ready()
        remote: dict[bytes, str] = {}
        failure: Exception | None = None
        for cid in dict.fromkeys(connection_ids):
            local = self._connections.get(cid)
            if local is None:
                remote[self.channel(f"connection:{cid}")] = f"a send to connection {cid}"
                continue
            try:
                local.send(message.to_bytes(local.protocol))
            except Exception as exc:
                failure = failure or exc
        if remote:
            await self._send(remote, message, (), lambda _: ())
        if failure is not None:
            raise failure

    async def send_groups(
        self, groups: Iterable[str], message: SerializedMessage, exclude: Collection[str] = ()
    ) -> None:
        await self._ready()
        names = {self.channel(f"group:{g}"): g for g in dict.fromkeys(groups)}
        if not names:
            return
        channels = {channel: f"a send to group {name!r}" for channel, name in names.items()}

        def members(channel: bytes) -> Iterable[Connection]:
            return self._groups.get(names[channel], {}).values()

        # a connection in several of the groups gets it once: by this id
        extra = () if len(names) == 1 else (None, None, uuid.uuid4().bytes)
        await self._send(channels, message, exclude, members, *extra)

    async def send_users(self, user_ids: Iterable[str], message: SerializedMessage) -> None:
        await self._ready()
        names = {self.channel(f"user:{u}"): u for u in dict.fromkeys(user_ids)}
        if not names:
            return
        channels = {channel: f"a send to user {name!r}" for channel, name in names.items()}

        def connections(channel: bytes) -> Iterable[Connection]:
            return self._users.get(names[channel], {}).values()

        await self._send(channels, message, (), connections)

    # -- receiving -----------------------------------------------------------------------

    def _read_envelope(self, payload: bytes) -> tuple[frozenset[str], SerializedMessage, list[Any]]:
        data = msgpack.unpackb(payload, raw=False)
        if not isinstance(data, list) or len(data) < 2:
            raise ValueError("an invocation must be an array of at least 2 items")
        excluded, framed, *rest = data
        if not isinstance(excluded, list) or not all(isinstance(e, str) for e in excluded):
            raise ValueError("excluded connection ids must be an array of strings")
        if not isinstance(framed, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes) for k, v in framed.items()
        ):
            raise ValueError("serialized messages must be a map of protocol to bytes")
        return frozenset(excluded), SerializedMessage.from_framed(framed), rest

    def _remember(self, message_id: bytes, connections: Mapping[str, Connection]) -> set[str]:
        seen = self._seen.get(message_id)
        if seen is None:
            seen = self._seen[message_id] = set(connections)
            if len(self._seen) > _SEEN_MESSAGES:
                self._seen.popitem(last=False)
        return seen

    @staticmethod
    def _targets(members: Mapping[str, Connection], excluded: frozenset[str]) -> list[Connection]:
        if not excluded:  # the common case: no test per receiver
            return list(members.values())
        return [c for cid, c in members.items() if cid not in excluded]

    def _first_time(self, rest: list[Any], connections: list[Connection]) -> list[Connection]:
        """``connections`` less those a send with an id (last in ``rest``)
        reached already: through another of its groups, or directly while
        this process's subscriptions were down."""
        if len(rest) < 3 or not isinstance(rest[2], bytes):
            return connections
        seen = self._remember(rest[2], {})
        fresh = [c for c in connections if c.connection_id not in seen]
        seen.update(c.connection_id for c in fresh)
        return fresh

    def _on_all(self, payload: bytes) -> None:
        excluded, message, rest = self._read_envelope(payload)
        targets = self._targets(self._connections, excluded)
        self._deliver(self._first_time(rest, targets), message)

    def _on_group(self, group: str) -> Handler:
        def handle(payload: bytes) -> None:
            excluded, message, rest = self._read_envelope(payload)
            targets = self._targets(self._groups.get(group, {}), excluded)
            self._deliver(self._first_time(rest, targets), message)

        return handle

    def _on_user(self, user: str) -> Handler:
        def handle(payload: bytes) -> None:
            excluded, message, rest = self._read_envelope(payload)
            targets = self._targets(self._users.get(user, {}), excluded)
            self._deliver(self._first_time(rest, targets), message)

        return handle

    def _on_connection(self, cid: str) -> Handler:
        def handle(payload: bytes) -> Awaitable[None] | None:
            excluded, message, rest = self._read_envelope(payload)
            connection = self._connections.get(cid)
            if connection is None or cid in excluded:
                return None
            if len(rest) >= 2 and isinstance(rest[0], str) and isinstance(rest[1], str):
                # a client-result request: the answer goes back to rest[1]
                reply_to = rest[1].encode()
                if (error := not_answerable(connection)) is not None:
                    failed = CompletionMessage.with_error(rest[0], error.message)
                    return self._return(reply_to, connection.protocol, failed)
                self._remote_pending[rest[0]] = (cid, reply_to)
            self._deliver((connection,), message)
            return None

        return handle

    # -- groups --------------------------------------------------------------------------

    async def add_to_group(self, connection_id: str, group: str) -> None:
        await self._ready()
        connection = self._connections.get(connection_id)
        if connection is not None:
            await self._join(connection, group)
        else:
            await self._group_command(_ADD, connection_id, group)

    async def remove_from_group(self, connection_id: str, group: str) -> None:
        await self._ready()
        connection = self._connections.get(connection_id)
        if connection is not None:
            await self._leave(connection, group)
        else:
            await self._group_command(_REMOVE, connection_id, group)

    async def _join(self, connection: Connection, group: str) -> None:
        connection.groups.add(group)
        members = self._groups.setdefault(group, {})
        members[connection.connection_id] = connection
        if len(members) == 1:
            await self.backplane.subscribe(self.channel(f"group:{group}"), self._on_group(group))

    async def _leave(self, connection: Connection, group: str) -> None:
        connection.groups.discard(group)
        members = self._groups.get(group)
        if members is None or members.pop(connection.connection_id, None) is None:
            return
        if not members:
            del self._groups[group]
            await self.backplane.unsubscribe(self.channel(f"group:{group}"))

    async def _group_command(self, action: int, connection_id: str, group: str) -> None:
        ack_id = next(self._ack_ids)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        server = self.backplane.server_name
        payload = msgpack.packb([ack_id, server, action, group, connection_id], use_bin_type=True)
        what = (
            f"{'adding' if action == _ADD else 'removing'} connection '{connection_id}' "
            f"{'to' if action == _ADD else 'from'} group '{group}'"
        )
        try:
            channel = self.channel("internal:groups")
            if await self._publish(channel, payload, "a group command") is None:
                raise HubError(f"{what.capitalize()} failed: Redis is unreachable.")
            try:
                async with asyncio.timeout(self._ack_timeout):
                    await future
            except TimeoutError:
                raise TimeoutError(
                    f"No server acknowledged {what} within {self._ack_timeout:g} s: "
                    "the connection may not exist."
                ) from None
        finally:
            self._acks.pop(ack_id, None)

    async def _on_group_command(self, payload: bytes) -> None:
        data = msgpack.unpackb(payload, raw=False)
        if not isinstance(data, list) or len(data) < 5:
            raise ValueError("a group command must be an array of 5 items")
        ack_id, server, action, group, connection_id = data[:5]
        if not (
            isinstance(ack_id, int)
            and isinstance(server, str)
            and action in (_ADD, _REMOVE)
            and isinstance(group, str)
            and isinstance(connection_id, str)
        ):
            raise ValueError("a group command must be [int, str, 1|2, str, str]")
        connection = self._connections.get(connection_id)
        if connection is None:
            return  # another process's connection: its server answers
        if action == _ADD:
            await self._join(connection, group)
        else:
            await self._leave(connection, group)
        ack = msgpack.packb([ack_id], use_bin_type=True)
        await self._publish(self.channel(f"internal:ack:{server}"), ack, "a group acknowledgement")

    def _on_ack(self, payload: bytes) -> None:
        data = msgpack.unpackb(payload, raw=False)
        if not isinstance(data, list) or not data or not isinstance(data[0], int):
            raise ValueError("an acknowledgement must be [int]")
        future = self._acks.get(data[0])
        if future is not None and not future.done():
            future.set_result(None)

    # -- client results --------------------------------------------------------------------

    async def invoke_connection(
        self,
        connection_id: str,
        build: Callable[[str, WireFormat], HubMessage],
    ) -> tuple[CompletionMessage, WireFormat]:
        await self._ready()
        invocation_id = new_invocation_id()
        message = SerializedMessage(lambda wire: build(invocation_id, wire))
        future: asyncio.Future[tuple[CompletionMessage, WireFormat]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[invocation_id] = (connection_id, future)
        try:
            connection = self._connections.get(connection_id)
            if connection is not None:
                if (error := not_answerable(connection)) is not None:
                    raise error
                if not connection.send(message.to_bytes(connection.protocol)):
                    raise HubError(f"Connection '{connection_id}' disconnected.")
            else:
                reply_to = self.channel(f"internal:return:{self.backplane.server_name}")
                payload, failure = self._envelope(message, (), invocation_id, reply_to.decode())
                if payload is None:
                    assert failure is not None
                    raise failure
                receivers = await self._publish(
                    self.channel(f"connection:{connection_id}"), payload, "a client-result request"
                )
                if receivers is None:
                    raise HubError(
                        f"Invoking connection '{connection_id}' failed: Redis is unreachable."
                    )
                if receivers == 0:
                    raise HubError(f"Connection '{connection_id}' does not exist.")
            return await future
        finally:
            self._pending.pop(invocation_id, None)

    async def set_client_result(
        self, connection: Connection, completion: CompletionMessage
    ) -> bool:
        invocation_id = completion.invocation_id
        entry = self._pending.get(invocation_id)
        if entry is not None and entry[0] == connection.connection_id:
            del self._pending[invocation_id]
            if not entry[1].done():
                entry[1].set_result((completion, connection.protocol.wire))
            return True
        remote = self._remote_pending.get(invocation_id)
        if remote is not None and remote[0] == connection.connection_id:
            del self._remote_pending[invocation_id]
            await self._return(remote[1], connection.protocol, completion)
            return True
        return False

    async def _return(
        self, reply_to: bytes, protocol: HubProtocol, completion: CompletionMessage
    ) -> None:
        payload = msgpack.packb([protocol.name, protocol.write(completion)], use_bin_type=True)
        await self._publish(reply_to, payload, "a client result")

    def _on_return(self, payload: bytes) -> None:
        data = msgpack.unpackb(payload, raw=False)
        if (
            not isinstance(data, list)
            or len(data) < 2
            or not isinstance(data[0], str)
            or not isinstance(data[1], bytes)
        ):
            raise ValueError("a client result must be [protocol, bytes]")
        protocol = self._by_name.get(data[0])
        if protocol is None:
            raise ValueError(f"a client result in an unknown protocol {data[0]!r}")
        messages = protocol.parse(bytearray(data[1]))
        if len(messages) != 1 or not isinstance(messages[0], CompletionMessage):
            raise ValueError("a client result must hold one Completion message")
        completion = messages[0]
        entry = self._pending.pop(completion.invocation_id, None)
        if entry is not None and not entry[1].done():
            entry[1].set_result((completion, protocol.wire))
