"""The HTTP side of a hub endpoint: negotiate, connection tokens, transports.

``POST {path}/negotiate`` creates a connection and tells the client which
transports it may use; the transport request (``{path}?id=<token>``) then
picks the connection up. This module keeps the token table, answers every
request with the statuses and texts ASP.NET Core uses, and runs one heartbeat
per endpoint that pings clients, times out silent ones and forgets
negotiations no transport picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

from hubgen.protocol.messages import PingMessage
from hubgen.server.authorization import (
    ANONYMOUS,
    Principal,
    Rules,
    Verdict,
    credentials_of,
    user_of,
)
from hubgen.server.connection import ClientTimedOut, ConnectionAborted
from hubgen.server.http_transports import (
    MAX_UNPOLLED,
    HttpTransport,
    LongPollingTransport,
    ServerSentEventsTransport,
    wait_disconnect,
)
from hubgen.server.options import TransportType
from hubgen.server.websocket import WebSocketTransport, accepted_transport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import Receive, Scope, Send

    from hubgen.server.handler import HubConnectionHandler
    from hubgen.server.options import HubOptions

__all__ = ["HubEndpoint"]

logger = logging.getLogger("hubgen.server")

#: Transports hubgen implements, in the order negotiate lists them.
_TRANSPORT_FORMATS: dict[TransportType, tuple[str, list[str]]] = {
    TransportType.WEBSOCKETS: ("WebSockets", ["Text", "Binary"]),
    TransportType.SERVER_SENT_EVENTS: ("ServerSentEvents", ["Text"]),
    TransportType.LONG_POLLING: ("LongPolling", ["Text", "Binary"]),
}


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def _new_id() -> str:
    """16 random bytes, base64url without padding: 22 URL-safe characters."""
    return secrets.token_urlsafe(16)


@dataclass(slots=True)
class _Record:
    """A negotiated connection, by token."""

    connection_id: str
    token: str
    #: Who negotiated it: every later request for it must be the same user.
    principal: Principal = ANONYMOUS
    #: Negotiate agreed on stateful reconnect (the client asked, the hub allows).
    stateful: bool = False
    created: float = field(default_factory=time.monotonic)
    transport: str | None = None
    #: The SSE or Long Polling transport, which POSTs feed.
    http: HttpTransport | None = None
    #: For Long Polling: the task running the hub connection between polls.
    task: asyncio.Task[None] | None = None
    #: Client data POSTed before a GET chose the transport (made when needed:
    #: only signalrcore does that, and every connection has a record).
    early: _EarlyData | None = None

    def attach(self, transport: HttpTransport) -> None:
        """Make ``transport`` the connection's: it gets what was POSTed so far."""
        self.transport = transport.name
        self.http = transport
        if self.early is not None:
            transport.preload(bytes(self.early.data))
            self.early.data.clear()
            self.early.started.set()

    def drop(self) -> None:
        """The record is gone: POSTs waiting for a transport give up."""
        if self.early is not None:
            self.early.started.set()


@dataclass(slots=True)
class _EarlyData:
    """What was POSTed to a connection before its transport started."""

    data: bytearray = field(default_factory=bytearray)
    #: These POSTs go one at a time, so their bodies never interleave.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Set once the transport has taken the data over, or the record is dropped.
    started: asyncio.Event = field(default_factory=asyncio.Event)


def _query(request: HTTPConnection, key: str) -> str | None:
    """A query parameter, its name matched ignoring case (as ASP.NET Core does)."""
    value = request.query_params.get(key)
    if value is not None:
        return value
    lowered = key.lower()
    for name, candidate in request.query_params.multi_items():
        if name.lower() == lowered:
            return candidate
    return None


_NO_CACHE = {
    "Cache-Control": "no-cache, no-store",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


_SHUTTING_DOWN = "The server is shutting down."


def _text(status: int, text: str = "") -> Response:
    return PlainTextResponse(text, status_code=status)


def _default_user_id(request: HTTPConnection) -> str | None:
    """The authenticated user's ``identity``, as ASP.NET Core's default user-id
    provider takes the name-identifier claim."""
    user = user_of(request.scope)
    if not user.is_authenticated:
        return None
    try:
        return str(user.identity)
    except NotImplementedError:  # a BaseUser that does not say
        return str(user.display_name)


class HubEndpoint:
    """Serves one hub: negotiate and the transports."""

    def __init__(
        self, handler: HubConnectionHandler, options: HubOptions, rules: Rules | None = None
    ) -> None:
        self._handler = handler
        self._options = options
        #: The hub's own ``@authorize`` rules, checked on every request.
        self._rules = rules
        self._user_id = options.user_id_provider or _default_user_id
        self._warned_no_middleware = False
        #: Server shutdown under way: no new connection is taken.
        self._draining = False
        self._records: dict[str, _Record] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._ping = {name: p.write(PingMessage()) for name, p in handler.protocols.items()}
        self._offered = [
            {"transport": name, "transferFormats": formats}
            for flag, (name, formats) in _TRANSPORT_FORMATS.items()
            if flag in options.transports
        ]

    # -- ASGI --------------------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, *, negotiate: bool
    ) -> None:
        if scope["type"] == "websocket":
            if negotiate:
                await WebSocket(scope, receive, send).close(code=1008)
                return
            await self._websocket(WebSocket(scope, receive, send), receive, send)
            return
        request = Request(scope, receive)
        response: Response | None
        if negotiate:
            response = await self._negotiate(request)
        else:
            response = await self._http_transport(request, send)
        if response is not None:  # None: an SSE stream (answered) or a poll whose client left
            await response(scope, receive, send)

    # -- negotiate -------------------------------------------------------------------------

    async def _negotiate(self, request: Request) -> Response:
        if request.method != "POST":
            return _text(405, "")
        if self._draining:
            return _text(503, _SHUTTING_DOWN)
        raw = _query(request, "negotiateVersion")
        if raw is None:
            version = 0
        else:
            try:
                version = int(raw)
            except ValueError:
                return self._json({"error": "The client requested a non-integer protocol version."})
            version = min(version, 1)
        if version < self._options.min_negotiate_version:
            return self._json(
                {
                    "error": f"The client requested version '{version}', but the server "
                    "does not support this version."
                }
            )
        principal, verdict = await self._authenticate(request)
        if verdict is not Verdict.ALLOWED:
            return self._refused(verdict)
        record = self._create(principal, distinct_token=version >= 1)
        body: dict[str, object] = {
            "negotiateVersion": version,
            "connectionId": record.connection_id,
        }
        if version >= 1:
            body["connectionToken"] = record.token
        # Only to a client that asked: the official clients refuse a server
        # that offers stateful reconnect unasked.
        asked = (_query(request, "useStatefulReconnect") or "").lower() == "true"
        if asked and self._options.allow_stateful_reconnects:
            record.stateful = True
            body["useStatefulReconnect"] = True
        body["availableTransports"] = self._offered
        return self._json(body)

    @staticmethod
    def _json(body: dict[str, object]) -> Response:
        return Response(
            json.dumps(body, separators=(",", ":")).encode(), media_type="application/json"
        )

    def _create(self, principal: Principal, *, distinct_token: bool) -> _Record:
        connection_id = _new_id()
        token = _new_id() if distinct_token else connection_id
        record = _Record(connection_id, token, principal)
        self._records[token] = record
        self._start_heartbeat()
        return record

    # -- who is asking ------------------------------------------------------------------

    async def _authenticate(self, request: HTTPConnection) -> tuple[Principal, Verdict]:
        """Who sent ``request`` (as the application's authentication middleware
        says), and whether the hub's rules let them in."""
        scope = request.scope
        user = user_of(scope)
        auth = credentials_of(scope)
        rules = self._rules
        if rules is None:
            verdict = Verdict.ALLOWED
        else:
            if "user" not in scope and not self._warned_no_middleware:
                self._warned_no_middleware = True
                logger.error(
                    "hub %s requires authorization but no authentication middleware ran: "
                    "every request is anonymous (add Starlette's AuthenticationMiddleware)",
                    rules.hub,
                )
            verdict = await rules.check(user, auth, request)
        if verdict is not Verdict.ALLOWED:
            return ANONYMOUS, verdict
        if not user.is_authenticated and self._options.user_id_provider is None:
            return ANONYMOUS, verdict
        return Principal(user, auth, self._user_id(request)), verdict

    async def _admit(self, request: HTTPConnection, record: _Record) -> Verdict:
        """A request for an existing connection: the hub's rules hold for it
        too, and it must come from the user the connection belongs to (a
        token is not a credential of its own)."""
        principal, verdict = await self._authenticate(request)
        if verdict is not Verdict.ALLOWED:
            return verdict
        if principal.user_identifier != record.principal.user_identifier:
            logger.debug(
                "connection %s: a request from another user was refused", record.connection_id
            )
            return Verdict.FORBIDDEN
        return verdict

    @staticmethod
    def _refused(verdict: Verdict) -> Response:
        if verdict is Verdict.UNAUTHENTICATED:
            return PlainTextResponse("", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return _text(403)

    # -- transports --------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket, receive: Receive, send: Send) -> None:
        if TransportType.WEBSOCKETS not in self._options.transports:
            await self._deny(
                websocket, 404, "WebSockets transport not supported by this end point type"
            )
            return
        if self._draining:
            await self._deny(websocket, 503, _SHUTTING_DOWN)
            return
        token = _query(websocket, "id")
        if token is None:  # skipNegotiation
            principal, verdict = await self._authenticate(websocket)
            if verdict is not Verdict.ALLOWED:
                await self._deny(websocket, verdict.value, "")
                return
            record = self._create(principal, distinct_token=True)
        else:
            found = self._records.get(token)
            if found is None:
                await self._deny(websocket, 404, "No Connection with that ID")
                return
            verdict = await self._admit(websocket, found)
            if verdict is not Verdict.ALLOWED:
                await self._deny(websocket, verdict.value, "")
                return
            if found.transport is not None:
                if found.transport != WebSocketTransport.name:
                    await self._deny(websocket, 400, "Cannot change transports mid-connection")
                elif not await self._resume(found, websocket, receive, send):
                    await self._deny(websocket, 409, "")
                return
            record = found
        record.transport = WebSocketTransport.name
        try:
            await websocket.accept()
            # past the accept, the transport talks ASGI directly, or to the
            # server's protocol object when it offers that (hubgen.server.wsprotocol)
            transport = accepted_transport(websocket.scope, receive, send)
            await self._handler.run(
                record.connection_id,
                transport,
                websocket,
                record.principal,
                stateful=record.stateful,
            )
        finally:
            self._records.pop(record.token, None)

    async def _resume(
        self, record: _Record, websocket: WebSocket, receive: Receive, send: Send
    ) -> bool:
        """A stateful reconnect: the client's new WebSocket takes over its
        connection (no handshake; each side starts with a Sequence message).
        It is served until the connection ends or moves on again. False when
        the connection cannot take it (not stateful, or over)."""
        connection = self._handler.connections.get(record.connection_id)
        if connection is None or connection.replay is None or connection.aborted:
            return False
        await websocket.accept()
        transport = accepted_transport(websocket.scope, receive, send)
        if not connection.resume(transport):
            await transport.close(error=True)
            return True
        logger.debug("connection %s resumed on a new WebSocket", record.connection_id)
        await transport.finished.wait()
        return True

    @staticmethod
    async def _deny(websocket: WebSocket, status: int, text: str) -> None:
        """Refuse a WebSocket upgrade with an HTTP status where the server
        supports it (ASGI websocket denial responses), else close."""
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(_text(status, text))
        else:
            await websocket.close(code=1008, reason=text or None)

    async def _http_transport(self, request: Request, send: Send) -> Response | None:
        method = request.method
        if method not in ("GET", "POST", "DELETE"):
            return _text(405)
        token = _query(request, "id")
        if token is None:
            return _text(400, "Connection ID required")
        record = self._records.get(token)
        if record is None:
            return _text(404, "No Connection with that ID")
        verdict = await self._admit(request, record)
        if verdict is not Verdict.ALLOWED:
            return self._refused(verdict)
        if method == "GET":
            accept = request.headers.get("accept", "")
            kind = (
                TransportType.SERVER_SENT_EVENTS
                if "text/event-stream" in accept
                else TransportType.LONG_POLLING
            )
            name = _TRANSPORT_FORMATS[kind][0]
            if kind not in self._options.transports:
                return _text(404, f"{name} transport not supported by this end point type")
            if record.transport is not None and record.transport != name:
                return _text(400, "Cannot change transports mid-connection")
            if kind is TransportType.SERVER_SENT_EVENTS:
                if record.transport is not None:
                    return _text(409)
                if self._draining:
                    return _text(503, _SHUTTING_DOWN)
                await self._server_sent_events(record, request, send)
                return None
            return await self._long_poll(record, request)
        if record.transport == WebSocketTransport.name:
            if method == "POST":
                return _text(405, "POST requests are not allowed for WebSocket connections.")
            return _text(400, "Cannot terminate this connection using the DELETE endpoint.")
        if method == "DELETE":
            if not isinstance(record.http, LongPollingTransport):
                return _text(400, "Cannot terminate this connection using the DELETE endpoint.")
            record.http.abort()  # the client ends it: nothing more for it to poll
            return _text(202)
        try:
            if record.http is None:
                taken = await self._feed_early(record, request.stream())
            else:
                taken = await record.http.feed(request.stream())
        except ClientDisconnect:
            return _text(400)  # the client gave up sending: nobody reads this answer
        # 404 when the connection ended before the body was taken, as ASP.NET Core answers
        return _text(200 if taken else 404)

    async def _feed_early(self, record: _Record, body: AsyncIterator[bytes]) -> bool:
        """A POST to a negotiated connection before any GET has started its
        transport (signalrcore's Long Polling sends the handshake first).
        ASP.NET Core writes it into the connection's pipe, which takes up to
        its buffer size at once; so do we, and the rest of a larger body waits
        for the transport. False if the connection was dropped first."""
        if record.early is None:
            record.early = _EarlyData()
        early = record.early
        async with early.lock:
            async for chunk in body:
                if record.http is None and len(early.data) + len(chunk) <= MAX_UNPOLLED:
                    early.data += chunk
                    continue
                await early.started.wait()
                if record.http is None:
                    return False
                return await record.http.feed(_prepend(chunk, body))
            return True

    async def _server_sent_events(self, record: _Record, request: Request, send: Send) -> None:
        transport = ServerSentEventsTransport(send, request.receive)
        record.attach(transport)
        await transport.open()
        watcher = asyncio.get_running_loop().create_task(transport.watch(request.receive))
        try:
            await self._handler.run(record.connection_id, transport, request, record.principal)
        finally:
            watcher.cancel()
            self._records.pop(record.token, None)
            await transport.close()

    async def _long_poll(self, record: _Record, request: Request) -> Response | None:
        transport = record.http
        if transport is None and self._draining:
            return _text(503, _SHUTTING_DOWN)
        if transport is None:
            transport = LongPollingTransport(self._options.long_poll_timeout)
            record.attach(transport)
            # The hub connection outlives every single poll: it runs on its own
            # and sees the first poll's request for its whole life.
            record.task = asyncio.get_running_loop().create_task(
                self._handler.run(record.connection_id, transport, request, record.principal),
                name=f"hubgen-longpolling-{record.connection_id}",
            )
        assert isinstance(transport, LongPollingTransport)
        poll = asyncio.ensure_future(transport.poll())
        gone = asyncio.ensure_future(wait_disconnect(request.receive))
        try:
            await asyncio.wait({poll, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not poll.done():
                # The client left mid-poll: the poll takes nothing, and the
                # connection counts as inactive from now on.
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll
        if poll.cancelled():
            return None
        status, body, content_type = poll.result()
        if status == 204 and transport.closed:
            self._records.pop(record.token, None)
        headers = {**_NO_CACHE, "Content-Type": content_type}
        return Response(body, status_code=status, headers=headers)

    # -- heartbeat ---------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._beat(), name="hubgen-heartbeat"
            )

    async def _beat(self) -> None:
        options = self._options
        tick = max(
            0.05,
            min(
                1.0,
                options.keep_alive_interval / 4,
                options.client_timeout / 4,
                options.disconnect_timeout / 4,
            ),
        )
        expiring = options.close_on_authentication_expiration
        while self._records:
            await asyncio.sleep(tick)
            now = time.monotonic()
            wall = time.time()
            for token, record in list(self._records.items()):
                if record.transport is None:
                    if now - record.created > options.disconnect_timeout:
                        del self._records[token]
                        record.drop()  # POSTs waiting for a transport: 404
                elif isinstance(record.http, LongPollingTransport):
                    idle = record.http.idle_since
                    if idle is not None and now - idle > options.disconnect_timeout:
                        # no poll for too long: the client is gone
                        record.http.abort()
                        del self._records[token]
            for connection in list(self._handler.connections.values()):
                if connection.transport.inherent_keep_alive:
                    continue
                if now - connection.last_ping_sent >= options.keep_alive_interval:
                    connection.last_ping_sent = now
                    connection.send_control(self._ping[connection.protocol.name])
                if expiring:
                    expires_at = connection.principal.expires_at
                    if expires_at is not None and wall >= expires_at:
                        connection.abort(
                            ConnectionAborted("The connection's authentication expired."),
                            allow_reconnect=True,
                        )
                        continue
                if (
                    connection.timeout_armed
                    and now - connection.last_received > options.client_timeout
                    and now - connection.transport.bytes_received_at > options.client_timeout
                ):
                    connection.abort(
                        ClientTimedOut(
                            "Client hasn't sent a message/ping within the configured "
                            "client_timeout."
                        ),
                        allow_reconnect=True,
                    )

    async def drain(self, timeout: float) -> None:
        """Server shutdown, before the server drops any socket: take no new
        connection, let calls and streams in flight finish (``timeout``
        seconds at most), then close every connection with a Close message
        that lets its client reconnect, on every transport."""
        self._draining = True
        await self._handler.drain(timeout)

    async def close(self) -> None:
        """End every connection (server shutdown): clients are told they may
        reconnect."""
        for connection in list(self._handler.connections.values()):
            connection.abort(allow_reconnect=True)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
