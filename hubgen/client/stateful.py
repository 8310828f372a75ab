"""Stateful reconnect, the client's side: what it keeps so that a dropped
WebSocket can be replaced without losing or repeating a message.

When the client asks for it (``HubConnection(stateful_reconnect=True)``), the
server agrees at negotiate and the transport is WebSockets, the handshake asks
for version 2 and both sides number their *trackable* messages (Invocation,
StreamItem, Completion, StreamInvocation, CancelInvocation) 1, 2, 3, …
:class:`MessageBuffer` is one connection's bookkeeping, as the official
clients' ``MessageBuffer`` keeps it:

* **sending**: every trackable message is kept until the server acknowledges
  it (an Ack names the highest number it took). Past ``limit`` bytes kept, the
  sender waits for an Ack (back-pressure). While a reconnect is under way
  nothing is written; the kept messages go out after it.
* **receiving**: the server's trackable messages are counted, duplicates (sent
  again after a reconnect) recognised and dropped, and an Ack for what arrived
  goes out within a second (one for everything that arrives meanwhile).
* **reconnecting**: once the socket is gone, nothing the server sends counts
  until its Sequence message (where its replay starts); the client starts its
  own replay with a Sequence message too (:meth:`MessageBuffer.replay`).
  Each drop gets one new socket, as in the official clients. A reconnect is
  complete when the server's Sequence message arrives; a new socket that
  drops before may be replaced again (a flaky network), but only for
  ``reconnect_timeout`` seconds from the first drop: a link that never lets
  a Sequence through, or a server that takes sockets and drops them, does not
  keep the client reconnecting forever.

The I/O is the connection's: the buffer tells it what to send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hubgen.protocol.messages import HubMessage
from hubgen.protocol.sequencing import (
    ACK_DELAY,
    DEFAULT_BUFFER_SIZE,
    SequenceError,
    Sequencer,
    is_trackable,
)

__all__ = [
    "ACK_DELAY",
    "DEFAULT_BUFFER_SIZE",
    "MessageBuffer",
    "SequenceError",
    "is_trackable",
]


class MessageBuffer(Sequencer["str | bytes"]):
    """One connection's stateful reconnect state; see the module. The
    numbering is :class:`~hubgen.protocol.sequencing.Sequencer`'s, the same
    as the server's; this adds back-pressure, the Ack timer and the timing
    of a reconnect.

    ``send_ack(sequence_id)`` is called (from a timer) to send an Ack.
    ``reconnect_timeout``: seconds from a drop within which the reconnect
    must complete (the server's Sequence message arrive).
    """

    __slots__ = (
        "_ack_timer",
        "_error",
        "_room",
        "_send_ack",
        "limit",
        "reconnect_timeout",
        "reconnecting",
        "unanswered_since",
    )

    def __init__(
        self, limit: int, send_ack: Callable[[int], None], reconnect_timeout: float
    ) -> None:
        super().__init__()
        self.limit = limit
        self.reconnect_timeout = reconnect_timeout
        self._send_ack = send_ack
        #: Set (and replaced) whenever an Ack frees room: senders waiting wake.
        self._room = asyncio.Event()
        #: Why waiting senders fail: the connection closed (see :meth:`dispose`).
        self._error: Exception | None = None
        self._ack_timer: asyncio.TimerHandle | None = None
        #: The socket is gone and the new one not yet resent to: write nothing.
        self.reconnecting = False
        #: When the socket dropped (loop time), until the server's Sequence
        #: message completes the reconnect; None when there is none under way.
        self.unanswered_since: float | None = None

    # -- sending -----------------------------------------------------------------------

    async def wait_for_room(self, number: int) -> None:
        """Back-pressure: with ``limit`` bytes or more kept, wait until message
        ``number`` is acknowledged or the kept bytes fall below the limit.
        Raises the connection's error once it closed."""
        while self.buffered_bytes >= self.limit and number > self.acknowledged:
            if self._error is not None:
                raise self._error
            await self._room.wait()

    def acknowledge(self, sequence_id: int) -> bool:
        """The server's Ack: it took every message up to ``sequence_id``."""
        freed = super().acknowledge(sequence_id)
        if freed:
            self._wake()
        return freed

    # -- receiving ---------------------------------------------------------------------

    def should_process(self, message: HubMessage) -> bool:
        """Whether a message from the server is to be handled (see
        :meth:`~hubgen.protocol.sequencing.Sequencer.accept`); an Ack goes out
        within :data:`ACK_DELAY` for what is new (or sent again)."""
        handle, ack = self.accept(message)
        if ack:
            self._schedule_ack()
        return handle

    def reset_sequence(self, sequence_id: int) -> None:
        """The server's Sequence message: its messages count from
        ``sequence_id`` again. Completes a reconnect."""
        super().reset_sequence(sequence_id)
        self.unanswered_since = None

    def _schedule_ack(self) -> None:
        if self._ack_timer is None and self._error is None:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(ACK_DELAY, self._ack)

    def _ack(self) -> None:
        self._ack_timer = None
        if not self.reconnecting and self._error is None:
            self._send_ack(self.latest_received)

    # -- the socket --------------------------------------------------------------------

    @property
    def may_reconnect(self) -> bool:
        """Whether a socket that ended may be replaced: always, unless the
        reconnect under way began ``reconnect_timeout`` seconds ago or more
        (its new sockets all ended before the server's Sequence message)."""
        since = self.unanswered_since
        now = asyncio.get_running_loop().time()
        return since is None or now - since < self.reconnect_timeout

    def disconnected(self) -> None:
        """The socket is gone: write nothing until :meth:`resumed`, and take
        nothing from the server until its Sequence message."""
        self.reconnecting = True
        self.transport_lost()
        if self.unanswered_since is None:
            self.unanswered_since = asyncio.get_running_loop().time()

    def resumed(self) -> None:
        """A new socket is up and the replay (:meth:`replay`) is on its way:
        write again. The reconnect completes with the server's Sequence."""
        self.reconnecting = False

    def dispose(self, error: Exception) -> None:
        """The connection closed: senders waiting for room fail with ``error``."""
        self._error = error
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        self._wake()

    def _wake(self) -> None:
        self._room.set()
        self._room = asyncio.Event()
