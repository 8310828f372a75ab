"""Real servers for tests: uvicorn on 127.0.0.1, port 0, in the test's event loop.

``HUBGEN_TEST_WS`` picks the WebSocket implementation of every server the
tests start, so that the whole suite runs on each path (``scripts/test``
runs it twice):

* ``default`` (or unset): uvicorn's default protocol, with its defaults
  (permessage-deflate on): hubgen through plain ASGI, as under any server;
* ``owned``: hubgen's own protocol (``hubgen.server.wsprotocol``) with
  permessage-deflate off, as the docs deploy it: the path where a
  broadcast's frame is made once and written to every socket;
* ``owned-deflate``: hubgen's own protocol with permessage-deflate on.

A test that asks for an implementation or a setting by name gets it either way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

WebSocketImpl = Literal["auto", "none", "websockets", "websockets-sansio", "wsproto", "owned"]

#: hubgen's own WebSocket protocol, as uvicorn's ``--ws`` takes it.
OWNED_WS = "hubgen.server.wsprotocol:HubWebSocketProtocol"
_CHOICES = ("default", "owned", "owned-deflate")


def ws_choice() -> str:
    """This run's choice: ``default``, ``owned`` or ``owned-deflate``."""
    choice = os.environ.get("HUBGEN_TEST_WS") or "default"
    if choice not in _CHOICES:
        raise RuntimeError(f"HUBGEN_TEST_WS must be one of {', '.join(_CHOICES)}, not {choice!r}")
    return choice


def owned_path() -> bool:
    """Whether this run serves WebSockets with hubgen's own protocol."""
    return ws_choice() != "default"


def uvicorn_settings(ws: WebSocketImpl = "auto") -> dict[str, Any]:
    """uvicorn's ``ws`` (and permessage-deflate) for ``ws`` in this run:
    ``auto`` means the run's choice, ``owned`` hubgen's protocol."""
    if ws == "owned" or (ws == "auto" and owned_path()):
        return {"ws": OWNED_WS, "ws_per_message_deflate": ws_choice() == "owned-deflate"}
    return {"ws": ws}


@asynccontextmanager
async def serve(
    app: ASGIApp, *, ws: WebSocketImpl = "auto", port: int = 0, **options: Any
) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:PORT``).

    ``port`` 0 picks a free port; a test restarting a server passes the port
    the first one had. ``options`` go to ``uvicorn.Config`` (``ws_max_size=``,
    ``ws_per_message_deflate=`` …)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,
        **{**uvicorn_settings(ws), **options},
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
