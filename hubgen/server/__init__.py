"""The hubgen server: hub endpoints for Starlette that speak SignalR.

Subclass the ``<Hub>Base`` class ``hubgen generate`` wrote for your contract,
then mount it::

    from starlette.applications import Starlette
    from hubgen.server import HubRoute

    app = Starlette(routes=[HubRoute("/chat", ChatHub)])

Any SignalR client can connect: the official JavaScript, .NET, Java and Swift
clients, and hubgen's own Python and TypeScript clients.
"""

from __future__ import annotations

from hubgen.errors import HubError
from hubgen.server.clients import (
    ClientProxy,
    GroupManager,
    HubCallerClients,
    HubClients,
    SingleClientProxy,
)
from hubgen.server.hub import Hub, HubCallerContext
from hubgen.server.lifetime import HubLifetimeManager, InMemoryLifetimeManager
from hubgen.server.options import HubOptions, TransportType
from hubgen.server.route import HubRoute

__all__ = [
    "ClientProxy",
    "GroupManager",
    "Hub",
    "HubCallerClients",
    "HubCallerContext",
    "HubClients",
    "HubError",
    "HubLifetimeManager",
    "HubOptions",
    "HubRoute",
    "InMemoryLifetimeManager",
    "SingleClientProxy",
    "TransportType",
]
