"""Stateful reconnect, the server's side: what a connection keeps so that a
dropped WebSocket can be replaced without losing or repeating a message.

The numbering is :class:`hubgen.protocol.sequencing.Sequencer`'s, the same on
both sides. The server adds a bound: past ``limit`` bytes of messages the
client has not acknowledged it sends no more (replies wait for an Ack;
others' messages meet the slow-client policy), as ASP.NET Core's
``StatefulReconnectBufferSize``. The connection (``hubgen.server.connection``)
does the I/O and the Ack timer.
"""

from __future__ import annotations

from hubgen.protocol.sequencing import SequenceError, Sequencer, is_trackable

__all__ = ["ReplayBuffer", "SequenceError", "is_trackable"]


class ReplayBuffer(Sequencer[bytes]):
    """One connection's stateful-reconnect state on the server."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    @property
    def full(self) -> bool:
        """At or past the limit: the server waits for an Ack."""
        return self.buffered_bytes >= self.limit
