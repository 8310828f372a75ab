"""Who is connected, which groups they are in, and delivering messages to them.

:class:`HubLifetimeManager` is the seam for scale-out: the in-memory manager
here serves one process; the Redis manager (``hubgen.server.redis``) many.
Messages are handed over as :class:`SerializedMessage`, which encodes a hub
message at most once per protocol however many connections receive it, and
can travel to another process as the framed bytes of every protocol, to be
written there as they are. Over hubgen's own WebSocket protocol it also
makes the WebSocket frame once per protocol: every receiver's socket is
handed the same bytes.

A manager's life: the route binds it to its hub (:meth:`HubLifetimeManager.bind`,
with the hub's name and protocols) when it is made; :meth:`~HubLifetimeManager.start`
runs before the first connection (from the application's lifespan, see
``HubRoute.lifespan``, or else on first use); :meth:`~HubLifetimeManager.close`
when the application stops.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from hubgen.errors import HubError
from hubgen.protocol.base import TransferFormat
from hubgen.protocol.messages import CompletionMessage, HubMessage
from hubgen.server.frames import data_frame

if TYPE_CHECKING:
    from hubgen.protocol.base import HubProtocol
    from hubgen.server.connection import Connection
    from hubgen.wire import WireFormat

__all__ = ["HubLifetimeManager", "InMemoryLifetimeManager", "SerializedMessage"]


class SerializedMessage:
    """A hub message built and encoded lazily, once per protocol.

    ``build`` receives the wire format and returns the message with its
    arguments encoded for it (a codec error raises to whoever sends). A
    message that came from another process has no builder, only the framed
    bytes it was sent with (:meth:`from_framed`).
    """

    __slots__ = ("_build", "_bytes", "_frames")

    def __init__(self, build: Callable[[WireFormat], HubMessage] | None) -> None:
        self._build = build
        self._bytes: dict[str, bytes] = {}
        #: WebSocket frames (header and all), by protocol name, made when first asked for.
        self._frames: dict[str, bytes] | None = None

    @classmethod
    def from_framed(cls, framed: Mapping[str, bytes]) -> SerializedMessage:
        """A message as another process framed it, by protocol name: written
        as it is, never decoded."""
        message = cls(None)
        message._bytes.update(framed)
        return message

    def to_bytes(self, protocol: HubProtocol) -> bytes:
        """The message framed for ``protocol``. Raises :class:`LookupError` for
        a message from elsewhere that was not framed in it."""
        data = self._bytes.get(protocol.name)
        if data is None:
            if self._build is None:
                raise LookupError(f"the message was not sent in the '{protocol.name}' protocol")
            data = self._bytes[protocol.name] = protocol.write(self._build(protocol.wire))
        return data

    def frame(self, protocol: HubProtocol) -> bytes:
        """The message as one uncompressed WebSocket frame of ``protocol``
        (text for JSON, binary for MessagePack), made once and then the same
        bytes object for every connection it is written to. Raises as
        :meth:`to_bytes` does."""
        frames = self._frames
        if frames is None:
            frames = self._frames = {}
        else:
            frame = frames.get(protocol.name)
            if frame is not None:
                return frame
        frame = frames[protocol.name] = data_frame(
            self.to_bytes(protocol), protocol.transfer_format is TransferFormat.BINARY
        )
        return frame

    def framed(self, protocols: Iterable[HubProtocol]) -> dict[str, bytes]:
        """The message framed for each of ``protocols`` (for another process)."""
        return {protocol.name: self.to_bytes(protocol) for protocol in protocols}


def _deliver_around(
    error: Exception,
    failed: Connection,
    remaining: Iterator[Connection],
    message: SerializedMessage,
) -> None:
    """``message`` could not be written in ``failed``'s protocol (``error``):
    deliver it to the rest of ``remaining`` whose protocol can write it, and
    add a note to ``error``, which the sender then raises, saying who missed it.

    One protocol failing (an integer beyond MessagePack's 64 bits, a lone
    surrogate in a string) does not keep the message from connections on
    another, however the addressed connections happen to be ordered."""
    missed = {failed.protocol.name: 1}
    for connection in remaining:
        name = connection.protocol.name
        if name in missed:
            missed[name] += 1
            continue
        try:
            connection.deliver(message)
        except Exception:
            missed[name] = 1  # a second protocol cannot write it either
            continue
    who = ", ".join(
        f"{count} connection{'s' if count > 1 else ''} using {name}"
        for name, count in missed.items()
    )
    error.add_note(
        f"{who} did not receive it: the message cannot be written in "
        f"{'that protocol' if len(missed) == 1 else 'those protocols'}; "
        "the addressed connections using other protocols did."
    )


def deliver(connections: Iterable[Connection], message: SerializedMessage) -> None:
    """Queue ``message`` for each of ``connections`` (never waits). When it
    cannot be written in a protocol, the others still get it and the error
    raises to the sender (see :func:`_deliver_around`)."""
    remaining = iter(connections)
    for connection in remaining:
        try:
            connection.deliver(message)
        except Exception as exc:
            _deliver_around(exc, connection, remaining, message)
            raise


def not_answerable(connection: Connection) -> HubError | None:
    """Why ``connection`` cannot answer a client result now, if it cannot:
    its messages are read only once its ``on_connected`` has returned, so a
    client result asked before then (from ``on_connected`` itself, say) would
    wait for an answer nobody reads."""
    if connection.reading:
        return None
    return HubError(
        f"Connection '{connection.connection_id}' cannot answer a client result before "
        "its on_connected has returned: what it sends is read from then on."
    )


def new_invocation_id() -> str:
    """A 22-character id unique across servers, as ASP.NET Core makes them."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


class HubLifetimeManager(abc.ABC):
    """Tracks connections and groups of one hub and delivers messages.

    One manager serves one hub: the route that uses it binds it.
    """

    hub_name: str = ""
    #: The hub's protocols, in the order its options name them.
    protocols: tuple[HubProtocol, ...] = ()

    def bind(self, hub_name: str, protocols: Sequence[HubProtocol]) -> None:
        """Called by the route that uses this manager, once, when it is made."""
        if self.hub_name and self.hub_name != hub_name:
            raise ValueError(
                f"this lifetime manager serves hub {self.hub_name!r} already: "
                f"give {hub_name!r} a manager of its own"
            )
        self.hub_name = hub_name
        self.protocols = tuple(protocols)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Get ready for connections (connect to a backplane, subscribe).
        Called before the first connection; may be called again: once is enough."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Let go of what :meth:`start` took. Called when the application stops."""

    @abc.abstractmethod
    async def on_connected(self, connection: Connection) -> None: ...

    @abc.abstractmethod
    async def on_disconnected(self, connection: Connection) -> None: ...

    @abc.abstractmethod
    async def send_all(self, message: SerializedMessage, exclude: Collection[str] = ()) -> None: ...

    @abc.abstractmethod
    async def send_connections(
        self, connection_ids: Iterable[str], message: SerializedMessage
    ) -> None: ...

    @abc.abstractmethod
    async def send_groups(
        self, groups: Iterable[str], message: SerializedMessage, exclude: Collection[str] = ()
    ) -> None: ...

    @abc.abstractmethod
    async def send_users(self, user_ids: Iterable[str], message: SerializedMessage) -> None: ...

    @abc.abstractmethod
    async def add_to_group(self, connection_id: str, group: str) -> None: ...

    @abc.abstractmethod
    async def remove_from_group(self, connection_id: str, group: str) -> None: ...

    @abc.abstractmethod
    async def invoke_connection(
        self,
        connection_id: str,
        build: Callable[[str, WireFormat], HubMessage],
    ) -> tuple[CompletionMessage, WireFormat]:
        """Send an invocation that expects a client result and wait for the
        client's Completion. ``build(invocation_id, wire)`` makes the message.
        Raises :class:`HubError` when the connection does not exist or goes
        away; callers bound the wait with ``asyncio.timeout``."""

    @abc.abstractmethod
    async def set_client_result(
        self, connection: Connection, completion: CompletionMessage
    ) -> bool:
        """Deliver a Completion from ``connection`` to the pending client-result
        call it answers (here, or on the process that asked); False when no
        such call is pending."""


class InMemoryLifetimeManager(HubLifetimeManager):
    """All connections of a hub in this process."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self._groups: dict[str, dict[str, Connection]] = {}
        self._users: dict[str, dict[str, Connection]] = {}
        self._pending: dict[str, tuple[str, asyncio.Future[CompletionMessage]]] = {}

    async def on_connected(self, connection: Connection) -> None:
        self._connections[connection.connection_id] = connection
        user = connection.user_identifier
        if user is not None:
            self._users.setdefault(user, {})[connection.connection_id] = connection

    async def on_disconnected(self, connection: Connection) -> None:
        cid = connection.connection_id
        self._connections.pop(cid, None)
        for group in list(connection.groups):
            self._leave(connection, group)
        user = connection.user_identifier
        if user is not None and (members := self._users.get(user)) is not None:
            members.pop(cid, None)
            if not members:
                del self._users[user]
        for invocation_id, (owner, future) in list(self._pending.items()):
            if owner == cid:
                del self._pending[invocation_id]
                if not future.done():
                    future.set_exception(HubError(f"Connection '{cid}' disconnected."))

    # -- sending -----------------------------------------------------------------

    @staticmethod
    def _deliver(connections: Iterable[Connection], message: SerializedMessage) -> None:
        deliver(connections, message)

    async def send_all(self, message: SerializedMessage, exclude: Collection[str] = ()) -> None:
        if exclude:
            targets = [c for cid, c in self._connections.items() if cid not in exclude]
        else:
            targets = list(self._connections.values())
        self._deliver(targets, message)

    async def send_connections(
        self, connection_ids: Iterable[str], message: SerializedMessage
    ) -> None:
        found = (self._connections.get(cid) for cid in dict.fromkeys(connection_ids))
        self._deliver([c for c in found if c is not None], message)

    async def send_groups(
        self, groups: Iterable[str], message: SerializedMessage, exclude: Collection[str] = ()
    ) -> None:
        targets: dict[str, Connection] = {}
        for group in groups:
            members = self._groups.get(group)
            if members:
                targets.update(members)
        self._deliver([c for cid, c in targets.items() if cid not in exclude], message)

    async def send_users(self, user_ids: Iterable[str], message: SerializedMessage) -> None:
        targets: dict[str, Connection] = {}
        for user in user_ids:
            members = self._users.get(user)
            if members:
                targets.update(members)
        self._deliver(targets.values(), message)

    # -- groups ------------------------------------------------------------------

    async def add_to_group(self, connection_id: str, group: str) -> None:
        connection = self._connections.get(connection_id)
        if connection is None:
            return
        connection.groups.add(group)
        self._groups.setdefault(group, {})[connection_id] = connection

    async def remove_from_group(self, connection_id: str, group: str) -> None:
        connection = self._connections.get(connection_id)
        if connection is not None:
            self._leave(connection, group)

    def _leave(self, connection: Connection, group: str) -> None:
        connection.groups.discard(group)
        members = self._groups.get(group)
        if members is not None:
            members.pop(connection.connection_id, None)
            if not members:
                del self._groups[group]

    # -- client results ----------------------------------------------------------

    async def invoke_connection(
        self,
        connection_id: str,
        build: Callable[[str, WireFormat], HubMessage],
    ) -> tuple[CompletionMessage, WireFormat]:
        connection = self._connections.get(connection_id)
        if connection is None:
            raise HubError(f"Connection '{connection_id}' does not exist.")
        if (error := not_answerable(connection)) is not None:
            raise error
        invocation_id = new_invocation_id()
        future: asyncio.Future[CompletionMessage] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = (connection_id, future)
        try:
            protocol = connection.protocol
            message = SerializedMessage(lambda wire: build(invocation_id, wire))
            if not connection.send(message.to_bytes(protocol)):
                raise HubError(f"Connection '{connection_id}' disconnected.")
            completion = await future
        finally:
            self._pending.pop(invocation_id, None)
        return completion, protocol.wire

    async def set_client_result(
        self, connection: Connection, completion: CompletionMessage
    ) -> bool:
        entry = self._pending.get(completion.invocation_id)
        if entry is None or entry[0] != connection.connection_id:
            return False
        del self._pending[completion.invocation_id]
        if not entry[1].done():
            entry[1].set_result(completion)
        return True
