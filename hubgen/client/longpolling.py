"""The Long Polling transport (client side), as the official client has it.

Server → client: polls, ``GET {url}?id=<token>&_=<ms>`` (the cache buster is
the time in milliseconds), one at a time. The server answers the first poll
of a connection at once, and ``connect`` waits for that answer; then a poll
loop runs until the connection ends. Each answer means:

* ``200`` with a body: data (whole messages, possibly several);
* ``200`` empty: the server's poll timeout; poll again;
* ``204``: the server ended the connection; the transport closes cleanly;
* anything else, or a failed request: the transport closes with that error.

A poll the server holds longer than :attr:`LongPollingTransport.poll_timeout`
(100 s, the official client's) is given up and simply sent again.

Client → server: POSTs (:class:`~hubgen.client.http_transport.HttpTransport`),
and at the end ``DELETE {url}?id=<token>``: ``close`` aborts the outstanding
poll, waits for the poll loop, then deletes the connection on the server
(failures are logged, not raised; no DELETE once the server ended it).

Long Polling keeps itself alive (``inherent_keep_alive``): over it the hub
connection sends no pings and runs no server timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import ClassVar

import httpx

from hubgen.client.errors import TransportError, exception_text
from hubgen.client.http_transport import HttpTransport
from hubgen.client.negotiate import http_error_text
from hubgen.client.transport import TransportName
from hubgen.protocol import TransferFormat

__all__ = ["LongPollingTransport"]

logger = logging.getLogger("hubgen.client")


class LongPollingTransport(HttpTransport):
    """Server → client as answers to polls; client → server by POST."""

    name: ClassVar[TransportName] = "LongPolling"
    inherent_keep_alive: ClassVar[bool] = True
    #: Seconds a poll may go unanswered before the client gives it up and polls again.
    poll_timeout: ClassVar[float] = 100.0

    _poller: asyncio.Task[None] | None = None
    #: True once the server said (204) that the connection is over.
    _ended_by_server = False
    _closing = False

    def _poll_url(self, url: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}_={time.time_ns() // 1_000_000}"

    async def connect(self, url: str, transfer_format: TransferFormat) -> None:
        await self._fetch_token()
        try:
            # The server answers a connection's first poll at once: the hub
            # handshake may only be sent after it.
            first = await self._request(
                "GET", self._poll_url(url), timeout=self.context.connect_timeout
            )
        except httpx.TimeoutException as exc:
            raise TransportError(
                "Long Polling failed to connect: the server did not answer the first poll "
                f"within {self.context.connect_timeout:g} seconds."
            ) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"Long Polling failed to connect: {exception_text(exc)}") from exc
        if first.status_code != 200:
            raise TransportError(http_error_text(first))
        self._url = url
        self._poller = asyncio.get_running_loop().create_task(
            self._poll(url), name="hubgen-client-longpolling"
        )

    async def _poll(self, url: str) -> None:
        error: TransportError | None = None
        try:
            while True:
                try:
                    response = await self._request(
                        "GET", self._poll_url(url), timeout=self.poll_timeout
                    )
                except httpx.TimeoutException:
                    logger.debug("(LongPolling transport) Poll timed out, reissuing.")
                    continue
                except httpx.HTTPError as exc:
                    error = TransportError(
                        f"The long-polling request failed: {exception_text(exc)}"
                    )
                    return
                status = response.status_code
                if status == 204:
                    logger.debug("(LongPolling transport) Poll terminated by server.")
                    self._ended_by_server = True
                    return
                if status != 200:
                    logger.debug("(LongPolling transport) Unexpected response code: %s.", status)
                    error = TransportError(http_error_text(response))
                    return
                if response.content and not await self._inbox.put(response.content):
                    return  # closed meanwhile
        finally:
            self._inbox.end(error)

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._inbox.end()
        poller, self._poller = self._poller, None
        if poller is not None and poller is not asyncio.current_task():
            poller.cancel()  # aborts the outstanding poll
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        url = self._url
        if url is None or self._ended_by_server:
            return
        try:
            response = await self._request("DELETE", url, timeout=self.context.connect_timeout)
        except httpx.HTTPError as exc:
            logger.debug("(LongPolling transport) Error sending a DELETE request: %s", exc)
            return
        if response.is_success:
            logger.debug("(LongPolling transport) DELETE request accepted.")
        else:
            logger.debug(
                "(LongPolling transport) DELETE request answered %s.", response.status_code
            )
