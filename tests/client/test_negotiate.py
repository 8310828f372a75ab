"""Negotiate, redirects, tokens, headers and transport selection."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from hubgen.client import HubConnection, NegotiationError, TransportError
from hubgen.client.errors import exception_text
from hubgen.client.negotiate import connect_url, negotiate_url
from tests.client.apps import Recorder
from tests.client.peers import WEBSOCKETS, Peer, default_negotiate, idle
from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(30)

ServePeer = Callable[[Peer], AbstractAsyncContextManager[str]]
FAILED = "Failed to complete negotiation with the server: "


def test_negotiate_and_connect_urls() -> None:
    assert negotiate_url("http://h/hub") == "http://h/hub/negotiate?negotiateVersion=1"
    assert negotiate_url("http://h/hub/") == "http://h/hub/negotiate?negotiateVersion=1"
    assert (
        negotiate_url("https://h:8443/a/hub?tenant=x&y=")
        == "https://h:8443/a/hub/negotiate?tenant=x&y=&negotiateVersion=1"
    )
    assert negotiate_url("http://h/hub?negotiateVersion=0") == (
        "http://h/hub/negotiate?negotiateVersion=0"
    )
    assert connect_url("http://h/hub", "tok") == "http://h/hub?id=tok"
    assert connect_url("http://h/hub?a=1", "tok") == "http://h/hub?a=1&id=tok"
    assert connect_url("http://h/hub", None) == "http://h/hub"


async def test_token_and_headers_reach_the_server(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    connection = HubConnection(
        url + "/echo?tenant=acme",
        access_token="secret",
        headers={"X-Custom": "yes", "user-agent": "my-app/1.0"},
    )
    async with connection:
        # What the hub sees of the WebSocket request.
        assert await connection.invoke("GetHeader", "Authorization") == "Bearer secret"
        assert await connection.invoke("GetHeader", "X-Custom") == "yes"
        assert await connection.invoke("GetHeader", "User-Agent") == "my-app/1.0"
    (negotiation,) = recorder.negotiations()
    assert negotiation.method == "POST"
    assert negotiation.query == "tenant=acme&negotiateVersion=1"
    assert negotiation.headers["authorization"] == "Bearer secret"
    assert negotiation.headers["x-custom"] == "yes"
    assert negotiation.headers["user-agent"] == "my-app/1.0"  # user headers win
    assert negotiation.headers["x-requested-with"] == "XMLHttpRequest"
    (websocket,) = recorder.websockets()
    assert websocket.path == "/echo"
    assert websocket.query.startswith("tenant=acme&id=")


async def test_token_functions_are_called_for_every_request(
    server: tuple[str, Recorder],
) -> None:
    url, recorder = server
    issued: list[str] = []

    async def async_token() -> str:
        await asyncio.sleep(0)
        issued.append(f"async-{len(issued)}")
        return issued[-1]

    async with HubConnection(url + "/echo", access_token=async_token) as connection:
        assert await connection.invoke("GetHeader", "Authorization") == "Bearer async-1"
    await connection.start()  # a new start: the function is asked again
    await connection.stop()
    assert issued == ["async-0", "async-1", "async-2", "async-3"]
    assert [n.headers["authorization"] for n in recorder.negotiations()] == [
        "Bearer async-0",
        "Bearer async-2",
    ]

    def sync_token() -> str:
        return "from-a-function"

    async with HubConnection(url + "/echo", access_token=sync_token) as connection:
        assert await connection.invoke("GetHeader", "Authorization") == "Bearer from-a-function"


async def test_negotiate_version_0_uses_the_connection_id(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    async with HubConnection(url + "/echo?negotiateVersion=0") as connection:
        connection_id = connection.connection_id
        assert connection_id is not None
        assert await connection.invoke("Whoami") == connection_id
    (websocket,) = recorder.websockets()
    assert websocket.query == f"negotiateVersion=0&id={connection_id}"


async def test_redirect_with_access_token(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    async with HubConnection(url + "/redirect", access_token="original") as connection:
        assert await connection.invoke("GetHeader", "Authorization") == "Bearer redirected-token"
    first, second = recorder.negotiations()
    assert (first.path, first.headers["authorization"]) == (
        "/redirect/negotiate",
        "Bearer original",
    )
    assert (second.path, second.headers["authorization"]) == (
        "/echo/negotiate",
        "Bearer redirected-token",
    )


async def test_redirect_limit(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    with pytest.raises(NegotiationError, match=r"^Negotiate redirection limit exceeded\.$"):
        await HubConnection(url + "/loop").start()
    assert len(recorder.negotiations()) == 100


async def test_error_in_the_negotiate_response(hub_url: str) -> None:
    connection = HubConnection(hub_url + "?negotiateVersion=abc")
    with pytest.raises(
        NegotiationError, match=r"^The client requested a non-integer protocol version\.$"
    ):
        await connection.start()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/status/401", f"{FAILED}Error: Unauthorized: Status code '401'"),
        ("/status/500?body=it%20broke", f"{FAILED}Error: it broke: Status code '500'"),
        (
            "/nothing-here",
            f"{FAILED}Error: Not Found: Status code '404' Either this is not a SignalR "
            "endpoint or there is a proxy blocking the connection.",
        ),
        ("/status/202", "Unexpected status code returned from negotiate '202'"),
    ],
)
async def test_http_failures_use_the_official_texts(
    server: tuple[str, Recorder], path: str, message: str
) -> None:
    url, _ = server
    connection = HubConnection(url + path)
    with pytest.raises(NegotiationError) as caught:
        await connection.start()
    assert str(caught.value) == message


async def test_unreachable_server() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NegotiationError, match=f"^{FAILED}Error: "):
        await HubConnection(f"http://127.0.0.1:{port}/hub").start()


async def test_a_reset_names_what_happened() -> None:
    # httpx reports a reset connection as ReadError(''): the text must still
    # say what went wrong, not end in "Error: ".
    async with FaultProxy(1, on_connect="reset") as proxy:
        with pytest.raises(NegotiationError) as caught:
            await HubConnection(proxy.url + "/hub").start()
    assert str(caught.value) == (
        f"{FAILED}Error: ReadError: [Errno {errno.ECONNRESET}] Connection reset by peer"
    )


def test_exception_text_falls_back_on_the_cause_then_the_type() -> None:
    assert exception_text(ValueError("plain")) == "plain"
    assert exception_text(KeyError()) == "KeyError"
    silent = RuntimeError()  # a cause without text either
    silent.__context__ = OSError(errno.EPIPE, "Broken pipe")
    outer = RuntimeError()
    outer.__cause__ = silent
    assert exception_text(outer) == f"RuntimeError: [Errno {errno.EPIPE}] Broken pipe"


async def test_skip_negotiation(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    for hub in (url + "/echo", url.replace("http", "ws") + "/echo"):
        async with HubConnection(hub, skip_negotiation=True) as connection:
            assert connection.connection_id is None
            assert await connection.invoke("Echo", "direct") == "direct"
    assert recorder.negotiations() == []
    assert [w.query for w in recorder.websockets()] == ["", ""]


# -- transport selection, against a scripted server ----------------------------------------


def offering(*transports: Mapping[str, object]) -> Callable[[int, Request], dict[str, Any]]:
    def answer(count: int, request: Request) -> dict[str, Any]:
        return {**default_negotiate(count, request), "availableTransports": list(transports)}

    return answer


@pytest.mark.parametrize(
    ("transports", "protocol", "message"),
    [
        (
            [{"transport": "CarrierPigeon", "transferFormats": ["Text", "Binary"]}],
            "json",
            "Unable to connect to the server with any of the available transports. "
            "CarrierPigeon failed: Skipping transport 'CarrierPigeon' because it is not "
            "supported by this client.",
        ),
        (
            [{"transport": "WebSockets", "transferFormats": ["Text"]}],
            "messagepack",
            "Unable to connect to the server with any of the available transports. "
            "WebSockets failed: 'WebSockets' does not support Binary.",
        ),
        ([], "json", "None of the transports supported by the client are supported by the server."),
    ],
)
async def test_no_usable_transport(
    serve_peer: ServePeer, transports: list[dict[str, object]], protocol: str, message: str
) -> None:
    peer = Peer(idle, negotiate=offering(*transports))
    async with serve_peer(peer) as url:
        with pytest.raises(TransportError) as caught:
            await HubConnection(url, protocol=protocol).start()  # type: ignore[arg-type]
        assert str(caught.value) == message
        assert peer.sockets == []


async def test_a_failed_transport_falls_back_with_a_new_negotiation(
    serve_peer: ServePeer,
) -> None:
    def first_token(websocket: WebSocket) -> bool:
        return websocket.query_params.get("id") == "peer-token-1"

    peer = Peer(
        idle,
        negotiate=offering(
            {"transport": "CarrierPigeon", "transferFormats": ["Text"]}, WEBSOCKETS, WEBSOCKETS
        ),
        refuse=first_token,
    )
    async with serve_peer(peer) as url:
        async with HubConnection(url) as connection:
            assert connection.connection_id == "peer-connection-2"
        assert len(peer.negotiations) == 2
        assert [w.query_params["id"] for w in peer.sockets] == ["peer-token-1", "peer-token-2"]


async def test_websocket_refused(serve_peer: ServePeer) -> None:
    peer = Peer(idle, refuse=lambda websocket: True)
    async with serve_peer(peer) as url:
        with pytest.raises(TransportError) as caught:
            await HubConnection(url).start()
    assert str(caught.value).startswith(
        "Unable to connect to the server with any of the available transports. "
        "WebSockets failed: WebSocket failed to connect. The connection could not be found "
        "on the server,"
    )
    assert "(HTTP 403" in str(caught.value)


async def test_cookies_from_negotiate_go_with_the_websocket(serve_peer: ServePeer) -> None:
    def with_cookie(count: int, request: Request) -> Response:
        response = JSONResponse(default_negotiate(count, request))
        response.set_cookie("affinity", "server-7")
        return response

    peer = Peer(idle, negotiate=with_cookie)
    async with serve_peer(peer) as url, HubConnection(url):
        (websocket,) = peer.sockets
        assert websocket.cookies == {"affinity": "server-7"}
