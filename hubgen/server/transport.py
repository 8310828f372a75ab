"""The byte-stream interface between a hub connection and its transport.

A transport moves opaque bytes (whole hub messages on the way out); it knows
nothing of hub messages. WebSockets implement it over one socket; Server-Sent
Events and Long Polling over HTTP requests.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import Receive

__all__ = [
    "DirectTransport",
    "Transport",
    "TransportClosed",
    "drop_socket",
    "drop_unsent_later",
    "server_socket",
]

#: SO_LINGER on, timeout 0: closing the socket resets the connection and
#: discards what the kernel still holds for the peer.
_RESET = struct.pack("ii", 1, 0)


class TransportClosed(ConnectionError):
    """The transport can no longer send: the client went away."""


class Transport(abc.ABC):
    """One connection's transport, seen from the hub layer."""

    __slots__ = ()

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

    @property
    def bytes_received_at(self) -> float:
        """When (``time.monotonic()``) bytes last came from the client, part of
        a message still arriving included; 0 where the transport sees whole
        messages only. The client timeout counts any bytes as a sign of life,
        as ASP.NET Core's does: a large message on a slow link is no silence."""
        return 0.0

    @property
    def closing(self) -> bool:
        """Whether the client's socket is known to be going away, before the
        server has said so: writing on would only be dropped. A loop of
        writes (a stream) stops at it."""
        return False

    def abort(self) -> None:  # noqa: B027 - optional hook
        """Drop the client's socket now, without waiting for what was written
        to reach it: for a client that stopped reading, which a graceful close
        would wait on forever. Best effort (see :func:`server_socket`)."""

    def abort_later(self, delay: float) -> None:  # noqa: B027 - optional hook
        """After a graceful :meth:`close`: drop the socket in ``delay`` seconds
        if the client has not taken what was written by then (a client that
        stopped reading holds a closed connection's socket forever)."""

    def use_binary(self, binary: bool) -> None:  # noqa: B027 - optional hook
        """Called after the handshake: ``binary`` is true for binary protocols.
        WebSockets switch their frame type here."""


class DirectTransport(Transport):
    """A transport that writes without waiting: hubgen's own WebSocket
    protocol under uvicorn (``hubgen.server.wsprotocol``), which owns the
    socket. The connection frames what it sends (:meth:`frame`) and writes
    the frames at once while the socket takes them (:attr:`writable`);
    otherwise it queues them and writes them all in one call when the
    transport says it can take more again (:meth:`on_writable`).

    :meth:`~Transport.send` works as well (the handshake uses it).
    """

    __slots__ = ()

    #: The frame of a message is the same bytes on every connection (no
    #: per-connection compression): a message sent to many is framed once
    #: (``SerializedMessage.frame``) and the same bytes go to every socket.
    shared_frames: bool = True
    #: The socket takes writes now (open, and not past its high-water mark);
    #: kept current by the transport.
    writable: bool = False
    #: Nothing can be written any more (the socket is closed or closing).
    closed: bool = False

    @abc.abstractmethod
    def frame(self, data: bytes) -> bytes:
        """``data`` (one or more whole hub messages) as one WebSocket frame
        of this connection. With per-connection compression the frames
        must be written in the order they were made."""

    @abc.abstractmethod
    def write(self, frame: bytes) -> None:
        """Write one frame now (dropped once the socket is closed)."""

    @abc.abstractmethod
    def write_frames(self, frames: list[bytes]) -> None:
        """Write several frames now, in one call."""

    @abc.abstractmethod
    def on_writable(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` whenever the socket can take writes again after
        it could not, and once it is closed (nobody need wait then)."""


def server_socket(receive: Receive) -> Any | None:
    """The ASGI server's transport for the socket behind ``receive``, when the
    server exposes one (else None).

    ASGI offers no way to drop a connection: a server closes its socket
    gracefully, after everything written has been delivered, which never
    happens when the peer stops reading. uvicorn hands every application the
    bound ``receive`` of the object that owns the socket (its WebSocket
    protocol, or its HTTP request cycle), whose ``transport`` is the asyncio
    (or uvloop) transport: that one can be aborted. Behind another server, or
    middleware that wraps ``receive``, there is none, and a connection that
    stops reading is left to the server (its socket, not hubgen's state).
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if callable(getattr(transport, "abort", None)) and callable(
        getattr(transport, "is_closing", None)
    ):
        return transport
    return None


def drop_socket(transport: Any) -> None:
    """Reset the connection of a server transport (see :func:`server_socket`):
    what it and the kernel still buffer for the peer is discarded. A plain
    ``abort()`` only skips the transport's own buffer: the kernel would go on
    holding the rest, for minutes, for a peer that does not read."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    transport.abort()


def _unsent(transport: Any) -> int:
    """Bytes written to ``transport`` that its peer has not taken yet: in the
    transport's buffer, or in the kernel's send queue (Linux)."""
    unsent = int(transport.get_write_buffer_size())
    if not unsent:
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError, ValueError):
            queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
            unsent = struct.unpack("i", queued)[0]
    return unsent


def drop_unsent_later(transport: Any, delay: float) -> None:
    """If ``transport`` holds data its peer has not taken, reset it in ``delay``
    seconds unless the peer has taken it by then. A peer that stopped reading
    never takes it, and a graceful close waits for it forever (and the
    kernel after it, for minutes). Nothing is kept for a transport with
    nothing unsent, or one that closes meanwhile."""
    if transport.is_closing() or not _unsent(transport):
        return
    asyncio.get_running_loop().call_later(delay, _drop_if_unsent, weakref.ref(transport))


def _drop_if_unsent(reference: weakref.ref[Any]) -> None:
    transport = reference()
    if transport is not None and not transport.is_closing() and _unsent(transport):
        drop_socket(transport)
