"""A thousand hub calls through the test kit take a fraction of a second:
a suite of them runs in seconds. The bounds here are loose (the machines
that run the tests are shared); the rates are printed (``pytest -s``)."""

from __future__ import annotations

import time

from hubgen.testing import ClientCall, HubTestServer
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import create_app

CALLS = 1000


async def test_a_thousand_calls() -> None:
    async with HubTestServer(create_app()) as server:
        client = await server.connect(EchoHubClient)
        began = time.perf_counter()
        for n in range(CALLS):
            assert await client.hub.add(n, 1) == n + 1
        elapsed = time.perf_counter() - began
    print(f"\n{CALLS} calls in {elapsed:.3f} s: {CALLS / elapsed:,.0f} calls/s")
    assert elapsed < 30


async def test_a_thousand_pushes_waited_for() -> None:
    """Each one a call that pushes to another client, which the test waits for."""
    async with HubTestServer(create_app()) as server:
        alice = await server.connect(EchoHubClient, user="alice")
        bob = await server.connect(EchoHubClient, user="bob")
        began = time.perf_counter()
        for n in range(CALLS):
            await alice.hub.send_others(str(n))
            assert await bob.next_call("message") == ClientCall("message", (str(n),))
        await bob.expect_no_calls()
        elapsed = time.perf_counter() - began
    print(f"\n{CALLS} pushes in {elapsed:.3f} s: {CALLS / elapsed:,.0f} pushes/s")
    assert elapsed < 30


async def test_connecting_is_cheap() -> None:
    async with HubTestServer(create_app()) as server:
        began = time.perf_counter()
        for _ in range(100):
            client = await server.connect(EchoHubClient)
            await client.stop()
        elapsed = time.perf_counter() - began
    print(f"\n100 connections in {elapsed:.3f} s: {elapsed * 10:.1f} ms each")
    assert elapsed < 30
