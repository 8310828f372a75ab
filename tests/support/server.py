"""Real servers for tests: uvicorn on 127.0.0.1, port 0, in the test's event loop.

The WebSocket implementation is uvicorn's default unless ``HUBGEN_TEST_WS``
says ``owned``: then hubgen's own protocol (``hubgen.server.wsprotocol``)
serves every WebSocket, so that the whole suite runs on both paths
(``scripts/test`` runs it twice). A test that asks for an implementation by
name gets that one either way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

WebSocketImpl = Literal["auto", "none", "websockets", "websockets-sansio", "wsproto", "owned"]

#: hubgen's own WebSocket protocol, as uvicorn's ``--ws`` takes it.
OWNED_WS = "hubgen.server.wsprotocol:HubWebSocketProtocol"


def owned_path() -> bool:
    """Whether this run serves WebSockets with hubgen's own protocol
    (``HUBGEN_TEST_WS=owned``)."""
    choice = os.environ.get("HUBGEN_TEST_WS", "default")
    if choice not in ("default", "owned"):
        raise RuntimeError(f"HUBGEN_TEST_WS must be 'default' or 'owned', not {choice!r}")
    return choice == "owned"


def ws_option(ws: WebSocketImpl = "auto") -> str:
    """uvicorn's ``ws`` setting for ``ws`` in this run: ``auto`` means the
    run's choice (see :func:`owned_path`), ``owned`` hubgen's protocol."""
    if ws == "owned" or (ws == "auto" and owned_path()):
        return OWNED_WS
    return ws


@asynccontextmanager
async def serve(app: ASGIApp, *, ws: WebSocketImpl = "auto", port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:PORT``).

    ``port`` 0 picks a free port; a test restarting a server passes the port
    the first one had."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=ws_option(ws),
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn exited before it started")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await task
        except TimeoutError:
            server.force_exit = True
            task.cancel()
