"""What Server-Sent Events and Long Polling share: the bounded inbox, and the
connection's send queue turned into POSTs."""

from __future__ import annotations

import asyncio

import pytest

from hubgen.client import TransportError
from hubgen.client.http_connection import HttpConnection
from hubgen.client.http_transport import Inbox
from hubgen.protocol import TransferFormat
from tests.client.http_peers import LONG_POLLING, SSE, HttpPeer
from tests.support.server import serve

pytestmark = pytest.mark.timeout(30)


async def test_inbox_hands_over_in_order_then_ends() -> None:
    inbox = Inbox(capacity=2)
    assert await inbox.put(b"a")
    assert await inbox.put(b"b")
    inbox.end()
    assert not await inbox.put(b"dropped")  # ended: nothing more goes in
    assert [await inbox.get(), await inbox.get(), await inbox.get()] == [b"a", b"b", None]
    assert await inbox.get() is None


async def test_inbox_delivers_what_it_holds_before_the_error() -> None:
    inbox = Inbox()
    await inbox.put(b"a")
    inbox.end(TransportError("broken"))
    inbox.end(None)  # the first end decides
    assert await inbox.get() == b"a"
    with pytest.raises(TransportError, match=r"^broken$"):
        await inbox.get()


async def test_a_full_inbox_makes_the_producer_wait() -> None:
    inbox = Inbox(capacity=1)
    await inbox.put(b"a")
    second = asyncio.create_task(inbox.put(b"b"))
    await asyncio.sleep(0)
    assert not second.done()  # waits for room
    assert await inbox.get() == b"a"
    assert await second
    assert await inbox.get() == b"b"


async def test_ending_releases_a_waiting_producer() -> None:
    inbox = Inbox(capacity=1)
    await inbox.put(b"a")
    waiting = asyncio.create_task(inbox.put(b"b"))
    await asyncio.sleep(0)
    inbox.end()
    assert await waiting is False


async def test_a_consumer_waits_for_data() -> None:
    inbox = Inbox()
    getting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not getting.done()
    await inbox.put(b"a")
    assert await getting == b"a"


async def test_what_piles_up_during_a_post_goes_in_the_next_one() -> None:
    server = HttpPeer([SSE])
    async with serve(server) as base:
        http = HttpConnection(
            f"{base}/hub",
            access_token=None,
            headers=None,
            skip_negotiation=False,
            connect_timeout=5.0,
        )
        await http.start(TransferFormat.TEXT)
        try:
            server.post_gate.clear()  # hold POSTs
            first = http.post("one\x1e")
            held = await asyncio.wait_for(server.posts.get(), 5)
            second, third = http.post("two\x1e"), http.post("three\x1e")
            server.post_gate.set()
            await asyncio.wait_for(asyncio.gather(first, second, third), 5)
            batched = await asyncio.wait_for(server.posts.get(), 5)
        finally:
            await http.stop()
    assert held.body == b"one\x1e"
    assert batched.body == b"two\x1ethree\x1e"
    assert server.posts.empty()


async def test_thousands_of_queued_sends_are_joined_in_linear_time() -> None:
    """A burst (stateful reconnect's replay, a loop of fire-and-forget sends)
    piles up behind one write: joining it must not copy it over and over,
    which took 20 seconds for 20,000 messages of 100 characters."""
    server = HttpPeer([SSE])
    count = 20_000
    records = [f'{{"type":1,"target":"Record","arguments":[{n:080d}]}}\x1e' for n in range(count)]
    async with serve(server) as base:
        http = HttpConnection(
            f"{base}/hub",
            access_token=None,
            headers=None,
            skip_negotiation=False,
            connect_timeout=5.0,
        )
        await http.start(TransferFormat.TEXT)
        try:
            server.post_gate.clear()  # hold POSTs
            first = http.post("first\x1e")
            await asyncio.wait_for(server.posts.get(), 5)
            rest = [http.post(record) for record in records]
            server.post_gate.set()
            await asyncio.wait_for(asyncio.gather(first, *rest), 5)
            batched = await asyncio.wait_for(server.posts.get(), 5)
        finally:
            await http.stop()
    assert batched.body == "".join(records).encode()


async def test_a_refused_post_fails_the_sends_of_its_batch() -> None:
    server = HttpPeer([SSE])
    async with serve(server) as base:
        http = HttpConnection(
            f"{base}/hub",
            access_token=None,
            headers=None,
            skip_negotiation=False,
            connect_timeout=5.0,
        )
        await http.start(TransferFormat.TEXT)
        try:
            server.post_status = 404
            with pytest.raises(TransportError, match=r"^Not Found: Status code '404'$"):
                await http.send("lost\x1e")
            server.post_status = 200
            await http.send("delivered\x1e")  # one refused POST does not end the connection
        finally:
            await http.stop()


@pytest.mark.parametrize("offer", [SSE, LONG_POLLING], ids=["ServerSentEvents", "LongPolling"])
async def test_cookies_from_negotiate_go_with_every_request(offer: dict[str, object]) -> None:
    server = HttpPeer([offer])
    server.negotiate_cookie = "affinity=server-7; Path=/"
    async with serve(server) as base:
        http = HttpConnection(
            f"{base}/hub",
            access_token=None,
            headers=None,
            skip_negotiation=False,
            connect_timeout=5.0,
        )
        starting = asyncio.create_task(http.start(TransferFormat.TEXT))
        if offer is LONG_POLLING:
            (await asyncio.wait_for(server.polls.get(), 5)).answer(200)
        await starting
        await http.send("x\x1e")
        await http.stop()
    requests = [r for r in server.requests if "negotiate" not in r.path]
    assert {r.method for r in requests} >= {"GET", "POST"}
    assert all(r.headers.get("cookie") == "affinity=server-7" for r in requests)
