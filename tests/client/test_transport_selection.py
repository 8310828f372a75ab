"""Which transport the client picks, and falling back when one fails: against
a scripted server, and against the real hubgen server behind a proxy that
breaks WebSockets (and Server-Sent Events)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import pytest
from starlette.types import Receive, Scope, Send

from hubgen.client import HubConnection, NegotiationError, TransportError
from hubgen.client.http_connection import HttpConnection
from hubgen.client.transport import TransportName
from hubgen.protocol import TransferFormat
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.client.apps import Recorder, Seen, create_app
from tests.client.http_peers import LONG_POLLING, SSE, WEBSOCKETS, HttpPeer, Poll
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)

UNABLE = "Unable to connect to the server with any of the available transports. "


def http_connection(
    url: str, transports: tuple[TransportName, ...] | None = None
) -> HttpConnection:
    return HttpConnection(
        url,
        access_token=None,
        headers=None,
        skip_negotiation=False,
        connect_timeout=5.0,
        transports=transports,
    )


async def first_poll(server: HttpPeer) -> Poll:
    return await asyncio.wait_for(server.polls.get(), 5)


# -- against a scripted server -----------------------------------------------------------


async def test_a_refused_event_stream_falls_back_to_long_polling_with_a_new_negotiation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = HttpPeer([SSE, LONG_POLLING], stream_status=404)
    caplog.set_level(logging.WARNING, "hubgen.client")
    async with serve(server) as base:
        http = http_connection(f"{base}/hub")
        starting = asyncio.create_task(http.start(TransferFormat.TEXT))
        poll = await first_poll(server)
        poll.answer(200)
        await starting
        try:
            assert http.transport is not None
            assert http.transport.name == "LongPolling"
            assert http.connection_id == "connection-2"
        finally:
            await http.stop()
    assert len(server.negotiations()) == 2
    stream = server.streams.get_nowait()
    assert stream.request.token == "token-1"  # the first attempt's connection ...
    assert poll.request.token == "token-2"  # ... and a fresh one for the fallback
    assert "Failed to start the transport 'ServerSentEvents': EventSource failed" in caplog.text


async def test_when_every_transport_fails_the_error_lists_them_all() -> None:
    server = HttpPeer([WEBSOCKETS, SSE, LONG_POLLING], stream_status=404)
    async with serve(server) as base:
        http = http_connection(f"{base}/hub")
        starting = asyncio.create_task(http.start(TransferFormat.TEXT))
        (await first_poll(server)).answer(500)
        with pytest.raises(TransportError) as caught:
            await starting
    message = str(caught.value)
    assert message.startswith(UNABLE + "WebSockets failed: WebSocket failed to connect. ")
    assert " ServerSentEvents failed: EventSource failed to connect. " in message
    assert message.endswith(" LongPolling failed: Internal Server Error: Status code '500'")
    assert [r.token for r in server.requests if r.method != "POST"] == [
        "token-1",  # the WebSocket upgrade
        "token-2",  # the event stream
        "token-3",  # the first poll
    ]
    assert len(server.negotiations()) == 3


async def test_the_transports_option_restricts_the_choice() -> None:
    server = HttpPeer([WEBSOCKETS, SSE, LONG_POLLING])
    async with serve(server) as base:
        http = http_connection(f"{base}/hub", ("LongPolling",))
        starting = asyncio.create_task(http.start(TransferFormat.TEXT))
        (await first_poll(server)).answer(200)
        await starting
        await http.stop()
    # Straight to Long Polling: one negotiation, no WebSocket, no event stream.
    assert [r.method for r in server.requests] == ["POST", "GET", "GET", "DELETE"]


async def test_nothing_allowed_and_able_to_carry_the_protocol() -> None:
    server = HttpPeer([WEBSOCKETS, SSE, LONG_POLLING])
    async with serve(server) as base:
        http = http_connection(f"{base}/hub", ("ServerSentEvents",))
        with pytest.raises(TransportError) as caught:
            await http.start(TransferFormat.BINARY)  # MessagePack never uses SSE
    assert str(caught.value) == (
        UNABLE + "WebSockets failed: 'WebSockets' is disabled by the client. "
        "ServerSentEvents failed: 'ServerSentEvents' does not support Binary. "
        "LongPolling failed: 'LongPolling' is disabled by the client."
    )
    assert len(server.requests) == 1  # the negotiation, nothing else


async def test_nothing_offered_that_the_client_knows() -> None:
    server = HttpPeer([])
    async with serve(server) as base:
        with pytest.raises(TransportError) as caught:
            await http_connection(f"{base}/hub").start(TransferFormat.TEXT)
    assert str(caught.value) == (
        "None of the transports supported by the client are supported by the server."
    )


async def test_a_failed_renegotiation_ends_the_start() -> None:
    server = HttpPeer([SSE, LONG_POLLING], stream_status=404)
    server.negotiate_answers[2] = {"error": "The server is full."}
    async with serve(server) as base:
        with pytest.raises(NegotiationError, match=r"^The server is full\.$"):
            await http_connection(f"{base}/hub").start(TransferFormat.TEXT)
    assert server.polls.empty()


def test_the_transports_option_is_checked() -> None:
    url = "http://127.0.0.1:1/hub"
    with pytest.raises(ValueError, match=r"unknown transport\(s\) 'Carrier'"):
        HubConnection(url, transports=["LongPolling", "Carrier"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="transports must name at least one transport"):
        HubConnection(url, transports=[])
    HubConnection(url, transports="LongPolling")  # one name
    HubConnection(url, transports=("WebSockets", "LongPolling"))


async def test_a_token_that_cannot_travel_in_a_header() -> None:
    connection = HubConnection("http://127.0.0.1:1/hub", access_token="tøken")
    with pytest.raises(ValueError, match=r"^the access token must be ASCII"):
        await connection.start()


@pytest.mark.parametrize(
    "transports",
    ["LongPolling", "ServerSentEvents", ["WebSockets", "LongPolling"]],
)
def test_skipping_negotiation_needs_websockets(
    transports: TransportName | list[TransportName],
) -> None:
    with pytest.raises(
        ValueError,
        match=r"^Negotiation can only be skipped when using the WebSocket transport directly\.$",
    ):
        HubConnection("http://127.0.0.1:1/hub", skip_negotiation=True, transports=transports)
    HubConnection("http://127.0.0.1:1/hub", skip_negotiation=True, transports="WebSockets")
    HubConnection("http://127.0.0.1:1/hub", skip_negotiation=True, transports=["WebSockets"])


# -- against the real server -------------------------------------------------------------


@asynccontextmanager
async def behind_a_proxy(*, refuse_sse: bool = False) -> AsyncIterator[tuple[str, Recorder]]:
    """The client tests' server behind a proxy that refuses WebSocket upgrades
    (and event streams): yields (hub URL, recorder)."""
    app = create_app()

    async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            app.seen.append(
                Seen("websocket", "GET", scope["path"], scope["query_string"].decode(), {})
            )
            await send({"type": "websocket.close", "code": 1008})  # the upgrade fails: 403
            return
        accept = dict(scope.get("headers", [])).get(b"accept", b"")
        if refuse_sse and scope["type"] == "http" and b"text/event-stream" in accept:
            app.seen.append(Seen("http", "GET", scope["path"], scope["query_string"].decode(), {}))
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"Bad Gateway"})
            return
        await app(scope, receive, send)

    async with serve(proxy) as url:
        yield url + "/echo", app


def token_of(seen: Seen) -> str:
    return dict(part.split("=", 1) for part in seen.query.split("&"))["id"]


@pytest.mark.parametrize(
    ("protocol", "fallback"),
    [("json", "ServerSentEvents"), ("messagepack", "LongPolling")],
)
async def test_refused_websockets_fall_back_against_the_real_server(
    protocol: Literal["json", "messagepack"], fallback: str
) -> None:
    async with (
        behind_a_proxy() as (url, recorder),
        HubConnection(url, protocol=protocol) as connection,
    ):
        hub = EchoHubClient(connection)
        assert await hub.echo("fell back") == "fell back"
        assert await hub.whoami() == connection.connection_id
        transports = [s for s in recorder.seen if s.type == "http" and s.path == "/echo"]
    assert len(recorder.negotiations()) == 2
    (refused,) = recorder.websockets()
    first = transports[0]
    if fallback == "ServerSentEvents":
        assert first.headers["accept"] == "text/event-stream"
    else:
        assert "text/event-stream" not in first.headers.get("accept", "")
        assert first.query.split("&")[1].startswith("_=")  # a poll
    assert token_of(first) != token_of(refused)  # a new connection for the fallback


async def test_websockets_and_event_streams_refused_leave_long_polling() -> None:
    async with (
        behind_a_proxy(refuse_sse=True) as (url, recorder),
        HubConnection(url) as connection,
    ):
        assert await EchoHubClient(connection).echo("third time") == "third time"
    assert len(recorder.negotiations()) == 3
    tokens = [token_of(s) for s in recorder.seen if s.path == "/echo" and s.method != "POST"]
    assert len(set(tokens)) == 3  # WebSocket, event stream, polls: three connections


async def test_connection_attempts_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loading the CA bundle takes tens of milliseconds of CPU, with the event
    # loop blocked: not on every start and every reconnect attempt.
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    attempts = [
        HttpConnection(
            "https://example.com/hub",
            access_token=None,
            headers=None,
            skip_negotiation=False,
            connect_timeout=1,
        )
        for _ in range(3)
    ]
    for attempt in attempts:
        await attempt.stop()
    assert len(made) <= 1
