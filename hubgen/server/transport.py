"""The byte-stream interface between a hub connection and its transport.

A transport moves opaque bytes (whole hub messages on the way out); it knows
nothing of hub messages. WebSockets implement it over one socket; Server-Sent
Events and Long Polling over HTTP requests.
"""

from __future__ import annotations

import abc

__all__ = ["Transport", "TransportClosed"]


class TransportClosed(ConnectionError):
    """The transport can no longer send: the client went away."""


class Transport(abc.ABC):
    """One connection's transport, seen from the hub layer."""

    #: Name as negotiate spells it (``WebSockets``, ``ServerSentEvents``, ``LongPolling``).
    name: str = ""
    #: Whether the transport can carry binary data (MessagePack). SSE cannot.
    supports_binary: bool = True
    #: Long Polling keeps itself alive: no pings, no client timeout.
    inherent_keep_alive: bool = False

    @abc.abstractmethod
    async def receive(self) -> bytes | None:
        """The next chunk of bytes from the client; ``None`` once it is gone."""

    @abc.abstractmethod
    async def send(self, data: bytes) -> None:
        """Deliver ``data`` (one or more whole messages) to the client. Raises
        :class:`TransportClosed` when the client is gone."""

    @abc.abstractmethod
    async def close(self, *, error: bool = False) -> None:
        """End the transport after everything sent so far was delivered
        (``error``: the connection ended because of a failure)."""

    def use_binary(self, binary: bool) -> None:  # noqa: B027 - optional hook
        """Called after the handshake: ``binary`` is true for binary protocols.
        WebSockets switch their frame type here."""
