"""A client that stops reading never holds up the others: past
max_buffered_bytes the server closes it, or drops its messages, loudly."""

from __future__ import annotations

import asyncio
import logging

import pytest
from websockets.asyncio.client import connect

from hubgen.server import HubOptions
from tests.apps.echo.hub import create_app
from tests.support.raw import RS, RawClient
from tests.support.server import serve

PAYLOAD = "x" * 20_000  # each push ~20 kB; 400 pushes ~8 MB, far beyond socket buffers


async def stalled_client(base_url: str) -> RawClient:
    """A client that completes the handshake, then never reads again: its
    socket buffers fill up and the server's writes to it stop completing.
    Without permessage-deflate: compressed, the pushes (one letter repeated)
    take 92 bytes each, and would never fill anything."""
    ws = await connect(
        base_url.replace("http://", "ws://") + "/echo",
        max_queue=1,
        open_timeout=5,
        compression=None,
    )
    await ws.send('{"protocol":"json","version":1}' + RS)
    assert await asyncio.wait_for(ws.recv(), 5) == "{}" + RS
    return RawClient(ws, None)


async def flood(sender: RawClient, count: int) -> None:
    for _ in range(count):
        await sender.send({"type": 1, "target": "SendOthers", "arguments": [PAYLOAD]})
    # the sender's own calls still complete promptly
    assert (await sender.call("Echo", "done", timeout=10))["result"] == "done"


async def test_slow_client_is_closed_and_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(HubOptions(max_buffered_bytes=256 * 1024, slow_client_policy="close"))
    caplog.set_level(logging.WARNING, logger="hubgen.server")
    async with serve(app) as base_url:
        slow = await stalled_client(base_url)
        fast = await RawClient.open(base_url)
        await flood(fast, 400)
        async with asyncio.timeout(10):
            while app.state.hub.connection_count > 1:  # noqa: ASYNC110 - polling server state
                await asyncio.sleep(0.05)
        assert (await fast.call("Echo", "still fine"))["result"] == "still fine"
        assert any("cannot keep up" in r.getMessage() for r in caplog.records)
        await fast.close()
        slow.ws.transport.abort()


async def test_drop_policy_keeps_the_connection_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(HubOptions(max_buffered_bytes=256 * 1024, slow_client_policy="drop"))
    caplog.set_level(logging.WARNING, logger="hubgen.server")
    async with serve(app) as base_url:
        slow = await stalled_client(base_url)
        fast = await RawClient.open(base_url)
        await flood(fast, 400)
        assert app.state.hub.connection_count == 2
        warnings = [r.getMessage() for r in caplog.records if "cannot keep up" in r.getMessage()]
        assert warnings, "dropping must be logged"
        assert "message(s) dropped so far" in warnings[0]
        await fast.close()
        slow.ws.transport.abort()
