"""The life of a connection against the real server: start, stop, close, keep-alive."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from hubgen.client import (
    ConnectionClosedError,
    HandshakeError,
    HubConnection,
    HubConnectionError,
    HubConnectionState,
)
from hubgen.server import HubOptions
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.client.apps import ClientTestHub, Recorder, create_app
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)

ServeHub = Callable[[HubOptions], AbstractAsyncContextManager[str]]
CANCELED = re.escape("Invocation canceled due to the underlying connection being closed.")


def state_of(connection: HubConnection) -> HubConnectionState:
    """The state, read through a call so that mypy does not narrow it."""
    return connection.state


async def drain(items: AsyncIterator[object]) -> None:
    async for _ in items:
        pass


class Closes:
    """An on_close callback that records what it was called with."""

    def __init__(self) -> None:
        self.errors: list[Exception | None] = []
        self.event = asyncio.Event()

    async def __call__(self, error: Exception | None) -> None:
        self.errors.append(error)
        self.event.set()

    async def wait(self) -> Exception | None:
        await asyncio.wait_for(self.event.wait(), 5)
        return self.errors[-1]


async def test_states_connection_id_and_restart(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    assert state_of(connection) is HubConnectionState.DISCONNECTED
    before_start = connection.connection_id
    assert before_start is None
    await connection.start()
    assert state_of(connection) is HubConnectionState.CONNECTED
    first_id = connection.connection_id
    assert first_id is not None
    assert await connection.invoke("Whoami") == first_id
    await connection.stop()
    assert state_of(connection) is HubConnectionState.DISCONNECTED
    after_stop = connection.connection_id
    assert after_stop is None
    await connection.start()  # a stopped connection can start again: a new server connection
    assert connection.connection_id not in (None, first_id)
    assert await connection.invoke("Whoami") == connection.connection_id
    await connection.stop()


async def test_start_twice_is_an_error_and_stop_is_idempotent(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    await connection.stop()  # never started: nothing to do
    async with connection:
        with pytest.raises(
            HubConnectionError,
            match=r"^Cannot start a HubConnection that is not in the 'Disconnected' state\.$",
        ):
            await connection.start()
        await connection.stop()
        await connection.stop()
        assert state_of(connection) is HubConnectionState.DISCONNECTED
    assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_stop_tells_the_server_and_runs_close_callbacks(
    server: tuple[str, Recorder],
) -> None:
    url, _ = server
    connection = HubConnection(url + "/echo")
    closes = Closes()
    sync_calls: list[Exception | None] = []
    connection.on_close(closes)
    removed = connection.on_close(lambda error: sync_calls.append(error))
    kept = connection.on_close(lambda error: sync_calls.append(error))
    removed.dispose()
    await connection.start()
    connection_id = connection.connection_id
    await connection.stop()
    assert closes.errors == [None]
    assert sync_calls == [None]
    kept.dispose()
    # The server saw a clean disconnect (the client's Close message), no error.
    assert await asyncio.wait_for(ClientTestHub.disconnects.get(), 5) == (connection_id, None)


async def test_stop_fails_pending_calls_and_streams(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    await connection.start()
    hub = EchoHubClient(connection)
    pending = asyncio.create_task(hub.sleep(10))
    stream = hub.counter(100_000, 0.01)
    items = aiter(stream)
    assert await anext(items) == 0
    await asyncio.sleep(0.05)  # let the sleep invocation go out
    await connection.stop()
    with pytest.raises(ConnectionClosedError, match=f"^{CANCELED}$"):
        await pending
    with pytest.raises(ConnectionClosedError, match=f"^{CANCELED}$"):
        await drain(items)


async def test_stop_from_a_handler(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    closes = Closes()
    connection.on_close(closes)

    async def stop_on_message(text: str) -> None:
        await connection.stop()

    connection.on("Message", stop_on_message)
    await connection.start()
    await connection.send("SendCaller", "stop please")
    assert await closes.wait() is None
    assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_server_closes_without_error(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    closes = Closes()
    connection.on_close(closes)
    await connection.start()
    await connection.send("AbortMe")
    assert await closes.wait() is None
    assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_server_shutdown_closes_clients() -> None:
    app = create_app()
    async with serve(app) as url:
        connection = HubConnection(url + "/echo")
        closes = Closes()
        connection.on_close(closes)
        await connection.start()
        # What an application's lifespan shutdown does: a Close message that
        # allows reconnecting, without an error.
        await app.route.close()
        assert await closes.wait() is None
        assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_websocket_dropped_by_the_server_is_an_error() -> None:
    closes = Closes()
    async with serve(create_app()) as url:
        connection = HubConnection(url + "/echo")
        connection.on_close(closes)
        await connection.start()
    # uvicorn stopped without the hub's Close message: the socket closed with
    # "service restart", which the official client reports as an error.
    error = await closes.wait()
    assert str(error) == "WebSocket closed with status code: 1012 (no reason given)."


async def test_server_closes_with_error(serve_hub: ServeHub, protocol: str) -> None:
    async with serve_hub(HubOptions(max_message_size=1000)) as url:
        connection = HubConnection(url, protocol=protocol)  # type: ignore[arg-type]
        closes = Closes()
        connection.on_close(closes)
        await connection.start()
        expected = "Server returned an error on close: Connection closed with an error."
        with pytest.raises(ConnectionClosedError, match=f"^{expected}$") as caught:
            await connection.invoke("Echo", "x" * 5000)  # over the server's limit
        assert isinstance(caught.value.__cause__, HubConnectionError)
        error = await closes.wait()
        assert isinstance(error, HubConnectionError)
        assert str(error) == expected
        assert state_of(connection) is HubConnectionState.DISCONNECTED


async def test_reconnect_from_the_close_callback(hub_url: str) -> None:
    connection = HubConnection(hub_url)
    reconnected = asyncio.Event()

    async def restart(error: Exception | None) -> None:
        await connection.start()
        reconnected.set()

    await connection.start()
    first_id = connection.connection_id
    registration = connection.on_close(restart)
    await connection.send("AbortMe")
    await asyncio.wait_for(reconnected.wait(), 5)
    registration.dispose()
    assert state_of(connection) is HubConnectionState.CONNECTED
    assert await connection.invoke("Whoami") not in (None, first_id)
    await connection.stop()


async def test_client_pings_keep_the_connection_alive(serve_hub: ServeHub) -> None:
    options = HubOptions(client_timeout=1.0, keep_alive_interval=0.1)
    async with serve_hub(options) as url:
        pinging = HubConnection(url, keep_alive_interval=0.1, server_timeout=2)
        silent = HubConnection(url, keep_alive_interval=30, server_timeout=2)
        silent_closed = Closes()
        silent.on_close(silent_closed)
        async with pinging, silent:
            # The client that says nothing for longer than the server's client
            # timeout is dropped; the one that pings is not.
            error = await silent_closed.wait()
            assert "Client hasn't sent a message/ping within the configured" in str(error)
            assert state_of(pinging) is HubConnectionState.CONNECTED
            assert await pinging.invoke("Echo", "alive") == "alive"


async def test_server_pings_satisfy_the_server_timeout(serve_hub: ServeHub) -> None:
    async with serve_hub(HubOptions(keep_alive_interval=0.05)) as url:
        connection = HubConnection(url, server_timeout=0.5)
        closes = Closes()
        connection.on_close(closes)
        async with connection:
            await asyncio.sleep(1.0)  # twice the server timeout, without calls
            assert closes.errors == []
            assert await connection.invoke("Echo", "alive") == "alive"


async def test_handshake_error_from_the_server(serve_hub: ServeHub) -> None:
    async with serve_hub(HubOptions(protocols=("json",))) as url:
        connection = HubConnection(url, protocol="messagepack")
        with pytest.raises(
            HandshakeError,
            match=r"^Server returned handshake error: The protocol 'messagepack' is not "
            r"supported\.$",
        ):
            await connection.start()
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        connection = HubConnection(url, protocol="json")
        async with connection:
            assert await connection.invoke("Echo", "json works") == "json works"


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="Cannot resolve 'localhost/hub'"):
        HubConnection("localhost/hub")
    with pytest.raises(ValueError, match="unknown hub protocol 'xml'"):
        HubConnection("http://localhost/hub", protocol="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="server_timeout must be positive"):
        HubConnection("http://localhost/hub", server_timeout=0)
    assert HubConnection("ws://localhost/hub").url == "http://localhost/hub"
    assert HubConnection("wss://h/hub", skip_negotiation=True).url == "wss://h/hub"
