"""Stateful reconnect with the official client (withStatefulReconnect()), over
WebSockets with JSON and MessagePack: behind a proxy that drops the
connection 20 times, 10,000 numbered messages each way arrive all, once, in
order, on the same connection."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette

from hubgen.server import HubOptions
from tests.apps.echo.hub import create_app
from tests.support.faultproxy import FaultProxy
from tests.support.node import NODE_DIR, ensure_node_modules
from tests.support.server import serve

SCRIPT = NODE_DIR / "interop" / "stateful-client.mjs"
COUNT = 10_000
DROPS = 20

pytestmark = [pytest.mark.node, pytest.mark.timeout(120)]

OPTIONS = HubOptions(
    allow_stateful_reconnects=True, stateful_reconnect_buffer_size=1_000_000, detailed_errors=True
)


def resumes(app: Starlette, connection_id: str) -> int:
    """How many new WebSockets the server's connection has taken over."""
    handler = app.state.hub._handler  # the test reads the server's own count
    connection = handler.connections.get(connection_id)
    return -1 if connection is None else int(connection.generation)


async def run_client(url: str, protocol: str, proxy: FaultProxy, app: Starlette) -> dict[str, Any]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None, "Node.js is required"
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        f"{url}/echo",
        protocol,
        str(COUNT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    dropped = 0

    async def drop_again_and_again(connection_id: str) -> None:
        nonlocal dropped
        while dropped < DROPS:
            await asyncio.sleep(0.1)
            if proxy.drop():
                dropped += 1
            # The official client reconnects once per drop, and gives up if
            # that one fails: the next drop waits until the server has the
            # connection back, and the client has sent what it kept.
            async with asyncio.timeout(10):
                while resumes(app, connection_id) < dropped:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

    assert process.stdout is not None
    try:
        async with asyncio.timeout(90):
            started = json.loads(await process.stdout.readline() or b'{"started": null}')
            if started["started"] is None:  # it failed to start: say why
                await process.wait()
            else:  # connected: from now on, stateful reconnect must hide every drop
                dropper = asyncio.ensure_future(drop_again_and_again(started["started"]))
                rest, _ = await asyncio.gather(process.stdout.read(), process.wait())
                dropper.cancel()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    stderr = await process.stderr.read()
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(rest.decode().strip().splitlines()[-1])
    result["dropped"] = dropped
    return result


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_nothing_lost_nothing_repeated_through_20_drops(protocol: str) -> None:
    app = create_app(OPTIONS)
    async with serve(app) as url, FaultProxy(urlsplit(url).port or 0) as proxy:
        # a slow link: the run lasts a few seconds, long enough for every drop
        proxy.slow(rate=100_000)
        seen = await run_client(proxy.url, protocol, proxy, app)
    assert seen["closed"] == "closed"  # by its stop(), at the end: never lost on the way
    assert seen["sameConnection"] is True
    assert seen["received"] == list(range(COUNT))
    assert seen["recorded"] == list(range(COUNT))
    assert seen["dropped"] == DROPS, "the run ended before every drop"


async def test_without_stateful_reconnect_a_drop_ends_the_connection() -> None:
    """The server offers it only when asked and allowed: without the option
    the official client's drop is the end (it does not reconnect on its own)."""
    async with serve(create_app()) as url, FaultProxy(urlsplit(url).port or 0) as proxy:
        ensure_node_modules()
        node = shutil.which("node")
        assert node is not None
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            f"{proxy.url}/echo",
            "json",
            "2000",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

        assert process.stdout is not None
        await process.stdout.readline()  # started
        await asyncio.sleep(0.2)
        proxy.drop()
        async with asyncio.timeout(60):
            _, stderr = await process.communicate()
        assert process.returncode != 0
        assert b"Error" in stderr
