"""What every hub protocol provides: framing plus message encoding."""

from __future__ import annotations

import abc
from enum import StrEnum
from typing import Any, ClassVar

from hubgen.protocol.messages import CompletionMessage, HubMessage
from hubgen.wire import WireFormat

__all__ = ["HubProtocol", "ProtocolError", "TransferFormat"]


class TransferFormat(StrEnum):
    """What a transport must carry for a protocol (negotiate's ``transferFormats``)."""

    TEXT = "Text"
    BINARY = "Binary"


class ProtocolError(ValueError):
    """Bytes that are not a valid message of the protocol in use.

    The message text is the one the .NET server uses where there is one
    (e.g. ``Missing required property 'type'.``).
    """


class HubProtocol(abc.ABC):
    """A hub protocol: pure functions between framed bytes and messages.

    Implementations are stateless and shared by all connections; partial input
    lives in the caller's buffer.
    """

    #: Name used in the handshake (``json``, ``messagepack``).
    name: ClassVar[str]
    #: Highest protocol version understood (the handshake accepts ``<=``).
    version: ClassVar[int]
    transfer_format: ClassVar[TransferFormat]
    #: How argument values are encoded, for :class:`hubgen.codec.Codec`.
    wire: ClassVar[WireFormat]

    @abc.abstractmethod
    def parse(self, buffer: bytearray) -> list[HubMessage]:
        """Remove every complete message from the front of ``buffer`` and
        return them; an incomplete trailing message stays in ``buffer``.

        Messages of unknown type are skipped. Raises :class:`ProtocolError` on
        malformed input (the connection cannot continue after that)."""

    @staticmethod
    @abc.abstractmethod
    def exceeds(buffer: bytearray, limit: int) -> bool:
        """Whether ``buffer`` holds a message, complete or still arriving,
        longer than ``limit`` bytes: a server's maximum message size, checked
        on what a client sent before it is parsed. Linear in ``buffer``;
        raises :class:`ProtocolError` on framing that cannot be read."""

    @abc.abstractmethod
    def write(self, message: HubMessage) -> bytes:
        """One message, framed (JSON + record separator, or varint-prefixed
        MessagePack)."""

    def write_result(self, invocation_id: str, result: Any) -> bytes:
        """A Completion carrying ``result`` (a wire value), framed: the reply
        to nearly every call, which protocols may write without building the
        message. Raises as :meth:`write` does."""
        return self.write(CompletionMessage(invocation_id, result, None, True))
