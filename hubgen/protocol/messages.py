"""The nine SignalR hub messages, independent of their encoding.

Arguments, results and stream items are *wire values* (see :mod:`hubgen.codec`):
plain data already converted from, or not yet bound to, contract types.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

__all__ = [
    "AckMessage",
    "CancelInvocationMessage",
    "CloseMessage",
    "CompletionMessage",
    "HubMessage",
    "InvocationMessage",
    "MessageType",
    "PingMessage",
    "SequenceMessage",
    "StreamInvocationMessage",
    "StreamItemMessage",
]


class MessageType(IntEnum):
    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


@dataclass(slots=True)
class InvocationMessage:
    """Call ``target``. Without ``invocation_id`` it is fire-and-forget (no
    completion is ever sent back). ``stream_ids`` name the client-to-server
    streams that feed the target's stream parameters, in order."""

    type: ClassVar[MessageType] = MessageType.INVOCATION
    target: str
    arguments: list[Any]
    invocation_id: str | None = None
    stream_ids: list[str] | None = None
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class StreamInvocationMessage:
    """Call a streaming ``target``; results arrive as stream items."""

    type: ClassVar[MessageType] = MessageType.STREAM_INVOCATION
    invocation_id: str
    target: str
    arguments: list[Any]
    stream_ids: list[str] | None = None
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class StreamItemMessage:
    type: ClassVar[MessageType] = MessageType.STREAM_ITEM
    invocation_id: str
    item: Any
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class CompletionMessage:
    """The end of an invocation or stream. ``has_result`` distinguishes a
    ``null`` result from no result; ``error`` and a result are exclusive."""

    type: ClassVar[MessageType] = MessageType.COMPLETION
    invocation_id: str
    result: Any = None
    error: str | None = None
    has_result: bool = False
    headers: dict[str, str] | None = None

    @classmethod
    def with_result(cls, invocation_id: str, result: Any) -> CompletionMessage:
        return cls(invocation_id, result=result, has_result=True)

    @classmethod
    def with_error(cls, invocation_id: str, error: str) -> CompletionMessage:
        return cls(invocation_id, error=error)

    @classmethod
    def empty(cls, invocation_id: str) -> CompletionMessage:
        return cls(invocation_id)


@dataclass(slots=True)
class CancelInvocationMessage:
    type: ClassVar[MessageType] = MessageType.CANCEL_INVOCATION
    invocation_id: str
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class PingMessage:
    type: ClassVar[MessageType] = MessageType.PING


@dataclass(slots=True)
class CloseMessage:
    type: ClassVar[MessageType] = MessageType.CLOSE
    error: str | None = None
    allow_reconnect: bool = False


@dataclass(slots=True)
class AckMessage:
    type: ClassVar[MessageType] = MessageType.ACK
    sequence_id: int


@dataclass(slots=True)
class SequenceMessage:
    type: ClassVar[MessageType] = MessageType.SEQUENCE
    sequence_id: int


HubMessage = (
    InvocationMessage
    | StreamInvocationMessage
    | StreamItemMessage
    | CompletionMessage
    | CancelInvocationMessage
    | PingMessage
    | CloseMessage
    | AckMessage
    | SequenceMessage
)

#: The one Ping, shared: it has no fields.
PING = PingMessage()
