from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from hubgen.server import HubOptions
from tests.client.apps import Recorder, create_app
from tests.client.peers import Peer
from tests.support.server import serve


@pytest.fixture(params=["json", "messagepack"])
def protocol(request: pytest.FixtureRequest) -> str:
    """Run the test once per hub protocol."""
    value: str = request.param
    return value


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Recorder]]:
    """The client tests' hub server with default options: (base URL, recorder)."""
    app = create_app()
    async with serve(app) as url:
        yield url, app


@pytest.fixture
def hub_url(server: tuple[str, Recorder]) -> str:
    """The echo hub's URL on :func:`server`."""
    return server[0] + "/echo"


@pytest.fixture
def serve_hub() -> Callable[[HubOptions], AbstractAsyncContextManager[str]]:
    """Serve the echo hub with ``options``; yields the hub URL."""

    @asynccontextmanager
    async def run(options: HubOptions) -> AsyncIterator[str]:
        async with serve(create_app(options)) as url:
            yield url + "/echo"

    return run


@pytest.fixture
def serve_peer() -> Callable[[Peer], AbstractAsyncContextManager[str]]:
    """Serve a fault-injection peer; yields its hub URL."""

    @asynccontextmanager
    async def run(peer: Peer) -> AsyncIterator[str]:
        async with serve(peer.app) as url:
            yield url + "/hub"
        peer.check()

    return run
