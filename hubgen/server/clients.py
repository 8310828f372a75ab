"""Addressing connected clients: ``clients.all``, ``clients.group(...)``, ...

Generated code subclasses :class:`ClientProxy` (methods every addressed
connection receives) and :class:`SingleClientProxy` (one connection; methods
with a result are *client results* the server awaits). :class:`HubClients`
hands out proxies for the targets ASP.NET Core offers; inside a hub method
:class:`HubCallerClients` adds ``caller`` and ``others``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from hubgen.codec import CodecError
from hubgen.errors import HubError
from hubgen.protocol.messages import HubMessage, InvocationMessage
from hubgen.server.lifetime import HubLifetimeManager, SerializedMessage
from hubgen.wire import WireFormat

if TYPE_CHECKING:
    from hubgen.spec import Method

__all__ = [
    "ClientProxy",
    "GroupManager",
    "HubCallerClients",
    "HubClients",
    "SingleClientProxy",
]

R = TypeVar("R")
P = TypeVar("P", bound="ClientProxy")
S = TypeVar("S", bound="SingleClientProxy")

_Deliver = Callable[[SerializedMessage], Awaitable[None]]


def _invocation(method: Method[Any], args: tuple[Any, ...]) -> SerializedMessage:
    def build(wire: WireFormat) -> HubMessage:
        return InvocationMessage(
            target=method.wire_name, arguments=method.binder(wire).encode_arguments(args)
        )

    return SerializedMessage(build)


class ClientProxy:
    """Calls client methods on every connection it addresses; base of generated
    ``<Client>Proxy`` classes."""

    __slots__ = ("_deliver",)

    def __init__(self, deliver: _Deliver) -> None:
        self._deliver = deliver

    async def _send(self, method: Method[Any], *args: Any) -> None:
        """Send an invocation of ``method`` (no result expected)."""
        await self._deliver(_invocation(method, args))


class SingleClientProxy(ClientProxy):
    """Calls client methods on one connection; base of generated
    ``<Client>SingleProxy`` classes. Methods with a result await the client's
    answer (client results)."""

    __slots__ = ("_connection_id", "_lifetime", "_timeout")

    def __init__(
        self,
        lifetime: HubLifetimeManager,
        connection_id: str,
        timeout: float | None,
    ) -> None:
        super().__init__(lambda message: lifetime.send_connections((connection_id,), message))
        self._lifetime = lifetime
        self._connection_id = connection_id
        self._timeout = timeout

    async def _invoke(self, method: Method[R], *args: Any) -> R:
        """Invoke ``method`` on the client and return its typed result.

        Raises :class:`~hubgen.HubError` with the client's error text (e.g.
        ``Client didn't provide a result.``), when the connection does not
        exist or disconnects, or when the result does not match the contract;
        ``TimeoutError`` after ``HubOptions.client_result_timeout``.
        """
        encoded: dict[WireFormat, list[Any]] = {}

        def build(invocation_id: str, wire: WireFormat) -> HubMessage:
            if wire not in encoded:
                encoded[wire] = method.binder(wire).encode_arguments(args)
            return InvocationMessage(
                target=method.wire_name, arguments=encoded[wire], invocation_id=invocation_id
            )

        async with asyncio.timeout(self._timeout):
            completion, wire = await self._lifetime.invoke_connection(self._connection_id, build)
        if completion.error is not None:
            raise HubError(completion.error)
        try:
            return cast("R", method.binder(wire).decode_result(completion.result))
        except CodecError as exc:
            raise HubError(
                f"The client's result for '{method.wire_name}' does not match the contract: "
                f"{exc.message}"
            ) from exc


class GroupManager:
    """Adds connections to groups and removes them (``self.groups`` in a hub)."""

    __slots__ = ("_lifetime",)

    def __init__(self, lifetime: HubLifetimeManager) -> None:
        self._lifetime = lifetime

    async def add(self, connection_id: str, group: str) -> None:
        """Add a connection to a group; adding twice is harmless."""
        await self._lifetime.add_to_group(connection_id, group)

    async def remove(self, connection_id: str, group: str) -> None:
        """Remove a connection from a group; removing a non-member is harmless."""
        await self._lifetime.remove_from_group(connection_id, group)


class HubClients(Generic[P, S]):
    """Proxies for every way of addressing a hub's clients.

    ``P`` is the generated multi-connection proxy, ``S`` the single-connection one.
    """

    __slots__ = ("_all", "_lifetime", "_proxy", "_single", "_timeout")

    def __init__(
        self,
        lifetime: HubLifetimeManager,
        proxy: type[P],
        single: type[S],
        *,
        client_result_timeout: float | None = 30.0,
    ) -> None:
        self._lifetime = lifetime
        self._proxy = proxy
        self._single = single
        self._timeout = client_result_timeout
        self._all: P | None = None

    @property
    def all(self) -> P:
        """Every connection of the hub."""
        if self._all is None:
            lifetime = self._lifetime
            self._all = self._proxy(lambda m: lifetime.send_all(m))
        return self._all

    def all_except(self, *connection_ids: str) -> P:
        """Every connection but the ones given."""
        excluded = frozenset(connection_ids)
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_all(m, excluded))

    def client(self, connection_id: str) -> S:
        """One connection; client results are available."""
        return self._single(self._lifetime, connection_id, self._timeout)

    def clients(self, *connection_ids: str) -> P:
        """The connections given."""
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_connections(connection_ids, m))

    def group(self, group: str) -> P:
        """Every connection in ``group``."""
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_groups((group,), m))

    def group_except(self, group: str, *connection_ids: str) -> P:
        """Every connection in ``group`` but the ones given."""
        excluded = frozenset(connection_ids)
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_groups((group,), m, excluded))

    def groups(self, *groups: str) -> P:
        """Every connection in any of ``groups`` (each reached once)."""
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_groups(groups, m))

    def user(self, user_id: str) -> P:
        """Every connection of one user."""
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_users((user_id,), m))

    def users(self, *user_ids: str) -> P:
        """Every connection of the users given."""
        lifetime = self._lifetime
        return self._proxy(lambda m: lifetime.send_users(user_ids, m))


class HubCallerClients(HubClients[P, S]):
    """:class:`HubClients` as seen from inside a hub method: adds the caller."""

    __slots__ = ("_caller", "_connection_id")

    def __init__(
        self,
        lifetime: HubLifetimeManager,
        proxy: type[P],
        single: type[S],
        connection_id: str,
        *,
        client_result_timeout: float | None = 30.0,
    ) -> None:
        super().__init__(lifetime, proxy, single, client_result_timeout=client_result_timeout)
        self._connection_id = connection_id
        self._caller: S | None = None

    @property
    def caller(self) -> S:
        """The connection that made the current call."""
        if self._caller is None:
            self._caller = self.client(self._connection_id)
        return self._caller

    @property
    def others(self) -> P:
        """Every connection but the caller."""
        return self.all_except(self._connection_id)

    def others_in_group(self, group: str) -> P:
        """Every connection in ``group`` but the caller."""
        return self.group_except(group, self._connection_id)
