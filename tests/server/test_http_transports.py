"""Server-Sent Events and Long Polling on the wire, as the official client uses them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hubgen.server import HubOptions
from tests.apps.echo.hub import EVENTS, create_app
from tests.support.raw import RS
from tests.support.server import serve

HANDSHAKE = '{"protocol":"json","version":1}' + RS


def records(text: str) -> list[dict[str, Any]]:
    assert text.endswith(RS), text
    return [json.loads(part) for part in text.split(RS)[:-1]]


async def negotiate(http: httpx.AsyncClient, base_url: str) -> tuple[str, str]:
    body = (await http.post(f"{base_url}/echo/negotiate?negotiateVersion=1")).json()
    return body["connectionId"], body["connectionToken"]


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    EVENTS.clear()
    options = HubOptions(long_poll_timeout=0.5, disconnect_timeout=0.5, keep_alive_interval=0.2)
    async with serve(create_app(options)) as url:
        yield url


# -- Server-Sent Events ------------------------------------------------------------------


class EventStream:
    """Reads ``data:`` events of an open SSE response, splitting lines on CR/LF
    only, as EventSource does (the record separator is data)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def _line(self) -> str:
        while "\n" not in self._buffer:
            self._buffer += await anext(self._chunks)
        line, self._buffer = self._buffer.split("\n", 1)
        return line.removesuffix("\r")

    async def event(self) -> str:
        data: list[str] = []
        async with asyncio.timeout(5):
            while True:
                line = await self._line()
                if line.startswith(":"):
                    continue
                if line == "" and data:
                    return "\n".join(data)
                if line.startswith("data: "):
                    data.append(line[len("data: ") :])


async def test_server_sent_events_session(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connection_id, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        async with http.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["cache-control"] == "no-cache,no-store"
            assert response.headers["content-encoding"] == "identity"
            stream = EventStream(response)
            post = await http.post(url, content=HANDSHAKE)
            assert (post.status_code, post.text) == (200, "")
            assert await stream.event() == "{}" + RS
            invoke = {"type": 1, "invocationId": "1", "target": "Echo", "arguments": ["sse"]}
            await http.post(url, content=json.dumps(invoke) + RS)
            while (message := records(await stream.event())[0])["type"] == 6:
                pass  # pings run over SSE too
            assert message == {"type": 3, "invocationId": "1", "result": "sse"}
            second = await http.get(url, headers={"Accept": "text/event-stream"})
            assert second.status_code == 409
            poll = await http.get(url)
            assert (poll.status_code, poll.text) == (400, "Cannot change transports mid-connection")
        # closing the event stream ends the connection
        await asyncio.sleep(0.3)
        assert ("disconnected", connection_id, None) in EVENTS
        gone = await http.post(url, content=b"x")
        assert gone.status_code == 404


async def test_messagepack_over_server_sent_events_is_refused(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        _, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        async with http.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
            stream = EventStream(response)
            await http.post(url, content='{"protocol":"messagepack","version":1}' + RS)
            assert json.loads((await stream.event()).rstrip(RS)) == {
                "error": "Cannot use the 'messagepack' protocol on the current transport. "
                "The transport does not support 'Binary' transfer format."
            }


# -- Long Polling ------------------------------------------------------------------------


async def test_long_polling_session(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connection_id, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        first = await http.get(url)  # answered at once
        assert (first.status_code, first.content) == (200, b"")
        assert first.headers["content-type"] == "application/octet-stream"
        assert first.headers["cache-control"] == "no-cache, no-store"
        assert first.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
        await http.post(url, content=HANDSHAKE)
        assert (await http.get(url)).text == "{}" + RS
        # several messages queued while no poll was pending come in one answer
        for n in range(3):
            invoke = {"type": 1, "invocationId": str(n), "target": "Add", "arguments": [n, 0]}
            await http.post(url, content=json.dumps(invoke) + RS)
        got: list[dict[str, Any]] = []
        while len(got) < 3:
            got += records((await http.get(url)).text)
        assert [m.get("result") for m in got] == [0, 1, 2], got
        assert all(m["type"] == 3 for m in got), "no pings over Long Polling"
        # nothing to send: the poll is held, then answered empty
        idle = await http.get(url)
        assert (idle.status_code, idle.text) == (200, "")
        assert idle.headers["content-type"].startswith("text/plain")
        # the hub sees the first poll's request for the connection's life
        await http.post(
            url,
            content=json.dumps(
                {"type": 1, "invocationId": "h", "target": "Whoami", "arguments": []}
            )
            + RS,
        )
        assert records((await http.get(url)).text)[0]["result"] == connection_id
        # DELETE ends the connection; the next poll gets 204, then the id is gone
        deleted = await http.delete(url)
        assert deleted.status_code == 202
        assert (await http.get(url)).status_code == 204
        assert (await http.get(url)).status_code == 404
        await asyncio.sleep(0.1)
        assert ("disconnected", connection_id, None) in EVENTS


async def test_a_newer_poll_ends_the_pending_one_with_204(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        _, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        await http.get(url)
        await http.post(url, content=HANDSHAKE)
        assert (await http.get(url)).text == "{}" + RS
        pending = asyncio.ensure_future(http.get(url))
        await asyncio.sleep(0.1)
        newer = asyncio.ensure_future(http.get(url))
        assert (await pending).status_code == 204
        assert (await newer).status_code in (200, 204)


async def test_abandoned_long_polling_connection_is_closed(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        connection_id, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        await http.get(url)
        await http.post(url, content=HANDSHAKE)
        await http.get(url)
        await asyncio.sleep(1.5)  # no poll for longer than disconnect_timeout
        assert (await http.get(url)).status_code == 404
        assert any(e[:2] == ("disconnected", connection_id) for e in EVENTS)


async def test_post_before_any_transport_and_delete_on_sse(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        _, token = await negotiate(http, base_url)
        url = f"{base_url}/echo?id={token}"
        early = await http.post(url, content=HANDSHAKE)
        assert early.status_code == 400
        async with http.stream("GET", url, headers={"Accept": "text/event-stream"}):
            delete = await http.delete(url)
            assert (delete.status_code, delete.text) == (
                400,
                "Cannot terminate this connection using the DELETE endpoint.",
            )
