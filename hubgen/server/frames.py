"""WebSocket frames (RFC 6455) as a server reads and writes them, without I/O.

:class:`FrameReader` takes the bytes a client sends and hands on whole
messages and control frames; it checks every rule a server must (masking,
reserved bits, opcodes, control frame sizes, fragmentation, close codes,
UTF-8 in text messages and close reasons, the message size limit) and raises
:class:`FrameError` with the close code to answer with. The ``*_frame``
functions build what a server writes: unmasked frames, their headers built
here (a table lookup for the short ones hub messages nearly always are).

Masking is undone by the ``websockets`` package's C speedup
(``websockets.speedups.apply_mask``, a dependency already: uvicorn's own
WebSocket protocols use the same package). permessage-deflate, when
negotiated, goes through that package's extension object, one per
connection (:class:`websockets.extensions.permessage_deflate.PerMessageDeflate`).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame, Opcode

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a websockets built without its C extension
    from websockets.utils import apply_mask

if TYPE_CHECKING:
    from websockets.extensions import Extension

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "PING",
    "PONG",
    "TEXT",
    "FrameError",
    "FrameReader",
    "binary_frame",
    "close_frame",
    "compressed_frame",
    "control_frame",
    "data_frame",
    "text_frame",
]

CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA

#: Close codes a peer may send (RFC 6455 7.4.1, and the IANA registry's 1012-1014);
#: 1004-1006 and 1015 are never sent, and 3000-4999 belong to applications.
_SENDABLE_CLOSE_CODES: Final = frozenset(
    (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)
)
#: What a close frame without a body means (it is never sent as a code).
NO_STATUS: Final = 1005

_FIN: Final = 0x80
_RSV1: Final = 0x40
_RSV23: Final = 0x30
_MASKED: Final = 0x80
#: Headers of unmasked final frames with payloads under 126 bytes, by length.
_TEXT_HEADERS: Final = tuple(bytes((_FIN | TEXT, n)) for n in range(126))
_BINARY_HEADERS: Final = tuple(bytes((_FIN | BINARY, n)) for n in range(126))
_HEADER_16: Final = struct.Struct("!BBH")
_HEADER_64: Final = struct.Struct("!BBQ")
_OPCODES: Final = frozenset((CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG))


class FrameError(Exception):
    """The client broke the WebSocket protocol: close the connection with
    ``code`` (1002 protocol error, 1007 invalid data, 1009 too big) and
    ``reason``. The reader takes nothing more after raising it."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


# -- writing ------------------------------------------------------------------------------


def _header(first: int, length: int) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 0x10000:
        return _HEADER_16.pack(first, 126, length)
    return _HEADER_64.pack(first, 127, length)


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame carrying ``payload`` (UTF-8 already)."""
    length = len(payload)
    if length < 126:
        return _TEXT_HEADERS[length] + payload
    return _header(_FIN | TEXT, length) + payload


def binary_frame(payload: bytes) -> bytes:
    """A final, unmasked binary frame carrying ``payload``."""
    length = len(payload)
    if length < 126:
        return _BINARY_HEADERS[length] + payload
    return _header(_FIN | BINARY, length) + payload


def data_frame(payload: bytes, binary: bool) -> bytes:
    """A binary or text frame carrying ``payload``."""
    return binary_frame(payload) if binary else text_frame(payload)


def compressed_frame(payload: bytes, binary: bool, extension: Extension) -> bytes:
    """``payload`` as one frame through a negotiated extension
    (permessage-deflate): stateful, so frames must be written in the order
    they are made, on the connection whose extension made them."""
    frame = extension.encode(Frame(Opcode.BINARY if binary else Opcode.TEXT, payload))
    first = _FIN | frame.opcode | (_RSV1 if frame.rsv1 else 0)
    data = frame.data
    return _header(first, len(data)) + bytes(data)


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A ping, pong or close frame (``payload`` at most 125 bytes)."""
    if len(payload) > 125:
        raise ValueError("a control frame carries at most 125 bytes")
    return bytes((_FIN | opcode, len(payload))) + payload


def close_frame(code: int | None, reason: str = "") -> bytes:
    """A close frame with ``code`` and ``reason`` (cut to fit 123 bytes of
    UTF-8 at a character boundary); without a body when ``code`` is None."""
    if code is None:
        return control_frame(CLOSE)
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        encoded = encoded[:123].decode("utf-8", "ignore").encode("utf-8")
    return control_frame(CLOSE, code.to_bytes(2, "big") + encoded)


# -- reading ------------------------------------------------------------------------------


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame's payload (1005 and "" for an
    empty one). Raises :class:`FrameError` for a malformed one."""
    if not payload:
        return NO_STATUS, ""
    if len(payload) == 1:
        raise FrameError(1002, "close frame too short")
    code = payload[0] << 8 | payload[1]
    if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code < 5000:
        raise FrameError(1002, "invalid close code")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(1007, "invalid UTF-8 in the close reason") from None
    return code, reason


class FrameReader:
    """Reads what a WebSocket client sends: unmasks frames, puts fragmented
    messages together, and calls :meth:`on_message` with every whole message,
    :meth:`on_ping`, :meth:`on_pong` and :meth:`on_close` with control frames
    (a subclass overrides them). After a close frame or a :class:`FrameError`
    it takes nothing more.

    ``max_size`` bounds a message (after decompression), checked as soon as
    a frame's header announces its length: an oversized message is refused
    (1009) before it is buffered. ``extension`` is the negotiated
    permessage-deflate, if any: only then may a message be compressed.

    Bytes are taken as they come: a frame split across reads waits in a
    buffer until it is complete, and nothing is read twice.
    """

    __slots__ = (
        "_buffer",
        "_extension",
        "_fragment_size",
        "_fragment_text",
        "_fragments",
        "_need",
        "finished",
        "max_size",
    )

    def __init__(self, max_size: int | None = None, extension: Extension | None = None) -> None:
        self.max_size = max_size
        self._extension = extension
        #: What is left of the input after the last whole frame.
        self._buffer: bytearray | None = None
        #: How long the buffer must get before another frame can be read.
        self._need = 0
        #: The frames of a fragmented message so far (None: not in one).
        self._fragments: list[bytes] | None = None
        self._fragment_size = 0
        self._fragment_text = False
        #: A close frame arrived or the client broke the protocol: nothing more is read.
        self.finished = False

    # -- hooks --------------------------------------------------------------------------

    def on_message(self, payload: bytes, text: bool) -> None:
        """A whole message (``text``: its UTF-8 was checked)."""

    def on_ping(self, payload: bytes) -> None:
        """A ping: a server answers with a pong carrying ``payload``."""

    def on_pong(self, payload: bytes) -> None:
        """A pong."""

    def on_close(self, code: int, reason: str) -> None:
        """A close frame (code 1005 when it had no body)."""

    # -- input --------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Read ``data``, the next bytes from the client. Raises
        :class:`FrameError` when they break the protocol."""
        if self.finished:
            return
        buffer = self._buffer
        view: bytes | bytearray = data
        if buffer is not None:
            buffer += data
            if len(buffer) < self._need:
                return
            view = buffer
            self._buffer = None
        try:
            self._read(view)
        except FrameError:
            self.finished = True
            self._buffer = None
            self._fragments = None
            raise

    def _read(self, data: bytes | bytearray) -> None:
        size = len(data)
        pos = 0
        need = 0
        while pos < size:
            if size - pos < 2:
                need = 2
                break
            first = data[pos]
            second = data[pos + 1]
            opcode = first & 0x0F
            length = second & 0x7F
            self._check(first, opcode, second, length)
            if length < 126:
                start = pos + 6
            elif length == 126:
                if size - pos < 4:
                    need = 4
                    break
                length = data[pos + 2] << 8 | data[pos + 3]
                start = pos + 8
            else:
                if size - pos < 10:
                    need = 10
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                if length >> 63:
                    raise FrameError(1002, "invalid frame length")
                start = pos + 14
            limit = self.max_size
            if limit is not None and opcode < CLOSE and self._fragment_size + length > limit:
                # (control frames are not messages: at most 125 bytes anyway)
                raise FrameError(1009, f"message too big (more than {limit} bytes)")
            if size < start:
                need = start - pos
                break
            end = start + length
            if size < end:
                need = end - pos
                break
            payload = apply_mask(data[start:end], data[start - 4 : start]) if length else b""
            pos = end
            if opcode >= CLOSE:
                if self._control(opcode, payload):
                    return  # closed: the rest is discarded
            elif first & _RSV1 or self._extension is not None:
                self._compressed(opcode, first, payload)
            elif first & _FIN and opcode != CONTINUATION:
                # the usual: a whole message in one frame
                text = opcode == TEXT
                if text and not payload.isascii():
                    _check_utf8(payload)
                self.on_message(payload, text)
                if self.finished:
                    return
            else:
                self._fragment(opcode, first & _FIN, payload)
                if self.finished:
                    return
        if pos < size:
            if pos == 0 and type(data) is bytearray:
                self._buffer = data
            else:
                self._buffer = bytearray(data[pos:])
            self._need = need

    def _check(self, first: int, opcode: int, second: int, length: int) -> None:
        """What the first two bytes of a frame can tell: checked before the
        rest arrives."""
        if not second & _MASKED:
            raise FrameError(1002, "incorrect masking")
        if first & _RSV23:
            raise FrameError(1002, "reserved bits must be 0")
        if opcode not in _OPCODES:
            raise FrameError(1002, "invalid opcode")
        if opcode >= CLOSE:
            if length > 125:
                raise FrameError(1002, "control frame too long")
            if not first & _FIN:
                raise FrameError(1002, "fragmented control frame")
            if first & _RSV1:
                raise FrameError(1002, "reserved bits must be 0")
        elif opcode == CONTINUATION:
            if self._fragments is None:
                raise FrameError(1002, "unexpected continuation frame")
            if first & _RSV1:
                raise FrameError(1002, "reserved bits must be 0")
        else:
            if self._fragments is not None:
                raise FrameError(1002, "expected a continuation frame")
            if first & _RSV1 and self._extension is None:
                raise FrameError(1002, "reserved bits must be 0")

    def _control(self, opcode: int, payload: bytes) -> bool:
        """A control frame; True when it closed the reader."""
        if opcode == PING:
            self.on_ping(payload)
        elif opcode == PONG:
            self.on_pong(payload)
        else:
            code, reason = parse_close(payload)
            self.finished = True
            self._fragments = None
            self._buffer = None
            self.on_close(code, reason)
        return self.finished

    def _fragment(self, opcode: int, fin: int, payload: bytes) -> None:
        """A frame of a fragmented message (its start, more, or its end)."""
        fragments = self._fragments
        if fragments is None:
            fragments = self._fragments = [payload]
            self._fragment_text = opcode == TEXT
            self._fragment_size = len(payload)
        elif payload:
            fragments.append(payload)
            self._fragment_size += len(payload)
        if fin:
            self._fragments = None
            self._fragment_size = 0
            message = fragments[0] if len(fragments) == 1 else b"".join(fragments)
            text = self._fragment_text
            if text and not message.isascii():
                _check_utf8(message)
            self.on_message(message, text)

    def _compressed(self, opcode: int, first: int, payload: bytes) -> None:
        """A data frame on a connection with permessage-deflate: through the
        extension, which keeps the state of compressed messages."""
        extension = self._extension
        if extension is None:  # (checked with the header already)
            raise FrameError(1002, "reserved bits must be 0")
        limit = self.max_size
        try:
            frame = extension.decode(
                Frame(Opcode(opcode), payload, bool(first & _FIN), bool(first & _RSV1)),
                max_size=None if limit is None else limit - self._fragment_size,
            )
        except PayloadTooBig:
            raise FrameError(1009, f"message too big (more than {limit} bytes)") from None
        except ProtocolError as exc:
            raise FrameError(1002, str(exc)) from None
        self._fragment(opcode, first & _FIN, bytes(frame.data))


def _check_utf8(payload: bytes) -> None:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(1007, "invalid UTF-8 in a text message") from None
