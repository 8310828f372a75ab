"""The hubgen client: an asyncio SignalR hub connection and typed proxies.

:class:`HubConnection` speaks the ASP.NET Core SignalR protocol (JSON or
MessagePack, over WebSockets, Server-Sent Events or Long Polling, falling back
from one to the next as the official clients do) to any SignalR server —
hubgen's own or ASP.NET Core — and moves wire values. The ``<Hub>Client``
classes ``hubgen generate`` writes subclass :class:`HubProxy` and add the
typing::

    from hubgen.client import HubConnection
    from chat.generated.chat_hub_client import ChatHubClient

    async with HubConnection("https://example.com/chat") as connection:
        chat = ChatHubClient(connection)
        with chat.on_message_received(show):
            await chat.send("hello")

``HubConnection(url, reconnect=True)`` brings a lost connection back by itself
(see :mod:`hubgen.client.retry`); ``stateful_reconnect=True`` keeps it through
a dropped WebSocket, nothing lost (see :mod:`hubgen.client.stateful`).
"""

from __future__ import annotations

from hubgen.client.errors import (
    ConnectionClosedError,
    ConnectionLostError,
    HandshakeError,
    HubConnectionError,
    NegotiationError,
    TransportError,
)
from hubgen.client.hub_connection import (
    CloseCallback,
    HubConnection,
    HubConnectionState,
    ReconnectedCallback,
    ReconnectingCallback,
)
from hubgen.client.proxy import HubProxy
from hubgen.client.registration import Registration
from hubgen.client.retry import DefaultRetryPolicy, RetryContext, RetryPolicy
from hubgen.client.stream import HubStream
from hubgen.client.transport import TransportName
from hubgen.errors import HubError

__all__ = [
    "CloseCallback",
    "ConnectionClosedError",
    "ConnectionLostError",
    "DefaultRetryPolicy",
    "HandshakeError",
    "HubConnection",
    "HubConnectionError",
    "HubConnectionState",
    "HubError",
    "HubProxy",
    "HubStream",
    "NegotiationError",
    "ReconnectedCallback",
    "ReconnectingCallback",
    "Registration",
    "RetryContext",
    "RetryPolicy",
    "TransportError",
    "TransportName",
]
