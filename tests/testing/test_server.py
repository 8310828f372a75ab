"""hubgen.testing's server: the application's lifespan, finding the hub's
route, its other endpoints, what it raises, an orderly end — and settling,
which waits for everything under way and for nothing else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from hubgen.client import HubConnectionState
from hubgen.client.asgi import Receive, Scope, Send
from hubgen.server import HubRoute
from hubgen.testing import ClientCall, HubTestServer, LifespanError, settle
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import EchoHubImpl, create_app
from tests.testing.apps import FarewellHub, Lifecycle, app_with


async def test_the_lifespan_runs_around_the_server() -> None:
    lifecycle = Lifecycle()
    route = HubRoute("/echo", EchoHubImpl)

    async def greeting(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.greeting)

    app = Starlette(routes=[route, Route("/greeting", greeting)], lifespan=lifecycle)
    async with HubTestServer(app) as server:
        assert lifecycle.events == ["startup"]
        assert server.state == {"greeting": "hello from the lifespan"}
        # the lifespan's state reaches requests, as under a server
        response = await server.http.get("/greeting")
        assert (response.status_code, response.text) == (200, "hello from the lifespan")
        client = await server.connect(EchoHubClient)
        assert await client.hub.echo("up") == "up"
    assert lifecycle.events == ["startup", "shutdown"]

    lifecycle.events.clear()
    async with HubTestServer(app, lifespan=False) as server:
        client = await server.connect(EchoHubClient)
        assert await client.hub.echo("no lifespan") == "no lifespan"
    assert lifecycle.events == []


async def test_the_hub_s_lifespan_closes_its_connections() -> None:
    """``hub.lifespan`` closes the hub at shutdown: by then the server has
    stopped its clients, and their on_disconnected has run."""
    disconnected: list[str] = []

    class Watched(EchoHubImpl):
        async def on_disconnected(self, exception: BaseException | None) -> None:
            disconnected.append(self.context.connection_id)

    route = HubRoute("/echo", Watched)
    async with HubTestServer(Starlette(routes=[route], lifespan=route.lifespan)) as server:
        client = await server.connect(EchoHubClient)
        connection_id = client.connection_id
        assert route.connection_count == 1
    assert disconnected == [connection_id]
    assert route.connection_count == 0
    assert client.connection.state is HubConnectionState.DISCONNECTED


async def test_a_failing_startup_is_raised() -> None:
    async def connect_database() -> None:
        raise ConnectionRefusedError("the database is down")

    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        await connect_database()
        yield

    app = Starlette(routes=[HubRoute("/echo", EchoHubImpl)], lifespan=broken)

    async def start() -> None:
        async with HubTestServer(app):
            pass

    with pytest.raises(LifespanError) as info:
        await start()
    assert str(info.value) == (
        "the application's startup failed: ConnectionRefusedError('the database is down')"
    )
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


async def test_an_application_without_a_lifespan() -> None:
    """A bare ASGI callable that knows nothing of lifespans (as uvicorn's
    ``--lifespan auto`` treats it): there is nothing to run."""
    inner = create_app()

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] in ("http", "websocket"), "no lifespans here"
        await inner(scope, receive, send)

    async with HubTestServer(bare) as server:
        client = await server.connect(EchoHubClient, path="/echo")
        assert await client.hub.echo("bare") == "bare"
        with pytest.raises(ValueError, match=r"cannot find the route of EchoHub .*pass path="):
            server.client(EchoHubClient)


async def test_a_route_alone_and_routes_found_where_mounted() -> None:
    route = HubRoute("/echo", EchoHubImpl)
    async with HubTestServer(route) as server:
        client = await server.connect(EchoHubClient)
        assert await client.hub.echo("route") == "route"

    mounted = Starlette(routes=[Mount("/api/v1", routes=[HubRoute("/echo", EchoHubImpl)])])
    async with HubTestServer(mounted) as server:
        client = await server.connect(EchoHubClient)
        assert client.connection.url == "http://testserver/api/v1/echo"
        assert await client.hub.echo("mounted") == "mounted"

    two = Starlette(routes=[HubRoute("/a", EchoHubImpl), HubRoute("/b", EchoHubImpl)])
    async with HubTestServer(two) as server:
        with pytest.raises(ValueError, match=r"^several routes serve EchoHub") as info:
            server.client(EchoHubClient)
        assert str(info.value) == (
            "several routes serve EchoHub in the application (/a, /b): pass path="
        )

    async with HubTestServer(Starlette(routes=[])) as server:
        with pytest.raises(ValueError, match="no HubRoute serves EchoHub in the application"):
            server.client(EchoHubClient)
        with pytest.raises(ValueError, match="path must start with '/': 'echo'"):
            server.client(EchoHubClient, path="echo")


async def test_the_query_of_the_path_reaches_the_hub() -> None:
    async with HubTestServer(create_app()) as server:
        client = await server.connect(EchoHubClient, path="/echo?tenant=blue")
        assert await client.hub.get_header("host") == "testserver"
        assert client.connection.url == "http://testserver/echo?tenant=blue"


async def test_what_the_application_raises_is_raised_at_the_end() -> None:
    """A WebSocket whose application fails: the server re-raises the error
    once the test is done with it (unless told not to)."""
    inner = create_app()

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "websocket":
            raise KeyError("after the connection")

    async def serve_once() -> None:
        async with HubTestServer(failing) as server:
            client = await server.connect(EchoHubClient, path="/echo")
            await client.stop()

    with pytest.raises(KeyError, match="after the connection"):
        await serve_once()
    async with HubTestServer(failing, raise_app_exceptions=False) as server:
        client = await server.connect(EchoHubClient, path="/echo")
        await client.stop()
        assert [type(e) for e in server.errors] == [KeyError]


async def test_stopping_a_client_waits_for_its_disconnection() -> None:
    """After ``stop()`` the hub's on_disconnected has run: what it sent is on
    its way, and next_call gets it."""
    async with HubTestServer(app_with(FarewellHub)) as server:
        alice = await server.connect(EchoHubClient, user="alice")
        bob = await server.connect(EchoHubClient, user="bob")
        await alice.stop()
        await alice.stop()  # idempotent
        assert await bob.next_call("message") == ClientCall("message", ("alice left",))
        await bob.expect_no_calls()


async def test_settling_waits_for_chains_of_work() -> None:
    """One call that fans out to several clients, each of which answers with
    calls of its own: once settled, all of it has happened."""
    async with HubTestServer(create_app()) as server:
        clients = [await server.connect(EchoHubClient, name=f"c{i}") for i in range(5)]

        def relay(index: int) -> object:
            async def message(text: str) -> None:
                if len(text) < 4:  # each hop adds a character, up to four
                    await clients[index].hub.broadcast(text + str(index))

            return message

        for index, client in enumerate(clients):
            client.hub.on_message(relay(index))  # type: ignore[arg-type]
        await clients[0].hub.broadcast("x")
        await server.settle()
        # 1 + 5 + 25 + 125 broadcasts, each to 5 clients
        for client in clients:
            assert len(client.received) == 156
        for client in clients:
            await client.take_calls()
            await client.expect_no_calls()


async def test_settling_does_not_wait_for_time() -> None:
    """A hub method sleeping, a client's keep-alive timers: not "under way"."""
    async with HubTestServer(create_app()) as server:
        client = await server.connect(EchoHubClient)
        sleeping = asyncio.ensure_future(client.hub.sleep(0.5))
        began = time.monotonic()
        await server.settle()
        assert time.monotonic() - began < 0.25
        assert not sleeping.done()
        assert await sleeping == 0.5


async def test_a_loop_that_never_rests_does_not_settle() -> None:
    async def spin() -> None:
        while True:  # noqa: ASYNC110 - busy on purpose
            await asyncio.sleep(0)

    spinner = asyncio.ensure_future(spin())
    try:
        with pytest.raises(TimeoutError, match=r"did not settle within 0\.05 s"):
            await settle(timeout=0.05)
    finally:
        spinner.cancel()


def test_settling_on_uvloop() -> None:
    """uvloop does not show its queues: settle runs a fixed number of rounds."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[ClientCall]:
        async with HubTestServer(create_app()) as server:
            alice = await server.connect(EchoHubClient)
            bob = await server.connect(EchoHubClient)
            await alice.hub.send_others("over uvloop")
            return await bob.take_calls()

    assert uvloop.run(main()) == [ClientCall("message", ("over uvloop",))]


async def test_clients_reconnect_when_the_hub_restarts() -> None:
    """The hub closes every connection, telling clients they may come back
    (what a restart does): one with automatic reconnect is back, with a new
    connection id, once the loop has settled."""
    route = HubRoute("/echo", EchoHubImpl)
    async with HubTestServer(route) as server:
        client = await server.connect(EchoHubClient, reconnect=[0])
        reconnected: list[str | None] = []
        client.connection.on_reconnected(reconnected.append)
        first = client.connection_id
        await route.close()
        await server.settle()
        assert client.connection.state is HubConnectionState.CONNECTED
        assert reconnected == [client.connection_id]
        assert client.connection_id not in (None, first)
        assert await client.hub.echo("back") == "back"
