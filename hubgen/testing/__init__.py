"""Testing hub applications in-process: typed clients, no network, no sleeps.

:class:`HubTestServer` holds the application under test in memory (a
Starlette or FastAPI app, or a single ``HubRoute``) and runs its lifespan;
its clients are real :class:`~hubgen.client.HubConnection` s with the
generated proxies, whose negotiate and WebSocket go through the application's
own ASGI code path — middleware, authentication, ``@authorize`` — on the
test's event loop::

    async with HubTestServer(app) as server:
        alice = await server.connect(ChatHubClient, user="alice")
        bob = await server.connect(ChatHubClient, user="bob")
        await alice.hub.join("lobby")
        await bob.hub.join("lobby")
        assert await alice.next_call("user_joined") == ClientCall("user_joined", ("lobby", "bob"))
        await bob.expect_no_calls()

Waiting is deterministic: :meth:`HubTestClient.next_call` returns as soon as
the call has arrived, and :meth:`HubTestServer.settle` runs the loop until
everything under way has happened — never a sleep. ``docs/testing.md`` has a
pytest example.
"""

from __future__ import annotations

from hubgen.testing.calls import ClientCall, MethodRef
from hubgen.testing.client import HubTestClient
from hubgen.testing.lifespan import LifespanError
from hubgen.testing.server import HubTestServer, SignIn, hub_test_client
from hubgen.testing.settle import settle

__all__ = [
    "ClientCall",
    "HubTestClient",
    "HubTestServer",
    "LifespanError",
    "MethodRef",
    "SignIn",
    "hub_test_client",
    "settle",
]
