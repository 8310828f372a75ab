"""The Long Polling transport against a scripted server (the first poll, what
each answer means, the client-side poll timeout, closing with DELETE, a
refreshed token), and its end-to-end behaviour against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from hubgen.client import HubConnection, HubConnectionState, TransportError
from hubgen.client.longpolling import LongPollingTransport
from hubgen.client.negotiate import AccessToken
from hubgen.client.transport import TransportContext
from hubgen.protocol import TransferFormat
from tests.client.apps import ClientTestHub, Recorder, Seen, create_app
from tests.client.http_peers import HttpPeer, Poll
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def peer() -> AsyncIterator[tuple[HttpPeer, str]]:
    """A scripted server; yields it and the transport URL of connection ``t1``."""
    server = HttpPeer()
    async with serve(server) as url:
        yield server, f"{url}/hub?id=t1"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def long_polling(
    http: httpx.AsyncClient,
    *,
    token: AccessToken = None,
    headers: dict[str, str] | None = None,
) -> LongPollingTransport:
    return LongPollingTransport(TransportContext(http, headers, token, 5.0))


async def next_poll(server: HttpPeer) -> Poll:
    return await asyncio.wait_for(server.polls.get(), 5)


async def connected(
    server: HttpPeer, url: str, transport: LongPollingTransport
) -> LongPollingTransport:
    """``transport``, connected to ``url`` (the first poll answered)."""
    connecting = asyncio.create_task(transport.connect(url, TransferFormat.TEXT))
    (await next_poll(server)).answer(200)
    await connecting
    return transport


async def test_connect_waits_for_the_first_poll(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = long_polling(http, token="secret", headers={"X-Custom": "yes"})
    connecting = asyncio.create_task(transport.connect(url, TransferFormat.BINARY))
    first = await next_poll(server)
    assert not connecting.done()  # the handshake must wait for this answer
    request = first.request
    assert request.method == "GET"
    assert request.query["id"] == "t1"
    assert request.query["_"].isdigit()  # the cache buster: milliseconds
    assert request.headers["authorization"] == "Bearer secret"  # a header, not the query
    assert "access_token" not in request.query
    assert request.headers["x-custom"] == "yes"
    assert request.headers["x-requested-with"] == "XMLHttpRequest"
    assert request.headers["user-agent"].startswith("hubgen/")
    first.answer(200)
    await connecting
    second = await next_poll(server)  # the poll loop runs
    assert second.request.headers["authorization"] == "Bearer secret"
    await transport.close()


async def test_a_refused_first_poll_fails_to_connect(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = long_polling(http)
    connecting = asyncio.create_task(transport.connect(url, TransferFormat.TEXT))
    (await next_poll(server)).answer(404, "No Connection with that ID")
    with pytest.raises(TransportError, match=r"^No Connection with that ID: Status code '404'$"):
        await connecting
    await transport.close()
    assert server.of("DELETE") == []  # never connected: nothing to delete


async def test_what_each_poll_answer_means(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = await connected(server, url, long_polling(http))
    (await next_poll(server)).answer(200, b"first\x1e")
    assert await transport.receive() == b"first\x1e"
    (await next_poll(server)).answer(200)  # empty: the server's poll timeout
    (await next_poll(server)).answer(200, b"second\x1e")  # ... so the client polled again
    assert await transport.receive() == b"second\x1e"  # and the empty answer delivered nothing
    (await next_poll(server)).answer(204)  # the server ended the connection
    assert await transport.receive() is None  # a clean close
    with pytest.raises(TransportError, match=r"^Cannot send until the transport is connected$"):
        await transport.send("x\x1e")
    await transport.close()
    assert server.polls.empty()  # no poll after the 204
    assert server.of("DELETE") == []  # the server already ended it


async def test_an_unexpected_status_closes_with_that_error(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = await connected(server, url, long_polling(http))
    (await next_poll(server)).answer(500, "it broke")
    with pytest.raises(TransportError, match=r"^it broke: Status code '500'$"):
        await transport.receive()
    await transport.close()
    assert len(server.of("DELETE")) == 1  # the server may still hold the connection


async def test_a_poll_the_server_holds_too_long_is_sent_again(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = peer
    monkeypatch.setattr(LongPollingTransport, "poll_timeout", 0.2)
    transport = await connected(server, url, long_polling(http))
    held = await next_poll(server)  # never answered
    await asyncio.wait_for(held.aborted.wait(), 5)  # the client gave up on it ...
    again = await next_poll(server)  # ... and polled again, still connected
    again.answer(200, b"data\x1e")
    assert await transport.receive() == b"data\x1e"
    await transport.close()


async def test_close_aborts_the_poll_waits_for_it_then_deletes(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = await connected(server, url, long_polling(http, token="secret"))
    outstanding = await next_poll(server)
    closing = asyncio.create_task(transport.close())
    await asyncio.wait_for(outstanding.aborted.wait(), 5)
    delete = await asyncio.wait_for(server.deletes.get(), 5)
    await closing
    assert delete.query == {"id": "t1"}
    assert delete.headers["authorization"] == "Bearer secret"
    methods = [r.method for r in server.requests]
    assert methods == ["GET", "GET", "DELETE"]  # the poll loop had ended before the DELETE
    assert server.polls.empty()  # and it polled no more
    assert await transport.receive() is None


@pytest.mark.parametrize("status", [404, 500])
async def test_a_failed_delete_is_not_an_error(http: httpx.AsyncClient, status: int) -> None:
    server = HttpPeer(delete_status=status)
    async with serve(server) as base:
        transport = await connected(server, f"{base}/hub?id=t1", long_polling(http))
        await transport.close()
        assert len(server.of("DELETE")) == 1


async def test_closing_when_the_server_is_gone_is_not_an_error(http: httpx.AsyncClient) -> None:
    server = HttpPeer()
    async with serve(server) as base:
        transport = await connected(server, f"{base}/hub?id=t1", long_polling(http))
        (await next_poll(server)).answer(503)
        with pytest.raises(TransportError, match=r"^Service Unavailable: Status code '503'$"):
            await transport.receive()
    # The server is gone: the DELETE cannot even connect.
    await transport.close()
    assert server.of("DELETE") == []


async def test_binary_and_text_posts(peer: tuple[HttpPeer, str], http: httpx.AsyncClient) -> None:
    server, url = peer
    transport = await connected(server, url, long_polling(http, token="secret"))
    await transport.send(b"\x02\x91\x06")
    await transport.send('{"protocol":"messagepack","version":1}\x1e')
    binary, text = server.posts.get_nowait(), server.posts.get_nowait()
    assert binary.body == b"\x02\x91\x06"
    assert binary.headers["content-type"] == "application/octet-stream"
    assert text.headers["content-type"] == "text/plain;charset=UTF-8"
    assert binary.query == text.query == {"id": "t1"}
    assert binary.headers["authorization"] == "Bearer secret"
    await transport.close()


async def test_a_401_gets_a_fresh_token_once(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    issued: list[str] = []

    async def token() -> str:
        issued.append(f"token-{len(issued) + 1}")
        return issued[-1]

    transport = await connected(server, url, long_polling(http, token=token))
    held = await next_poll(server)
    assert held.request.headers["authorization"] == "Bearer token-1"
    server.expired_tokens.add("token-1")
    held.answer(200)  # the next poll is refused, and retried with a new token
    retried = await next_poll(server)
    assert retried.request.headers["authorization"] == "Bearer token-2"
    await transport.send("x\x1e")  # the new token is kept for everything after
    assert server.posts.get_nowait().headers["authorization"] == "Bearer token-2"
    assert issued == ["token-1", "token-2"]
    refused = [r for r in server.requests if r.headers.get("authorization") == "Bearer token-1"]
    assert [r.method for r in refused] == ["GET", "GET", "GET"]  # first, held, refused
    await transport.close()


async def test_a_401_with_a_fixed_token_closes_the_transport(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = await connected(server, url, long_polling(http, token="fixed"))
    held = await next_poll(server)
    server.expired_tokens.add("fixed")
    held.answer(200)
    with pytest.raises(TransportError, match=r"^Unauthorized: Status code '401'$"):
        await transport.receive()
    await transport.close()


# -- against the real server -------------------------------------------------------------


def echo_requests(recorder: Recorder) -> list[Seen]:
    return [s for s in recorder.seen if s.path == "/echo"]


async def test_the_server_ending_the_connection_is_a_clean_close() -> None:
    app = create_app()
    async with serve(app) as base:
        connection = HubConnection(f"{base}/echo", transports="LongPolling")
        closed: asyncio.Queue[Exception | None] = asyncio.Queue()
        connection.on_close(closed.put_nowait)
        await connection.start()
        await connection.send("AbortMe")  # a Close message in a poll, then a 204
        assert await asyncio.wait_for(closed.get(), 5) is None
        assert connection.state is HubConnectionState.DISCONNECTED
        await connection.start()  # the client can start again at once
        assert await connection.invoke("Echo", "again") == "again"
        await connection.stop()


async def test_stop_aborts_the_poll_and_deletes_the_connection() -> None:
    app = create_app()  # the server holds polls for 90 seconds
    async with serve(app) as base:
        connection = HubConnection(f"{base}/echo", transports="LongPolling", access_token="t")
        await connection.start()
        connection_id = connection.connection_id
        assert await connection.invoke("Echo", "x") == "x"
        await connection.stop()
        disconnect = await asyncio.wait_for(ClientTestHub.disconnects.get(), 5)
        assert disconnect == (connection_id, None)
    requests = echo_requests(app)
    assert requests[-1].method == "DELETE"
    assert requests[-1].headers["authorization"] == "Bearer t"
    assert [s.method for s in requests].count("DELETE") == 1


async def test_no_pings_and_no_server_timeout_over_long_polling() -> None:
    app = create_app()
    async with serve(app) as base:
        connection = HubConnection(
            f"{base}/echo",
            transports="LongPolling",
            keep_alive_interval=0.02,
            server_timeout=0.05,
        )
        closed: list[Exception | None] = []
        connection.on_close(closed.append)
        async with connection:
            # Many keep-alive intervals and server timeouts pass in silence:
            # the server sends nothing over Long Polling, and neither does the client.
            await asyncio.sleep(0.5)
            assert closed == []
            assert await connection.invoke("Echo", "still here") == "still here"
    posts = [s for s in echo_requests(app) if s.method == "POST"]
    assert len(posts) == 3  # the handshake, the Echo invocation, the Close message
