"""The Server-Sent Events transport: the event stream parser, and the
transport against a scripted server (what it sends, how it ends)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from hubgen.client import TransportError
from hubgen.client.sse import EventStreamParser, ServerSentEventsTransport
from hubgen.client.transport import TransportContext
from hubgen.protocol import TransferFormat
from tests.client.http_peers import HttpPeer
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)

FAILED_TO_CONNECT = (
    "EventSource failed to connect. The connection could not be found on the server, either "
    "the connection ID is not present on the server, or a proxy is refusing/buffering the "
    "connection. If you have multiple servers check that sticky sessions are enabled."
)

# -- the parser ------------------------------------------------------------------------


def parse(*chunks: bytes) -> list[bytes]:
    parser = EventStreamParser()
    return [message for chunk in chunks for message in parser.feed(chunk)]


def test_what_a_signalr_server_writes() -> None:
    stream = b':\r\ndata: {"type":6}\x1e{"type":1}\x1e\r\n\r\n'
    assert parse(stream) == [b'{"type":6}\x1e{"type":1}\x1e']


def test_lines_end_with_crlf_lf_or_cr() -> None:
    assert parse(b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n") == [
        b"a",
        b"b",
        b"c",
        b"d",
    ]


def test_data_lines_are_joined_with_lf() -> None:
    # A payload with newlines arrives as several data lines (the server splits
    # it so); the client puts the newlines back.
    assert parse(b"data: first\r\ndata: second\r\ndata:\r\ndata:third\r\n\r\n") == [
        b"first\nsecond\n\nthird"
    ]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert parse(b"data:  two spaces\n\n") == [b" two spaces"]


def test_comments_unknown_fields_and_other_event_types() -> None:
    stream = (
        b": a comment\n"
        b"id: 7\nretry: 1000\nfoo: bar\ndata: kept\n\n"
        b"event: ping\ndata: an event onmessage never sees\n\n"
        b"event: message\ndata: a message event\n\n"
        b"event: ping\n\n"  # no data: nothing, and the type resets
        b"data: plain again\n\n"
    )
    assert parse(stream) == [b"kept", b"a message event", b"plain again"]


def test_a_blank_line_without_data_dispatches_nothing() -> None:
    assert parse(b"\n\n:\r\n\r\n") == []


def test_a_line_without_a_colon_is_a_field_name() -> None:
    assert parse(b"data\n\n") == [b""]  # an empty message


def test_an_unfinished_event_at_the_end_is_dropped() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"data: complete\n\ndata: never finished\n") == [b"complete"]


def test_a_leading_byte_order_mark_is_dropped_but_not_a_later_one() -> None:
    assert parse(b"\xef\xbb\xbfdata: x\n\n") == [b"x"]
    assert parse(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [b"x"]
    assert parse(b"data: \xef\xbb\xbfx\n\n") == [b"\xef\xbb\xbfx"]


def test_utf8_is_passed_through_as_bytes() -> None:
    text = 'data: {"arguments":["héllo ✓ 😀"]}\x1e\r\n\r\n'.encode()
    assert parse(text) == ['{"arguments":["héllo ✓ 😀"]}\x1e'.encode()]


SAMPLE = (
    b"\xef\xbb\xbf:\r\n"
    b"data: one\r\n\r\n"
    b"data: two\r\rdata: three\n\n"
    b"data: f\xc3\xbcnf\r\ndata: lines\r\n\r\n"
    b": keep-alive\r\n"
    b"event: other\r\ndata: skipped\r\n\r\n"
    b"data: \xe2\x9c\x93\r\n\r\n"
)
SAMPLE_MESSAGES = [b"one", b"two", b"three", b"f\xc3\xbcnf\nlines", b"\xe2\x9c\x93"]


def test_chunks_may_split_anywhere() -> None:
    assert parse(SAMPLE) == SAMPLE_MESSAGES
    for cut in range(1, len(SAMPLE)):
        assert parse(SAMPLE[:cut], SAMPLE[cut:]) == SAMPLE_MESSAGES, cut
    assert parse(*(SAMPLE[i : i + 1] for i in range(len(SAMPLE)))) == SAMPLE_MESSAGES


def test_a_long_line_in_many_chunks() -> None:
    payload = bytes(range(32, 127)) * 2000
    stream = b"data: " + payload + b"\r\n\r\n"
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert parse(*chunks) == [payload]


def test_a_cr_at_the_end_of_a_chunk_waits_for_the_next() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"data: x\r\n\r") == []  # the CR may be the start of a CRLF
    assert parser.feed(b"\n") == [b"x"]
    assert parser.feed(b"data: y\r\n\r") == []
    assert parser.feed(b"data: z\n\n") == [b"y", b"z"]  # it was a line ending of its own


# -- the transport against a scripted server -------------------------------------------


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


def sse(
    http: httpx.AsyncClient,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> ServerSentEventsTransport:
    return ServerSentEventsTransport(TransportContext(http, headers, token, 5.0))


async def test_connect_completes_when_the_response_starts(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = sse(http, token="a b/c+d=%", headers={"X-Custom": "yes"})
    await transport.connect(url, TransferFormat.TEXT)  # no event written yet
    stream = await server.streams.get()
    request = stream.request
    assert request.method == "GET"
    assert request.query == {"id": "t1", "access_token": "a b/c+d=%"}
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["cache-control"] == "no-cache"
    assert request.headers["x-custom"] == "yes"
    assert request.headers["user-agent"].startswith("hubgen/")
    assert "authorization" not in request.headers  # the token is in the query
    stream.write('data: {}\x1e\r\n\r\ndata: {"type":6}\x1e\r\n\r\n')
    assert await transport.receive() == b"{}\x1e"
    assert await transport.receive() == b'{"type":6}\x1e'
    await transport.close()


async def test_the_access_token_is_url_encoded_in_the_query(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    http.event_hooks["request"].append(record)
    transport = sse(http, token="a b/c+d=%&x")
    await transport.connect(url, TransferFormat.TEXT)
    assert seen == [url + "&access_token=a%20b%2Fc%2Bd%3D%25%26x"]
    assert (await server.streams.get()).request.query["access_token"] == "a b/c+d=%&x"
    await transport.close()


async def test_sends_are_text_posts_with_the_token_in_a_header(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = sse(http, token="secret", headers={"X-Custom": "yes"})
    await transport.connect(url, TransferFormat.TEXT)
    await transport.send('{"protocol":"json","version":1}\x1e')
    post = await server.posts.get()
    assert post.query == {"id": "t1"}
    assert post.body == b'{"protocol":"json","version":1}\x1e'
    assert post.headers["content-type"] == "text/plain;charset=UTF-8"
    assert post.headers["authorization"] == "Bearer secret"
    assert post.headers["x-requested-with"] == "XMLHttpRequest"
    assert post.headers["x-custom"] == "yes"
    await transport.close()


async def test_a_refused_post_fails_the_send(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    server.post_status = 404
    transport = sse(http)
    await transport.connect(url, TransferFormat.TEXT)
    with pytest.raises(TransportError, match=r"^Not Found: Status code '404'$"):
        await transport.send("x\x1e")
    await transport.close()


async def test_the_server_ending_the_stream_is_a_clean_close(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = sse(http)
    await transport.connect(url, TransferFormat.TEXT)
    stream = await server.streams.get()
    stream.write("data: last\x1e\r\n\r\n")
    stream.end()
    assert await transport.receive() == b"last\x1e"
    assert await transport.receive() is None
    assert await transport.receive() is None
    with pytest.raises(TransportError, match=r"^Cannot send until the transport is connected$"):
        await transport.send("x\x1e")
    await transport.close()


async def test_a_broken_stream_is_an_error(
    peer: tuple[HttpPeer, str], http: httpx.AsyncClient
) -> None:
    server, url = peer
    transport = sse(http)
    await transport.connect(url, TransferFormat.TEXT)
    stream = await server.streams.get()
    stream.write("data: before\x1e\r\n\r\n")
    stream.cut()
    assert await transport.receive() == b"before\x1e"
    with pytest.raises(TransportError, match=r"^The Server-Sent Events stream broke: "):
        await transport.receive()
    await transport.close()


async def test_close_ends_the_request(peer: tuple[HttpPeer, str], http: httpx.AsyncClient) -> None:
    server, url = peer
    transport = sse(http)
    await transport.connect(url, TransferFormat.TEXT)
    stream = await server.streams.get()
    await transport.close()
    await asyncio.wait_for(stream.closed.wait(), 5)  # the server saw the client go
    assert await transport.receive() is None
    await transport.close()  # again: nothing to do


async def test_a_refused_stream_fails_to_connect(http: httpx.AsyncClient) -> None:
    async with serve(HttpPeer(stream_status=404)) as base:
        with pytest.raises(TransportError) as caught:
            await sse(http).connect(f"{base}/hub?id=t1", TransferFormat.TEXT)
    assert str(caught.value) == f"{FAILED_TO_CONNECT} (HTTP 404 Not Found: no stream for you)"


async def test_a_response_that_is_not_an_event_stream_fails_to_connect(
    http: httpx.AsyncClient,
) -> None:
    async with serve(HttpPeer(stream_content_type="text/html")) as base:
        with pytest.raises(TransportError) as caught:
            await sse(http).connect(f"{base}/hub?id=t1", TransferFormat.TEXT)
    assert str(caught.value) == (
        f"{FAILED_TO_CONNECT} (HTTP 200 with Content-Type 'text/html', not 'text/event-stream')"
    )


async def test_no_server_fails_to_connect(http: httpx.AsyncClient) -> None:
    async with serve(HttpPeer()) as base:
        pass  # the port is free again
    with pytest.raises(TransportError, match=f"^{FAILED_TO_CONNECT} \\("):
        await sse(http).connect(f"{base}/hub?id=t1", TransferFormat.TEXT)


async def test_binary_is_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(
        TransportError,
        match=r"^The Server-Sent Events transport only supports the 'Text' transfer format$",
    ):
        await sse(http).connect("http://127.0.0.1:1/hub?id=t1", TransferFormat.BINARY)
