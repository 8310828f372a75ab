"""The base of hub implementations and what a hub method sees of its caller."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from hubgen.server.clients import (
    ClientProxy,
    GroupManager,
    HubCallerClients,
    SingleClientProxy,
)

if TYPE_CHECKING:
    from starlette.authentication import AuthCredentials, BaseUser
    from starlette.requests import HTTPConnection

    from hubgen.server.connection import Connection
    from hubgen.spec import HubSpec

__all__ = ["Hub", "HubCallerContext"]

P = TypeVar("P", bound=ClientProxy)
S = TypeVar("S", bound=SingleClientProxy)


class HubCallerContext:
    """The connection behind the current call (ASP.NET Core's ``Context``)."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def connection_id(self) -> str:
        """The connection's public id (``Clients.Client(id)`` takes it)."""
        return self._connection.connection_id

    @property
    def user(self) -> BaseUser:
        """The user the connection belongs to (Starlette's ``request.user`` when
        it was made, fixed for its life); unauthenticated when nobody signed in."""
        return self._connection.principal.user

    @property
    def auth(self) -> AuthCredentials:
        """The user's credentials (Starlette's ``request.auth``): ``scopes``,
        and ``expires_at`` with hubgen's bearer backend."""
        return self._connection.principal.auth

    @property
    def user_identifier(self) -> str | None:
        """The id ``clients.user(id)`` reaches this connection by (from the
        route's user-id provider); None for an anonymous connection."""
        return self._connection.user_identifier

    @property
    def items(self) -> dict[Any, Any]:
        """State kept for the lifetime of the connection."""
        return self._connection.items

    @property
    def request(self) -> HTTPConnection:
        """The HTTP request that opened the transport: headers, query, cookies."""
        return self._connection.request

    @property
    def protocol(self) -> str:
        """The hub protocol in use (``json`` or ``messagepack``)."""
        return self._connection.protocol.name

    @property
    def transport(self) -> str:
        """The transport in use (``WebSockets``, ``ServerSentEvents``, ``LongPolling``)."""
        return self._connection.transport.name

    def abort(self) -> None:
        """Close the connection; the client is told not to reconnect."""
        self._connection.abort()


class Hub(Generic[P, S], metaclass=abc.ABCMeta):
    """Base of every hub implementation.

    Don't subclass this directly: subclass the ``<Hub>Base`` that ``hubgen
    generate`` writes, which fixes ``P`` and ``S`` to the typed client proxies
    and declares the contract's methods (abstract, so a missing one fails at
    ``HubRoute`` and in mypy). An instance is created for each call
    (the class with no arguments, or the route's ``factory``); keep state that
    outlives a call in ``self.context.items`` or in objects the factory passes.
    """

    spec: ClassVar[HubSpec]
    client_proxy: ClassVar[type[ClientProxy]]
    single_client_proxy: ClassVar[type[SingleClientProxy]]

    context: HubCallerContext
    clients: HubCallerClients[P, S]
    groups: GroupManager

    async def on_connected(self) -> None:
        """Called when a client has connected (after the handshake)."""

    async def on_disconnected(self, exception: BaseException | None) -> None:
        """Called when a client has disconnected; ``exception`` says why, if
        the connection ended with an error."""
