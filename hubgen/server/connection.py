"""One hub connection on the server: identity, protocol, and its outgoing queue.

Writes to a connection go through one bounded queue drained by a writer task
(started when something is queued, gone when the queue is empty), so a slow
client never blocks anyone else. Messages sent to it by others (broadcasts,
groups, other connections' calls) never wait: past
``HubOptions.max_buffered_bytes`` the slow-client policy applies, loudly.
Replies to the connection's own invocations are written at once by the
calling task when nothing is queued or being written, and otherwise wait for
room, which pauses only that connection. Queued messages are written in
batches: one transport write carries everything queued so far (whole
messages only).

Over hubgen's own WebSocket protocol (a :class:`DirectTransport`) there is
no writer task: messages are framed as they are sent and written at once
while the socket takes them; when it does not, their frames wait in the
queue, under the same limit and policy, until the transport says it can take
more, and then go in one call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from hubgen.protocol.base import TransferFormat
from hubgen.protocol.messages import AckMessage
from hubgen.protocol.sequencing import ACK_DELAY
from hubgen.server.authorization import ANONYMOUS, Principal
from hubgen.server.stateful import ReplayBuffer
from hubgen.server.transport import DirectTransport, Transport, TransportClosed

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from hubgen.protocol.base import HubProtocol
    from hubgen.server.lifetime import SerializedMessage
    from hubgen.server.options import HubOptions

__all__ = ["Connection", "ConnectionAborted"]

logger = logging.getLogger("hubgen.server")

#: Largest batch one transport write carries (several messages joined).
_MAX_BATCH = 64 * 1024


class ConnectionAborted(Exception):
    """Why a connection was ended by the server (its message goes into the
    Close message when detailed errors are on)."""


class ClientTimedOut(ConnectionAborted):
    """The client sent nothing, not even a ping, for ``client_timeout``."""


class Connection:
    """A connected, handshaken hub client (ASP.NET Core's ``HubConnectionContext``).

    Kept small: a server holds one per client, most of them idle, so it has
    slots, and what only a busy connection needs (a writer task, an event to
    wait for room) is made when first needed.
    """

    __slots__ = (
        "_aborted",
        "_ack_timer",
        "_detached",
        "_direct",
        "_options",
        "_queue",
        "_queued_bytes",
        "_reader",
        "_receiving",
        "_resumed",
        "_room",
        "_stopped",
        "_swapping",
        "_writer",
        "_writing",
        "abort_reason",
        "allow_reconnect",
        "connection_id",
        "dropped_messages",
        "generation",
        "groups",
        "items",
        "last_ping_sent",
        "last_received",
        "principal",
        "protocol",
        "reading",
        "replay",
        "request",
        "timeout_armed",
        "transport",
        "user_identifier",
    )

    def __init__(
        self,
        connection_id: str,
        protocol: HubProtocol,
        transport: Transport,
        options: HubOptions,
        request: HTTPConnection,
        principal: Principal = ANONYMOUS,
    ) -> None:
        self.connection_id = connection_id
        self.protocol = protocol
        self.transport = transport
        self.request = request
        #: Who the connection belongs to (user, credentials, user id).
        self.principal = principal
        self.user_identifier = principal.user_identifier
        #: Per-connection state for application code (``Context.Items``).
        self.items: dict[Any, Any] = {}
        #: Groups this connection belongs to (kept by the lifetime manager).
        self.groups: set[str] = set()
        self._options = options
        #: Messages waiting for the writer (a list: far smaller than a deque
        #: when empty, which it nearly always is).
        self._queue: list[bytes] = []
        self._queued_bytes = 0
        #: Set when the queue has room again; made by the first to wait for it.
        self._room: asyncio.Event | None = None
        #: Drains the queue; runs only while something is queued, so an idle
        #: connection costs no task.
        self._writer: asyncio.Task[None] | None = None
        #: A transport write is under way (by the writer or a reply written inline).
        self._writing = False
        #: Set by :meth:`flush_and_stop`: nothing is written any more.
        self._stopped = False
        self._reader: asyncio.Task[Any] | None = None
        self._receiving = False
        self._aborted = False
        self.abort_reason: BaseException | None = None
        self.allow_reconnect = False
        self.dropped_messages = 0
        now = time.monotonic()
        self.last_received = now
        self.last_ping_sent = now
        #: The client's first ping starts the client-timeout clock.
        self.timeout_armed = False
        #: What the client sends is read (from when on_connected has
        #: returned): before, it could not answer a client result.
        self.reading = False
        #: Stateful reconnect (handshake version 2): what is kept for a new
        #: transport. None for every other connection, which pays nothing more.
        self.replay: ReplayBuffer | None = None
        #: Counts transports: a new one (a stateful reconnect) adds one.
        self.generation = 0
        #: Stateful: the transport is gone and a new one is awaited.
        self._detached = False
        self._resumed: asyncio.Event | None = None
        self._swapping = False
        self._ack_timer: asyncio.TimerHandle | None = None
        #: The transport when it writes without waiting (else None): then
        #: the queue holds its frames, and no writer task ever runs.
        self._direct: DirectTransport | None = None
        self._attach(transport)

    def _attach(self, transport: Transport) -> None:
        if isinstance(transport, DirectTransport):
            self._direct = transport
            transport.on_writable(self._flush)
        else:
            self._direct = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def aborted(self) -> bool:
        return self._aborted

    def abort(self, reason: BaseException | None = None, *, allow_reconnect: bool = False) -> None:
        """End the connection: the read loop stops, ``on_disconnected`` runs and
        the client gets a Close message. Safe to call more than once."""
        if self._aborted:
            return
        self.abort_reason = reason
        self.allow_reconnect = allow_reconnect
        self._aborted = True
        if self._receiving and self._reader is not None:
            self._reader.cancel()
        if self._resumed is not None:
            self._resumed.set()  # not waiting for a new transport any more

    async def receive(self) -> bytes | None:
        """The next bytes from the client; ``None`` when the client has gone or
        the connection was aborted (which interrupts a pending receive). After
        :meth:`resume` the bytes come from the new transport (see
        :attr:`generation`)."""
        if self._reader is None:  # one read loop per connection: the same task every time
            self._reader = asyncio.current_task()
        while True:
            if self._aborted:
                return None
            transport = self.transport
            self._receiving = True
            try:
                data = await transport.receive()
            except asyncio.CancelledError:
                reader = self._reader
                if (
                    (self._aborted or self._swapping)
                    and reader is not None
                    and reader.uncancel() == 0
                ):
                    self._swapping = False
                    continue  # aborted, or a new transport to read
                raise
            finally:
                self._receiving = False
            if data is None and self.transport is not transport:
                continue  # the old transport ended: a new one took over meanwhile
            if data is not None:
                self.last_received = time.monotonic()
            return data

    # -- stateful reconnect ------------------------------------------------------------

    def enable_stateful(self, limit: int) -> None:
        """Keep what is sent until acknowledged, up to ``limit`` bytes, for a
        new transport to take over (the client asked with handshake version 2)."""
        self.replay = ReplayBuffer(limit)

    async def wait_for_resume(self, timeout: float, generation: int) -> bool:
        """The transport of a stateful connection is gone: wait up to
        ``timeout`` seconds for a new one (:meth:`resume`). True when there is
        one (already, if :attr:`generation` moved past ``generation``)."""
        if self.replay is None or self._aborted:
            return False
        if self.generation != generation:
            return True
        self._lost()
        resumed = self._resumed = asyncio.Event()
        try:
            async with asyncio.timeout(timeout):
                await resumed.wait()
        except TimeoutError:
            return False
        finally:
            self._resumed = None
        return not self._aborted

    def resume(self, transport: Transport) -> bool:
        """A stateful reconnect: ``transport`` (the client's new WebSocket,
        without a handshake) replaces the current one, which is dropped. The
        client first gets a Sequence message and every message it has not
        acknowledged, in order; what it sends counts from its own Sequence.
        False when this connection cannot take a new transport."""
        replay = self.replay
        if replay is None or self._aborted or self._stopped:
            return False
        old = self.transport
        if isinstance(old, DirectTransport):
            old.on_writable(None)
        self.transport = transport
        transport.use_binary(self.protocol.transfer_format is TransferFormat.BINARY)
        self._attach(transport)
        self.generation += 1
        self._detached = False
        replay.transport_lost()
        # What was queued is either kept (and replayed now) or a ping: start over.
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
        self._writing = False
        self._queue.clear()
        self._queued_bytes = 0
        sequence, kept = replay.replay()
        self._queue.append(self.protocol.write(sequence))
        self._queue.extend(kept)
        direct = self._direct
        if direct is not None:
            self._queue[:] = [direct.frame(data) for data in self._queue]
        self._queued_bytes = sum(len(data) for data in self._queue)
        if direct is not None:
            self._flush()
        else:
            self._start_writer()
        if self._receiving and self._reader is not None:
            self._swapping = True  # a read pending on the old transport: move on
            self._reader.cancel()
        old.abort()
        if self._resumed is not None:
            self._resumed.set()
        self.last_received = time.monotonic()
        return True

    def acknowledged(self, sequence_id: int) -> None:
        """The client's Ack: it took everything up to ``sequence_id``."""
        if self.replay is not None and self.replay.acknowledge(sequence_id):
            self._room_freed()

    def schedule_ack(self) -> None:
        """Acknowledge what the client sent, within a second (one Ack for
        everything that arrives meanwhile, as the official clients do)."""
        if self._ack_timer is None:
            self._ack_timer = asyncio.get_running_loop().call_later(ACK_DELAY, self._send_ack)

    def _send_ack(self) -> None:
        self._ack_timer = None
        replay = self.replay
        if replay is not None and not self._aborted and not self._detached:
            self.send_control(self.protocol.write(AckMessage(replay.latest_received)))

    def _lost(self) -> None:
        """The transport of a stateful connection is gone: keep what is
        queued for a new one, write nothing until then."""
        self._detached = True
        if self.replay is not None:
            self.replay.transport_lost()

    async def flush_and_stop(self, grace: float) -> bool:
        """Write what is queued (for at most ``grace`` seconds), then stop
        writing. False when it could not all be written in time: the client
        is not reading."""
        deadline = time.monotonic() + grace
        # (a stateful connection without a transport writes nothing: no wait)
        while (self._queue or self._writing) and not self._detached and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self._arm_room().wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        flushed = not self._queue and not self._writing
        self._queue.clear()  # what is left is never written: let it go now
        self._queued_bytes = 0
        self._stopped = True
        self._room_freed()  # replies waiting for room give up
        writer = self._writer
        if writer is None or writer.done():
            return flushed
        writer.cancel()
        try:
            await writer
        except asyncio.CancelledError:
            if (task := asyncio.current_task()) is not None and task.cancelling():
                raise
        return flushed

    # -- writing -----------------------------------------------------------------------

    def deliver(self, message: SerializedMessage) -> bool:
        """:meth:`send` ``message`` in this connection's protocol: its frame,
        made once for every connection it goes to, when the transport writes
        frames shared by all (raises what encoding it raises)."""
        protocol = self.protocol
        data = message.to_bytes(protocol)
        direct = self._direct
        if direct is not None and direct.shared_frames:
            return self.send(data, message.frame(protocol))
        return self.send(data)

    def send(self, data: bytes, frame: bytes | None = None) -> bool:
        """Queue a message sent by someone else (``frame``: its WebSocket
        frame, when made already). Never waits; returns False when the
        message was not queued (closed, or dropped by policy)."""
        if self._aborted:
            return False
        if self._queued_bytes + len(data) > self._options.max_buffered_bytes and self._queue:
            self._overflow(len(data))
            return False
        replay = self.replay
        if replay is not None:
            if replay.full:  # the client acknowledges nothing: as a queue that is full
                self._overflow(len(data))
                return False
            replay.keep(data)
        direct = self._direct
        if direct is None:
            self._enqueue(data)
            return True
        if frame is None or not direct.shared_frames:
            frame = direct.frame(data)
        if not self._queue and direct.writable and not self._stopped and not self._detached:
            direct.write(frame)
        else:
            self._queue.append(frame)
            self._queued_bytes += len(frame)
        return True

    def send_control(self, data: bytes) -> None:
        """Queue a ping or an Ack: never kept for a stateful reconnect."""
        if not self._aborted:
            self._enqueue(data)

    async def send_own(self, data: bytes) -> None:
        """Send a reply to this connection's own call: at once, on the calling
        task, when nothing is queued or being written (the common case, which
        saves the writer a wake-up per reply); else queued, waiting for room."""
        if self._aborted:
            return
        replay = self.replay
        if replay is not None:
            while replay.full and not self._stopped and not self._aborted:
                await self._arm_room().wait()  # set by the client's Ack
            replay.keep(data)
        direct = self._direct
        if direct is not None:
            if not self._queue and direct.writable and not self._stopped and not self._detached:
                direct.write(direct.frame(data))
                return
            await self._send_later(data)
            return
        if not self._queue and not self._writing and not self._stopped and not self._detached:
            self._writing = True
            generation = self.generation
            try:
                await self.transport.send(data)
            except TransportClosed:
                if replay is None:
                    self.abort()
                elif generation == self.generation:
                    self._lost()  # kept: the next transport gets it
            except Exception as exc:
                logger.exception("writing to connection %s failed", self.connection_id)
                self.abort(exc)
            finally:
                if generation == self.generation:  # (a resume started over)
                    self._writing = False
                if self._room is not None:  # (_room_freed and _start_writer, inlined)
                    self._room.set()
                if self._queue:  # queued meanwhile
                    self._start_writer()
            return
        limit = self._options.max_buffered_bytes
        while self._queue and self._queued_bytes + len(data) > limit:
            if self._stopped:
                return
            await self._arm_room().wait()
        self._enqueue(data)

    async def _send_later(self, data: bytes) -> None:
        """A reply over a direct transport that cannot take it now: queued
        (framed then, in order) after waiting for room, as :meth:`send_own`
        does over other transports."""
        limit = self._options.max_buffered_bytes
        while self._queue and self._queued_bytes + len(data) > limit:
            if self._stopped:
                return
            await self._arm_room().wait()
        self._enqueue(data)

    def send_final(self, data: bytes) -> None:
        """Queue the Close message: accepted even after :meth:`abort`."""
        self._enqueue(data)

    def _enqueue(self, data: bytes) -> None:
        direct = self._direct
        if direct is None:
            self._queue.append(data)
            self._queued_bytes += len(data)
            self._start_writer()
            return
        # framed now, so that frames are made in the order they are written
        frame = direct.frame(data)
        if not self._queue and direct.writable and not self._stopped and not self._detached:
            direct.write(frame)
        else:
            self._queue.append(frame)
            self._queued_bytes += len(frame)

    def _flush(self) -> None:
        """The direct transport can take writes again: write everything
        queued, in one call, and wake whoever waits for room."""
        direct = self._direct
        queue = self._queue
        if queue and direct is not None:
            if direct.closed:  # never to be written: let it go
                queue.clear()
                self._queued_bytes = 0
            elif direct.writable and not self._stopped and not self._detached:
                self._queue = []
                self._queued_bytes = 0
                direct.write_frames(queue)
        self._room_freed()

    def _arm_room(self) -> asyncio.Event:
        """The event set when the writer next takes from the queue (or stops),
        cleared now: wait on it after checking the queue, with no await between."""
        if self._room is None:
            self._room = asyncio.Event()
        self._room.clear()
        return self._room

    def _room_freed(self) -> None:
        if self._room is not None:
            self._room.set()

    def _start_writer(self) -> None:
        """Start the writer if there is something to write and nobody writing."""
        if (
            self._queue
            and not self._writing
            and self._writer is None
            and not self._stopped
            and not self._detached
        ):
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def _overflow(self, size: int) -> None:
        self.dropped_messages += 1
        if self._options.slow_client_policy == "drop":
            if self.dropped_messages == 1 or self.dropped_messages % 1000 == 0:
                logger.warning(
                    "connection %s cannot keep up: %d message(s) dropped so far "
                    "(%d bytes queued, max_buffered_bytes=%d)",
                    self.connection_id,
                    self.dropped_messages,
                    self._queued_bytes,
                    self._options.max_buffered_bytes,
                )
            return
        logger.warning(
            "closing connection %s: it cannot keep up (%d bytes queued, a %d-byte message "
            "would exceed max_buffered_bytes=%d)",
            self.connection_id,
            self._queued_bytes,
            size,
            self._options.max_buffered_bytes,
        )
        self.abort(
            ConnectionAborted("The client could not keep up with the messages sent to it."),
            allow_reconnect=True,
        )

    async def _write_loop(self) -> None:
        """Write what is queued, several messages a write, until the queue is
        empty (or a reply is being written inline, which restarts it)."""
        queue = self._queue
        transport = self.transport
        generation = self.generation
        try:
            while queue and not self._writing:
                if len(queue) == 1:
                    batch = queue.pop()
                else:
                    taken = size = 0
                    for part in queue:
                        if taken and size + len(part) > _MAX_BATCH:
                            break
                        taken += 1
                        size += len(part)
                    batch = b"".join(queue[:taken])
                    del queue[:taken]
                self._queued_bytes -= len(batch)
                self._room_freed()
                self._writing = True
                try:
                    await transport.send(batch)
                finally:
                    if generation == self.generation:
                        self._writing = False
        except TransportClosed:
            if self.replay is None:
                self.abort()
            elif generation == self.generation:
                self._lost()  # what was written is kept, and goes again on resume
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("writing to connection %s failed", self.connection_id)
            self.abort(exc)
        finally:
            if generation == self.generation:  # (a resume has a writer of its own)
                self._writer = None
            self._room_freed()
