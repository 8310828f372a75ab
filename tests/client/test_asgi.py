"""How a connection reaches its server, replaced: ``http_transport`` (every
HTTP request goes through it) and ``websocket_factory`` (it opens the
WebSocket), and the factory of hubgen.client.asgi that reaches an ASGI
application in memory — reporting refusals and closes with the same texts as
a connection over the network."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Literal

import httpx
import pytest
import websockets.exceptions
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from hubgen.client import (
    ConnectionClosedError,
    HubConnection,
    HubConnectionState,
    NegotiationError,
    TransportError,
)
from hubgen.client.asgi import ASGIWebSocketFactory, Message, Receive, Scope, Send
from hubgen.server import HubOptions, TransportType
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import create_app
from tests.apps.echo.secure import create_secure_app
from tests.support.server import serve


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner``, noting each one's method and path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


def in_memory(
    app: Starlette,
    protocol: Literal["json", "messagepack"] = "json",
    headers: dict[str, str] | None = None,
    access_token: str | None = None,
) -> tuple[HubConnection, ASGIWebSocketFactory]:
    """A connection to ``app``'s echo hub in memory, and its WebSocket factory."""
    factory = ASGIWebSocketFactory(app)
    connection = HubConnection(
        "http://app.test/echo",
        protocol=protocol,
        headers=headers,
        access_token=access_token,
        transports="WebSockets",
        http_transport=httpx.ASGITransport(app),
        websocket_factory=factory,
    )
    return connection, factory


async def test_every_http_request_goes_through_the_http_transport() -> None:
    """Long Polling over a transport the application owns: negotiate, polls,
    sends and the closing DELETE all pass through it, and stopping the
    connection (twice: a second start makes a new HTTP client) leaves it open."""
    app = create_app(HubOptions(transports=TransportType.LONG_POLLING))
    async with serve(app) as base:
        transport = CountingTransport(httpx.AsyncHTTPTransport())
        connection = HubConnection(f"{base}/echo", http_transport=transport)
        echo = EchoHubClient(connection)
        for _ in range(2):
            async with connection:
                assert await echo.echo("through") == "through"
        assert not transport.closed
        kinds = set(transport.requests)
        assert kinds == {"POST /echo/negotiate", "GET /echo", "POST /echo", "DELETE /echo"}
        assert transport.requests.count("POST /echo/negotiate") == 2
        await transport.aclose()


async def test_the_http_transport_answers_negotiate() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": "negotiate said no"})

    connection = HubConnection(
        "http://nowhere.test/hub", http_transport=httpx.MockTransport(answer)
    )
    with pytest.raises(NegotiationError, match=r"^negotiate said no$"):
        await connection.start()
    assert connection.state is HubConnectionState.DISCONNECTED


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_a_connection_to_an_app_in_memory(protocol: Literal["json", "messagepack"]) -> None:
    app = create_app()
    connection, factory = in_memory(
        app, protocol=protocol, headers={"X-Tenant": "blue"}, access_token="a token"
    )
    echo = EchoHubClient(connection)
    received: asyncio.Queue[str] = asyncio.Queue()

    async def message(text: str) -> None:
        await received.put(text)

    async def ask(question: str) -> int:
        return len(question)

    async with connection:
        assert connection.connection_id is not None
        with echo.on_message(message), echo.on_ask(ask):
            assert await echo.echo("in memory") == "in memory"
            assert await echo.get_header("x-tenant") == "blue"
            assert await echo.get_header("authorization") == "Bearer a token"
            assert (await echo.get_header("user-agent") or "").startswith("hubgen/")
            await echo.send_caller("pushed")
            assert await received.get() == "pushed"
            assert [n async for n in echo.counter(3)] == [0, 1, 2]

            async def numbers() -> AsyncIterator[int]:
                for n in (1, 2, 3):
                    yield n

            assert await echo.sum_upload(numbers()) == 6
            assert await echo.ask_caller("four") == 4
        assert len(factory.sockets) == 1
        [socket] = factory.sockets
        assert socket.scope["path"] == "/echo"
        assert socket.scope["query_string"].startswith(b"id=")
    # the application finishes with the socket once the client closed it
    assert await factory.aclose() == []
    assert factory.sockets == set()


async def test_the_server_closing_the_socket_ends_the_connection() -> None:
    connection, factory = in_memory(create_app())
    closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
    connection.on_close(closed.set_result)
    await connection.start()
    with pytest.raises(ConnectionClosedError):
        await EchoHubClient(connection).abort_me()
    assert await closed is None  # a Close message without an error, then the socket closed
    assert connection.state is HubConnectionState.DISCONNECTED
    [socket] = factory.sockets or [None]
    assert socket is None  # the application has finished with it
    assert await factory.aclose() == []


async def refused_text(app: Starlette, url: str, factory: ASGIWebSocketFactory | None) -> str:
    connection = HubConnection(
        url,
        skip_negotiation=True,
        transports="WebSockets",
        access_token="invalid",
        websocket_factory=factory,
    )
    with pytest.raises(TransportError) as info:
        await connection.start()
    return str(info.value)


async def test_a_refused_upgrade_reads_as_over_the_network() -> None:
    """The hub refuses a WebSocket without a valid token: in memory, the
    client says so with the same words (status, reason, body) as over a
    socket to uvicorn."""
    app = create_secure_app()
    in_memory_text = await refused_text(app, "ws://app.test/echo", ASGIWebSocketFactory(app))
    async with serve(create_secure_app()) as base:
        network_text = await refused_text(app, f"{base}/echo".replace("http", "ws"), None)
    assert "(HTTP 401 Unauthorized)" in in_memory_text
    assert in_memory_text == network_text


def websocket_app(handler: object) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/hub", handler)])  # type: ignore[arg-type]


async def test_a_close_before_the_accept_is_a_403() -> None:
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close()

    factory = ASGIWebSocketFactory(websocket_app(refuse))
    connection = HubConnection(
        "ws://app.test/hub", skip_negotiation=True, websocket_factory=factory
    )
    with pytest.raises(TransportError, match=r"\(HTTP 403 Forbidden\)$"):
        await connection.start()


async def test_an_application_that_raises_is_reported() -> None:
    """Before the accept: the upgrade fails with a 500; after it: the socket
    closes with 1011. Either way the error goes to on_error, or to the log."""
    errors: list[Exception] = []

    async def broken(websocket: WebSocket) -> None:
        raise LookupError("broken before the accept")

    factory = ASGIWebSocketFactory(websocket_app(broken), on_error=errors.append)
    with pytest.raises(TransportError, match=r"\(HTTP 500 Internal Server Error\)$"):
        await HubConnection(
            "ws://app.test/hub", skip_negotiation=True, websocket_factory=factory
        ).start()
    assert [str(e) for e in errors] == ["broken before the accept"]

    async def breaks_later(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive()
        raise LookupError("broken after the accept")

    factory = ASGIWebSocketFactory(websocket_app(breaks_later))
    socket = await factory("ws://app.test/hub", {})
    await socket.send("anything")
    with pytest.raises(websockets.exceptions.ConnectionClosedError) as info:
        await socket.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1011
    await socket.wait_closed()


async def test_an_application_that_raises_is_logged_without_on_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("nobody listens")

    factory = ASGIWebSocketFactory(broken)
    with (
        caplog.at_level(logging.ERROR, logger="hubgen.client"),
        pytest.raises(websockets.exceptions.InvalidStatus, match="HTTP 500"),
    ):
        await factory("ws://app.test/hub", {})
    assert "the ASGI application raised" in caplog.text
    assert "nobody listens" in caplog.text


async def test_an_application_that_never_answers_times_out() -> None:
    """The connect timeout (the handshake timeout) bounds the upgrade; the
    application's task is cancelled with it."""
    cancelled = asyncio.Event()

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    factory = ASGIWebSocketFactory(silent)
    connection = HubConnection(
        "ws://app.test/hub",
        skip_negotiation=True,
        websocket_factory=factory,
        handshake_timeout=0.05,
    )
    with pytest.raises(TransportError, match=r"no answer within 0.05 seconds"):
        await connection.start()
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_the_socket_speaks_asgi_as_a_server_does() -> None:
    """Text and bytes both ways, headers and query in the scope, the client's
    close reaching the application as a disconnect, and sends after it
    failing as they do behind a server."""
    seen: list[Message] = []
    after_close: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "websocket.disconnect":
                break
            await send(
                {"type": "websocket.send", **{k: v for k, v in message.items() if k != "type"}}
            )
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            after_close.append(exc)

    factory = ASGIWebSocketFactory(app, client=("10.0.0.7", 4321))
    socket = await factory("wss://app.test:8443/a%20b?x=1&y=2", {"Authorization": "Bearer t"})
    assert socket.scope["scheme"] == "wss"
    assert socket.scope["server"] == ("app.test", 8443)
    assert socket.scope["client"] == ("10.0.0.7", 4321)
    assert socket.scope["path"] == "/a b"
    assert socket.scope["raw_path"] == b"/a%20b"
    assert socket.scope["query_string"] == b"x=1&y=2"
    headers = dict(socket.scope["headers"])
    assert headers[b"authorization"] == b"Bearer t"
    assert headers[b"host"] == b"app.test:8443"
    await socket.send("text")
    await socket.send(b"\x00bytes")
    assert await socket.recv() == "text"
    assert await socket.recv() == b"\x00bytes"
    await socket.close(1000)
    await socket.wait_closed()
    assert [m["type"] for m in seen] == ["websocket.receive"] * 2 + ["websocket.disconnect"]
    assert seen[-1]["code"] == 1000
    assert len(after_close) == 1
    with pytest.raises(websockets.exceptions.ConnectionClosedOK):
        await socket.send("after close")


async def test_aclose_cancels_an_application_that_ignores_the_close() -> None:
    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await asyncio.Event().wait()  # never reads the disconnect

    factory = ASGIWebSocketFactory(stubborn)
    socket = await factory("ws://app.test/hub", {})
    assert socket.running
    assert await factory.aclose(timeout=0.05) == [socket]
    assert not socket.running
