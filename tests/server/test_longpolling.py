"""Long Polling on the wire: polls carry the server's messages, POSTs the
client's, DELETE ends the connection. Checked with httpx against a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgpack
import pytest
from starlette.applications import Starlette

from hubgen.server import HubOptions
from tests.apps.echo.hub import EVENTS, create_app
from tests.support.raw import RS, RawClient
from tests.support.server import serve

HANDSHAKE = '{"protocol":"json","version":1}' + RS
CLOSED_SLOW = {
    "type": 7,
    "error": "Connection closed with an error. ConnectionAborted: "
    "The client could not keep up with the messages sent to it.",
    "allowReconnect": True,
}
NO_CACHE = {
    "cache-control": "no-cache, no-store",
    "pragma": "no-cache",
    "expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


def invocation(invocation_id: str, target: str, *arguments: Any) -> str:
    message = {"type": 1, "invocationId": invocation_id, "target": target, "arguments": arguments}
    return json.dumps(message) + RS


def records(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON records of a poll's answer: whole records only."""
    assert response.status_code == 200, response
    assert response.text.endswith(RS), response.text
    return [json.loads(part) for part in response.text.split(RS)[:-1]]


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - waiting for server-side state
            await asyncio.sleep(0.02)


def disconnected(connection_id: str) -> bool:
    return any(event[:2] == ("disconnected", connection_id) for event in EVENTS)


class Poller:
    """One Long Polling connection, driven by hand."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.connection_id = ""
        self.url = ""

    async def negotiate_only(self) -> None:
        """Negotiate: the connection exists, no transport has started."""
        response = await self.http.post(f"{self.base_url}/echo/negotiate?negotiateVersion=1")
        body = response.json()
        self.connection_id = body["connectionId"]
        self.url = f"{self.base_url}/echo?id={body['connectionToken']}"

    async def negotiate(self) -> httpx.Response:
        """Negotiate, then make the first poll; its answer is returned."""
        await self.negotiate_only()
        return await self.poll()

    async def connect(self) -> None:
        """Negotiate, first poll, JSON handshake."""
        assert (await self.negotiate()).status_code == 200
        await self.post(HANDSHAKE)
        assert (await self.poll()).text == "{}" + RS

    async def poll(self, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.get(self.url, headers=headers)

    async def post(self, content: str | bytes) -> httpx.Response:
        response = await self.http.post(self.url, content=content)
        assert response.status_code == 200, response
        return response

    async def messages(self, count: int) -> list[dict[str, Any]]:
        """Poll until ``count`` messages have come."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            got += records(await self.poll())
        assert len(got) == count, got
        return got


def make_app(**options: Any) -> Starlette:
    EVENTS.clear()
    defaults: dict[str, Any] = {"long_poll_timeout": 0.3, "disconnect_timeout": 30.0}
    return create_app(HubOptions(**(defaults | options)))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=50)) as client:
        yield client


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with serve(make_app()) as url:
        yield url


# -- polls --------------------------------------------------------------------------------


async def test_first_poll_is_answered_at_once_and_empty(http: httpx.AsyncClient) -> None:
    # a poll held for the full minute would outlast the client's timeout
    async with serve(make_app(long_poll_timeout=60)) as base_url:
        first = await Poller(http, base_url).negotiate()
    assert (first.status_code, first.content) == (200, b"")
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.headers["content-length"] == "0"
    assert NO_CACHE.items() <= first.headers.items()


async def test_a_poll_returns_everything_buffered_in_one_answer(
    base_url: str, http: httpx.AsyncClient
) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    sender = await RawClient.open(base_url)
    # pushed while no poll is pending: kept for the next one
    for n in range(5):
        await sender.call("SendTo", poller.connection_id, f"push {n}")
    answer = await poller.poll()
    assert answer.headers["content-type"] == "application/octet-stream"
    assert NO_CACHE.items() <= answer.headers.items()
    assert records(answer) == [
        {"type": 1, "target": "Message", "arguments": [f"push {n}"]} for n in range(5)
    ]
    await sender.close()


async def test_a_poll_with_nothing_to_send_times_out_empty(
    base_url: str, http: httpx.AsyncClient
) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    idle = await poller.poll()
    assert (idle.status_code, idle.content) == (200, b"")
    assert idle.headers["content-type"] == "text/plain"
    assert idle.headers["content-length"] == "0"
    # and the connection lives on
    await poller.post(invocation("1", "Echo", "after a timeout"))
    assert await poller.messages(1) == [
        {"type": 3, "invocationId": "1", "result": "after a timeout"}
    ]


async def test_a_poll_answers_as_soon_as_there_is_data(http: httpx.AsyncClient) -> None:
    async with serve(make_app(long_poll_timeout=60)) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        pending = asyncio.ensure_future(poller.poll())
        await poller.post(invocation("1", "Echo", "wake up"))
        # the client's 15-second timeout fails this if the poll is held to its end
        assert records(await pending) == [{"type": 3, "invocationId": "1", "result": "wake up"}]


async def test_a_newer_poll_ends_the_pending_one_and_the_connection_goes_on(
    http: httpx.AsyncClient,
) -> None:
    app = make_app(long_poll_timeout=60)
    async with serve(app) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        older = asyncio.ensure_future(poller.poll())
        await until(lambda: _poll_pending(app))
        newer = asyncio.ensure_future(poller.poll())
        ended = await older
        assert (ended.status_code, ended.content) == (204, b"")
        assert ended.headers["content-type"] == "text/plain"
        await poller.post(invocation("1", "Echo", "to the newer poll"))
        assert records(await newer) == [
            {"type": 3, "invocationId": "1", "result": "to the newer poll"}
        ]
        await poller.post(invocation("2", "Add", 1, 2))
        assert await poller.messages(1) == [{"type": 3, "invocationId": "2", "result": 3}]
        assert app.state.hub.connection_count == 1
        assert not disconnected(poller.connection_id)


def _poll_pending(app: Starlette) -> bool:
    """Whether the one Long Polling connection of ``app`` has a poll pending."""
    records = app.state.hub._endpoint._records.values()
    return any(getattr(r.http, "idle_since", 0) is None for r in records)


async def test_a_poll_its_client_abandons_takes_nothing(http: httpx.AsyncClient) -> None:
    app = make_app(long_poll_timeout=60)
    async with serve(app) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        async with httpx.AsyncClient(timeout=15) as other:
            abandoned = asyncio.ensure_future(other.get(poller.url))
            await until(lambda: _poll_pending(app))
            abandoned.cancel()
        await until(lambda: not _poll_pending(app))
        await poller.post(invocation("1", "Echo", "not lost"))
        assert records(await poller.poll()) == [
            {"type": 3, "invocationId": "1", "result": "not lost"}
        ]


async def test_a_connection_whose_poll_was_abandoned_times_out(http: httpx.AsyncClient) -> None:
    # the poll would be held a minute; the connection still ends after disconnect_timeout
    app = make_app(long_poll_timeout=60, disconnect_timeout=0.3)
    async with serve(app) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        async with httpx.AsyncClient(timeout=15) as other:
            abandoned = asyncio.ensure_future(other.get(poller.url))
            await until(lambda: _poll_pending(app))
            abandoned.cancel()
        await until(lambda: disconnected(poller.connection_id))
        gone = await poller.poll()
        assert (gone.status_code, gone.text) == (404, "No Connection with that ID")


async def test_a_connection_that_stops_polling_is_closed(http: httpx.AsyncClient) -> None:
    async with serve(make_app(disconnect_timeout=0.3)) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        await until(lambda: disconnected(poller.connection_id))
        assert ("disconnected", poller.connection_id, None) in EVENTS
        poll = await poller.poll()
        assert (poll.status_code, poll.text) == (404, "No Connection with that ID")
        post = await http.post(poller.url, content=invocation("1", "Echo", "late"))
        assert (post.status_code, post.text) == (404, "No Connection with that ID")


async def test_polling_keeps_a_connection_alive_without_pings(http: httpx.AsyncClient) -> None:
    """Long Polling has inherent keep-alive: no pings are sent and the client
    timeout does not apply, though each poll outlasts both intervals here."""
    options = {"keep_alive_interval": 0.05, "client_timeout": 0.1, "long_poll_timeout": 0.3}
    async with serve(make_app(**options)) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        await poller.post('{"type":6}' + RS)  # a client ping would arm the client timeout
        for _ in range(4):
            idle = await poller.poll()
            assert (idle.status_code, idle.content) == (200, b"")
        await poller.post(invocation("1", "Echo", "alive"))
        assert await poller.messages(1) == [{"type": 3, "invocationId": "1", "result": "alive"}]


async def test_the_hub_sees_the_first_poll_request(base_url: str, http: httpx.AsyncClient) -> None:
    poller = Poller(http, base_url)
    response = await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")
    poller.connection_id = response.json()["connectionId"]
    poller.url = f"{base_url}/echo?id={response.json()['connectionToken']}"
    await poller.poll({"X-Probe": "first poll"})
    await poller.post(HANDSHAKE)
    assert (await poller.poll({"X-Probe": "second poll"})).text == "{}" + RS
    await poller.post(invocation("1", "GetHeader", "x-probe"))
    answer = records(await poller.poll({"X-Probe": "third poll"}))
    assert answer == [{"type": 3, "invocationId": "1", "result": "first poll"}]


# -- client messages ----------------------------------------------------------------------


async def test_concurrent_posts_are_each_taken_whole(
    base_url: str, http: httpx.AsyncClient
) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    bodies = [
        invocation(f"{n}a", "Add", n, 1) + invocation(f"{n}b", "Add", n, 2) for n in range(10)
    ]
    await asyncio.gather(*(poller.post(body) for body in bodies))
    got = await poller.messages(20)
    assert {m["invocationId"]: m["result"] for m in got} == {
        **{f"{n}a": n + 1 for n in range(10)},
        **{f"{n}b": n + 2 for n in range(10)},
    }


async def test_messagepack_over_long_polling(base_url: str, http: httpx.AsyncClient) -> None:
    poller = Poller(http, base_url)
    await poller.negotiate()
    await poller.post('{"protocol":"messagepack","version":1}' + RS)
    assert (await poller.poll()).content == b"{}\x1e"
    packed = msgpack.packb([1, {}, "7", "Echo", ["binary"]])
    await poller.post(bytes([len(packed)]) + packed)  # one-byte varint length prefix
    answer = await poller.poll()
    assert answer.headers["content-type"] == "application/octet-stream"
    body = answer.content
    assert body[0] == len(body) - 1
    assert msgpack.unpackb(body[1:]) == [3, {}, "7", 3, "binary"]


# -- the end of a connection --------------------------------------------------------------


async def test_delete_ends_the_connection_and_the_pending_poll(
    base_url: str, http: httpx.AsyncClient
) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    pending = asyncio.ensure_future(poller.poll())
    deleted = await http.delete(poller.url)
    assert (deleted.status_code, deleted.text) == (202, "")
    assert (await pending).status_code == 204
    await until(lambda: disconnected(poller.connection_id))
    assert ("disconnected", poller.connection_id, None) in EVENTS
    assert (await poller.poll()).status_code == 404
    assert (await http.delete(poller.url)).status_code == 404


async def test_delete_between_polls(base_url: str, http: httpx.AsyncClient) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    assert (await http.delete(poller.url)).status_code == 202
    assert (await poller.poll()).status_code == 204
    assert (await poller.poll()).status_code == 404


async def test_what_the_server_sent_last_goes_out_before_the_204(
    base_url: str, http: httpx.AsyncClient
) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    await poller.post(invocation("1", "Echo", "last words") + invocation("2", "AbortMe"))
    await until(lambda: disconnected(poller.connection_id))
    # the connection has ended; what it sent is still delivered, then 204
    assert records(await poller.poll()) == [
        {"type": 3, "invocationId": "1", "result": "last words"},
        {"type": 7},
    ]
    assert (await poller.poll()).status_code == 204
    assert (await poller.poll()).status_code == 404


async def test_posts_to_an_ended_connection_get_404(base_url: str, http: httpx.AsyncClient) -> None:
    poller = Poller(http, base_url)
    await poller.connect()
    await poller.post(invocation("1", "AbortMe"))
    await until(lambda: disconnected(poller.connection_id))
    late = await http.post(poller.url, content=invocation("2", "Echo", "too late"))
    assert late.status_code == 404


async def test_a_client_that_stops_polling_meets_the_slow_client_policy(
    http: httpx.AsyncClient,
) -> None:
    """Unpolled data is bounded: past it the connection's queue fills and
    ``slow_client_policy`` closes the connection, as for a stalled WebSocket."""
    app = make_app(max_buffered_bytes=32 * 1024, slow_client_policy="close", close_timeout=0.2)
    async with serve(app) as base_url:
        poller = Poller(http, base_url)
        await poller.connect()
        sender = await RawClient.open(base_url)
        payload = "x" * 2_000
        # one at a time, so the connection's writer hands each push to the
        # transport: only the transport's bound can stop it
        for _ in range(100):  # ~200 kB, far more than both buffers together
            await sender.call("SendTo", poller.connection_id, payload)
            if disconnected(poller.connection_id):
                break
        await until(lambda: disconnected(poller.connection_id))
        reason = next(e[2] for e in EVENTS if e[:2] == ("disconnected", poller.connection_id))
        assert reason == "The client could not keep up with the messages sent to it."
        assert (await sender.call("Echo", "sender unaffected"))["result"] == "sender unaffected"
        # what was buffered is delivered in whole messages, then the connection is over
        delivered: list[dict[str, Any]] = []
        while (answer := await poller.poll()).status_code == 200:
            delivered += records(answer)
        assert answer.status_code == 204
        pushes = [m for m in delivered if m["type"] == 1]
        assert 0 < len(pushes) < 100
        assert all(m == {"type": 1, "target": "Message", "arguments": [payload]} for m in pushes)
        # past the pushes, at most the Close message (if it fit before close_timeout)
        assert delivered[len(pushes) :] in ([], [CLOSED_SLOW])
        await sender.close()


# -- data before the first poll -------------------------------------------------------------


async def test_a_handshake_posted_before_the_first_poll_is_kept_for_the_connection(
    base_url: str, http: httpx.AsyncClient
) -> None:
    """signalrcore posts its handshake before it polls; ASP.NET Core accepts
    that for any negotiated connection, and so do we."""
    poller = Poller(http, base_url)
    await poller.negotiate_only()
    await poller.post(HANDSHAKE)
    await poller.post(invocation("1", "Echo", "early"))
    assert (await poller.poll()).status_code == 200  # the first poll: empty
    assert await poller.messages(2) == [{}, {"type": 3, "invocationId": "1", "result": "early"}]


async def test_a_large_body_before_the_first_poll_waits_for_the_transport(
    base_url: str, http: httpx.AsyncClient
) -> None:
    """Up to 64 KiB is taken at once; the rest of a body waits for the
    transport, and the hub gets it whole and in order."""
    poller = Poller(http, base_url)
    await poller.negotiate_only()
    text = "x" * 100_000
    post = asyncio.ensure_future(poller.post(HANDSHAKE + invocation("1", "Echo", text)))
    await asyncio.sleep(0.2)
    assert not post.done()
    assert (await poller.poll()).status_code == 200
    await post
    assert await poller.messages(2) == [{}, {"type": 3, "invocationId": "1", "result": text}]


async def test_a_post_waiting_for_a_transport_that_never_comes_gets_404(
    http: httpx.AsyncClient,
) -> None:
    async with serve(make_app(disconnect_timeout=0.3)) as base_url:
        poller = Poller(http, base_url)
        await poller.negotiate_only()
        response = await http.post(poller.url, content=HANDSHAKE + "x" * 100_000)
        assert response.status_code == 404
