"""HubConnection: an asyncio connection to a SignalR hub.

It behaves as the official TypeScript client's ``HubConnection`` does —
handshake, keep-alive, server timeout, invocation ids, client results, close
semantics and error texts — and moves *wire values* (see :mod:`hubgen.codec`):
generated proxies (:class:`~hubgen.client.HubProxy`) add the typing::

    async with HubConnection("https://example.com/chat") as connection:
        connection.on("MessageReceived", show)
        await connection.invoke("Send", "hello")
        async for price in connection.stream("Ticker", "MSFT"):
            ...

Handlers for server calls run one after another, in the order the calls
arrived, in a task of their own: a handler may await ``invoke`` (the reply is
read meanwhile) or call ``stop()``. A handler that takes long delays the ones
after it; start a task from it if that matters.

With ``reconnect=`` (see :mod:`hubgen.client.retry`) a connection that was
lost after a successful start comes back by itself, as the official clients'
``withAutomaticReconnect()`` does: it negotiates again (a new connection id,
the same transport fallback) after each wait the retry policy picks, while
``on_reconnecting`` / ``on_reconnected`` / ``on_close`` callbacks tell the
application. Handlers stay registered; calls in flight when the connection
was lost fail with :class:`~hubgen.client.ConnectionLostError`, and calls made
while reconnecting fail at once.

With ``stateful_reconnect=True`` (see :mod:`hubgen.client.stateful`), as the
official clients' ``withStatefulReconnect()``, a dropped WebSocket does not
end the connection: the client opens a new one to the same connection, once,
and both sides send again what the other had not acknowledged. The
application sees nothing of it: calls in flight complete, streams go on, the
server keeps the connection's groups, user and items. Only when that one
attempt fails is the connection lost (and automatic reconnect, if on, starts a
new one).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping, Sequence
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Literal, TypeAlias, TypeVar
from urllib.parse import urlsplit

import httpx

from hubgen.client.errors import (
    ConnectionClosedError,
    ConnectionLostError,
    HandshakeError,
    HubConnectionError,
)
from hubgen.client.handlers import Handler, HandlerRegistry
from hubgen.client.http_connection import HttpConnection
from hubgen.client.negotiate import AccessToken
from hubgen.client.registration import Registration
from hubgen.client.retry import Reconnect, RetryContext, RetryPolicy, retry_policy
from hubgen.client.stateful import (
    DEFAULT_BUFFER_SIZE,
    MessageBuffer,
    SequenceError,
    is_trackable,
)
from hubgen.client.stream import HubStream
from hubgen.client.transport import TRANSPORT_NAMES, TransportName, WebSocketFactory
from hubgen.errors import HubError
from hubgen.protocol import (
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    HubProtocol,
    InvocationMessage,
    PingMessage,
    ProtocolError,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
    TransferFormat,
    get_protocol,
    parse_handshake_response,
    write_handshake_request,
)

__all__ = [
    "CloseCallback",
    "HubConnection",
    "HubConnectionState",
    "ReconnectedCallback",
    "ReconnectingCallback",
]

logger = logging.getLogger("hubgen.client")

T = TypeVar("T")

#: Called once when a started connection closes, with the error that closed
#: it (None for a normal close); may be async.
CloseCallback: TypeAlias = Callable[[Exception | None], Awaitable[None] | None]
#: Called when a lost connection starts reconnecting, with the error that
#: ended it (None if it ended without one); may be async.
ReconnectingCallback: TypeAlias = Callable[[Exception | None], Awaitable[None] | None]
#: Called when a reconnect succeeded, with the new connection id (None when
#: negotiation is skipped); may be async.
ReconnectedCallback: TypeAlias = Callable[[str | None], Awaitable[None] | None]
_Callback: TypeAlias = Callable[[Any], Awaitable[None] | None]

_CANCELED: Final = "Invocation canceled due to the underlying connection being closed."
_NOT_CONNECTED: Final = "Cannot send data if the connection is not in the 'Connected' State."
_SERVER_TIMEOUT: Final = "Server timeout elapsed without receiving a message from the server."
_STOPPED_NEGOTIATING: Final = "The connection was stopped during negotiation."
_STOPPED_HANDSHAKE: Final = "The connection was stopped before the hub handshake could complete."
_CLOSED_HANDSHAKE: Final = (
    "The underlying connection was closed before the hub handshake could complete."
)
_UNKNOWN_REASON: Final = "Attempting to reconnect due to an unknown error."
#: How long a graceful stop waits for queued messages (the Close message) to go out.
_FLUSH_TIMEOUT: Final = 2.0


class HubConnectionState(StrEnum):
    """Where a :class:`HubConnection` is in its life (the official clients' names)."""

    DISCONNECTED = "Disconnected"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"
    DISCONNECTING = "Disconnecting"
    #: The connection was lost and is coming back (automatic reconnect).
    RECONNECTING = "Reconnecting"


def _identity(value: Any) -> Any:
    return value


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, HubError):
        return exc.message
    return str(exc) or type(exc).__name__


def split_streams(args: Sequence[Any]) -> tuple[list[Any], list[AsyncIterable[Any]]]:
    """Separate upload streams (async iterables) from ordinary arguments."""
    arguments: list[Any] = []
    streams: list[AsyncIterable[Any]] = []
    for arg in args:
        if isinstance(arg, AsyncIterable):
            streams.append(arg)
        else:
            arguments.append(arg)
    return arguments, streams


_Pending: TypeAlias = "asyncio.Future[Any] | HubStream[Any]"

#: Why a session ends: ``stop()``, a Close message from the server, or the
#: connection was lost (transport broke or ended, server timeout, bad data).
_Cause: TypeAlias = Literal["stop", "server", "lost"]


def _lost_text(error: BaseException | None) -> str:
    if error is None:
        return "The connection to the server was lost."
    return f"The connection to the server was lost: {error}"


class _Session:
    """Everything that lives for one start → close cycle."""

    def __init__(self, http: HttpConnection) -> None:
        self.http = http
        self.phase: Literal["negotiate", "handshake", "connected"] = "negotiate"
        self.buffer = bytearray()
        self.pending: dict[str, _Pending] = {}
        #: Upload pumps by the invocation they feed.
        self.uploads: dict[str, set[asyncio.Task[None]]] = {}
        self.calls: asyncio.Queue[InvocationMessage | None] = asyncio.Queue()
        self.receiver: asyncio.Task[None] | None = None
        self.dispatcher: asyncio.Task[None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        self.last_received = loop.time()
        self.next_keep_alive = loop.time()
        self.closing = False
        self.close_task: asyncio.Task[None] | None = None
        self.close_cause: _Cause = "lost"
        self.close_error: Exception | None = None
        #: Stateful reconnect's bookkeeping, when it is on for this session.
        self.stateful: MessageBuffer | None = None

    def failure(self) -> ConnectionClosedError:
        """What a call in flight fails with once this session is closing."""
        error = self.close_error
        failure: ConnectionClosedError
        if self.close_cause == "lost":
            failure = ConnectionLostError(_lost_text(error))
        else:
            failure = ConnectionClosedError(str(error) if error is not None else _CANCELED)
        failure.__cause__ = error
        return failure


class HubConnection:
    """A connection to the hub at ``url``.

    ``protocol`` is ``"json"`` or ``"messagepack"`` (or a
    :class:`~hubgen.protocol.HubProtocol`). ``access_token`` is a token or a
    function (sync or async) returning one; it is called for every negotiate
    and every transport connect, and sent as ``Authorization: Bearer``.
    ``headers`` go with every HTTP and WebSocket request.

    The client takes the first transport the server offers (in the server's
    order: WebSockets, Server-Sent Events, Long Polling) that can carry the
    protocol and connects; when one fails it negotiates again and tries the
    next. ``transports`` restricts the choice: one name or several of
    ``"WebSockets"``, ``"ServerSentEvents"``, ``"LongPolling"``. With
    ``skip_negotiation`` the client opens a WebSocket to ``url`` directly
    (``connection_id`` is then None); that needs ``transports`` to be None or
    ``"WebSockets"``. Where the access token travels depends on the
    transport: an ``Authorization`` header on every HTTP request and on the
    WebSocket upgrade, but the ``access_token`` query parameter on the
    Server-Sent Events stream, as the official clients send it.

    The client pings the server when it sent nothing for
    ``keep_alive_interval`` seconds, and closes the connection when it heard
    nothing for ``server_timeout`` seconds (neither over Long Polling, which
    keeps itself alive); the server must answer the handshake within
    ``handshake_timeout`` seconds.

    ``reconnect`` turns on automatic reconnect: ``True`` for the official
    clients' waits (0, 2, 10 and 30 seconds, then give up), a list of waits in
    seconds, or a :class:`~hubgen.client.RetryPolicy`. It applies once the
    connection has started (a failing ``start()`` raises, as without it), to
    a connection that was *lost* — the transport broke, or the server went
    silent for ``server_timeout`` — or that the server closed with
    ``allowReconnect``; never after ``stop()``.

    How the connection reaches the server can be replaced, as ASP.NET Core's
    ``HttpMessageHandlerFactory`` and ``WebSocketFactory`` options do:
    ``http_transport`` is the httpx transport every HTTP request goes
    through (negotiate, Server-Sent Events, Long Polling) — one with a proxy
    or client certificates, say; the connection never closes it.
    ``websocket_factory`` opens the WebSocket (see
    :data:`hubgen.client.transport.WebSocketFactory`). :mod:`hubgen.testing`
    sets both to reach an ASGI application in memory.

    ``stateful_reconnect`` asks the server for stateful reconnect at
    negotiate (the official clients' ``withStatefulReconnect()``). When the
    server agrees (hubgen's ``HubOptions(allow_stateful_reconnects=True)``,
    ASP.NET Core's ``AllowStatefulReconnects``) and the transport is
    WebSockets, a dropped socket is replaced by a new one to the same
    connection, once per drop, and both sides send again what the other had
    not acknowledged: nothing is lost or repeated, and the application sees
    nothing of it. Up to ``stateful_reconnect_buffer_size`` bytes of messages
    the server has not acknowledged are kept; past that, sends wait for its
    acknowledgement. A server that does not offer it gets a plain
    connection. When the one attempt fails, the connection is lost as
    without it (and ``reconnect``, if on, brings a new one).
    """

    def __init__(
        self,
        url: str,
        *,
        protocol: Literal["json", "messagepack"] | HubProtocol = "json",
        access_token: AccessToken = None,
        headers: Mapping[str, str] | None = None,
        skip_negotiation: bool = False,
        keep_alive_interval: float = 15.0,
        server_timeout: float = 30.0,
        handshake_timeout: float = 15.0,
        transports: TransportName | Collection[TransportName] | None = None,
        reconnect: Reconnect = False,
        http_transport: httpx.AsyncBaseTransport | None = None,
        websocket_factory: WebSocketFactory | None = None,
        stateful_reconnect: bool = False,
        stateful_reconnect_buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        scheme = urlsplit(url).scheme.lower()
        self._transports = _allowed_transports(transports)
        if skip_negotiation and self._transports not in (None, ("WebSockets",)):
            raise ValueError(
                "Negotiation can only be skipped when using the WebSocket transport directly."
            )
        if scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(
                f"Cannot resolve '{url}': the hub URL must be absolute, "
                "with an http, https, ws or wss scheme"
            )
        if scheme in ("ws", "wss") and not skip_negotiation:
            # Negotiate is an HTTP request: talk HTTP to the same place.
            url = "http" + url[2:]
        if isinstance(protocol, str):
            found = get_protocol(protocol)
            if found is None:
                raise ValueError(f"unknown hub protocol {protocol!r}: use 'json' or 'messagepack'")
            protocol = found
        for name, value in (
            ("keep_alive_interval", keep_alive_interval),
            ("server_timeout", server_timeout),
            ("handshake_timeout", handshake_timeout),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if (
            isinstance(stateful_reconnect_buffer_size, bool)
            or not isinstance(stateful_reconnect_buffer_size, int)
            or stateful_reconnect_buffer_size <= 0
        ):
            raise ValueError(
                "stateful_reconnect_buffer_size must be a positive number of bytes, "
                f"got {stateful_reconnect_buffer_size!r}"
            )
        if stateful_reconnect and skip_negotiation:
            raise ValueError(
                "Stateful reconnect is agreed at negotiate: it cannot be used with "
                "skip_negotiation."
            )
        if (
            stateful_reconnect
            and self._transports is not None
            and "WebSockets" not in self._transports
        ):
            raise ValueError(
                "Stateful reconnect works over WebSockets only, which transports= rules out."
            )
        self.url = url
        self.protocol: HubProtocol = protocol
        self.keep_alive_interval = keep_alive_interval
        self.server_timeout = server_timeout
        self.handshake_timeout = handshake_timeout
        #: The automatic reconnect policy; None when reconnect is off.
        self.retry_policy: RetryPolicy | None = retry_policy(reconnect)
        #: Ask for stateful reconnect at negotiate.
        self.stateful_reconnect = stateful_reconnect
        self.stateful_reconnect_buffer_size = stateful_reconnect_buffer_size
        self._access_token = access_token
        self._headers = dict(headers) if headers else None
        self._skip_negotiation = skip_negotiation
        self._http_transport = http_transport
        self._websocket_factory = websocket_factory
        self._text = protocol.transfer_format is TransferFormat.TEXT
        self._ping = self._encode(PingMessage())
        self._handlers = HandlerRegistry()
        self._close_callbacks: list[tuple[_Callback]] = []
        self._reconnecting_callbacks: list[tuple[_Callback]] = []
        self._reconnected_callbacks: list[tuple[_Callback]] = []
        self._next_id = 0
        self._state = HubConnectionState.DISCONNECTED
        self._session: _Session | None = None
        self._starting: asyncio.Task[None] | None = None
        self._start_done: asyncio.Event | None = None
        #: Set by stop(); cleared by start().
        self._stop_requested = False
        #: Brings a lost connection back (runs while RECONNECTING).
        self._reconnector: asyncio.Task[None] | None = None
        #: Set once the connection started last has closed for good.
        self._closed: asyncio.Event | None = None

    # -- properties --------------------------------------------------------------------

    @property
    def state(self) -> HubConnectionState:
        return self._state

    @property
    def connection_id(self) -> str | None:
        """The server's id for this connection; None when not connected or
        when negotiation was skipped."""
        session = self._session
        if session is None or self._state is not HubConnectionState.CONNECTED:
            return None
        return session.http.connection_id

    def __repr__(self) -> str:
        return f"<HubConnection {self.url} {self._state.value} protocol={self.protocol.name}>"

    # -- start -------------------------------------------------------------------------

    async def start(self) -> None:
        """Negotiate, connect a transport and complete the hub handshake.

        Raises :class:`~hubgen.client.HubConnectionError` (a subclass saying
        which step failed) and leaves the connection disconnected on failure
        (automatic reconnect only applies to a connection that started).
        """
        if self._state is not HubConnectionState.DISCONNECTED:
            raise HubConnectionError(
                "Cannot start a HubConnection that is not in the 'Disconnected' state."
            )
        self._state = HubConnectionState.CONNECTING
        self._stop_requested = False
        self._start_done = done = asyncio.Event()
        logger.debug("Starting HubConnection to %s.", self.url)
        session = self._new_session()
        self._starting = opening = asyncio.get_running_loop().create_task(
            self._open(session), name="hubgen-client-start"
        )
        try:
            try:
                await opening
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._stop_requested and (task is None or task.cancelling() == 0):
                    raise HubConnectionError(
                        _STOPPED_NEGOTIATING if session.phase == "negotiate" else _STOPPED_HANDSHAKE
                    ) from None
                raise
            if self._stop_requested:
                await session.http.stop()
                raise HubConnectionError(_STOPPED_HANDSHAKE)
        except BaseException as exc:
            # Normally done already; not if the start was cancelled before
            # ``_open`` ever ran.
            await session.http.stop()
            self._state = HubConnectionState.DISCONNECTED
            logger.debug("HubConnection failed to start: %s", exc)
            raise
        finally:
            self._starting = None
            done.set()
        self._closed = asyncio.Event()
        self._activate(session)

    def _new_session(self) -> _Session:
        return _Session(
            HttpConnection(
                self.url,
                access_token=self._access_token,
                headers=self._headers,
                skip_negotiation=self._skip_negotiation,
                connect_timeout=self.handshake_timeout,
                transports=self._transports,
                http_transport=self._http_transport,
                websocket_factory=self._websocket_factory,
                stateful_reconnect=self.stateful_reconnect,
            )
        )

    def _activate(self, session: _Session) -> None:
        """Make ``session`` (opened, handshake done) the connection's own."""
        session.phase = "connected"
        self._session = session
        self._state = HubConnectionState.CONNECTED
        loop = asyncio.get_running_loop()
        session.last_received = loop.time()
        session.receiver = loop.create_task(
            self._receive_loop(session), name="hubgen-client-receive"
        )
        session.dispatcher = loop.create_task(
            self._dispatch_loop(session), name="hubgen-client-dispatch"
        )
        if not session.http.inherent_keep_alive:
            session.heartbeat = loop.create_task(
                self._heartbeat(session), name="hubgen-client-heartbeat"
            )
        logger.info(
            "HubConnection connected to %s (connection id %s, protocol %s).",
            self.url,
            session.http.connection_id,
            self.protocol.name,
        )

    async def _open(self, session: _Session) -> None:
        http = session.http
        await http.start(self.protocol.transfer_format)
        session.phase = "handshake"
        try:
            # Version 2 turns stateful reconnect on, where negotiate agreed to it.
            request = write_handshake_request(self.protocol.name, 2 if http.stateful else 1)
            await http.send_now(request.decode("utf-8"))
            await self._handshake(session)
            if http.stateful:
                session.stateful = MessageBuffer(
                    self.stateful_reconnect_buffer_size,
                    lambda sequence_id: self._send_ack(session, sequence_id),
                    # the reconnect is the new socket's handshake
                    reconnect_timeout=self.handshake_timeout,
                )
            if not http.inherent_keep_alive:
                # Tell the server at once that the client is alive (as the
                # official client does), which also arms its client timeout.
                self._post(session, self._ping)
        except BaseException:
            await http.stop()
            raise

    async def _handshake(self, session: _Session) -> None:
        buffer = session.buffer
        try:
            async with asyncio.timeout(self.handshake_timeout):
                while True:
                    data = await session.http.receive()
                    if data is None:
                        raise HandshakeError(_CLOSED_HANDSHAKE)
                    buffer += data
                    try:
                        response = parse_handshake_response(buffer)
                    except (ProtocolError, ValueError) as exc:
                        raise HandshakeError(f"Error parsing handshake response: {exc}") from exc
                    if response is None:
                        continue
                    if response.error is not None:
                        raise HandshakeError(f"Server returned handshake error: {response.error}")
                    logger.debug("Server handshake complete.")
                    return
        except TimeoutError:
            raise HandshakeError(
                "The server did not answer the handshake within "
                f"{self.handshake_timeout:g} seconds."
            ) from None

    # -- stop --------------------------------------------------------------------------

    async def stop(self) -> None:
        """Close the connection: a Close message goes to the server, then the
        transport closes normally. Pending calls fail with
        :class:`~hubgen.client.ConnectionClosedError`; ``on_close`` callbacks
        run with None. Idempotent; safe to call from handlers and callbacks.
        A ``start()`` in progress fails; a reconnect in progress (waiting or
        attempting) ends at once. A stopped connection never reconnects."""
        state = self._state
        if state is HubConnectionState.DISCONNECTED:
            return
        self._stop_requested = True
        if state is HubConnectionState.CONNECTING:
            self._state = HubConnectionState.DISCONNECTING
            if self._starting is not None:
                self._starting.cancel()
            if self._start_done is not None:
                await self._start_done.wait()
            return
        closed = self._closed
        current = asyncio.current_task()
        session = self._session
        if state is HubConnectionState.RECONNECTING:
            self._state = HubConnectionState.DISCONNECTING
            logger.debug("Connection stopped while reconnecting. Done reconnecting.")
            reconnector = self._reconnector
            if reconnector is current:
                return  # an on_reconnecting callback: the reconnector closes after it
            if reconnector is not None:
                # Ends the wait or the attempt; the reconnector then closes.
                reconnector.cancel()
        elif session is not None and not session.closing:
            self._begin_close(session, None, cause="stop")
        if closed is not None:
            await closed.wait()

    async def __aenter__(self) -> HubConnection:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _begin_close(
        self,
        session: _Session,
        error: Exception | None,
        *,
        cause: _Cause,
        allow_reconnect: bool = True,
    ) -> None:
        """Start closing ``session`` (once; the first reason wins) and decide,
        as the official clients do, whether the connection will reconnect."""
        if session.closing:
            return
        session.closing = True
        session.close_cause = cause
        session.close_error = error
        delay: float | None = None
        if cause != "stop" and allow_reconnect and not self._stop_requested:
            reason = error if error is not None else HubConnectionError(_UNKNOWN_REASON)
            delay = self._next_retry_delay(RetryContext(0, 0.0, reason))
            if delay is None and self.retry_policy is not None:
                logger.debug(
                    "Connection not reconnecting because the retry policy returned None "
                    "on the first reconnect attempt."
                )
        self._state = (
            HubConnectionState.RECONNECTING
            if delay is not None
            else HubConnectionState.DISCONNECTING
        )
        session.close_task = asyncio.get_running_loop().create_task(
            self._shutdown(session, error, delay), name="hubgen-client-close"
        )

    def _next_retry_delay(self, context: RetryContext) -> float | None:
        """The policy's next wait; None to give up (also when the policy
        fails or answers nonsense: logged, as the official clients do)."""
        policy = self.retry_policy
        if policy is None:
            return None
        try:
            delay = policy.next_retry_delay(context)
        except Exception:
            logger.exception(
                "The retry policy raised (attempt %d, %.3f s); not reconnecting.",
                context.previous_retry_count,
                context.elapsed,
            )
            return None
        if delay is None:
            return None
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0:
            logger.error(
                "The retry policy returned %r, not a number of seconds >= 0 or None; "
                "not reconnecting.",
                delay,
            )
            return None
        return float(delay)

    async def _shutdown(
        self, session: _Session, error: Exception | None, retry_delay: float | None
    ) -> None:
        await _cancel(session.heartbeat)
        if session.close_cause == "stop":
            # The receiver keeps reading meanwhile, so the server's answer to
            # our close frame is seen (and late completions still resolve).
            with contextlib.suppress(HubConnectionError):
                self._post(session, self._encode(CloseMessage()))
            await session.http.stop(flush=_FLUSH_TIMEOUT)
        else:
            # The server is gone or misbehaving: do not wait for it before
            # telling callers; the transport closes in the background.
            _background(session.http.stop())
        await _cancel(session.receiver)
        for uploads in session.uploads.values():
            for upload in uploads:
                upload.cancel()
        session.uploads.clear()
        # The dispatcher finishes the handler it is running (it may be the one
        # that called stop()) and then sees the end of its queue.
        while not session.calls.empty():
            session.calls.get_nowait()
        session.calls.put_nowait(None)
        if session.stateful is not None:
            session.stateful.dispose(session.failure())
        pending = list(session.pending.values())
        session.pending.clear()
        for call in pending:
            failure = session.failure()
            if isinstance(call, HubStream):
                call._finish(failure)
            elif not call.done():
                call.set_exception(failure)
        self._session = None
        if retry_delay is not None and self._state is HubConnectionState.RECONNECTING:
            self._reconnector = asyncio.get_running_loop().create_task(
                self._reconnect(error, retry_delay), name="hubgen-client-reconnect"
            )
            return
        # A reconnect that stop() called off ends as a stop does, with None;
        # otherwise the callbacks learn what ended the connection.
        await self._complete_close(None if retry_delay is not None else error)

    async def _complete_close(self, error: Exception | None) -> None:
        """The connection is over: DISCONNECTED, then the close callbacks."""
        closed = self._closed
        self._state = HubConnectionState.DISCONNECTED
        if error is not None:
            logger.warning("Connection disconnected with error '%s'.", error)
        else:
            logger.info("Connection disconnected.")
        try:
            await self._run_callbacks(self._close_callbacks, error, "on_close")
        finally:
            if closed is not None:
                closed.set()

    async def _reconnect(self, error: Exception | None, delay: float) -> None:
        """Bring a lost connection back: wait, negotiate and connect again,
        as often and as long as the retry policy says."""
        try:
            await self._reconnect_loop(error, delay)
        except asyncio.CancelledError:
            # stop() while waiting or attempting (the attempt cleaned up after itself).
            if self._state is HubConnectionState.DISCONNECTING:
                await self._complete_close(None)
            raise
        finally:
            if self._reconnector is asyncio.current_task():
                self._reconnector = None

    async def _reconnect_loop(self, error: Exception | None, delay: float) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        attempts = 0
        reason: Exception = error if error is not None else HubConnectionError(_UNKNOWN_REASON)
        if error is not None:
            logger.info("Connection reconnecting because of error '%s'.", error)
        else:
            logger.info("Connection reconnecting.")
        await self._run_callbacks(self._reconnecting_callbacks, error, "on_reconnecting")
        next_delay: float | None = delay
        while next_delay is not None:
            if self._state is not HubConnectionState.RECONNECTING:
                # stop() from an on_reconnecting callback.
                logger.debug("Connection left the reconnecting state. Done reconnecting.")
                await self._complete_close(None)
                return
            logger.info(
                "Reconnect attempt number %d will start in %g seconds.", attempts + 1, next_delay
            )
            await asyncio.sleep(next_delay)
            session = self._new_session()
            try:
                await self._open(session)
            except Exception as exc:
                attempts += 1
                reason = exc
                logger.info("Reconnect attempt failed because of error '%s'.", exc)
                next_delay = self._next_retry_delay(
                    RetryContext(attempts, loop.time() - began, reason)
                )
                continue
            self._activate(session)
            logger.info("HubConnection reconnected successfully.")
            await self._run_callbacks(
                self._reconnected_callbacks, session.http.connection_id, "on_reconnected"
            )
            return
        elapsed = loop.time() - began
        logger.info(
            "Reconnect retries have been exhausted after %.3f s and %d failed attempts. "
            "Connection disconnecting.",
            elapsed,
            attempts,
        )
        failure = HubConnectionError(
            f"Reconnect retries have been exhausted after {attempts} failed "
            f"attempt{'' if attempts == 1 else 's'} in {elapsed:.1f} seconds; "
            f"the last error: {reason}"
        )
        failure.__cause__ = reason
        await self._complete_close(failure)

    async def _run_callbacks(
        self, callbacks: list[tuple[_Callback]], argument: Any, kind: str
    ) -> None:
        """Call each callback (a snapshot of the list) with ``argument``; one
        that raises is logged and the others still run."""
        for (callback,) in list(callbacks):
            try:
                result = callback(argument)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("An %s callback raised", kind)

    # -- the receive side --------------------------------------------------------------

    async def _receive_loop(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        parse = self.protocol.parse
        buffer = session.buffer
        stateful = session.stateful
        try:
            while True:
                if buffer:
                    for message in parse(buffer):
                        if stateful is not None and not self._track(stateful, message):
                            continue
                        if not self._process(session, message):
                            return
                data = await self._read(session)
                if data is None:
                    self._begin_close(session, None, cause="lost")
                    return
                session.last_received = loop.time()
                buffer += data
        except SequenceError as exc:
            self._begin_close(session, HubConnectionError(str(exc)), cause="lost")
        except HubConnectionError as exc:
            self._begin_close(session, exc, cause="lost")
        except ProtocolError as exc:
            logger.error("Invalid data from the server: %s", exc)
            self._begin_close(
                session,
                HubConnectionError(f"The server sent data that is not a valid message: {exc}"),
                cause="lost",
            )
        except Exception as exc:
            logger.exception("The receive loop failed")
            self._begin_close(session, HubConnectionError(_error_text(exc)), cause="lost")

    async def _read(self, session: _Session) -> bytes | None:
        """The next data from the server; None when the transport ended
        cleanly. With stateful reconnect a transport that ends is replaced
        (:meth:`_resume`) and reading goes on from the new one."""
        while True:
            try:
                data = await session.http.receive()
            except HubConnectionError as exc:
                if await self._resume(session, exc):
                    continue
                raise
            if data is not None or not await self._resume(session, None):
                return data

    async def _resume(self, session: _Session, error: HubConnectionError | None) -> bool:
        """Stateful reconnect: the WebSocket ended without the server closing
        the connection. Open a new one to the same connection (once: if that
        fails, the connection is lost), then send a Sequence message and every
        message the server has not acknowledged. The reconnect is complete
        when the server's Sequence message arrives, which must happen within
        ``handshake_timeout`` of the drop (new sockets that drop before it
        are replaced until then). True when the connection goes on."""
        stateful = session.stateful
        # Not after stop() or a Close message (the session is closing).
        if stateful is None or not stateful.may_reconnect or _closing(session):
            return False
        stateful.disconnected()
        # The silence that follows is the reconnect's, which has its own bound.
        session.last_received = asyncio.get_running_loop().time()
        logger.info(
            "The WebSocket was lost (%s); reconnecting to the same connection.",
            error if error is not None else "closed",
        )
        try:
            await session.http.reconnect()
        except Exception as exc:
            logger.info("Stateful reconnect failed: %s", exc)
            return False
        if session.closing:
            return False
        # What the old socket cut short comes again, whole.
        session.buffer.clear()
        session.last_received = asyncio.get_running_loop().time()
        sequence, kept = stateful.replay()
        self._post(session, self._encode(sequence))
        for data in kept:
            session.http.post(data)
        stateful.resumed()
        logger.info("Stateful reconnect: resumed, %d message(s) sent again.", len(kept))
        return True

    @staticmethod
    def _track(stateful: MessageBuffer, message: HubMessage) -> bool:
        """Stateful reconnect's part of reading a message: False when it is
        not for the application (a duplicate, an Ack or a Sequence, or
        anything before the server's Sequence after a reconnect). Raises
        :class:`SequenceError` when the server's replay starts too far on."""
        if not stateful.should_process(message):
            return False
        if isinstance(message, AckMessage):
            stateful.acknowledge(message.sequence_id)
            return False
        if isinstance(message, SequenceMessage):
            stateful.reset_sequence(message.sequence_id)
            return False
        return True

    def _process(self, session: _Session, message: HubMessage) -> bool:
        """Handle one message from the server; False when the connection ends."""
        if isinstance(message, InvocationMessage):
            session.calls.put_nowait(message)
        elif isinstance(message, StreamItemMessage):
            call = session.pending.get(message.invocation_id)
            if isinstance(call, HubStream):
                call._push(message.item)
            elif call is not None:
                del session.pending[message.invocation_id]
                if not call.done():
                    call.set_exception(
                        HubConnectionError(
                            "The server sent a stream item for a non-streaming invocation."
                        )
                    )
        elif isinstance(message, CompletionMessage):
            self._complete(session, message)
        elif isinstance(message, CloseMessage):
            logger.info("Close message received from server.")
            error = (
                HubConnectionError(f"Server returned an error on close: {message.error}")
                if message.error
                else None
            )
            # As the official client: only an explicit allowReconnect lets
            # automatic reconnect bring the connection back.
            self._begin_close(
                session, error, cause="server", allow_reconnect=message.allow_reconnect
            )
            return False
        elif not isinstance(message, PingMessage):
            logger.warning("Invalid message type: %s.", int(message.type))
        return True

    def _complete(self, session: _Session, message: CompletionMessage) -> None:
        call = session.pending.pop(message.invocation_id, None)
        self._cancel_uploads(session, message.invocation_id)
        if call is None:
            logger.debug("Completion for unknown invocation %s ignored.", message.invocation_id)
            return
        error = HubError(message.error) if message.error is not None else None
        if isinstance(call, HubStream):
            call._finish(error)
        elif not call.done():
            if error is not None:
                call.set_exception(error)
            else:
                call.set_result(message.result)

    async def _heartbeat(self, session: _Session) -> None:
        """Ping when nothing was sent for a while; give up on a silent server."""
        loop = asyncio.get_running_loop()
        session.next_keep_alive = loop.time() + self.keep_alive_interval
        while not session.closing:
            now = loop.time()
            deadline = session.last_received + self.server_timeout
            if now >= deadline:
                self._begin_close(session, HubConnectionError(_SERVER_TIMEOUT), cause="lost")
                return
            if now >= session.next_keep_alive:
                with contextlib.suppress(HubConnectionError):
                    self._post(session, self._ping)
            await asyncio.sleep(max(0.0, min(deadline, session.next_keep_alive) - now))

    async def _dispatch_loop(self, session: _Session) -> None:
        """Run client-method handlers, one call at a time, in arrival order."""
        while True:
            message = await session.calls.get()
            if message is None:
                return
            completion = await self._handlers.call(message)
            if completion is None or session.closing:
                continue
            try:
                await self._send(session, completion)
            except HubConnectionError as exc:
                logger.debug("Could not send the result of '%s': %s", message.target, exc)
            except Exception:
                # The handler's result cannot be serialised: tell the server.
                logger.exception("Cannot send the result of '%s'", message.target)
                assert completion.invocation_id is not None
                with contextlib.suppress(HubConnectionError):
                    await self._send(
                        session,
                        CompletionMessage.with_error(
                            completion.invocation_id,
                            "Client returned a result that could not be serialized.",
                        ),
                    )

    # -- sending -----------------------------------------------------------------------

    def _encode(self, message: HubMessage) -> str | bytes:
        data = self.protocol.write(message)
        return data.decode("utf-8") if self._text else data

    def _post(self, session: _Session, data: str | bytes) -> None:
        """Queue ``data`` without waiting (pings, the Close message)."""
        session.next_keep_alive = asyncio.get_running_loop().time() + self.keep_alive_interval
        session.http.post(data)

    async def _send(self, session: _Session, message: HubMessage) -> None:
        data = self._encode(message)
        session.next_keep_alive = asyncio.get_running_loop().time() + self.keep_alive_interval
        stateful = session.stateful
        if stateful is None:
            await session.http.send(data)
            return
        # Stateful reconnect: a trackable message is kept until the server
        # acknowledges it, and sent again on a new socket if this one drops.
        number = stateful.keep(data) if is_trackable(message) else 0
        if not stateful.reconnecting:  # (else the replay sends it)
            try:
                await session.http.send(data)
            except HubConnectionError:
                if session.closing or not number:
                    raise
                # The socket went: the receive loop sees it too, and resumes.
        if number:
            await stateful.wait_for_room(number)

    def _send_ack(self, session: _Session, sequence_id: int) -> None:
        """Stateful reconnect: acknowledge the server's messages up to ``sequence_id``."""
        if not session.closing:
            with contextlib.suppress(HubConnectionError):
                self._post(session, self._encode(AckMessage(sequence_id)))

    def _active(self) -> _Session:
        session = self._session
        if session is None or session.closing or self._state is not HubConnectionState.CONNECTED:
            raise HubConnectionError(_NOT_CONNECTED)
        return session

    def _new_id(self) -> str:
        invocation_id = str(self._next_id)
        self._next_id += 1
        return invocation_id

    # -- calls -------------------------------------------------------------------------

    async def invoke(self, target: str, *args: Any) -> Any:
        """Call the hub method ``target`` and return its result (a wire value).

        Arguments that are async iterables are uploaded as client-to-server
        streams. Raises :class:`hubgen.HubError` with the server's error text
        when the method fails.
        """
        arguments, streams = split_streams(args)
        return await self._invoke(target, arguments, streams)

    async def send(self, target: str, *args: Any) -> None:
        """Call the hub method ``target`` without waiting for it to run (no
        result, no error): returns once the invocation was sent."""
        arguments, streams = split_streams(args)
        await self._send_invocation(target, arguments, streams)

    def stream(self, target: str, *args: Any) -> HubStream[Any]:
        """Call the streaming hub method ``target``; iterate the result."""
        arguments, streams = split_streams(args)
        return self._stream(target, arguments, streams, _identity)

    async def _invoke(
        self, target: str, arguments: list[Any], streams: Sequence[AsyncIterable[Any]]
    ) -> Any:
        session = self._active()
        stream_ids = [self._new_id() for _ in streams]
        invocation_id = self._new_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        session.pending[invocation_id] = future
        try:
            try:
                await self._send(
                    session,
                    InvocationMessage(target, arguments, invocation_id, stream_ids or None),
                )
            except HubConnectionError:
                if session.closing:
                    # The connection went while the invocation was being
                    # written: fail with the reason the shutdown gives.
                    raise session.failure() from None
                raise
            self._launch_uploads(session, invocation_id, stream_ids, streams)
            return await future
        finally:
            session.pending.pop(invocation_id, None)
            self._cancel_uploads(session, invocation_id)

    async def _send_invocation(
        self, target: str, arguments: list[Any], streams: Sequence[AsyncIterable[Any]]
    ) -> None:
        session = self._active()
        stream_ids = [self._new_id() for _ in streams]
        try:
            await self._send(
                session, InvocationMessage(target, arguments, None, stream_ids or None)
            )
        except HubConnectionError:
            if session.closing:
                raise session.failure() from None
            raise
        if stream_ids:
            # No completion will come: the uploads run until they end (or the
            # connection does), filed under their first stream id.
            self._launch_uploads(session, stream_ids[0], stream_ids, streams)

    def _stream(
        self,
        target: str,
        arguments: list[Any],
        streams: Sequence[AsyncIterable[Any]],
        decode: Callable[[Any], T],
        describe: str | None = None,
    ) -> HubStream[T]:
        opened: list[_Session] = []

        async def open_stream(stream: HubStream[T]) -> None:
            session = self._active()
            opened.append(session)
            stream_ids = [self._new_id() for _ in streams]
            invocation_id = self._new_id()
            stream._started(invocation_id)
            session.pending[invocation_id] = stream
            try:
                await self._send(
                    session,
                    StreamInvocationMessage(invocation_id, target, arguments, stream_ids or None),
                )
            except HubConnectionError:
                session.pending.pop(invocation_id, None)
                if session.closing:
                    raise session.failure() from None
                raise
            except BaseException:
                session.pending.pop(invocation_id, None)
                raise
            if invocation_id in session.pending:  # not already completed by the server
                self._launch_uploads(session, invocation_id, stream_ids, streams)

        async def cancel_stream(invocation_id: str) -> None:
            if not opened:
                return
            session = opened[0]
            if session.pending.pop(invocation_id, None) is None:
                return  # already completed (or the connection closed)
            self._cancel_uploads(session, invocation_id)
            if not session.closing:
                with contextlib.suppress(HubConnectionError):
                    await self._send(session, CancelInvocationMessage(invocation_id))

        return HubStream(open_stream, cancel_stream, decode, describe or f"stream '{target}'")

    # -- upload streams ----------------------------------------------------------------

    def _launch_uploads(
        self,
        session: _Session,
        key: str,
        stream_ids: Sequence[str],
        streams: Sequence[AsyncIterable[Any]],
    ) -> None:
        if not stream_ids:
            return
        loop = asyncio.get_running_loop()
        tasks = session.uploads.setdefault(key, set())
        for stream_id, source in zip(stream_ids, streams, strict=True):
            task = loop.create_task(
                self._upload(session, stream_id, source), name=f"hubgen-client-upload-{stream_id}"
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def _cancel_uploads(self, session: _Session, key: str) -> None:
        for task in session.uploads.pop(key, ()):
            task.cancel()

    async def _upload(self, session: _Session, stream_id: str, source: AsyncIterable[Any]) -> None:
        """Send the items of ``source`` as StreamItems, then a Completion
        (with the error text if ``source`` raised)."""
        iterator = aiter(source)
        try:
            try:
                async for item in iterator:
                    await self._send(session, StreamItemMessage(stream_id, item))
            except HubConnectionError:
                raise
            except Exception as exc:
                logger.warning("Upload stream %s failed: %s", stream_id, exc)
                completion = CompletionMessage.with_error(stream_id, _error_text(exc))
            else:
                completion = CompletionMessage.empty(stream_id)
            await self._send(session, completion)
        except HubConnectionError as exc:
            logger.debug("Upload stream %s stopped: %s", stream_id, exc)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    # -- handlers ----------------------------------------------------------------------

    def on(self, target: str, handler: Handler) -> Registration:
        """Call ``handler(*arguments)`` when the server calls ``target`` on
        this client (names match ignoring case). Several handlers may share a
        target. A handler may be async; when the server asks for a result,
        what it returns is the result (None meaning none)."""
        return self._on(target, handler, none_is_result=False)

    def _on(self, target: str, handler: Handler, *, none_is_result: bool) -> Registration:
        entry = self._handlers.add(target, handler, none_is_result=none_is_result)
        return Registration(lambda: self._handlers.remove(target, entry))

    def on_close(self, callback: CloseCallback) -> Registration:
        """Call ``callback(error)`` whenever a started connection closes for
        good: ``error`` is None after ``stop()`` or a normal close by the
        server. With automatic reconnect, a lost connection closes only when
        the retry policy gives up; ``error`` then says so, its ``__cause__``
        being the last attempt's error."""
        return _add_callback(self._close_callbacks, callback)

    def on_reconnecting(self, callback: ReconnectingCallback) -> Registration:
        """Call ``callback(error)`` when a lost connection starts reconnecting
        (automatic reconnect), with the error that ended it (None if it
        ended without one). Calls fail at once until it has reconnected."""
        return _add_callback(self._reconnecting_callbacks, callback)

    def on_reconnected(self, callback: ReconnectedCallback) -> Registration:
        """Call ``callback(connection_id)`` when automatic reconnect
        succeeded, with the new connection id (None when negotiation is
        skipped). The server sees a new connection: join groups again here."""
        return _add_callback(self._reconnected_callbacks, callback)


def _add_callback(callbacks: list[tuple[_Callback]], callback: _Callback) -> Registration:
    """Append ``callback``; the registration removes exactly this entry."""
    entry = (callback,)
    callbacks.append(entry)

    def remove() -> None:
        for index, candidate in enumerate(callbacks):
            if candidate is entry:
                del callbacks[index]
                return

    return Registration(remove)


def _allowed_transports(
    transports: TransportName | Collection[TransportName] | None,
) -> tuple[TransportName, ...] | None:
    """The ``transports`` option as a tuple of names (None: any)."""
    if transports is None:
        return None
    names = (transports,) if isinstance(transports, str) else tuple(transports)
    unknown = [name for name in names if name not in TRANSPORT_NAMES]
    if unknown:
        raise ValueError(
            f"unknown transport(s) {', '.join(map(repr, unknown))}: "
            f"use {', '.join(map(repr, TRANSPORT_NAMES))}"
        )
    if not names:
        raise ValueError("transports must name at least one transport (or be None for any)")
    return names


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (unless it is the caller) and wait for it to finish."""
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


def _closing(session: _Session) -> bool:
    """Whether ``session`` is closing (read through a call: it may change
    across an ``await``, which type narrowing does not know)."""
    return session.closing


_BACKGROUND: set[asyncio.Task[None]] = set()


def _background(coroutine: Awaitable[None]) -> None:
    """Run ``coroutine`` to completion without anyone awaiting it."""

    async def run() -> None:
        try:
            await coroutine
        except Exception:
            logger.debug("background close failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(run(), name="hubgen-client-close-transport")
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
