"""One client of the application under test: a real connection, the generated
proxy, and an inbox of what the server called on it."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from hubgen.client import HubConnection, HubConnectionState, HubProxy
from hubgen.testing.calls import CallInbox, ClientCall, MethodRef, describe
from hubgen.testing.settle import settle

if TYPE_CHECKING:
    from hubgen.client.asgi import ASGIWebSocketFactory
    from hubgen.testing.server import HubTestServer, InjectedUser

__all__ = ["HubTestClient"]

P = TypeVar("P", bound=HubProxy)

#: How long :meth:`HubTestClient.next_call` waits by default, in seconds.
DEFAULT_TIMEOUT = 5.0


class HubTestClient(Generic[P]):
    """A client of the application under test, made by
    :meth:`HubTestServer.client <hubgen.testing.HubTestServer.client>`.

    :attr:`hub` is the generated proxy (``ChatHubClient``) over
    :attr:`connection`, a real :class:`~hubgen.client.HubConnection` whose
    negotiate and WebSocket go to the application in memory: calls, streams,
    uploads, receivers (``hub.register``, ``hub.on_x``) and client results
    work as they do over a network.

    Every call the server makes on it is recorded: :meth:`next_call` waits
    for the next one (of a method), :meth:`expect_no_calls` checks that
    nothing else came once the application has settled. Use it as an async
    context manager to start and stop it, or :meth:`start` and :meth:`stop`;
    the server stops whatever is still connected when it closes.
    """

    def __init__(
        self,
        server: HubTestServer,
        proxy: type[P],
        connection: HubConnection,
        *,
        name: str,
        factory: ASGIWebSocketFactory,
        identity: InjectedUser | None = None,
    ) -> None:
        #: The test server this client connects to.
        self.server = server
        #: What error messages call this client (the user's name, by default).
        self.name = name
        #: The connection, for what the proxy does not cover (``on_close``, ``state``).
        self.connection = connection
        #: The generated, typed proxy: call the hub through it.
        self.hub: P = proxy(connection)
        self._factory = factory
        self._identity = identity
        self._inbox = CallInbox(proxy.spec)
        self._started = False
        self._close_error: Exception | None = None
        wire = connection.protocol.wire
        for method in proxy.spec.client_methods.values():
            connection.on(
                method.wire_name,
                self._inbox.recorder(method, method.binder(wire).decode_arguments),
            )
        connection.on_close(self._closed)

    def __repr__(self) -> str:
        return f"<HubTestClient {self.name} {self.connection.state.value}>"

    def _closed(self, error: Exception | None) -> None:
        self._close_error = error
        self._inbox.wake()

    # -- life ----------------------------------------------------------------------------

    @property
    def connection_id(self) -> str | None:
        """The connection's id on the server (``clients.client(id)``); None
        when not connected."""
        return self.connection.connection_id

    async def start(self) -> None:
        """Connect: negotiate, WebSocket and handshake, through the
        application's middleware. Raises as :meth:`HubConnection.start
        <hubgen.client.HubConnection.start>` does (a refused negotiate is a
        :class:`~hubgen.client.NegotiationError` with the status)."""
        identity = self._identity
        try:
            await self.connection.start()
        except Exception as exc:
            if identity is not None and identity.replaced:
                raise identity.error() from exc
            raise
        if identity is not None and identity.replaced:
            await self.stop()
            raise identity.error()
        self._started = True
        self._close_error = None

    async def stop(self) -> None:
        """Disconnect, and wait until the application has finished with the
        connection (its ``on_disconnected`` has run). Idempotent."""
        await self.connection.stop()
        stuck = await self._factory.aclose()
        if stuck:
            self.server.report(
                RuntimeError(
                    f"the application did not end {self.name}'s WebSocket after it closed; "
                    "its task was cancelled"
                )
            )

    async def __aenter__(self) -> HubTestClient[P]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what the server called --------------------------------------------------------

    @property
    def received(self) -> list[ClientCall]:
        """Every call the server made on this client so far, in order
        (taken by :meth:`next_call` or not)."""
        return list(self._inbox.received)

    async def next_call(
        self, method: MethodRef | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> ClientCall:
        """The oldest call of ``method`` (any method when None) the test has
        not taken yet, waiting for it if it has not arrived. It returns once
        the client has received it and the loop has settled (the test's own
        handlers for it have run): no sleep, no polling. Calls of other
        methods stay pending.

        ``method`` is a name of the client contract (``"message_received"``)
        or its function (``ChatClient.message_received``). Fails with
        :class:`AssertionError` after ``timeout`` seconds, or at once when
        the connection is closed, saying what did arrive."""
        name = self._inbox.method_name(method)
        what = "any client method" if name is None else name
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            call = self._inbox.take(name)
            if call is not None:
                # The call is recorded before the test's own handlers for it
                # run: let them (and what they set off) finish.
                with contextlib.suppress(TimeoutError):
                    await settle(timeout=max(0.0, deadline - loop.time()))
                return call
            if self.connection.state is HubConnectionState.DISCONNECTED:
                if not self._started:
                    raise AssertionError(f"{self.name}: not connected: start it first")
                why = f" ({self._close_error})" if self._close_error is not None else ""
                raise AssertionError(
                    f"{self.name}: the connection closed{why} before a call to {what} came; "
                    f"pending calls: {describe(self._inbox.pending())}"
                )
            try:
                async with asyncio.timeout_at(deadline):
                    await self._inbox.waiter()
            except TimeoutError:
                raise AssertionError(
                    f"{self.name}: no call to {what} within {timeout:g} s; "
                    f"pending calls: {describe(self._inbox.pending())}"
                ) from None

    async def take_calls(self, method: MethodRef | None = None) -> list[ClientCall]:
        """Once the application has settled (see :meth:`HubTestServer.settle
        <hubgen.testing.HubTestServer.settle>`), every call of ``method``
        (any method when None) not taken yet, oldest first."""
        name = self._inbox.method_name(method)
        await self.server.settle()
        return self._inbox.take_all(name)

    async def expect_no_calls(self, method: MethodRef | None = None) -> None:
        """Once the application has settled, fail with :class:`AssertionError`
        if a call of ``method`` (any method when None) is pending: one the
        server made that the test has not taken."""
        name = self._inbox.method_name(method)
        await self.server.settle()
        pending = self._inbox.pending(name)
        if pending:
            raise AssertionError(
                f"{self.name} received {len(pending)} call(s) the test did not expect: "
                f"{describe(pending)}"
            )

    async def settle(self, *, timeout: float = 5.0) -> None:
        """The same as the server's :meth:`~hubgen.testing.HubTestServer.settle`."""
        await self.server.settle(timeout=timeout)
