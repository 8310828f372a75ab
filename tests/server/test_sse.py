"""Server-Sent Events on the wire: one GET carries the server's messages as
events, POSTs carry the client's. Checked byte for byte with httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hubgen.server import HubOptions
from hubgen.server.http_transports import format_event
from tests.apps.echo.hub import EVENTS, create_app
from tests.support.raw import RS
from tests.support.server import serve

HANDSHAKE = '{"protocol":"json","version":1}' + RS
SSE = {"Accept": "text/event-stream"}


def invocation(invocation_id: str, target: str, *arguments: Any) -> str:
    message = {"type": 1, "invocationId": invocation_id, "target": target, "arguments": arguments}
    return json.dumps(message) + RS


def records(payload: str) -> list[dict[str, Any]]:
    """The JSON records of one event's data: whole records only."""
    assert payload.endswith(RS), payload
    return [json.loads(part) for part in payload.split(RS)[:-1]]


def parse_event(raw: bytes) -> bytes:
    """The data of one event, as EventSource assembles it (lines joined with LF)."""
    lines = raw.split(b"\r\n")
    assert lines[-2:] == [b"", b""], raw  # the blank line that ends the event
    data = [line for line in lines[:-2] if not line.startswith(b":")]
    assert all(line.startswith(b"data: ") for line in data), raw
    return b"\n".join(line[len(b"data: ") :] for line in data)


class EventStream:
    """The raw bytes of an open event stream, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_raw()
        self._buffer = b""

    @classmethod
    async def opened(cls, response: httpx.Response) -> EventStream:
        """The stream of ``response``, past the comment every stream opens with."""
        stream = cls(response)
        assert await stream.read_exactly(3) == b":\r\n"
        return stream

    async def read_exactly(self, size: int) -> bytes:
        async with asyncio.timeout(5):
            while len(self._buffer) < size:
                self._buffer += await anext(self._chunks)
        head, self._buffer = self._buffer[:size], self._buffer[size:]
        return head

    async def raw_event(self) -> bytes:
        """The bytes of the next event, up to and including its blank line."""
        async with asyncio.timeout(5):
            while b"\r\n\r\n" not in self._buffer:
                self._buffer += await anext(self._chunks)
        event, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return event + b"\r\n\r\n"

    async def messages(self) -> list[dict[str, Any]]:
        """The hub messages of the next event, skipping pings."""
        while True:
            data = parse_event(await self.raw_event()).decode()
            found = [m for m in records(data) if m["type"] != 6]
            if found:
                return found

    async def ended(self) -> bool:
        """Whether the server ends the response (after any events still in flight)."""
        async with asyncio.timeout(5):
            async for chunk in self._chunks:
                self._buffer += chunk
        return True


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - waiting for server-side state
            await asyncio.sleep(0.02)


def disconnected(connection_id: str) -> bool:
    return any(event[:2] == ("disconnected", connection_id) for event in EVENTS)


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    EVENTS.clear()
    # big enough for the large-POST test; pings rare enough not to interleave
    options = HubOptions(max_message_size=1 << 20, keep_alive_interval=30)
    async with serve(create_app(options)) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        yield client


async def negotiate(http: httpx.AsyncClient, base_url: str) -> tuple[str, str]:
    body = (await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")).json()
    return body["connectionId"], f"{base_url}/echo?id={body['connectionToken']}"


# -- the event format -------------------------------------------------------------------


def test_format_event_writes_one_data_line_per_line() -> None:
    assert format_event(b"{}\x1e") == b"data: {}\x1e\r\n\r\n"
    assert format_event(b"a\nb\r\nc") == b"data: a\r\ndata: b\r\ndata: c\r\n\r\n"
    assert format_event(b"a\n") == b"data: a\r\ndata: \r\n\r\n"
    assert format_event(b"") == b"\r\n"


@given(st.binary().filter(lambda data: b"\r" not in data and data != b""))
def test_format_event_round_trips_through_an_event_source_parser(data: bytes) -> None:
    assert parse_event(format_event(data)) == data


# -- the stream ---------------------------------------------------------------------------


async def test_stream_opens_with_its_headers_and_a_comment(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache,no-store"
        assert response.headers["pragma"] == "no-cache"
        assert response.headers["content-encoding"] == "identity"
        # before the client has sent anything: the comment EventSource needs to open
        assert await EventStream(response).read_exactly(3) == b":\r\n"


async def test_each_batch_is_one_event_of_whole_messages(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        post = await http.post(url, content=HANDSHAKE)
        assert (post.status_code, post.text) == (200, "")
        assert await stream.raw_event() == b"data: {}\x1e\r\n\r\n"
        # three messages in one POST: three completions, in order, in whole records
        body = "".join(invocation(str(n), "Add", n, 100) for n in range(3))
        assert (await http.post(url, content=body)).status_code == 200
        got: list[dict[str, Any]] = []
        while len(got) < 3:
            got += await stream.messages()
        assert got == [{"type": 3, "invocationId": str(n), "result": n + 100} for n in range(3)]


async def test_a_message_may_span_several_posts(base_url: str, http: httpx.AsyncClient) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE[:10])
        await http.post(url, content=HANDSHAKE[10:])
        assert await stream.raw_event() == b"data: {}\x1e\r\n\r\n"
        message = invocation("1", "Echo", "split")
        await http.post(url, content=message[:7])
        await http.post(url, content=message[7:])
        assert await stream.messages() == [{"type": 3, "invocationId": "1", "result": "split"}]


async def test_concurrent_large_posts_never_interleave(
    base_url: str, http: httpx.AsyncClient
) -> None:
    """Each POST is taken whole before the next: bodies of several hundred
    kilobytes arrive in many chunks, and none is mixed with another's."""
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE)
        await stream.raw_event()
        payloads = {str(n): chr(ord("a") + n) * 300_000 for n in range(6)}
        posts = [
            http.post(url, content=invocation(key, "Echo", text)) for key, text in payloads.items()
        ]
        answers = await asyncio.gather(*posts)
        assert [answer.status_code for answer in answers] == [200] * len(payloads)
        results: dict[str, str] = {}
        while len(results) < len(payloads):
            for message in await stream.messages():
                assert message["type"] == 3, message
                results[message["invocationId"]] = message["result"]
        assert results == payloads


async def test_pings_are_events_too() -> None:
    EVENTS.clear()
    async with (
        serve(create_app(HubOptions(keep_alive_interval=0.1))) as base_url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        _, url = await negotiate(http, base_url)
        async with http.stream("GET", url, headers=SSE) as response:
            stream = await EventStream.opened(response)
            await http.post(url, content=HANDSHAKE)
            assert await stream.raw_event() == b"data: {}\x1e\r\n\r\n"
            assert await stream.raw_event() == b'data: {"type":6}\x1e\r\n\r\n'


async def test_the_hub_sees_the_event_stream_request(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers={**SSE, "X-Probe": "stream"}) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE, headers={"X-Probe": "post"})
        await stream.raw_event()
        await http.post(url, content=invocation("1", "GetHeader", "x-probe"))
        assert await stream.messages() == [{"type": 3, "invocationId": "1", "result": "stream"}]


# -- the end of a connection --------------------------------------------------------------


async def test_closing_the_stream_ends_the_connection(
    base_url: str, http: httpx.AsyncClient
) -> None:
    connection_id, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE)
        await stream.raw_event()
    await until(lambda: disconnected(connection_id))
    assert ("disconnected", connection_id, None) in EVENTS
    post = await http.post(url, content=invocation("1", "Echo", "late"))
    assert (post.status_code, post.text) == (404, "No Connection with that ID")
    again = await http.get(url, headers=SSE)
    assert (again.status_code, again.text) == (404, "No Connection with that ID")


async def test_a_stream_closed_before_the_handshake_ends_the_connection(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        assert await EventStream(response).read_exactly(3) == b":\r\n"
    async with asyncio.timeout(10):
        while (await http.post(url, content=HANDSHAKE)).status_code != 404:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_the_server_ending_the_connection_ends_the_stream(
    base_url: str, http: httpx.AsyncClient
) -> None:
    connection_id, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE)
        await stream.raw_event()
        await http.post(url, content=invocation("1", "AbortMe"))
        got: list[dict[str, Any]] = []
        while not got or got[-1]["type"] != 7:
            got += await stream.messages()
        assert got[-1] == {"type": 7}
        assert await stream.ended()
    await until(lambda: disconnected(connection_id))
    assert (await http.post(url, content=b"{}")).status_code == 404


async def test_messagepack_over_sse_is_refused_and_the_stream_ends(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content='{"protocol":"messagepack","version":1}' + RS)
        error = json.loads(parse_event(await stream.raw_event()).decode().removesuffix(RS))
        assert error == {
            "error": "Cannot use the 'messagepack' protocol on the current transport. "
            "The transport does not support 'Binary' transfer format."
        }
        assert await stream.ended()
    assert (await http.post(url, content=HANDSHAKE)).status_code == 404


# -- one transport per connection ---------------------------------------------------------


async def test_other_requests_on_an_sse_connection(base_url: str, http: httpx.AsyncClient) -> None:
    _, url = await negotiate(http, base_url)
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        await http.post(url, content=HANDSHAKE)
        await stream.raw_event()
        second = await http.get(url, headers=SSE)
        assert (second.status_code, second.text) == (409, "")
        poll = await http.get(url)
        assert (poll.status_code, poll.text) == (400, "Cannot change transports mid-connection")
        delete = await http.delete(url)
        assert (delete.status_code, delete.text) == (
            400,
            "Cannot terminate this connection using the DELETE endpoint.",
        )
        with pytest.raises(InvalidStatus) as refused:
            await connect(url.replace("http://", "ws://"), open_timeout=5)
        assert refused.value.response.status_code == 400
        assert refused.value.response.body == b"Cannot change transports mid-connection"
        # the connection is unharmed by all of that
        await http.post(url, content=invocation("1", "Echo", "still here"))
        assert await stream.messages() == [{"type": 3, "invocationId": "1", "result": "still here"}]


async def test_a_handshake_posted_before_the_event_stream_is_kept(
    base_url: str, http: httpx.AsyncClient
) -> None:
    _, url = await negotiate(http, base_url)
    assert (await http.post(url, content=HANDSHAKE)).status_code == 200
    async with http.stream("GET", url, headers=SSE) as response:
        stream = await EventStream.opened(response)
        assert parse_event(await stream.raw_event()) == b"{}" + RS.encode()
        await http.post(url, content=invocation("1", "Echo", "late"))
        assert await stream.messages() == [{"type": 3, "invocationId": "1", "result": "late"}]
