"""The connection below the hub layer: negotiate, pick a transport, move data.

This is the official client's ``HttpConnection``. It negotiates (following
redirects), then walks ``availableTransports`` in the server's order of
preference, skipping transports this client does not implement, those the
``transports`` option rules out, and those that cannot carry the protocol's
transfer format (MessagePack is binary: never Server-Sent Events). When one
fails to connect it logs why, negotiates again (the failed attempt's
connection is gone on the server) and tries the next; when all fail the
error lists every reason. Sends go through one queue that batches whatever
accumulated while the previous write was in flight into a single transport
send (one POST over Server-Sent Events and Long Polling), as the official
``TransportSendQueue`` does.

With stateful reconnect asked for and agreed at negotiate, over WebSockets,
:meth:`HttpConnection.reconnect` replaces a dropped socket with a new one to
the same URL (the same connection token), without negotiating again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import ssl
from collections.abc import Collection, Mapping
from typing import Final

import httpx

from hubgen.client.errors import HubConnectionError, NegotiationError, TransportError
from hubgen.client.longpolling import LongPollingTransport
from hubgen.client.negotiate import (
    AccessToken,
    NegotiateResponse,
    connect_url,
    negotiate,
    request_negotiate,
)
from hubgen.client.sse import ServerSentEventsTransport
from hubgen.client.transport import (
    Transport,
    TransportContext,
    TransportName,
    WebSocketFactory,
)
from hubgen.client.websocket import WebSocketTransport
from hubgen.protocol import TransferFormat

__all__ = ["TRANSPORTS", "HttpConnection"]

logger = logging.getLogger("hubgen.client")

#: Transports this client implements, by negotiate name.
TRANSPORTS: Final[Mapping[str, type[Transport]]] = {
    WebSocketTransport.name: WebSocketTransport,
    ServerSentEventsTransport.name: ServerSentEventsTransport,
    LongPollingTransport.name: LongPollingTransport,
}

#: The official client's default HTTP timeout.
HTTP_TIMEOUT: Final = 100.0

_NOT_CONNECTED: Final = "Cannot send data if the connection is not in the 'Connected' State."
_STOPPED: Final = "The connection was stopped during a stateful reconnect."


class _SendQueue:
    """Serialises sends and batches those that pile up during a write."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._pending: list[str | bytes] = []
        self._batch: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hubgen-client-send")

    def post(self, data: str | bytes) -> asyncio.Future[None]:
        """Queue ``data``; the future resolves once its batch was written."""
        if self._stopped:
            raise HubConnectionError(_NOT_CONNECTED)
        self._pending.append(data)
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
            # A batch nobody awaits any more (its senders were cancelled)
            # must not log "exception never retrieved".
            self._batch.add_done_callback(_consume)
        self._wake.set()
        return self._batch

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._stopped:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            pending, batch = self._pending, self._batch
            self._pending, self._batch = [], None
            assert batch is not None
            try:
                for chunk in _coalesce(pending):
                    await self._transport.send(chunk)
            except Exception as exc:
                if not batch.done():
                    batch.set_exception(exc)
            else:
                if not batch.done():
                    batch.set_result(None)

    async def stop(self, *, flush: float = 0.0) -> None:
        """Stop accepting data; write what is queued for at most ``flush``
        seconds, then fail whatever is left."""
        self._stopped = True
        self._wake.set()
        if flush > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), flush)
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._batch is not None and not self._batch.done():
            self._batch.set_exception(HubConnectionError("Connection stopped."))


async def _close_quietly(transport: Transport) -> None:
    try:
        await transport.close()
    except Exception:
        logger.debug("closing the %s transport failed", transport.name, exc_info=True)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once: loading the CA bundle takes
    tens of milliseconds of CPU, too much to spend (blocking the event loop)
    on every start and every reconnect attempt."""
    return httpx.create_ssl_context()


class _Borrowed(httpx.AsyncBaseTransport):
    """An httpx transport the application owns: each connection attempt's
    HTTP client sends through it, and closing that client leaves it open."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        pass


def _consume(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _coalesce(items: list[str | bytes]) -> list[str | bytes]:
    """Join consecutive items of the same kind (text with text, bytes with
    bytes), in time linear in their size: a batch may hold thousands."""
    chunks: list[str | bytes] = []
    for is_text, run in itertools.groupby(items, key=lambda item: isinstance(item, str)):
        if is_text:
            chunks.append("".join(item for item in run if isinstance(item, str)))
        else:
            chunks.append(b"".join(item for item in run if isinstance(item, bytes)))
    return chunks


class HttpConnection:
    """One attempt at a connection: negotiate, transport, send queue.

    Made by :class:`~hubgen.client.HubConnection` for every ``start()``.
    """

    def __init__(
        self,
        url: str,
        *,
        access_token: AccessToken,
        headers: Mapping[str, str] | None,
        skip_negotiation: bool,
        connect_timeout: float,
        transports: Collection[TransportName] | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        websocket_factory: WebSocketFactory | None = None,
        stateful_reconnect: bool = False,
    ) -> None:
        self.url = url
        self._stateful_reconnect = stateful_reconnect
        self._allowed = None if transports is None else frozenset(transports)
        self._access_token = access_token
        self._headers = headers
        self._skip_negotiation = skip_negotiation
        self._connect_timeout = connect_timeout
        self._websocket_factory = websocket_factory
        if http_transport is None:
            self._http = httpx.AsyncClient(
                timeout=HTTP_TIMEOUT, follow_redirects=True, verify=_tls_context()
            )
        else:
            self._http = httpx.AsyncClient(
                timeout=HTTP_TIMEOUT, follow_redirects=True, transport=_Borrowed(http_transport)
            )
        self.transport: Transport | None = None
        self.connection_id: str | None = None
        self._queue: _SendQueue | None = None
        #: What :meth:`reconnect` needs: how the transport was made, where it
        #: connected, and with which token source and transfer format.
        self._reconnect_with: tuple[type[Transport], str, AccessToken, TransferFormat] | None = None
        self._stopped = False

    @property
    def inherent_keep_alive(self) -> bool:
        return self.transport is not None and self.transport.inherent_keep_alive

    def _context(self, access_token: AccessToken) -> TransportContext:
        return TransportContext(
            self._http,
            self._headers,
            access_token,
            self._connect_timeout,
            self._websocket_factory,
        )

    # -- start -------------------------------------------------------------------------

    async def start(self, transfer_format: TransferFormat) -> None:
        """Negotiate and connect a transport. On failure everything opened so
        far is closed again before the error propagates."""
        try:
            await self._start(transfer_format)
        except BaseException:
            await self.stop()
            raise
        assert self.transport is not None
        self._queue = _SendQueue(self.transport)

    async def _start(self, transfer_format: TransferFormat) -> None:
        if self._skip_negotiation:
            transport = WebSocketTransport(self._context(self._access_token))
            await transport.connect(self.url, transfer_format)
            self.transport = transport
            return
        negotiated = await negotiate(
            self._http,
            self.url,
            access_token=self._access_token,
            headers=self._headers,
            stateful_reconnect=self._stateful_reconnect,
        )
        await self._select_transport(
            negotiated.url, negotiated.response, negotiated.access_token, transfer_format
        )

    async def _select_transport(
        self,
        url: str,
        response: NegotiateResponse,
        access_token: AccessToken,
        transfer_format: TransferFormat,
    ) -> None:
        failures: list[str] = []
        current: NegotiateResponse | None = response
        for offered in response.available_transports:
            factory = TRANSPORTS.get(offered.transport)
            if factory is None:
                logger.debug(
                    "Skipping transport '%s' because it is not supported by this client.",
                    offered.transport,
                )
                failures.append(
                    f"{offered.transport} failed: Skipping transport '{offered.transport}' "
                    "because it is not supported by this client."
                )
                continue
            if self._allowed is not None and offered.transport not in self._allowed:
                logger.debug(
                    "Skipping transport '%s' because it was disabled by the client.",
                    offered.transport,
                )
                failures.append(
                    f"{offered.transport} failed: '{offered.transport}' is disabled by the client."
                )
                continue
            if transfer_format.value not in offered.transfer_formats:
                logger.debug(
                    "Skipping transport '%s' because it does not support the requested "
                    "transfer format '%s'.",
                    offered.transport,
                    transfer_format.value,
                )
                failures.append(
                    f"{offered.transport} failed: '{offered.transport}' does not support "
                    f"{transfer_format.value}."
                )
                continue
            if current is None:
                # The previous transport failed: its connection is gone on the
                # server, so negotiate a new one (no redirects this time).
                current = await request_negotiate(
                    self._http,
                    url,
                    access_token=access_token,
                    headers=self._headers,
                    stateful_reconnect=self._stateful_reconnect,
                )
                if current.error is not None:
                    raise NegotiationError(current.error)
            transport = factory(self._context(access_token))
            logger.debug("Selecting transport '%s'.", offered.transport)
            target = connect_url(url, current.connection_token)
            try:
                await transport.connect(target, transfer_format)
            except HubConnectionError as exc:
                logger.warning("Failed to start the transport '%s': %s", offered.transport, exc)
                failures.append(f"{offered.transport} failed: {exc}")
                current = None
                await transport.close()
                continue
            self.transport = transport
            self.connection_id = current.connection_id
            # Only over WebSockets: the only transport that can resume.
            if current.use_stateful_reconnect and factory.name == "WebSockets":
                self._reconnect_with = (factory, target, access_token, transfer_format)
            return
        if failures:
            raise TransportError(
                "Unable to connect to the server with any of the available transports. "
                + " ".join(failures)
            )
        raise TransportError(
            "None of the transports supported by the client are supported by the server."
        )

    @property
    def stateful(self) -> bool:
        """Stateful reconnect is on for this connection: asked for, agreed at
        negotiate, and the transport is WebSockets."""
        return self._reconnect_with is not None

    async def reconnect(self) -> None:
        """Stateful reconnect: replace the transport, which is gone, with a new
        one to the same URL (the same connection token), without negotiating.
        Whatever was queued for the old one is dropped (the hub layer keeps
        and sends again what matters). Raises
        :class:`~hubgen.client.HubConnectionError` when the new one cannot
        connect, or :meth:`stop` ran meanwhile."""
        if self._reconnect_with is None:
            raise HubConnectionError("Stateful reconnect is not on for this connection.")
        factory, url, access_token, transfer_format = self._reconnect_with
        queue, self._queue = self._queue, None
        if queue is not None:
            await queue.stop()
        old, self.transport = self.transport, None
        if old is not None:
            await _close_quietly(old)
        if self._stopped:
            raise HubConnectionError(_STOPPED)
        transport = factory(self._context(access_token))
        try:
            await transport.connect(url, transfer_format)
            if self._stopped:  # while connecting
                raise HubConnectionError(_STOPPED)
        except BaseException:
            await _close_quietly(transport)
            raise
        self.transport = transport
        self._queue = _SendQueue(transport)

    # -- data --------------------------------------------------------------------------

    async def send_now(self, data: str | bytes) -> None:
        """Send ``data`` directly, bypassing the queue (the handshake request)."""
        if self.transport is None:
            raise HubConnectionError(_NOT_CONNECTED)
        await self.transport.send(data)

    def post(self, data: str | bytes) -> asyncio.Future[None]:
        """Queue ``data`` for sending; the future says when it was written."""
        if self._queue is None:
            raise HubConnectionError(_NOT_CONNECTED)
        return self._queue.post(data)

    async def send(self, data: str | bytes) -> None:
        """Send ``data`` and wait until it was written (cancelling the wait
        does not take it back)."""
        await asyncio.shield(self.post(data))

    async def receive(self) -> bytes | None:
        if self.transport is None:
            return None
        return await self.transport.receive()

    # -- stop --------------------------------------------------------------------------

    async def stop(self, *, flush: float = 0.0) -> None:
        """Flush queued data (up to ``flush`` seconds), close the transport and
        the HTTP client. Safe to call more than once."""
        self._stopped = True
        queue, self._queue = self._queue, None
        if queue is not None:
            await queue.stop(flush=flush)
        transport, self.transport = self.transport, None
        if transport is not None:
            await _close_quietly(transport)
        await self._http.aclose()
        self.connection_id = None
