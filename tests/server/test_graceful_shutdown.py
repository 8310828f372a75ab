"""Graceful shutdown under uvicorn, with uvicorn's defaults: on SIGTERM the hub
takes no new connection, lets calls in flight finish, tells every client on
every transport with a Close message that it may reconnect, and the process
exits within shutdown_timeout and a second; clients with automatic reconnect
come back when the server does.

Measured before: no client got a Close message (WebSockets saw close code
1012), and with Server-Sent Events or Long Polling clients connected uvicorn
did not exit at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from hubgen.client import HubConnection, HubConnectionState
from hubgen.client.transport import TransportName
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.support.process import serve_process

pytestmark = pytest.mark.timeout(120)

CLIENTS = 200
TRANSPORTS: list[TransportName] = ["WebSockets", "ServerSentEvents", "LongPolling"]
SHUTDOWN_TIMEOUT = 2.0


class Client:
    def __init__(self, url: str, transport: TransportName) -> None:
        self.connection = HubConnection(
            f"{url}/echo", transports=[transport], reconnect=[0, 0.5, 1, 1, 2, 2, 5, 5]
        )
        self.echo = EchoHubClient(self.connection)
        self.transport = transport
        #: What each loss of the connection was told (None: a Close message
        #: without an error, which allowed reconnecting).
        self.lost: list[Exception | None] = []
        self.connection.on_reconnecting(self.lost.append)


async def test_sigterm_drains_every_transport_and_clients_come_back() -> None:
    options: dict[str, Any] = {"shutdown_timeout": SHUTDOWN_TIMEOUT}
    async with serve_process(options=options) as server:
        port = urlsplit(server.url).port or 0
        clients = [Client(server.url, TRANSPORTS[i % 3]) for i in range(CLIENTS)]
        await asyncio.gather(*(c.connection.start() for c in clients))
        # in flight when the signal comes: calls that finish within the
        # drain, and streams that outlast it
        calls = [asyncio.ensure_future(c.echo.sleep(1.0)) for c in clients[:30]]
        streams = [c.echo.counter(1000, 0.05) for c in clients[30:40]]
        collected: list[list[int]] = [[] for _ in streams]

        async def collect(stream: Any, into: list[int]) -> None:
            with contextlib.suppress(Exception):
                async for item in stream:
                    into.append(item)

        readers = [
            asyncio.ensure_future(collect(s, c)) for s, c in zip(streams, collected, strict=True)
        ]
        await asyncio.sleep(0.3)

        started = time.monotonic()
        exited = asyncio.get_running_loop().run_in_executor(
            None, server.terminate, SHUTDOWN_TIMEOUT + 10
        )
        # no new connection while it drains
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as http:
            with contextlib.suppress(httpx.TransportError):
                refused = await http.post(f"{server.url}/echo/negotiate?negotiateVersion=1")
                assert refused.status_code == 503
                assert refused.text == "The server is shutting down."
        await exited
        took = time.monotonic() - started
        assert took < SHUTDOWN_TIMEOUT + 1.5, f"the server took {took:.1f} s to exit"

        # the calls in flight finished; the streams ended when the drain did
        assert [await call for call in calls] == [1.0] * len(calls)
        await asyncio.gather(*readers)
        assert all(0 < len(items) < 1000 for items in collected)
        # every client, on every transport, was told with a Close message
        async with asyncio.timeout(10):
            while any(not c.lost for c in clients):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        told = {t: [c.lost[0] for c in clients if c.transport == t] for t in TRANSPORTS}
        for transport, errors in told.items():
            assert errors == [None] * len(errors), f"{transport}: {errors[:3]}"

        # they come back when the server does
        async with serve_process(options=options, port=port):
            async with asyncio.timeout(30):
                while any(  # noqa: ASYNC110
                    c.connection.state is not HubConnectionState.CONNECTED for c in clients
                ):
                    await asyncio.sleep(0.1)
            for client in clients[::20]:
                assert await client.echo.echo("back") == "back"
            for client in clients:
                await client.connection.stop()


async def test_a_stream_that_ends_in_time_completes() -> None:
    async with (
        serve_process(options={"shutdown_timeout": 3.0}) as server,
        HubConnection(f"{server.url}/echo") as connection,
    ):
        items = EchoHubClient(connection).counter(10, 0.1).__aiter__()
        received = [await anext(items)]  # under way on the server
        exited = asyncio.get_running_loop().run_in_executor(None, server.terminate, 10)
        received += [item async for item in items]
        await exited
        assert received == list(range(10))
