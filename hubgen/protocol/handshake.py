"""The handshake: the first record in each direction, always JSON text.

The client opens with ``{"protocol":"json","version":1}`` + RS (or
``messagepack``; version 2 with stateful reconnect); the server answers ``{}`` +
RS, or ``{"error":"..."}`` + RS and closes. This holds even for MessagePack
connections, whose hub messages then follow as binary frames — possibly in the
same read as the handshake, so parsing consumes exactly one record and leaves
the rest in the buffer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from hubgen.protocol._jsontext import read_object
from hubgen.protocol.base import ProtocolError
from hubgen.protocol.framing import RECORD_SEPARATOR

__all__ = [
    "DEFAULT_MAX_HANDSHAKE_SIZE",
    "HandshakeRequest",
    "HandshakeResponse",
    "parse_handshake_request",
    "parse_handshake_response",
    "write_handshake_request",
    "write_handshake_response",
]

#: ASP.NET Core gives up on a handshake request larger than its maximum
#: message size, 32 KiB by default.
DEFAULT_MAX_HANDSHAKE_SIZE: Final = 32 * 1024

_SUCCESS: Final = b"{}" + RECORD_SEPARATOR
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """The client's choice of hub protocol and protocol version."""

    protocol: str
    version: int


@dataclass(frozen=True, slots=True)
class HandshakeResponse:
    """The server's answer; ``error`` is None when the handshake succeeded."""

    error: str | None = None


def _take_record(buffer: bytearray, max_size: int | None) -> bytes | None:
    if max_size is None:
        end = buffer.find(RECORD_SEPARATOR)
    else:
        end = buffer.find(RECORD_SEPARATOR, 0, max_size)
        if end < 0 and len(buffer) > max_size:
            raise ProtocolError(
                f"The handshake request exceeds the maximum message size of {max_size} bytes."
            )
    if end < 0:
        return None
    record = bytes(buffer[:end])
    del buffer[: end + 1]
    return record


def parse_handshake_request(
    buffer: bytearray, *, max_size: int | None = DEFAULT_MAX_HANDSHAKE_SIZE
) -> HandshakeRequest | None:
    """Take the handshake request off the front of ``buffer``.

    Returns None (consuming nothing) until a whole record has arrived; then
    consumes it through its record separator, leaving any following bytes.
    Properties other than ``protocol`` and ``version`` are ignored.

    Raises :class:`ProtocolError` for malformed requests, and when no record
    separator occurs within the first ``max_size`` bytes (None: no limit).
    """
    record = _take_record(buffer, max_size)
    if record is None:
        return None
    request = read_object(record)
    protocol = request.get("protocol", _MISSING)
    if protocol is _MISSING:
        raise ProtocolError("Missing required property 'protocol'.")
    if not isinstance(protocol, str):
        raise ProtocolError("Expected 'protocol' to be of type String.")
    version = request.get("version")
    if version is None:
        raise ProtocolError("Missing required property 'version'.")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError("Expected 'version' to be of type Number.")
    return HandshakeRequest(protocol, version)


def write_handshake_request(protocol: str, version: int = 1) -> bytes:
    """The client's handshake request record, e.g. ``{"protocol":"json","version":1}``
    + RS."""
    return _compact({"protocol": protocol, "version": version})


def write_handshake_response(error: str | None = None) -> bytes:
    """The server's handshake response record: exactly ``{}`` + RS on success,
    ``{"error":"..."}`` + RS on failure.

    The text is ASCII (non-ASCII characters as ``\\u`` escapes): the JavaScript
    client decodes the handshake part of a binary message as Latin-1.
    """
    if error is None:
        return _SUCCESS
    return _compact({"error": error})


def parse_handshake_response(buffer: bytearray) -> HandshakeResponse | None:
    """Take the server's handshake response off the front of ``buffer`` (the
    client side). Returns None until a whole record has arrived; bytes after it
    (hub messages) stay in ``buffer``.

    Raises :class:`ProtocolError` if the record is not a handshake response —
    in particular if it carries a ``type`` (a hub message arrived first).
    """
    record = _take_record(buffer, None)
    if record is None:
        return None
    response = read_object(record)
    if "type" in response:
        raise ProtocolError("Expected a handshake response from the server.")
    error = response.get("error")
    if error is not None and error.__class__ is not str:
        raise ProtocolError("Expected 'error' to be of type String.")
    return HandshakeResponse(error)


def _compact(value: dict[str, object]) -> bytes:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.encode("ascii") + RECORD_SEPARATOR
