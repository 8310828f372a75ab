"""Stateful reconnects over and over leak nothing: no tasks, no sockets, no memory.

One connection's WebSocket is dropped (the fault proxy cuts it) and replaced
by a new one to the same connection 200 times, with a round trip each time
(a call, and the server calling back). The client and the server share this
process, so whatever either side leaves behind per new socket — the old
transport, its send queue, the server's old socket — shows in the counts:
tasks, file descriptors, asyncio protocol objects (one per connection end)
and traced memory. The style is tests/client/test_reconnect_leaks.py's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import tracemalloc
import urllib.parse
from urllib.parse import urlsplit

import pytest

from hubgen.client import HubConnection, HubConnectionState
from hubgen.server import HubOptions
from tests.apps.echo import hub as echo_hub
from tests.client.apps import create_app
from tests.client.test_reconnect_leaks import live_protocols, open_fds, settle
from tests.support.faultproxy import FaultProxy
from tests.support.server import serve

CYCLES = 200
#: Cycles before the baseline, traced too (bounded caches fill up meanwhile).
WARM_UP = 60
#: Allowed growth of traced memory over all cycles: 128 bytes a cycle. A new
#: socket weighs tens of kilobytes on each side; keeping one fails this.
MEMORY_BOUND = 128 * CYCLES

pytestmark = pytest.mark.timeout(120)


async def test_stateful_reconnect_cycles_leak_no_tasks_sockets_or_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each cycle logs (a lost socket, a resume) and pytest keeps every record
    # it captures: that would be the test's own leak.
    caplog.set_level(logging.ERROR)
    app = create_app(HubOptions(allow_stateful_reconnects=True))
    async with serve(app) as url, FaultProxy(urlsplit(url).port or 0) as proxy:
        connection = HubConnection(
            proxy.url + "/echo",
            stateful_reconnect=True,
            reconnect=True,  # never needed: each drop is resumed
        )
        pushes: asyncio.Queue[str] = asyncio.Queue()
        connection.on("Message", pushes.put_nowait)
        reconnects: list[str | None] = []
        closes: list[Exception | None] = []
        connection.on_reconnected(reconnects.append)
        connection.on_close(closes.append)
        handler = app.route._handler  # the test reads the server's count of new sockets

        async def cycle(number: int, connection_id: str) -> None:
            # A clean TCP close both ways, without a WebSocket close: the
            # socket is lost to both sides, the connection is not.
            assert proxy.drop() >= 1
            async with asyncio.timeout(5):
                while handler.connections[connection_id].generation < number:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
            # A round trip on the new socket: a call, and the server calls back.
            await connection.send("SendCaller", "ping")
            assert await asyncio.wait_for(pushes.get(), 5) == "ping"
            echo_hub.EVENTS.clear()

        async def quiet(protocols: int | None = None) -> tuple[int, int, int, int]:
            """(tasks, fds, connections, traced bytes) once the last cycle's
            leftovers are gone: as many connections as ``protocols``, or a
            steady number."""
            # Every link through the proxy is the connection's: its WebSocket
            # (the HTTP connection negotiate kept alive went with the first drop).
            await settle(lambda: len(proxy.links) == 1)
            # The Acks of the last round trip (within a second each way).
            await asyncio.sleep(1.2)
            if protocols is None:
                counts = [live_protocols()]
                async with asyncio.timeout(10):
                    while len(counts) < 3 or len(set(counts[-3:])) > 1:
                        await asyncio.sleep(0.1)
                        counts.append(live_protocols())
            else:
                await settle(lambda: live_protocols() <= protocols)
            app.seen.clear()
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
                connection_id = connection.connection_id
                assert connection_id is not None
                for number in range(1, WARM_UP + 1):
                    await cycle(number, connection_id)
                tasks, fds, protocols, memory = await quiet()
                for number in range(WARM_UP + 1, WARM_UP + CYCLES + 1):
                    await cycle(number, connection_id)
                tasks_after, fds_after, protocols_after, memory_after = await quiet(protocols)
                assert connection.state is HubConnectionState.CONNECTED
                assert connection.connection_id == connection_id
        finally:
            tracemalloc.stop()
        assert reconnects == []
        assert closes == [None]
        assert tasks_after <= tasks
        assert fds_after <= fds
        assert protocols_after <= protocols
        grown = memory_after - memory
        assert grown < MEMORY_BOUND, f"{grown} bytes more after {CYCLES} stateful reconnects"
