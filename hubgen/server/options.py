"""Server options, with ASP.NET Core SignalR's defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Flag
from typing import TYPE_CHECKING, Literal

from hubgen.protocol.sequencing import DEFAULT_BUFFER_SIZE

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from hubgen.server.filters import HubFilter

__all__ = ["HubOptions", "TransportType"]


class TransportType(Flag):
    """Transports an endpoint offers (bit values as in the SignalR clients)."""

    WEBSOCKETS = 1
    SERVER_SENT_EVENTS = 2
    LONG_POLLING = 4


@dataclass(frozen=True, kw_only=True)
class HubOptions:
    """How a hub endpoint behaves. Defaults match ASP.NET Core SignalR."""

    #: Interval between server pings (WebSockets and SSE).
    keep_alive_interval: float = 15.0
    #: Close a connection that sent nothing (not even a ping) for this long,
    #: counted from its first ping.
    client_timeout: float = 30.0
    #: Time a client has to complete the handshake.
    handshake_timeout: float = 15.0
    #: Largest message a client may send, in bytes; ``None`` for no limit.
    max_message_size: int | None = 32_768
    #: Send exception types and messages to callers (never enable in production).
    detailed_errors: bool = False
    #: Hub method invocations that may run at once on one connection.
    max_parallel_invocations: int = 1
    #: Items buffered per client-to-server stream before reading pauses.
    stream_buffer_capacity: int = 10
    #: Hub protocols offered, by handshake name.
    protocols: tuple[str, ...] = ("json", "messagepack")
    #: Transports offered in negotiate, in the client's order of preference.
    transports: TransportType = field(
        default=TransportType.WEBSOCKETS
        | TransportType.SERVER_SENT_EVENTS
        | TransportType.LONG_POLLING
    )
    #: The lowest negotiate protocol version a client may ask for (ASP.NET
    #: Core's ``MinimumProtocolVersion``). Version 0 has no connection token:
    #: the connection id, which hubs hand to other clients (``client(id)``),
    #: is also what the client's transport requests present, so anyone who
    #: learns it can post messages as that client over Server-Sent Events or
    #: Long Polling, or take its long polls. Every current official client
    #: asks for version 1; set 1 to refuse older ones.
    min_negotiate_version: int = 0
    #: Offer stateful reconnect (ASP.NET Core's ``AllowStatefulReconnects``):
    #: a client that asks (the official clients' ``withStatefulReconnect()``)
    #: and connects over WebSockets gets its connection back after a dropped
    #: socket, within ``disconnect_timeout``, with every message either side
    #: had not acknowledged sent again, in order.
    allow_stateful_reconnects: bool = False
    #: Bytes of unacknowledged messages kept per connection for that; past
    #: them the server sends no more until the client acknowledges (replies
    #: wait, others' messages meet ``slow_client_policy``).
    stateful_reconnect_buffer_size: int = DEFAULT_BUFFER_SIZE
    #: How long a long poll is held open when there is nothing to send.
    long_poll_timeout: float = 90.0
    #: A negotiated connection that no transport picks up within this time is
    #: dropped (ASP.NET Core's DisconnectTimeout).
    disconnect_timeout: float = 15.0
    #: Bytes queued for one connection before ``slow_client_policy`` applies
    #: to messages sent *to* it by others (broadcasts, groups, other callers).
    #: Replies to the connection's own calls wait for room instead.
    max_buffered_bytes: int = 1 << 20
    #: What to do with a connection that cannot keep up: ``"close"`` it (it
    #: reconnects and resynchronises) or ``"drop"`` the message (logged).
    slow_client_policy: Literal["close", "drop"] = "close"
    #: How long the server waits for the client's close frame.
    close_timeout: float = 5.0
    #: Server shutdown (SIGTERM, see ``HubRoute.lifespan``): how long calls
    #: and streams in flight may take to finish before every client is told
    #: to reconnect and its connection closed.
    shutdown_timeout: float = 10.0
    #: How long a client result (``await clients.client(id).method(...)``)
    #: may take before it fails with ``TimeoutError``; ``None`` waits forever.
    client_result_timeout: float | None = 30.0

    #: Hub filters around every method call, connect and disconnect, the
    #: first outermost (``hubgen.server.filters``). Options shared by several
    #: routes share their filters; ``HubRoute(filters=...)`` adds a hub's own.
    filters: tuple[HubFilter, ...] = ()
    #: The user a connection belongs to, for ``clients.user(id)``: a function
    #: of the request that created the connection (ASP.NET Core's
    #: ``IUserIdProvider``). By default, the authenticated user's ``identity``
    #: (Starlette's ``request.user``); None for anonymous connections.
    user_id_provider: Callable[[HTTPConnection], str | None] | None = None
    #: Close a connection once its credentials expire (ASP.NET Core's
    #: ``CloseOnAuthenticationExpiration``): when ``request.auth`` has an
    #: ``expires_at`` (hubgen's bearer backend sets it from the token), the
    #: client is closed with an error then, and may reconnect with a fresh token.
    close_on_authentication_expiration: bool = False

    def __post_init__(self) -> None:
        if self.max_parallel_invocations < 1:
            raise ValueError("max_parallel_invocations must be at least 1")
        if self.stream_buffer_capacity < 1:
            raise ValueError("stream_buffer_capacity must be at least 1")
        if not self.protocols:
            raise ValueError("protocols must name at least one hub protocol")
        if not self.transports:
            raise ValueError("transports must enable at least one transport")
        if self.min_negotiate_version not in (0, 1):
            raise ValueError("min_negotiate_version must be 0 or 1 (the versions hubgen speaks)")
        for name in ("keep_alive_interval", "client_timeout", "handshake_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
