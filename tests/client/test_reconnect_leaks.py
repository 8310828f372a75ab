"""Reconnecting over and over leaks nothing: no tasks, no sockets, no memory.

One connection is lost (the fault proxy cuts it) and comes back 500 times,
with a round trip each time (a call, and the server calling back). The client
and the server share this process, so whatever either side leaves behind per
connection shows in the counts: tasks, file descriptors, asyncio protocol
objects (one per connection end) and traced memory.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import tracemalloc
import urllib.parse
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from hubgen.client import HubConnection, HubConnectionState
from tests.apps.echo import hub as echo_hub
from tests.client.apps import ClientTestHub, create_app
from tests.support.faultproxy import FaultProxy
from tests.support.server import serve

CYCLES = 500
#: Cycles before the baseline, traced too: bounded caches fill up meanwhile
#: (urllib's URL cache holds 128 URLs, and every connection has a URL of its
#: own), and what they evict later counts against what they take in.
WARM_UP = 140
#: Allowed growth of traced memory over all cycles: 512 bytes a cycle. What
#: a cycle makes — a session, an HTTP client, a WebSocket, futures, tasks —
#: weighs tens of kilobytes, a log record over one; keeping any of it fails
#: this. What a cycle keeps and lets go later, in a process that ran other
#: test files first (pytest-xdist's workers) on a loaded machine, measured
#: 50 to 270 bytes a cycle: noise, not a leak, and under the bound.
MEMORY_BOUND = 512 * CYCLES

pytestmark = pytest.mark.timeout(120)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def live_protocols() -> int:
    """asyncio protocol objects alive: one per connection end, here."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, asyncio.BaseProtocol))


async def settle(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds: connections close in the background."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - nothing announces these
            await asyncio.sleep(0.05)


async def test_reconnect_cycles_leak_no_tasks_sockets_or_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each cycle logs (a lost connection, a reconnect) and pytest keeps every
    # record it captures: that would be the test's own leak.
    caplog.set_level(logging.ERROR)
    app = create_app()
    async with serve(app) as url, FaultProxy(urlsplit(url).port or 0) as proxy:
        connection = HubConnection(proxy.url + "/echo", reconnect=[0, 0.05, 0.1])
        reconnected = asyncio.Event()
        pushes: asyncio.Queue[str] = asyncio.Queue()
        connection.on("Message", pushes.put_nowait)
        closes: list[Exception | None] = []
        connection.on_reconnected(lambda _: reconnected.set())
        connection.on_close(closes.append)

        def forget() -> None:
            """Drop what the test server records about each connection."""
            app.seen.clear()
            echo_hub.EVENTS.clear()
            while not ClientTestHub.disconnects.empty():
                ClientTestHub.disconnects.get_nowait()

        async def cycle() -> None:
            reconnected.clear()
            # A clean TCP close both ways, without a WebSocket close: lost to
            # the client. (A reset is lost just the same, but uvicorn holds a
            # reset HTTP connection until its 5-second keep-alive timer fires,
            # which would show here as the server's memory.)
            assert proxy.drop() >= 1
            await asyncio.wait_for(reconnected.wait(), 5)
            # A round trip on the new connection: the server calls back.
            await connection.send("SendCaller", "ping")
            assert await asyncio.wait_for(pushes.get(), 5) == "ping"
            forget()

        async def quiet(protocols: int | None = None) -> tuple[int, int, int, int]:
            """(tasks, fds, connections, traced bytes) once the last cycle's
            leftovers are gone: as many connections (asyncio protocols, both
            sides and the proxy's) as ``protocols``, or a steady number."""
            # Every link through the proxy is the current connection's: its
            # WebSocket, and the HTTP connection negotiate kept alive.
            await settle(lambda: len(proxy.links) == 2)
            if protocols is None:
                counts = [live_protocols()]
                async with asyncio.timeout(10):
                    while len(counts) < 3 or len(set(counts[-3:])) > 1:
                        await asyncio.sleep(0.1)
                        counts.append(live_protocols())
            else:
                # each check collects garbage under tracemalloc: slow on a
                # loaded machine, so give it longer than the links above
                await settle(lambda: live_protocols() <= protocols, timeout=20)
            forget()
            # bounded caches that URLs and patterns pass through: they do not
            # leak, but what they hold at either end would count as if they did
            re.purge()
            urllib.parse.clear_cache()  # type: ignore[attr-defined]  # (not in typeshed)
            gc.collect()
            return (
                len(asyncio.all_tasks()),
                open_fds(),
                live_protocols(),
                tracemalloc.get_traced_memory()[0],
            )

        tracemalloc.start()
        try:
            async with connection:
                for _ in range(WARM_UP):
                    await cycle()
                tasks, fds, protocols, memory = await quiet()
                for _ in range(CYCLES):
                    await cycle()
                tasks_after, fds_after, protocols_after, memory_after = await quiet(protocols)
                assert connection.state is HubConnectionState.CONNECTED
        finally:
            tracemalloc.stop()
        assert closes == [None]
        assert tasks_after <= tasks
        assert fds_after <= fds
        assert protocols_after <= protocols
        grown = memory_after - memory
        assert grown < MEMORY_BOUND, f"{grown} bytes more after {CYCLES} reconnects"
