"""Message framing: where one hub message ends and the next begins.

Two framings carry SignalR hub messages over a byte stream:

* **Text** (JSON protocol, handshake): every record ends with the ASCII record
  separator ``0x1E``. JSON escapes control characters, so the separator never
  occurs inside a record.
* **Binary** (MessagePack protocol): every message is preceded by its length as
  a VarInt — 7 bits per byte, least significant group first, high bit set when
  more bytes follow; at most 5 bytes, so at most ``2**31 - 1``.

The ``split_*`` functions remove every *complete* frame from the front of a
``bytearray`` and leave a trailing partial frame in place for the next read, so
a caller can append whatever the transport delivers and split again. The
``*_exceeds`` functions tell, before that, whether the buffer holds a message
longer than a size limit, complete or not, in one pass over the buffer.
"""

from __future__ import annotations

from typing import Final

from hubgen.protocol.base import ProtocolError

__all__ = [
    "MAX_FRAME_LENGTH",
    "RECORD_SEPARATOR",
    "binary_frame_exceeds",
    "frame_binary",
    "frame_text",
    "length_prefix",
    "split_binary_frames",
    "split_text_frames",
    "text_frame_exceeds",
]

#: Ends every text record (JSON hub messages and both handshake messages).
RECORD_SEPARATOR: Final = b"\x1e"

#: The largest binary frame a 5-byte VarInt length prefix can announce.
MAX_FRAME_LENGTH: Final = 2**31 - 1

_MAX_PREFIX_BYTES: Final = 5
_TOO_LARGE: Final = "Messages over 2GB in size are not supported."
#: Length prefixes of frames shorter than 128 bytes (the common case).
_SHORT_PREFIXES: Final = tuple(bytes((n,)) for n in range(0x80))


# --------------------------------------------------------------------------- text


def split_text_frames(buffer: bytearray) -> list[bytes]:
    """Remove every complete record from the front of ``buffer`` and return
    them without their record separators. An unterminated trailing record stays
    in ``buffer``."""
    last = buffer.rfind(RECORD_SEPARATOR)
    if last < 0:
        return []
    records = bytes(buffer[:last]).split(RECORD_SEPARATOR)
    del buffer[: last + 1]
    return records


def text_frame_exceeds(buffer: bytearray, limit: int) -> bool:
    """Whether a record in ``buffer``, complete or not yet, is longer than
    ``limit`` bytes (its separator not counted). One pass, stopping at the
    first record over the limit."""
    position = 0
    size = len(buffer)
    while size - position > limit:
        end = buffer.find(RECORD_SEPARATOR, position, position + limit + 1)
        if end < 0:
            return True
        position = end + 1
    return False


def frame_text(payload: bytes) -> bytes:
    """``payload`` followed by the record separator. Raises :class:`ValueError`
    if ``payload`` itself contains a record separator."""
    if RECORD_SEPARATOR in payload:
        raise ValueError("a text record cannot contain the record separator 0x1E")
    return payload + RECORD_SEPARATOR


# --------------------------------------------------------------------------- binary


def split_binary_frames(buffer: bytearray) -> list[bytes]:
    """Remove every complete length-prefixed frame from the front of ``buffer``
    and return their bodies. A partial frame (or partial length prefix) stays
    in ``buffer``.

    Raises :class:`ProtocolError` on a length prefix longer than 5 bytes or
    announcing more than ``2**31 - 1`` bytes; the stream cannot be resynchronised
    after that.
    """
    frames: list[bytes] = []
    size = len(buffer)
    start = 0
    while start < size:
        length = buffer[start]
        if length < 0x80:  # a one-byte prefix: frames under 128 bytes, the common case
            body = start + 1
        else:
            header = _read_length(buffer, start, size)
            if header is None:
                break
            length, body = header
        end = body + length
        if end > size:
            break
        frames.append(bytes(buffer[body:end]))
        start = end
    if start:
        del buffer[:start]
    return frames


def binary_frame_exceeds(buffer: bytearray, limit: int) -> bool:
    """Whether a frame in ``buffer``, complete or not yet, announces a body
    longer than ``limit`` bytes. Reads only the length prefixes, each at most
    5 bytes: raises :class:`ProtocolError` on a longer one, as
    :func:`split_binary_frames` does."""
    position = 0
    size = len(buffer)
    while position < size:
        header = _read_length(buffer, position, size)
        if header is None:
            return False
        length, body = header
        if length > limit:
            return True
        position = body + length
    return False


def _read_length(buffer: bytearray, start: int, size: int) -> tuple[int, int] | None:
    """The VarInt at ``start``: (its value, where the body begins), or None when
    the buffer ends inside it."""
    length = 0
    shift = 0
    pos = start
    while pos < size:
        byte = buffer[pos]
        pos += 1
        if pos - start == _MAX_PREFIX_BYTES and byte > 0x07:
            # A continuation bit on the 5th byte, or bits beyond 2**31 - 1.
            raise ProtocolError(_TOO_LARGE)
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length, pos
        shift += 7
    return None


def length_prefix(length: int) -> bytes:
    """The VarInt encoding of ``length`` (1 to 5 bytes)."""
    if length < 0x80:
        if length < 0:
            raise ValueError(f"a frame length cannot be negative (got {length})")
        return _SHORT_PREFIXES[length]
    if length > MAX_FRAME_LENGTH:
        raise ValueError(_TOO_LARGE)
    prefix = bytearray()
    while length >= 0x80:
        prefix.append((length & 0x7F) | 0x80)
        length >>= 7
    prefix.append(length)
    return bytes(prefix)


def frame_binary(payload: bytes) -> bytes:
    """``payload`` preceded by its VarInt length. Raises :class:`ValueError` for
    payloads over ``2**31 - 1`` bytes."""
    size = len(payload)
    if size < 0x80:  # a one-byte prefix: nearly every hub message
        return _SHORT_PREFIXES[size] + payload
    return length_prefix(size) + payload
