"""Automatic reconnect, against the real server with the network breaking in
between: a fault-injection proxy (tests/support/faultproxy.py) resets, drops
and stalls the connections, or refuses new ones while "the server is down"."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from hubgen.client import (
    ConnectionClosedError,
    ConnectionLostError,
    DefaultRetryPolicy,
    HubConnection,
    HubConnectionError,
    HubConnectionState,
    NegotiationError,
    RetryContext,
    TransportName,
)
from hubgen.client.retry import retry_policy
from hubgen.server import HubOptions
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.client.apps import ClientTestHub, Recorder, create_app
from tests.client.peers import Peer, PeerSocket
from tests.support.faultproxy import FaultProxy
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)

NOT_CONNECTED = "Cannot send data if the connection is not in the 'Connected' State."
SERVER_TIMEOUT = "Server timeout elapsed without receiving a message from the server."
CLIENT_TIMEOUT = "Client hasn't sent a message/ping within the configured client_timeout."
LOST = "The connection to the server was lost: "


def state_of(connection: HubConnection) -> HubConnectionState:
    """The state, read through a call so that mypy does not narrow it."""
    return connection.state


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


class Events:
    """What a connection's reconnecting / reconnected / close callbacks saw,
    in order, with the loop time of each (sync and async callbacks both)."""

    def __init__(self, connection: HubConnection) -> None:
        self.log: list[tuple[str, Any, float]] = []
        self._queues: dict[str, asyncio.Queue[Any]] = {
            "reconnecting": asyncio.Queue(),
            "reconnected": asyncio.Queue(),
            "closed": asyncio.Queue(),
        }
        connection.on_reconnecting(lambda error: self._record("reconnecting", error))
        connection.on_reconnected(self._reconnected)
        connection.on_close(lambda error: self._record("closed", error))

    def _record(self, kind: str, value: Any) -> None:
        self.log.append((kind, value, asyncio.get_running_loop().time()))
        self._queues[kind].put_nowait(value)

    async def _reconnected(self, connection_id: str | None) -> None:
        self._record("reconnected", connection_id)

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.log]

    async def next(self, kind: str, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self._queues[kind].get(), timeout)


@asynccontextmanager
async def proxied(
    options: HubOptions | None = None,
) -> AsyncIterator[tuple[str, FaultProxy, Recorder]]:
    """The client tests' server behind a fault proxy: (hub URL through the
    proxy, the proxy, the server's request recorder)."""
    app = create_app(options)
    async with serve(app) as url, FaultProxy(port_of(url)) as proxy:
        yield proxy.url + "/echo", proxy, app


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds (state that no event announces)."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - polling the proxy's or the client's state
            await asyncio.sleep(0.01)


async def drain(items: AsyncIterator[object]) -> None:
    async for _ in items:
        pass


# -- the retry policy ------------------------------------------------------------------------


def test_retry_policies_from_the_reconnect_option() -> None:
    error = HubConnectionError("lost")
    default = retry_policy(True)
    assert isinstance(default, DefaultRetryPolicy)
    # The official clients' waits: 0, 2, 10 and 30 seconds, then give up.
    assert [default.next_retry_delay(RetryContext(n, 99.0, error)) for n in range(5)] == [
        0.0,
        2.0,
        10.0,
        30.0,
        None,
    ]
    listed = retry_policy([0.5, 1])
    assert isinstance(listed, DefaultRetryPolicy)
    assert listed.delays == (0.5, 1.0)
    assert listed.next_retry_delay(RetryContext(2, 1.5, error)) is None
    assert retry_policy(False) is None
    assert retry_policy(None) is None

    class Custom:
        def next_retry_delay(self, context: RetryContext) -> float | None:
            return 1.0

    custom = Custom()
    assert retry_policy(custom) is custom
    assert HubConnection("http://localhost/hub").retry_policy is None
    assert isinstance(
        HubConnection("http://localhost/hub", reconnect=True).retry_policy, DefaultRetryPolicy
    )
    with pytest.raises(ValueError, match=r"reconnect delays must be finite and >= 0, got -1\.0"):
        HubConnection("http://localhost/hub", reconnect=[0, -1])
    with pytest.raises(TypeError, match="reconnect must be True, False, a list of delays"):
        HubConnection("http://localhost/hub", reconnect="always")  # type: ignore[arg-type]


async def test_a_custom_policy_sees_count_elapsed_and_error_then_gives_up() -> None:
    seen: list[RetryContext] = []

    class ThreeQuickTries:
        def next_retry_delay(self, context: RetryContext) -> float | None:
            seen.append(context)
            return 0.1 if context.previous_retry_count < 3 else None

    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, reconnect=ThreeQuickTries())
        events = Events(connection)
        await connection.start()
        proxy.on_connect = "reset"  # "the server is down": every attempt fails
        proxy.reset()
        dropped = await events.next("reconnecting")
        closed = await events.next("closed")
        assert state_of(connection) is HubConnectionState.DISCONNECTED
    assert events.kinds() == ["reconnecting", "closed"]
    assert [c.previous_retry_count for c in seen] == [0, 1, 2, 3]
    # The first decision is made when the connection was lost, with what lost it.
    assert seen[0].elapsed == 0.0
    assert seen[0].retry_reason is dropped
    # Then once per failed attempt, with that attempt's error, 0.1 s apart.
    for before, after in itertools.pairwise(seen[1:]):
        assert after.elapsed - before.elapsed >= 0.1
    for context in seen[1:]:
        assert isinstance(context.retry_reason, NegotiationError)
        assert str(context.retry_reason).startswith(
            "Failed to complete negotiation with the server: Error: "
        )
    # Giving up closes the connection with an error saying so.
    assert isinstance(closed, HubConnectionError)
    assert re.fullmatch(
        r"Reconnect retries have been exhausted after 3 failed attempts in \d+\.\d seconds; "
        r"the last error: Failed to complete negotiation with the server: Error: .*",
        str(closed),
    )
    assert closed.__cause__ is seen[3].retry_reason
    assert proxy.accepted == 2 + 3  # negotiate and WebSocket, then one per attempt


async def test_a_policy_that_says_no_at_once_closes_with_the_error() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, reconnect=[])
        events = Events(connection)
        await connection.start()
        proxy.reset()
        closed = await events.next("closed")
    assert events.kinds() == ["closed"]
    assert str(closed) == "WebSocket closed with status code: 1006 (no reason given)."


async def test_a_failing_policy_is_logged_and_closes(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def next_retry_delay(self, context: RetryContext) -> float | None:
            raise RuntimeError("policy bug")

    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, reconnect=Broken())
        events = Events(connection)
        await connection.start()
        proxy.reset()
        closed = await events.next("closed")
    assert str(closed) == "WebSocket closed with status code: 1006 (no reason given)."
    assert "The retry policy raised (attempt 0, 0.000 s); not reconnecting." in caplog.text


# -- losing the connection, coming back --------------------------------------------------------

CASES = [
    pytest.param("WebSockets", "json", id="websockets-json"),
    pytest.param("WebSockets", "messagepack", id="websockets-messagepack"),
    pytest.param("ServerSentEvents", "json", id="sse-json"),
    pytest.param("LongPolling", "json", id="longpolling-json"),
    pytest.param("LongPolling", "messagepack", id="longpolling-messagepack"),
]


@pytest.mark.parametrize(("transport", "protocol"), CASES)
async def test_drop_mid_call_then_reconnect(transport: TransportName, protocol: str) -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(
            url,
            transports=transport,
            protocol=protocol,  # type: ignore[arg-type]
            reconnect=True,  # the default policy: the first attempt comes at once
        )
        events = Events(connection)
        hub = EchoHubClient(connection)  # registered before start, typed
        received: asyncio.Queue[str] = asyncio.Queue()
        hub.on_message(received.put)
        async with connection:
            first_id = connection.connection_id
            assert await hub.whoami() == first_id
            # In flight when the network breaks: a call, a stream, an upload.
            call = asyncio.create_task(hub.sleep(20))
            items = aiter(hub.counter(100_000, 0.01))
            assert await anext(items) == 0
            upload_ended = asyncio.Event()

            async def numbers() -> AsyncIterator[int]:
                try:
                    yield 1
                    await asyncio.Event().wait()  # never ends by itself
                finally:
                    upload_ended.set()

            upload = asyncio.create_task(hub.sum_upload(numbers()))
            await asyncio.sleep(0.2)  # both invocations reach the server

            # The network fails: the open links are reset, and new ones too
            # until the client has noticed. (A long-polling client between two
            # polls has no link to lose, and its next poll would go through.)
            proxy.on_connect = "reset"
            assert proxy.reset() >= 1
            error = await events.next("reconnecting")
            proxy.on_connect = "forward"
            assert isinstance(error, HubConnectionError)
            for pending in (call, upload):
                with pytest.raises(ConnectionLostError) as caught:
                    await asyncio.wait_for(pending, 5)
                assert str(caught.value) == LOST + str(error)
                assert caught.value.__cause__ is error
            with pytest.raises(ConnectionLostError, match=f"^{re.escape(LOST)}"):
                await asyncio.wait_for(drain(items), 5)
            await asyncio.wait_for(upload_ended.wait(), 5)

            new_id = await events.next("reconnected")
            assert new_id is not None
            assert new_id != first_id
            assert state_of(connection) is HubConnectionState.CONNECTED
            assert connection.connection_id == new_id
            # The next call works, on the new server connection, and the
            # handler registered before the drop gets the server's calls.
            assert await hub.whoami() == new_id
            await hub.send_caller("after the reconnect")
            assert await asyncio.wait_for(received.get(), 5) == "after the reconnect"
            async with hub.counter(3) as stream:
                assert [n async for n in stream] == [0, 1, 2]
            assert events.kinds() == ["reconnecting", "reconnected"]
        assert await events.next("closed") is None


async def test_calls_while_reconnecting_fail_at_once_and_stop_ends_it() -> None:
    async with proxied() as (url, proxy, app):
        connection = HubConnection(url, reconnect=[10])
        events = Events(connection)
        hub = EchoHubClient(connection)
        await connection.start()
        proxy.reset()
        await events.next("reconnecting")
        assert state_of(connection) is HubConnectionState.RECONNECTING
        assert connection.connection_id is None
        negotiations = len(app.negotiations())
        loop = asyncio.get_running_loop()
        began = loop.time()
        for attempt in (hub.echo("x"), hub.send_caller("x"), hub.counter(1).start()):
            with pytest.raises(HubConnectionError, match=f"^{re.escape(NOT_CONNECTED)}$"):
                await attempt
        with pytest.raises(HubConnectionError, match="not in the 'Disconnected' state"):
            await connection.start()
        # stop() ends the 10-second wait at once; the connection never came back.
        await connection.stop()
        assert loop.time() - began < 1.0
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        assert await events.next("closed") is None
        assert events.kinds() == ["reconnecting", "closed"]
        await asyncio.sleep(0.1)
        assert len(app.negotiations()) == negotiations


async def test_stop_during_a_reconnect_attempt() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url, reconnect=[0])
        events = Events(connection)
        await connection.start()
        proxy.on_connect = "stall"  # the attempt's negotiate hangs
        proxy.reset()
        await events.next("reconnecting")
        await eventually(lambda: proxy.accepted >= 3)  # negotiate and WebSocket, then the attempt
        loop = asyncio.get_running_loop()
        began = loop.time()
        await connection.stop()
        assert loop.time() - began < 1.0
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        assert await events.next("closed") is None
        # The attempt closed its socket: once the link flows again, the
        # proxy sees that close, and no link is left.
        proxy.resume()
        await proxy.wait_idle()


async def test_stop_from_the_reconnecting_callback() -> None:
    async with proxied() as (url, proxy, app):
        connection = HubConnection(url, reconnect=[0])
        closes: list[Exception | None] = []
        connection.on_close(closes.append)
        stopped = asyncio.Event()

        async def give_up(error: Exception | None) -> None:
            await connection.stop()
            stopped.set()

        connection.on_reconnecting(give_up)
        await connection.start()
        negotiations = len(app.negotiations())
        proxy.reset()
        await asyncio.wait_for(stopped.wait(), 5)
        await eventually(lambda: state_of(connection) is HubConnectionState.DISCONNECTED)
        assert closes == [None]
        await asyncio.sleep(0.1)
        assert len(app.negotiations()) == negotiations  # no attempt was made


async def test_stop_never_reconnects() -> None:
    async with proxied() as (url, _, app):
        connection = HubConnection(url, reconnect=True)
        events = Events(connection)
        await connection.start()
        await connection.stop()
        assert await events.next("closed") is None
        await asyncio.sleep(0.1)
        assert events.kinds() == ["closed"]
        assert len(app.negotiations()) == 1


async def test_a_failed_first_start_raises_and_does_not_reconnect() -> None:
    async with proxied() as (url, proxy, _):
        proxy.on_connect = "reset"
        connection = HubConnection(url, reconnect=[0, 0, 0])
        events = Events(connection)
        with pytest.raises(NegotiationError):
            await connection.start()
        assert state_of(connection) is HubConnectionState.DISCONNECTED
        await asyncio.sleep(0.1)
        assert proxy.accepted == 1
        assert events.kinds() == []


async def test_without_reconnect_a_lost_connection_closes() -> None:
    async with proxied() as (url, proxy, _):
        connection = HubConnection(url)
        events = Events(connection)
        await connection.start()
        call = asyncio.create_task(connection.invoke("Sleep", 10))
        await asyncio.sleep(0.1)
        proxy.drop()  # a clean TCP close, without a WebSocket close
        closed = await events.next("closed")
        assert str(closed) == "WebSocket closed with status code: 1006 (no reason given)."
        with pytest.raises(ConnectionLostError, match=f"^{re.escape(LOST + str(closed))}$"):
            await call
        assert events.kinds() == ["closed"]


# -- the server's Close message ----------------------------------------------------------------


async def test_close_with_allow_reconnect_reconnects() -> None:
    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        if len(socket.peer.sockets) == 1:
            invocation = await socket.message()
            assert invocation is not None
            await socket.send_messages({"type": 7, "error": "going down", "allowReconnect": True})
        else:
            while (message := await socket.message()) is not None and message["type"] == 1:
                await socket.send_messages(
                    {"type": 3, "invocationId": message["invocationId"], "result": "back"}
                )
        await socket.drain()

    peer = Peer(script)
    async with serve(peer.app) as base:
        connection = HubConnection(base + "/hub", reconnect=[0])
        events = Events(connection)
        async with connection:
            assert connection.connection_id == "peer-connection-1"
            expected = "Server returned an error on close: going down"
            # Closed by the server on purpose: not "lost", the server's reason.
            with pytest.raises(ConnectionClosedError, match=f"^{expected}$") as caught:
                await connection.invoke("Anything")
            assert not isinstance(caught.value, ConnectionLostError)
            assert str(await events.next("reconnecting")) == expected
            assert await events.next("reconnected") == "peer-connection-2"
            assert await connection.invoke("Again") == "back"
        assert await events.next("closed") is None
    peer.check()


@pytest.mark.parametrize("allow", [False, None], ids=["allowReconnect-false", "no-allowReconnect"])
async def test_close_without_allow_reconnect_closes(allow: bool | None) -> None:
    close: dict[str, Any] = {"type": 7}
    if allow is not None:
        close["allowReconnect"] = allow

    async def script(socket: PeerSocket) -> None:
        await socket.handshake()
        await socket.send_messages(close)
        await socket.drain()

    peer = Peer(script)
    async with serve(peer.app) as base:
        connection = HubConnection(base + "/hub", reconnect=[0])
        events = Events(connection)
        await connection.start()
        assert await events.next("closed") is None
        await asyncio.sleep(0.1)
        assert events.kinds() == ["closed"]
        assert len(peer.negotiations) == 1
    peer.check()


async def test_the_real_server_aborting_a_connection_does_not_reconnect() -> None:
    async with proxied() as (url, _, app):
        connection = HubConnection(url, reconnect=[0])
        events = Events(connection)
        await connection.start()
        await connection.send("AbortMe")  # the hub's Context.abort(): no allowReconnect
        assert await events.next("closed") is None
        assert events.kinds() == ["closed"]
        assert len(app.negotiations()) == 1


# -- a server restart, half-open connections -------------------------------------------------


async def test_reconnect_through_a_server_restart_on_the_same_port() -> None:
    class Steady:
        """Every 0.2 s, for up to 10 s."""

        def next_retry_delay(self, context: RetryContext) -> float | None:
            return 0.2 if context.elapsed < 10 else None

    received: asyncio.Queue[str] = asyncio.Queue()
    async with serve(create_app()) as base:
        port = port_of(base)
        connection = HubConnection(base + "/echo", reconnect=Steady())
        events = Events(connection)
        hub = EchoHubClient(connection)
        hub.on_message(received.put)
        await connection.start()
        first_id = connection.connection_id
    # The server is gone (its shutdown tells clients they may reconnect).
    await events.next("reconnecting")
    await asyncio.sleep(0.5)  # attempts fail meanwhile: nothing listens
    assert state_of(connection) is HubConnectionState.RECONNECTING
    async with serve(create_app(), port=port):
        new_id = await events.next("reconnected")
        assert new_id not in (None, first_id)
        await hub.send_caller("restarted")
        assert await asyncio.wait_for(received.get(), 5) == "restarted"
        await connection.stop()
    assert events.kinds() == ["reconnecting", "reconnected", "closed"]


async def test_half_open_connection_detected_by_both_timeouts() -> None:
    timeout = 0.6
    options = HubOptions(client_timeout=timeout, keep_alive_interval=0.1)
    async with proxied(options) as (url, proxy, _):
        connection = HubConnection(
            url, server_timeout=timeout, keep_alive_interval=0.1, reconnect=[0, 0.1, 0.1]
        )
        events = Events(connection)
        loop = asyncio.get_running_loop()
        async with connection:
            # Twice: the timeouts keep working across a reconnect.
            for _ in range(2):
                connection_id = connection.connection_id
                # A round trip first: the server arms its client timeout on
                # the client's first ping (as ASP.NET Core does), which goes
                # out right after the handshake, before this call.
                assert await connection.invoke("Echo", "armed") == "armed"
                stalled_at = loop.time()
                assert proxy.stall() >= 1  # nothing passes either way; no FIN, no RST
                error = await events.next("reconnecting")
                client_noticed = loop.time() - stalled_at
                assert str(error) == SERVER_TIMEOUT
                assert timeout <= client_noticed < timeout + 1.0
                gone, reason = await asyncio.wait_for(ClientTestHub.disconnects.get(), 5)
                server_noticed = loop.time() - stalled_at
                assert (gone, reason) == (connection_id, CLIENT_TIMEOUT)
                assert timeout <= server_noticed < timeout + 1.0
                assert await events.next("reconnected") != connection_id  # new links flow
            # Pings keep the new connection alive: several server and client
            # timeouts pass without either side giving up.
            await asyncio.sleep(2 * timeout)
            assert ClientTestHub.disconnects.empty()
            assert events.kinds() == ["reconnecting", "reconnected"] * 2
            assert await connection.invoke("Echo", "alive") == "alive"


async def test_a_slow_network_is_not_a_lost_connection() -> None:
    timeout = 1.0
    options = HubOptions(client_timeout=timeout, keep_alive_interval=0.1)
    async with proxied(options) as (url, proxy, _):
        connection = HubConnection(
            url, server_timeout=timeout, keep_alive_interval=0.1, reconnect=[0]
        )
        events = Events(connection)
        async with connection:
            # Everything arrives late, and slowly, but within the timeouts:
            # the call's message and its reply each take about half of one
            # through the proxy, uncompressed (with permessage-deflate off,
            # as on hubgen's own WebSocket protocol) as much as compressed.
            proxy.slow(latency=0.1, rate=50_000)
            text = "x" * 5_000
            assert await connection.invoke("Echo", text) == text
            await asyncio.sleep(2 * timeout)
            assert events.kinds() == []
            assert state_of(connection) is HubConnectionState.CONNECTED
