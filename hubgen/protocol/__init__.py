"""The SignalR hub protocols as pure functions on bytes.

Messages (:mod:`hubgen.protocol.messages`), the JSON and MessagePack hub
protocols, the handshake and the framing underneath them. Nothing here does
I/O: a connection appends what its transport delivers to a ``bytearray`` and
asks a protocol to take complete messages off its front::

    protocol = get_protocol(request.protocol)   # after parse_handshake_request
    for message in protocol.parse(buffer):      # leaves partial input in buffer
        ...
    transport.send(protocol.write(CompletionMessage.with_result("1", 42)))

Protocols are stateless; share the singletons :data:`JSON_PROTOCOL` and
:data:`MESSAGEPACK_PROTOCOL`.
"""

from __future__ import annotations

from typing import Final

from hubgen.protocol.base import HubProtocol, ProtocolError, TransferFormat
from hubgen.protocol.framing import RECORD_SEPARATOR
from hubgen.protocol.handshake import (
    HandshakeRequest,
    HandshakeResponse,
    parse_handshake_request,
    parse_handshake_response,
    write_handshake_request,
    write_handshake_response,
)
from hubgen.protocol.json import JsonHubProtocol
from hubgen.protocol.messagepack import MessagePackHubProtocol
from hubgen.protocol.messages import (
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    MessageType,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = [
    "JSON_PROTOCOL",
    "MESSAGEPACK_PROTOCOL",
    "RECORD_SEPARATOR",
    "AckMessage",
    "CancelInvocationMessage",
    "CloseMessage",
    "CompletionMessage",
    "HandshakeRequest",
    "HandshakeResponse",
    "HubMessage",
    "HubProtocol",
    "InvocationMessage",
    "JsonHubProtocol",
    "MessagePackHubProtocol",
    "MessageType",
    "PingMessage",
    "ProtocolError",
    "SequenceMessage",
    "StreamInvocationMessage",
    "StreamItemMessage",
    "TransferFormat",
    "get_protocol",
    "parse_handshake_request",
    "parse_handshake_response",
    "write_handshake_request",
    "write_handshake_response",
]

#: The shared JSON hub protocol.
JSON_PROTOCOL: Final = JsonHubProtocol()
#: The shared MessagePack hub protocol.
MESSAGEPACK_PROTOCOL: Final = MessagePackHubProtocol()

_BY_NAME: Final[dict[str, HubProtocol]] = {
    JSON_PROTOCOL.name: JSON_PROTOCOL,
    MESSAGEPACK_PROTOCOL.name: MESSAGEPACK_PROTOCOL,
}


def get_protocol(name: str) -> HubProtocol | None:
    """The protocol a handshake names (``json`` or ``messagepack``), or None
    for a name hubgen does not implement. Names are case-sensitive, as in
    ASP.NET Core."""
    return _BY_NAME.get(name)
