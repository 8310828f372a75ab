"""The interface between a client connection and its transport.

A transport moves opaque data: what the hub layer sends (``str`` for text,
``bytes`` for binary; the handshake request is always text) and what the
server sends back (bytes, possibly several hub messages or part of one). It
knows nothing of hub messages. WebSockets (``websocket.py``) implement it
over one socket; Server-Sent Events (``sse.py``) and Long Polling
(``longpolling.py``) over HTTP requests (``http_transport.py``). The
connection finds them by name in :data:`hubgen.client.http_connection.TRANSPORTS`.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Literal, Protocol, TypeAlias

import httpx

from hubgen.client.negotiate import AccessToken
from hubgen.protocol import TransferFormat

__all__ = [
    "TRANSPORT_NAMES",
    "ClientWebSocket",
    "Transport",
    "TransportContext",
    "TransportName",
    "WebSocketFactory",
]

#: A transport, as negotiate names it.
TransportName: TypeAlias = Literal["WebSockets", "ServerSentEvents", "LongPolling"]

#: Every transport this client implements, in the official clients' order of preference.
TRANSPORT_NAMES: Final[tuple[TransportName, ...]] = (
    "WebSockets",
    "ServerSentEvents",
    "LongPolling",
)


class ClientWebSocket(Protocol):
    """An open WebSocket, as the WebSockets transport uses it: the part of the
    ``websockets`` library's ``ClientConnection`` it calls (which is one).

    ``recv`` raises ``websockets.exceptions.ConnectionClosed`` once the socket
    closed (a clean close is status 1000 in ``rcvd``)."""

    async def send(self, message: str | bytes) -> None:
        """Send ``str`` as a text frame, ``bytes`` as a binary frame."""

    async def recv(self) -> str | bytes:
        """The next message from the server."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket."""


#: Opens the WebSocket of the WebSockets transport instead of the ``websockets``
#: library (ASP.NET Core's ``WebSocketFactory``): called with the ``ws(s)://``
#: URL and the headers of the upgrade request (user agent, ``Authorization``,
#: cookies and the user's headers); returns the open socket. A refused upgrade
#: raises ``websockets.exceptions.InvalidStatus``, a socket that cannot be
#: opened ``OSError``: the transport reports both as the official client does.
#: :mod:`hubgen.client.asgi` has one that talks to an ASGI application in memory.
WebSocketFactory: TypeAlias = Callable[[str, Mapping[str, str]], Awaitable[ClientWebSocket]]


@dataclass(frozen=True, slots=True)
class TransportContext:
    """What every transport gets from its connection."""

    #: The connection's HTTP client: its cookies (sticky sessions) and settings.
    http: httpx.AsyncClient
    #: User headers, sent on every request the transport makes.
    headers: Mapping[str, str] | None
    #: The token source (resolved again for each connect).
    access_token: AccessToken
    #: How long opening the transport may take, in seconds (also the bound on
    #: Long Polling's closing ``DELETE``).
    connect_timeout: float
    #: Opens WebSockets instead of the ``websockets`` library, when set.
    websocket_factory: WebSocketFactory | None = None


class Transport(abc.ABC):
    """One connection's transport, seen from the connection."""

    #: Name as negotiate spells it.
    name: ClassVar[TransportName]
    #: Long Polling keeps itself alive: no pings, no server timeout.
    inherent_keep_alive: ClassVar[bool] = False

    def __init__(self, context: TransportContext) -> None:
        self.context = context

    @abc.abstractmethod
    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        """Open the transport to ``url`` (an ``http(s)`` URL with ``id=`` in
        its query, when negotiated). Raises :class:`~hubgen.client.TransportError`."""

    @abc.abstractmethod
    async def send(self, data: str | bytes) -> None:
        """Deliver ``data`` (one or more whole messages): ``str`` as text,
        ``bytes`` as binary. Raises :class:`~hubgen.client.TransportError`
        when the transport is closed."""

    @abc.abstractmethod
    async def receive(self) -> bytes | None:
        """The next data from the server; ``None`` once the transport closed
        cleanly. Raises :class:`~hubgen.client.TransportError` when it closed
        abnormally."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the transport (normally); afterwards :meth:`receive` returns
        None. Safe to call more than once."""
