"""Errors the client raises when a connection cannot start, breaks or closes.

Messages follow the official SignalR clients word for word where they have one
(``Server timeout elapsed without receiving a message from the server.``), so
logs read the same whichever client produced them. An error the *server*
reports for a call is a :class:`hubgen.HubError`, not one of these.
"""

from __future__ import annotations

__all__ = [
    "ConnectionClosedError",
    "ConnectionLostError",
    "HandshakeError",
    "HubConnectionError",
    "NegotiationError",
    "TransportError",
]


def exception_text(exc: BaseException) -> str:
    """``exc``'s message; when it has none (``httpx`` raises ``ReadError('')``
    for a reset connection), its type's name and the first message found down
    its chain of causes (``ReadError: [Errno 104] Connection reset by peer``)."""
    text = str(exc)
    if text:
        return text
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if str(cause):
            return f"{type(exc).__name__}: {cause}"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


class HubConnectionError(Exception):
    """The connection failed, or is not in a state that allows the operation.

    Also what ``on_close`` callbacks receive when a connection ends abnormally.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NegotiationError(HubConnectionError):
    """``POST {url}/negotiate`` failed, or the server refused the connection."""


class TransportError(HubConnectionError):
    """No transport could be connected, or the transport broke."""


class HandshakeError(HubConnectionError):
    """The hub handshake failed: refused by the server, malformed, or timed out."""


class ConnectionClosedError(HubConnectionError):
    """A call could not complete because the connection closed first.

    ``__cause__`` is the error that closed the connection, if there was one.
    """


class ConnectionLostError(ConnectionClosedError):
    """A call, stream or upload was in flight when the connection was lost:
    the transport broke or ended, or the server went silent for longer than
    ``server_timeout``. Whether the server ran the call is unknown.

    With automatic reconnect on, the connection is already trying to come
    back: later calls work once it has (``on_reconnected``). ``__cause__`` is
    the error that ended the connection, if there was one.
    """
