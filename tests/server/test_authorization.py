"""Who is calling: the user of a connection, @authorize on hubs and methods,
user ids and clients.user(), and closing when credentials expire. On the
wire, against real servers (tests/apps/echo/secure.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hubgen.server import HubOptions, HubRoute
from hubgen.server.authentication import BearerAuthBackend, RedactAccessToken, redact
from tests.apps.echo.hub import EchoHubImpl
from tests.apps.echo.secure import SecureEchoHub, create_secure_app, validate
from tests.support.raw import RS, RawClient
from tests.support.server import serve

HANDSHAKE = '{"protocol":"json","version":1}' + RS


@pytest.fixture
async def base_url() -> Any:
    async with serve(create_secure_app()) as url:
        yield url


async def negotiate(
    http: httpx.AsyncClient, url: str, *, header: str | None = None, query: str | None = None
) -> httpx.Response:
    headers = {} if header is None else {"Authorization": f"Bearer {header}"}
    suffix = "" if query is None else f"&access_token={query}"
    return await http.post(f"{url}/negotiate?negotiateVersion=1{suffix}", headers=headers)


# -- connecting ---------------------------------------------------------------------------


async def test_negotiate_needs_a_user(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        refused = await negotiate(http, f"{base_url}/echo")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert (await negotiate(http, f"{base_url}/echo", header="invalid")).status_code == 401
        for accepted in (
            await negotiate(http, f"{base_url}/echo", header="alice"),
            await negotiate(http, f"{base_url}/echo", query="alice"),
        ):
            assert accepted.status_code == 200
            assert "connectionToken" in accepted.json()


async def test_the_query_token_is_read_on_hub_paths_only() -> None:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def whoami(request: Any) -> PlainTextResponse:
        return PlainTextResponse(request.user.display_name or "anonymous")

    hub = HubRoute("/echo", SecureEchoHub)
    backend = BearerAuthBackend(validate, hubs=[hub])
    app = Starlette(
        routes=[hub, Route("/whoami", whoami)],
        middleware=[Middleware(AuthenticationMiddleware, backend=backend)],
    )
    async with serve(app) as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/whoami?access_token=alice")).text == "anonymous"
        headers = {"Authorization": "Bearer alice"}
        assert (await http.get(f"{url}/whoami", headers=headers)).text == "alice"


async def test_a_hub_that_allows_anonymous_callers_lets_them_connect(base_url: str) -> None:
    client = await RawClient.open(base_url, "/open")
    assert (await client.call("UserName"))["result"] is None
    # its methods keep their own rules
    assert (await client.call("Add", 1, 2))["error"] == (
        "Failed to invoke 'Add' because user is unauthorized"
    )
    await client.close()


@pytest.mark.parametrize("transport", ["WebSockets", "ServerSentEvents", "LongPolling"])
async def test_every_transport_request_is_authorized_and_bound_to_the_user(
    base_url: str, transport: str
) -> None:
    """A connection token is not a credential: a transport request without a
    user is refused with 401, and one from another user with 403 (a stolen
    token), before it reaches the connection."""
    async with httpx.AsyncClient(timeout=5) as http:
        token = (await negotiate(http, f"{base_url}/echo", header="alice")).json()[
            "connectionToken"
        ]
        url = f"{base_url}/echo?id={token}"
        for credential, status in ((None, 401), ("mallory", 403), ("invalid", 401)):
            query = "" if credential is None else f"&access_token={credential}"
            if transport == "WebSockets":
                with pytest.raises(InvalidStatus) as refused:
                    await connect(url.replace("http", "ws") + query, open_timeout=5)
                assert refused.value.response.status_code == status
            else:
                headers = {"Accept": "text/event-stream"} if transport == "ServerSentEvents" else {}
                assert (await http.get(url + query, headers=headers)).status_code == status
                assert (await http.post(url + query, content=HANDSHAKE)).status_code == status
                assert (await http.delete(url + query)).status_code == status
        # the rightful user still gets in, on the same token
        if transport == "WebSockets":
            ws = await connect(url.replace("http", "ws") + "&access_token=alice", open_timeout=5)
            await ws.send(HANDSHAKE)
            assert await ws.recv() == "{}" + RS
            await ws.close()
        else:
            assert (await http.get(url + "&access_token=alice")).status_code == 200


async def test_skip_negotiation_websockets_are_authorized(base_url: str) -> None:
    ws_url = base_url.replace("http", "ws") + "/echo"
    with pytest.raises(InvalidStatus) as refused:
        await connect(ws_url, open_timeout=5)
    assert refused.value.response.status_code == 401
    client = await RawClient.open(base_url, negotiate=False, access_token="alice")
    assert (await client.call("UserName"))["result"] == "alice"
    await client.close()


# -- methods ----------------------------------------------------------------------------------


async def test_a_method_the_user_may_not_call_fails_and_the_connection_stays(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hubgen")
    alice = await RawClient.open(base_url, access_token="alice")
    assert (await alice.call("Add", 1, 2))["error"] == (
        "Failed to invoke 'Add' because user is unauthorized"
    )
    assert (await alice.call("Echo", "still here"))["result"] == "still here"
    invocation_id = await alice.invoke("SumUpload", stream_ids=["u"])
    assert (await alice.expect(3, invocation_id=invocation_id))["error"] == (
        "Failed to invoke 'SumUpload' because user is unauthorized"
    )
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]
    await alice.close()

    bob = await RawClient.open(base_url, access_token="bob;math,upload")
    assert (await bob.call("Add", 1, 2))["result"] == 3
    invocation_id = await bob.invoke("SumUpload", stream_ids=["u"])
    await bob.send({"type": 2, "invocationId": "u", "item": 4})
    await bob.send({"type": 3, "invocationId": "u"})
    assert (await bob.expect(3, invocation_id=invocation_id))["result"] == 4
    await bob.close()


async def test_policies_decide_streams_too(base_url: str) -> None:
    mallory = await RawClient.open(base_url, access_token="mallory")
    await mallory.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [2]})
    assert (await mallory.expect(3, invocation_id="s"))["error"] == (
        "Failed to invoke 'Counter' because user is unauthorized"
    )
    await mallory.close()
    alice = await RawClient.open(base_url, access_token="alice")
    await alice.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [2]})
    assert (await alice.expect(3, invocation_id="s")) == {"type": 3, "invocationId": "s"}
    await alice.close()


async def test_a_policy_that_raises_refuses_loudly(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await RawClient.open(base_url, access_token="alice")
    assert (await alice.call("Crash"))["error"] == (
        "Failed to invoke 'Crash' because user is unauthorized"
    )
    assert any("authorization policy" in r.getMessage() for r in caplog.records)
    await alice.close()


async def test_rules_are_inherited_and_allow_anonymous_wins(base_url: str) -> None:
    alice = await RawClient.open(base_url, "/strict", access_token="alice")
    assert "unauthorized" in (await alice.call("Echo", "x"))["error"]  # added: admin
    assert (await alice.call("Add", 1, 2))["result"] == 3  # allow_anonymous over math
    upload = await alice.invoke("SumUpload", stream_ids=["u"])
    assert "unauthorized" in (await alice.expect(3, invocation_id=upload))["error"]  # inherited
    await alice.close()
    admin = await RawClient.open(base_url, "/strict", access_token="root;admin")
    assert (await admin.call("Echo", "x"))["result"] == "x"
    await admin.close()
    async with httpx.AsyncClient() as http:
        assert (await negotiate(http, f"{base_url}/strict")).status_code == 401  # class rule


async def test_scopes_at_the_hub_answer_403() -> None:
    from hubgen.server.authorization import authorize

    @authorize(scopes=["chat"])
    class ChatOnly(EchoHubImpl):
        pass

    hub = HubRoute("/echo", ChatOnly)
    backend = BearerAuthBackend(validate, hubs=[hub])
    app = Starlette(
        routes=[hub], middleware=[Middleware(AuthenticationMiddleware, backend=backend)]
    )
    async with serve(app) as url, httpx.AsyncClient() as http:
        assert (await negotiate(http, f"{url}/echo", header="alice")).status_code == 403
        assert (await negotiate(http, f"{url}/echo", header="alice;chat")).status_code == 200


async def test_a_hub_that_requires_users_without_authentication_middleware_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Starlette(routes=[HubRoute("/echo", SecureEchoHub)])
    async with serve(app) as url, httpx.AsyncClient() as http:
        assert (await negotiate(http, f"{url}/echo", header="alice")).status_code == 401
        assert (await negotiate(http, f"{url}/echo", header="alice")).status_code == 401
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "no authentication middleware ran" in errors[0]


# -- users -----------------------------------------------------------------------------------


async def test_clients_user_reaches_every_connection_of_the_user(base_url: str) -> None:
    """On every transport, including connections opened after the first."""
    ws = await RawClient.open(base_url, access_token="bob;x")
    async with httpx.AsyncClient(timeout=10) as http:
        # bob again, over Long Polling
        token = (await negotiate(http, f"{base_url}/echo", query="bob")).json()["connectionToken"]
        poll_url = f"{base_url}/echo?id={token}&access_token=bob"
        await http.get(poll_url)
        await http.post(poll_url, content=HANDSHAKE)
        alice = await RawClient.open(base_url, access_token="alice")
        await alice.call("SendUser", "bob", "hello bob")
        assert (await ws.expect(1))["arguments"] == ["hello bob"]
        received: list[dict[str, Any]] = []
        while not any(m.get("type") == 1 for m in received):
            poll = await http.get(poll_url)
            received += [json.loads(r) for r in poll.text.split(RS)[:-1] if r != "{}"]
        assert [m["arguments"] for m in received if m.get("type") == 1] == [["hello bob"]]
        # a third connection of bob's, opened now, is reached too
        late = await RawClient.open(base_url, access_token="bob")
        await alice.call("SendUser", "bob", "again")
        assert (await late.expect(1))["arguments"] == ["again"]
        assert (await ws.expect(1))["arguments"] == ["again"]
        # alice receives none of it
        assert (await alice.call("UserName"))["result"] == "alice"
        assert not [m for m in alice.unclaimed if m["type"] == 1]
        await http.delete(poll_url)
    for client in (ws, alice, late):
        await client.close()


async def test_a_user_id_provider_replaces_the_default() -> None:
    def by_tenant(request: HTTPConnection) -> str | None:
        return f"tenant-1/{request.user.display_name}" if request.user.is_authenticated else None

    app = create_secure_app(HubOptions(user_id_provider=by_tenant))
    async with serve(app) as url:
        client = await RawClient.open(url, access_token="alice")
        assert (await client.call("UserName"))["result"] == "tenant-1/alice"
        await client.call("SendUser", "tenant-1/alice", "to myself")
        assert (await client.expect(1))["arguments"] == ["to myself"]
        await client.close()


# -- credentials that expire ----------------------------------------------------------------


async def test_a_connection_closes_when_its_credentials_expire() -> None:
    options = HubOptions(close_on_authentication_expiration=True, keep_alive_interval=0.2)
    async with serve(create_secure_app(options)) as url:
        expires = time.time() + 1
        client = await RawClient.open(url, access_token=f"carol;;{expires}")
        forever = await RawClient.open(url, access_token="dave")
        assert (await client.call("Echo", "before"))["result"] == "before"
        close = await client.expect(7, timeout=5)
        assert time.time() >= expires
        assert close == {
            "type": 7,
            "error": "Connection closed with an error. ConnectionAborted: "
            "The connection's authentication expired.",
            "allowReconnect": True,
        }
        assert (await forever.call("Echo", "unaffected"))["result"] == "unaffected"
        await forever.close()


async def test_expiry_is_ignored_unless_asked_for() -> None:
    async with serve(create_secure_app(HubOptions(keep_alive_interval=0.2))) as url:
        client = await RawClient.open(url, access_token=f"carol;;{time.time() - 10}")
        await asyncio.sleep(0.6)
        assert (await client.call("Echo", "fine"))["result"] == "fine"
        await client.close()


# -- tokens stay out of logs -----------------------------------------------------------------


def test_redact_removes_access_tokens() -> None:
    assert redact("/chat?id=abc&access_token=s3cr3t&x=1") == (
        "/chat?id=abc&access_token=[redacted]&x=1"
    )
    assert (
        redact("/chat/negotiate?access_token=s3cr3t") == "/chat/negotiate?access_token=[redacted]"
    )
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/chat?id=a&ACCESS_TOKEN=s3cr3t", "1.1", 200),
        None,
    )
    assert RedactAccessToken().filter(record)
    assert "s3cr3t" not in record.getMessage()


async def test_no_token_reaches_hubgens_logs(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for token in ("s3cr3t-one", "invalid"):
        async with httpx.AsyncClient() as http:
            await negotiate(http, f"{base_url}/echo", query=token)
            await negotiate(http, f"{base_url}/echo", header=token)
    client = await RawClient.open(base_url, access_token="s3cr3t-two")
    await client.call("Add", 1, 2)  # refused
    await client.send_raw("not json" + RS)  # a bad frame, logged at debug
    await client.expect(7)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hubgen"))
    assert "s3cr3t" not in text
