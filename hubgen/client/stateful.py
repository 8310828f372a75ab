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
from collections import deque
from collections.abc import Callable
from typing import Final

from hubgen.protocol import (
    CancelInvocationMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = [
    "ACK_DELAY",
    "DEFAULT_BUFFER_SIZE",
    "MessageBuffer",
    "SequenceError",
    "is_trackable",
]

#: Bytes of unacknowledged messages kept before sends wait (the official clients').
DEFAULT_BUFFER_SIZE: Final = 100_000
#: Seconds between the first unacknowledged message from the server and the Ack.
ACK_DELAY: Final = 1.0

_TRACKABLE: Final = (
    InvocationMessage,
    StreamItemMessage,
    CompletionMessage,
    StreamInvocationMessage,
    CancelInvocationMessage,
)


def is_trackable(message: HubMessage) -> bool:
    """Whether ``message`` is numbered and kept until acknowledged (pings,
    closes, acks and sequences are not)."""
    return isinstance(message, _TRACKABLE)


class SequenceError(ValueError):
    """The server's Sequence message starts beyond what the client received:
    messages were lost, and the connection cannot go on."""


class MessageBuffer:
    """One connection's stateful reconnect state; see the module.

    ``send_ack(sequence_id)`` is called (from a timer) to send an Ack.
    ``reconnect_timeout``: seconds from a drop within which the reconnect
    must complete (the server's Sequence message arrive).
    """

    __slots__ = (
        "_ack_timer",
        "_acked",
        "_error",
        "_kept",
        "_next_receiving",
        "_room",
        "_send_ack",
        "_sent",
        "buffered_bytes",
        "latest_received",
        "limit",
        "reconnect_timeout",
        "reconnecting",
        "unanswered_since",
        "waiting_for_sequence",
    )

    def __init__(
        self, limit: int, send_ack: Callable[[int], None], reconnect_timeout: float
    ) -> None:
        self.limit = limit
        self.reconnect_timeout = reconnect_timeout
        self._send_ack = send_ack
        #: (number, framed data) of each trackable message not yet acknowledged.
        self._kept: deque[tuple[int, str | bytes]] = deque()
        self._sent = 0
        self._acked = 0
        self.buffered_bytes = 0
        #: Set (and replaced) whenever an Ack frees room: senders waiting wake.
        self._room = asyncio.Event()
        #: Why waiting senders fail: the connection closed (see :meth:`dispose`).
        self._error: Exception | None = None
        self._next_receiving = 1
        #: The highest number taken from the server: what an Ack says.
        self.latest_received = 0
        self._ack_timer: asyncio.TimerHandle | None = None
        #: The socket is gone and the new one not yet resent to: write nothing.
        self.reconnecting = False
        #: Nothing from the server counts until its Sequence message.
        self.waiting_for_sequence = False
        #: When the socket dropped (loop time), until the server's Sequence
        #: message completes the reconnect; None when there is none under way.
        self.unanswered_since: float | None = None

    # -- sending -----------------------------------------------------------------------

    def keep(self, data: str | bytes) -> int:
        """Keep ``data`` (a framed trackable message on its way to the server)
        until acknowledged; its number."""
        self._sent += 1
        self._kept.append((self._sent, data))
        self.buffered_bytes += len(data)
        return self._sent

    async def wait_for_room(self, number: int) -> None:
        """Back-pressure: with ``limit`` bytes or more kept, wait until message
        ``number`` is acknowledged or the kept bytes fall below the limit.
        Raises the connection's error once it closed."""
        while self.buffered_bytes >= self.limit and number > self._acked:
            if self._error is not None:
                raise self._error
            await self._room.wait()

    def acknowledge(self, sequence_id: int) -> None:
        """The server's Ack: it took every message up to ``sequence_id``."""
        kept = self._kept
        freed = False
        while kept and kept[0][0] <= sequence_id:
            self.buffered_bytes -= len(kept.popleft()[1])
            freed = True
        self._acked = max(self._acked, sequence_id)
        if freed:
            self._wake()

    def replay(self) -> tuple[SequenceMessage, list[str | bytes]]:
        """What goes first on a new socket: a Sequence message (the number of
        the first message sent again, or of the next one when none is kept),
        then every message not yet acknowledged, in order."""
        first = self._kept[0][0] if self._kept else self._sent + 1
        return SequenceMessage(first), [data for _, data in self._kept]

    # -- receiving ---------------------------------------------------------------------

    def should_process(self, message: HubMessage) -> bool:
        """Whether a message from the server is to be handled: false for one
        already handled (sent again after a reconnect) and for anything
        before the server's Sequence message after a reconnect."""
        if self.waiting_for_sequence:
            if not isinstance(message, SequenceMessage):
                return False
            self.waiting_for_sequence = False
            return True
        if not isinstance(message, _TRACKABLE):
            return True
        current = self._next_receiving
        self._next_receiving += 1
        if current <= self.latest_received:
            if current == self.latest_received:
                # The server sends again what it kept: it missed our Ack.
                self._schedule_ack()
            return False
        self.latest_received = current
        self._schedule_ack()
        return True

    def reset_sequence(self, sequence_id: int) -> None:
        """The server's Sequence message: its messages count from
        ``sequence_id`` again. Completes a reconnect."""
        if sequence_id > self._next_receiving:
            raise SequenceError("Sequence ID greater than amount of messages we've received.")
        self._next_receiving = sequence_id
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
        self.waiting_for_sequence = True
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
