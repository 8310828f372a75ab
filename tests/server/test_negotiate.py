"""Negotiate and transport routing: statuses and bodies as ASP.NET Core sends them."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hubgen.server import HubOptions, TransportType
from tests.apps.echo.hub import create_app
from tests.support.raw import RawClient
from tests.support.server import serve

URL_SAFE_22 = re.compile(r"^[A-Za-z0-9_-]{22}$")


async def negotiate(base_url: str, query: str = "?negotiateVersion=1") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{base_url}/echo/negotiate{query}")


async def test_negotiate_v1_gives_distinct_url_safe_id_and_token(base_url: str) -> None:
    response = await negotiate(base_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["negotiateVersion"] == 1
    assert URL_SAFE_22.match(body["connectionId"])
    assert URL_SAFE_22.match(body["connectionToken"])
    assert body["connectionId"] != body["connectionToken"]
    assert body["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
        {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
        {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
    ]
    assert "useStatefulReconnect" not in body


async def test_negotiate_v0_has_no_token(base_url: str) -> None:
    body = (await negotiate(base_url, "")).json()
    assert body["negotiateVersion"] == 0
    assert "connectionToken" not in body
    assert URL_SAFE_22.match(body["connectionId"])


async def test_negotiate_version_above_server_max_is_clamped(base_url: str) -> None:
    body = (await negotiate(base_url, "?NegotiateVersion=7")).json()
    assert body["negotiateVersion"] == 1
    assert "connectionToken" in body


async def test_negotiate_errors_are_http_200_with_error_body(base_url: str) -> None:
    response = await negotiate(base_url, "?negotiateVersion=abc")
    assert response.status_code == 200
    assert response.json() == {"error": "The client requested a non-integer protocol version."}
    response = await negotiate(base_url, "?negotiateVersion=-1")
    assert response.json() == {
        "error": "The client requested version '-1', but the server does not support this version."
    }


async def test_negotiate_requires_post(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/echo/negotiate")
    assert response.status_code == 405


async def test_hub_path_matches_ignoring_case(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{base_url}/ECHO/Negotiate?negotiateVersion=1")
    assert response.status_code == 200
    client = await RawClient.open(base_url, "/Echo")
    assert (await client.call("Echo", "hi"))["result"] == "hi"
    await client.close()


async def test_unrelated_paths_are_not_matched(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{base_url}/echoes/negotiate")).status_code == 404
        assert (await http.get(f"{base_url}/other")).status_code == 404


@pytest.mark.parametrize(
    ("method", "query", "headers", "status", "text"),
    [
        ("GET", "", {}, 400, "Connection ID required"),
        ("POST", "", {}, 400, "Connection ID required"),
        ("GET", "?id=nope", {}, 404, "No Connection with that ID"),
        ("DELETE", "?id=nope", {}, 404, "No Connection with that ID"),
        ("PUT", "?id=nope", {}, 405, ""),
    ],
)
async def test_transport_request_status_map(
    base_url: str, method: str, query: str, headers: dict[str, str], status: int, text: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.request(method, f"{base_url}/echo{query}", headers=headers)
    assert response.status_code == status
    assert response.text == text


async def test_transports_not_offered_are_refused() -> None:
    options = HubOptions(transports=TransportType.WEBSOCKETS)
    async with serve(create_app(options)) as base_url:
        body = (await negotiate(base_url)).json()
        assert [t["transport"] for t in body["availableTransports"]] == ["WebSockets"]
        token = body["connectionToken"]
        async with httpx.AsyncClient() as http:
            sse = await http.get(
                f"{base_url}/echo?id={token}", headers={"Accept": "text/event-stream"}
            )
            poll = await http.get(f"{base_url}/echo?id={token}")
    assert (sse.status_code, sse.text) == (
        404,
        "ServerSentEvents transport not supported by this end point type",
    )
    assert (poll.status_code, poll.text) == (
        404,
        "LongPolling transport not supported by this end point type",
    )


async def test_websocket_with_unknown_token_is_refused_with_404(base_url: str) -> None:
    ws_url = base_url.replace("http", "ws") + "/echo?id=unknown"
    with pytest.raises(InvalidStatus) as info:
        await connect(ws_url, open_timeout=5)
    assert info.value.response.status_code == 404


async def test_second_websocket_for_the_same_token_gets_409(base_url: str) -> None:
    token = (await negotiate(base_url)).json()["connectionToken"]
    ws_url = base_url.replace("http", "ws") + f"/echo?id={token}"
    first = await connect(ws_url, open_timeout=5)
    with pytest.raises(InvalidStatus) as info:
        await connect(ws_url, open_timeout=5)
    assert info.value.response.status_code == 409
    await first.close()


async def test_post_on_a_websocket_connection_is_405(base_url: str) -> None:
    body = (await negotiate(base_url)).json()
    ws = await connect(base_url.replace("http", "ws") + f"/echo?id={body['connectionToken']}")
    async with httpx.AsyncClient() as http:
        post = await http.post(f"{base_url}/echo?id={body['connectionToken']}", content=b"x")
        delete = await http.delete(f"{base_url}/echo?id={body['connectionToken']}")
    assert (post.status_code, post.text) == (
        405,
        "POST requests are not allowed for WebSocket connections.",
    )
    assert (delete.status_code, delete.text) == (
        400,
        "Cannot terminate this connection using the DELETE endpoint.",
    )
    await ws.close()


async def test_connection_id_is_public_and_token_is_not(base_url: str) -> None:
    client = await RawClient.open(base_url)
    completion = await client.call("Whoami")
    assert completion["result"] == client.connection_id
    await client.close()


async def test_skip_negotiation_creates_a_connection_on_the_fly(base_url: str) -> None:
    client = await RawClient.open(base_url, negotiate=False)
    completion = await client.call("Whoami")
    assert URL_SAFE_22.match(completion["result"])
    await client.close()


async def test_token_is_gone_after_the_connection_ends(base_url: str) -> None:
    body = (await negotiate(base_url)).json()
    ws_url = base_url.replace("http", "ws") + f"/echo?id={body['connectionToken']}"
    ws = await connect(ws_url)
    await ws.close()
    await asyncio.sleep(0.1)
    with pytest.raises(InvalidStatus) as info:
        await connect(ws_url, open_timeout=5)
    assert info.value.response.status_code == 404


async def test_unused_negotiations_expire_after_the_disconnect_timeout() -> None:
    async with serve(create_app(HubOptions(disconnect_timeout=0.3))) as base_url:
        token = (await negotiate(base_url)).json()["connectionToken"]
        await asyncio.sleep(0.8)
        with pytest.raises(InvalidStatus) as info:
            await connect(base_url.replace("http", "ws") + f"/echo?id={token}", open_timeout=5)
        assert info.value.response.status_code == 404
