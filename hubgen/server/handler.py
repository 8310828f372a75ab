"""The life of one hub connection: handshake, read loop, and an orderly end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from hubgen.protocol import ProtocolError, TransferFormat, get_protocol
from hubgen.protocol.handshake import parse_handshake_request, write_handshake_response
from hubgen.protocol.messages import (
    AckMessage,
    CloseMessage,
    HubMessage,
    PingMessage,
    SequenceMessage,
)
from hubgen.server.authorization import ANONYMOUS, Principal
from hubgen.server.connection import Connection, ConnectionAborted
from hubgen.server.dispatcher import error_detail
from hubgen.server.stateful import ReplayBuffer, SequenceError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from hubgen.protocol.base import HubProtocol
    from hubgen.server.dispatcher import ConnectionDispatcher, HubDispatcher
    from hubgen.server.options import HubOptions
    from hubgen.server.transport import Transport

__all__ = ["HubConnectionHandler"]

logger = logging.getLogger("hubgen.server")

#: A handshake request larger than this is refused (as ASP.NET Core does).
_MAX_HANDSHAKE_SIZE = 32 * 1024


class HubConnectionHandler:
    """Runs hub connections for one endpoint."""

    def __init__(self, dispatcher: HubDispatcher, options: HubOptions) -> None:
        self._dispatcher = dispatcher
        self._options = options
        self._protocols: dict[str, HubProtocol] = {}
        for name in options.protocols:
            protocol = get_protocol(name)
            if protocol is None:
                raise ValueError(f"HubOptions.protocols: unknown hub protocol {name!r}")
            self._protocols[name] = protocol
        #: Connections past their handshake, for keep-alive and timeouts.
        self.connections: dict[str, Connection] = {}
        #: What runs for each of them (server shutdown waits for it).
        self._dispatches: dict[str, ConnectionDispatcher] = {}
        #: Connections not yet over, and an event set when there are none.
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def protocols(self) -> dict[str, HubProtocol]:
        return self._protocols

    async def run(
        self,
        connection_id: str,
        transport: Transport,
        request: HTTPConnection,
        principal: Principal = ANONYMOUS,
        *,
        stateful: bool = False,
    ) -> None:
        """Serve one connection until it ends. Never raises for client errors.
        ``stateful``: negotiate agreed on stateful reconnect; it is on when the
        client's handshake asks for version 2 over WebSockets."""
        buffer = bytearray()
        handshake = await self._handshake(transport, buffer)
        if handshake is None:
            return
        protocol, version = handshake
        connection = Connection(
            connection_id, protocol, transport, self._options, request, principal
        )
        if stateful and version >= 2 and transport.name == "WebSockets":
            connection.enable_stateful(self._options.stateful_reconnect_buffer_size)
        dispatch = self._dispatcher.connect(connection)
        lifetime = self._dispatcher.lifetime
        self._active += 1
        self._idle.clear()
        try:
            await lifetime.on_connected(connection)
            self.connections[connection_id] = connection
            self._dispatches[connection_id] = dispatch
            await self._serve(connection, dispatch, buffer)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def _serve(
        self, connection: Connection, dispatch: ConnectionDispatcher, buffer: bytearray
    ) -> None:
        """The connection's life past its handshake: on_connected, the read
        loop, and its end."""
        connection_id = connection.connection_id
        lifetime = self._dispatcher.lifetime
        client_closed = False
        try:
            try:
                await dispatch.on_connected()
            except Exception as exc:
                logger.exception("on_connected of %s raised", self._dispatcher.spec.name)
                connection.abort(exc)
            else:
                connection.reading = True
                client_closed = await self._read_loop(connection, dispatch.dispatch, buffer)
        finally:
            self.connections.pop(connection_id, None)
            self._dispatches.pop(connection_id, None)
            await self._close(connection, client_closed)
            await dispatch.on_disconnected(None if client_closed else connection.abort_reason)
            await lifetime.on_disconnected(connection)

    async def drain(self, timeout: float) -> None:
        """Server shutdown: let what runs for every connection finish (at
        most ``timeout`` seconds), then close each, telling its client it may
        reconnect; returns once they are closed (``close_timeout`` at most)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(d.settle() for d in list(self._dispatches.values())))
        for connection in list(self.connections.values()):
            connection.abort(allow_reconnect=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._options.close_timeout + 0.5):
                await self._idle.wait()

    # -- handshake ---------------------------------------------------------------------

    async def _handshake(
        self, transport: Transport, buffer: bytearray
    ) -> tuple[HubProtocol, int] | None:
        """The protocol and version the client asked for, once answered."""
        try:
            async with asyncio.timeout(self._options.handshake_timeout):
                while True:
                    data = await transport.receive()
                    if data is None:
                        return None
                    buffer += data
                    request = parse_handshake_request(buffer, max_size=_MAX_HANDSHAKE_SIZE)
                    if request is not None:
                        break
        except TimeoutError:
            await self._refuse(transport, "Handshake was canceled.")
            return None
        except ProtocolError as exc:
            logger.debug("bad handshake request: %s", exc)
            text = str(exc) if "maximum" not in str(exc) else "Handshake was canceled."
            await self._refuse(transport, text)
            return None
        protocol = self._protocols.get(request.protocol)
        if protocol is None:
            await self._refuse(transport, f"The protocol '{request.protocol}' is not supported.")
            return None
        if request.version > protocol.version:
            await self._refuse(
                transport,
                f"The server does not support version {request.version} of the "
                f"'{request.protocol}' protocol.",
            )
            return None
        binary = protocol.transfer_format is TransferFormat.BINARY
        if binary and not transport.supports_binary:
            await self._refuse(
                transport,
                f"Cannot use the '{protocol.name}' protocol on the current transport. "
                "The transport does not support 'Binary' transfer format.",
            )
            return None
        transport.use_binary(binary)
        try:
            await transport.send(write_handshake_response())
        except ConnectionError:
            return None
        return protocol, request.version

    async def _refuse(self, transport: Transport, error: str) -> None:
        try:
            await transport.send(write_handshake_response(error))
            await transport.close(error=True)
        except ConnectionError:
            pass

    # -- messages ----------------------------------------------------------------------

    async def _read_loop(
        self,
        connection: Connection,
        handle: Callable[[HubMessage], Awaitable[None]],
        buffer: bytearray,
    ) -> bool:
        """Read and dispatch until the connection ends; True when the client
        closed it with a Close message."""
        parse = connection.protocol.parse
        exceeds = connection.protocol.exceeds
        limit = self._options.max_message_size
        replay = connection.replay
        generation = connection.generation
        try:
            while True:
                if buffer:
                    for message in parse(buffer):
                        if replay is not None and not self._stateful(connection, replay, message):
                            continue
                        if isinstance(message, PingMessage):
                            connection.timeout_armed = True
                        elif isinstance(message, CloseMessage):
                            if message.error:
                                logger.debug(
                                    "connection %s closed by the client: %s",
                                    connection.connection_id,
                                    message.error,
                                )
                            return True
                        else:
                            await handle(message)
                        if connection.aborted:
                            return False
                data = await connection.receive()
                if data is None:
                    if replay is not None and await connection.wait_for_resume(
                        self._options.disconnect_timeout, generation
                    ):
                        buffer.clear()  # a message the old transport cut short
                        generation = connection.generation
                        continue
                    if buffer and not connection.aborted:
                        raise ProtocolError("Connection terminated while reading a message.")
                    return False
                if connection.generation != generation:  # from a new transport
                    buffer.clear()
                    generation = connection.generation
                buffer += data
                if limit is not None and len(buffer) > limit and exceeds(buffer, limit):
                    raise ProtocolError(
                        f"The maximum message size of {limit}B was exceeded. "
                        "The message size can be configured in HubOptions.max_message_size."
                    )
        except ProtocolError as exc:
            # The client's mistake (a malformed or oversized message): it
            # learns why from the Close message; the log only at debug level.
            logger.debug("closing connection %s: %s", connection.connection_id, exc)
            connection.abort(exc)
            return False

    @staticmethod
    def _stateful(connection: Connection, replay: ReplayBuffer, message: HubMessage) -> bool:
        """Stateful reconnect's part of reading a message: False when it is
        not to be handled (a duplicate, an Ack or a Sequence, or anything
        before the client's Sequence after a reconnect)."""
        handle, ack = replay.accept(message)
        if ack:
            connection.schedule_ack()
        if not handle:
            return False
        if isinstance(message, AckMessage):
            connection.acknowledged(message.sequence_id)
            return False
        if isinstance(message, SequenceMessage):
            try:
                replay.reset_sequence(message.sequence_id)
            except SequenceError as exc:
                raise ProtocolError(str(exc)) from None
            return False
        return True

    # -- the end -----------------------------------------------------------------------

    async def _close(self, connection: Connection, client_closed: bool) -> None:
        """Send the Close message when the server ends the connection, flush,
        and close the transport."""
        server_ended = connection.aborted and not client_closed
        reason = connection.abort_reason
        connection.abort()
        if server_ended:
            error = None
            if reason is not None:
                error = "Connection closed with an error." + error_detail(
                    reason,
                    self._options.detailed_errors or isinstance(reason, ConnectionAborted),
                )
            close = CloseMessage(error=error, allow_reconnect=connection.allow_reconnect)
            connection.send_final(connection.protocol.write(close))
        # Everything below takes close_timeout at most: a client that stopped
        # reading would hold a graceful close (and its socket, and its ASGI
        # task) forever, so past the deadline its transport is aborted.
        grace = self._options.close_timeout
        deadline = asyncio.get_running_loop().time() + grace
        transport = connection.transport
        if not await connection.flush_and_stop(grace):
            transport.abort()
            return
        try:
            async with asyncio.timeout_at(deadline):
                await transport.close()
        except TimeoutError:
            transport.abort()
        except ConnectionError:
            pass
        else:
            transport.abort_later(grace)
