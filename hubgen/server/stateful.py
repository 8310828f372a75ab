"""Stateful reconnect: what each side keeps so that a dropped WebSocket can be
replaced without losing or repeating a message (handshake version 2; Ack and
Sequence messages).

Both directions number their *trackable* messages (Invocation, StreamItem,
Completion, StreamInvocation, CancelInvocation) 1, 2, 3, … The sender keeps
each until the receiver acknowledges it (an Ack names the highest number it
took); after a reconnect the sender first says where it starts again (a
Sequence message) and sends what was not acknowledged, and the receiver
drops what it had already taken. The rules are the official clients'
(``MessageBuffer.ts``) and ASP.NET Core's (``MessageBuffer.cs``).
"""

from __future__ import annotations

from collections import deque

from hubgen.protocol.messages import (
    CancelInvocationMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = ["ReplayBuffer", "SequenceError", "is_trackable"]

_TRACKABLE = (
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
    """A Sequence message starts beyond what was received: messages were lost."""


class ReplayBuffer:
    """One connection's side of stateful reconnect, on the server.

    Outgoing: every trackable message written to the client is kept, with its
    number, until an Ack covers it; ``size`` bytes at most before the sender
    must wait (``full``). Incoming: the client's trackable messages are
    counted, duplicates after a reconnect recognized, and the number to
    acknowledge kept.
    """

    __slots__ = (
        "_kept",
        "_next_receiving",
        "_sent",
        "buffered_bytes",
        "latest_received",
        "limit",
        "waiting_for_sequence",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: deque[tuple[int, bytes]] = deque()
        self._sent = 0
        self.buffered_bytes = 0
        self._next_receiving = 1
        #: The highest number taken from the client: what an Ack says.
        self.latest_received = 0
        #: After a reconnect, nothing from the client counts until its Sequence.
        self.waiting_for_sequence = False

    # -- outgoing ------------------------------------------------------------------------

    def keep(self, data: bytes) -> None:
        """A trackable message (framed) on its way to the client."""
        self._sent += 1
        self._kept.append((self._sent, data))
        self.buffered_bytes += len(data)

    @property
    def full(self) -> bool:
        """At or past the limit: the sender waits for an Ack."""
        return self.buffered_bytes >= self.limit

    def acknowledge(self, sequence_id: int) -> bool:
        """The client took everything up to ``sequence_id``; True when that
        freed something."""
        freed = False
        kept = self._kept
        while kept and kept[0][0] <= sequence_id:
            self.buffered_bytes -= len(kept.popleft()[1])
            freed = True
        return freed

    def replay(self) -> tuple[SequenceMessage, list[bytes]]:
        """What to send first on a new transport: the Sequence message (the
        number of the first message replayed, or of the next one when none
        is kept), then every message not yet acknowledged, in order."""
        first = self._kept[0][0] if self._kept else self._sent + 1
        return SequenceMessage(first), [data for _, data in self._kept]

    # -- incoming ------------------------------------------------------------------------

    def should_process(self, message: HubMessage) -> bool:
        """Whether a message from the client is new (to be handled): false for
        a duplicate replayed after a reconnect, and for anything before the
        client's Sequence message. Counts trackable messages."""
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
            return False
        self.latest_received = current
        return True

    def reset_sequence(self, sequence_id: int) -> None:
        """The client's Sequence message: it starts again at ``sequence_id``."""
        if sequence_id > self._next_receiving:
            raise SequenceError("Sequence ID greater than amount of messages we've received.")
        self._next_receiving = sequence_id

    def transport_lost(self) -> None:
        """The transport is gone: what the client sends next starts with a Sequence."""
        self.waiting_for_sequence = True
