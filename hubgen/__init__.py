"""hubgen: contract-first, typed SignalR hubs for Python and TypeScript.

Contract modules import only this marker API::

    import hubgen

    @hubgen.hub(client=ChatClient)
    class ChatHub(Protocol): ...

The runtime lives in :mod:`hubgen.server` and :mod:`hubgen.client`; importing
``hubgen`` itself stays cheap (no server or client dependencies).
"""

from __future__ import annotations

from hubgen._markers import hub, method
from hubgen.errors import HubError

__all__ = ["HubError", "__version__", "hub", "method"]

__version__ = "0.1.0"
