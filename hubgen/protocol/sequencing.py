"""Stateful reconnect's numbering of messages, the same on both sides.

When a connection asks for stateful reconnect (handshake version 2, over
WebSockets), both sides number their *trackable* messages (Invocation,
StreamItem, Completion, StreamInvocation, CancelInvocation) 1, 2, 3, …: the
sender keeps each until the receiver's Ack covers it; after a dropped socket
is replaced, each side first says where its messages start again (a
Sequence message) and sends what was not acknowledged, and the receiver
drops what it had already taken. :class:`Sequencer` is that bookkeeping for
one side of one connection, without I/O or timers; the server
(``hubgen.server.stateful``) and the client (``hubgen.client.stateful``) add
their own waiting and timing. The rules are the official clients'
(``MessageBuffer.ts``) and ASP.NET Core's.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Generic, TypeVar

from hubgen.protocol.messages import (
    CancelInvocationMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = ["ACK_DELAY", "DEFAULT_BUFFER_SIZE", "SequenceError", "Sequencer", "is_trackable"]

#: Bytes of unacknowledged messages a side keeps before it sends no more
#: (the official clients' default, and ASP.NET Core's).
DEFAULT_BUFFER_SIZE: Final = 100_000
#: Seconds from the first message not yet acknowledged to the Ack for it
#: (and everything that arrives meanwhile), as the official clients wait.
ACK_DELAY: Final = 1.0

_TRACKABLE: Final = (
    InvocationMessage,
    StreamItemMessage,
    CompletionMessage,
    StreamInvocationMessage,
    CancelInvocationMessage,
)

#: What is kept of a message: its framed bytes (or, for JSON, text).
D = TypeVar("D", bound=bytes | str)


def is_trackable(message: HubMessage) -> bool:
    """Whether ``message`` is numbered and kept until acknowledged (pings,
    closes, acks and sequences are not)."""
    return isinstance(message, _TRACKABLE)


class SequenceError(ValueError):
    """A Sequence message starts beyond what was received: messages were
    lost, and the connection cannot go on."""


class Sequencer(Generic[D]):
    """One side's stateful-reconnect numbering, both directions."""

    __slots__ = (
        "_kept",
        "_next_receiving",
        "_sent",
        "acknowledged",
        "buffered_bytes",
        "latest_received",
        "waiting_for_sequence",
    )

    def __init__(self) -> None:
        #: (number, framed data) of each trackable message not yet acknowledged.
        self._kept: deque[tuple[int, D]] = deque()
        self._sent = 0
        #: The highest number the other side acknowledged.
        self.acknowledged = 0
        self.buffered_bytes = 0
        self._next_receiving = 1
        #: The highest number taken from the other side: what an Ack says.
        self.latest_received = 0
        #: After a dropped socket, nothing from the other side counts until
        #: its Sequence message.
        self.waiting_for_sequence = False

    # -- sending -----------------------------------------------------------------------

    def keep(self, data: D) -> int:
        """Keep ``data`` (a framed trackable message on its way) until it is
        acknowledged; its number."""
        self._sent += 1
        self._kept.append((self._sent, data))
        self.buffered_bytes += len(data)
        return self._sent

    def acknowledge(self, sequence_id: int) -> bool:
        """The other side's Ack: it took every message up to ``sequence_id``.
        True when that freed something."""
        kept = self._kept
        freed = False
        while kept and kept[0][0] <= sequence_id:
            self.buffered_bytes -= len(kept.popleft()[1])
            freed = True
        self.acknowledged = max(self.acknowledged, sequence_id)
        return freed

    def replay(self) -> tuple[SequenceMessage, list[D]]:
        """What goes first on a new socket: the Sequence message (the number
        of the first message sent again, or of the next one when none is
        kept), then every message not yet acknowledged, in order."""
        first = self._kept[0][0] if self._kept else self._sent + 1
        return SequenceMessage(first), [data for _, data in self._kept]

    # -- receiving ---------------------------------------------------------------------

    def accept(self, message: HubMessage) -> tuple[bool, bool]:
        """A message from the other side: whether to handle it (false for one
        already handled and sent again after a reconnect, and for anything
        before its Sequence message), and whether an Ack is due (a new
        trackable message, or the last one again: the sender missed our Ack).
        Counts trackable messages."""
        if self.waiting_for_sequence:
            if not isinstance(message, SequenceMessage):
                return False, False
            self.waiting_for_sequence = False
            return True, False
        if not isinstance(message, _TRACKABLE):
            return True, False
        current = self._next_receiving
        self._next_receiving += 1
        if current <= self.latest_received:
            return False, current == self.latest_received
        self.latest_received = current
        return True, True

    def reset_sequence(self, sequence_id: int) -> None:
        """The other side's Sequence message: its messages count from
        ``sequence_id`` again."""
        if sequence_id > self._next_receiving:
            raise SequenceError("Sequence ID greater than amount of messages we've received.")
        self._next_receiving = sequence_id

    def transport_lost(self) -> None:
        """The socket is gone: what the other side sends next starts with a
        Sequence message."""
        self.waiting_for_sequence = True
