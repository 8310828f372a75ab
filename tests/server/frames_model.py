"""WebSocket frames for the frame layer's tests: a reference reader, written
for plainness and not speed, and hypothesis strategies for frame sequences.

The reference reads a whole input at once, frame by frame, as RFC 6455 section
5 reads (what a server must refuse, and with which close code: 1002 for a
protocol error, 1007 for invalid UTF-8, 1009 for a message over the limit).
Checks that need only a frame's first bytes are made before its payload is
there, as hubgen's reader does, so that a refusal does not wait for a payload
that may never come.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

Event = tuple[object, ...]

SENDABLE_CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


@dataclass
class Outcome:
    """What a server reading an input does: the events it hands on, then
    the close code it answers a violation with (None: no violation), and
    whether the input ended with a frame cut short (still waiting)."""

    events: list[Event]
    error: int | None = None
    waiting: bool = False
    closed: bool = False


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read(data: bytes, max_size: int | None = None) -> Outcome:
    """What a server makes of ``data``, the bytes a client sent."""
    out = Outcome([])
    pos = 0
    fragments: list[bytes] | None = None
    text = False
    while pos < len(data):
        if len(data) - pos < 2:
            out.waiting = True
            return out
        first, second = data[pos], data[pos + 1]
        fin = bool(first & 0x80)
        rsv = first & 0x70
        opcode = first & 0x0F
        masked = bool(second & 0x80)
        length = second & 0x7F
        control = opcode in (0x8, 0x9, 0xA)
        if not masked or rsv or opcode not in (0x0, 0x1, 0x2, 0x8, 0x9, 0xA):
            out.error = 1002
            return out
        if control and (length > 125 or not fin):
            out.error = 1002
            return out
        if opcode == 0x0 and fragments is None:
            out.error = 1002
            return out
        if opcode in (0x1, 0x2) and fragments is not None:
            out.error = 1002
            return out
        extra = {126: 2, 127: 8}.get(length, 0)
        if len(data) - pos < 2 + extra:
            out.waiting = True
            return out
        if extra:
            length = int.from_bytes(data[pos + 2 : pos + 2 + extra], "big")
            if length >= 1 << 63:
                out.error = 1002
                return out
        # control frames are not messages: 125 bytes bound them already
        so_far = sum(len(f) for f in fragments) if fragments is not None else 0
        if max_size is not None and not control and so_far + length > max_size:
            out.error = 1009
            return out
        start = pos + 2 + extra + 4
        if len(data) < start + length:
            out.waiting = True
            return out
        mask = data[start - 4 : start]
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(data[start : start + length]))
        pos = start + length
        if opcode == 0x9:
            out.events.append(("ping", payload))
        elif opcode == 0xA:
            out.events.append(("pong", payload))
        elif opcode == 0x8:
            if len(payload) == 1:
                out.error = 1002
                return out
            code, reason = 1005, b""
            if payload:
                code, reason = int.from_bytes(payload[:2], "big"), payload[2:]
                if code not in SENDABLE_CLOSE_CODES and not 3000 <= code < 5000:
                    out.error = 1002
                    return out
                if not _utf8(reason):
                    out.error = 1007
                    return out
            out.events.append(("close", code, reason.decode()))
            out.closed = True
            return out  # nothing after a close frame is read
        else:
            if fragments is None:
                fragments, text = [], opcode == 0x1
            fragments.append(payload)
            if fin:
                message = b"".join(fragments)
                fragments = None
                if text and not _utf8(message):
                    out.error = 1007
                    return out
                out.events.append(("message", message, text))
    return out


# -- writing frames as a client does (or does not) --------------------------------------------


@dataclass(frozen=True)
class RawFrame:
    """A frame as a client could write it, right or wrong."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0  # the three reserved bits, 0-7
    masked: bool = True
    mask: bytes = b"\x37\xfa\x21\x3d"
    #: how the length is written: "min" (as short as it goes), "16", "64",
    #: or "msb" (64 bits with the top bit set: never valid)
    length: str = "min"

    def encode(self) -> bytes:
        first = (0x80 if self.fin else 0) | (self.rsv << 4) | self.opcode
        size = len(self.payload)
        mask_bit = 0x80 if self.masked else 0
        if self.length == "min" and size < 126:
            header = bytes((first, mask_bit | size))
        elif self.length in ("min", "16") and size < 0x10000:
            header = bytes((first, mask_bit | 126)) + size.to_bytes(2, "big")
        elif self.length == "msb":
            header = bytes((first, mask_bit | 127)) + (size | 1 << 63).to_bytes(8, "big")
        else:
            header = bytes((first, mask_bit | 127)) + size.to_bytes(8, "big")
        if not self.masked:
            return header + self.payload
        masked = bytes(b ^ self.mask[i % 4] for i, b in enumerate(self.payload))
        return header + self.mask + masked


masks = st.binary(min_size=4, max_size=4)


@st.composite
def messages(draw: st.DrawFn, content: st.SearchStrategy[bytes] | None = None) -> list[RawFrame]:
    """One data message, whole or in fragments, with pings and pongs between
    its fragments sometimes (control frames may come between fragments)."""
    text = draw(st.booleans())
    if content is not None:
        payload = draw(content)
    elif text:
        payload = draw(st.text(max_size=300)).encode("utf-8")
    else:
        payload = draw(st.binary(max_size=300))
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
    frames: list[RawFrame] = []
    for index, piece in enumerate(pieces):
        opcode = (0x1 if text else 0x2) if index == 0 else 0x0
        length = draw(st.sampled_from(["min", "min", "min", "16", "64"]))
        frames.append(
            RawFrame(opcode, piece, index == len(pieces) - 1, 0, True, draw(masks), length)
        )
        if index < len(pieces) - 1 and draw(st.integers(0, 4)) == 0:
            frames.append(RawFrame(draw(st.sampled_from([0x9, 0xA])), draw(st.binary(max_size=20))))
    return frames


def close_frames() -> st.SearchStrategy[RawFrame]:
    """Close frames with a valid body (or none)."""
    codes = st.sampled_from(sorted(SENDABLE_CLOSE_CODES)) | st.integers(3000, 4999)
    body = st.just(b"") | st.builds(
        lambda code, reason: code.to_bytes(2, "big") + reason.encode()[:123],
        codes,
        st.text(max_size=40),
    )
    return st.builds(lambda payload, mask: RawFrame(0x8, payload, mask=mask), body, masks)


#: What can go wrong with one frame: each gives a frame a client must not send.
MUTATIONS = (
    "unmasked",
    "rsv",
    "reserved-opcode",
    "fragmented-control",
    "long-control",
    "msb-length",
    "stray-continuation",
    "bad-utf8",
    "short-close",
    "bad-close-code",
    "bad-close-reason",
)


def mutate(frame: RawFrame, how: str, draw: st.DrawFn) -> list[RawFrame]:
    """``frame`` made wrong in the way ``how`` says (or wrong frames in its place)."""
    if how == "unmasked":
        return [RawFrame(frame.opcode, frame.payload, frame.fin, frame.rsv, False)]
    if how == "rsv":
        rsv = draw(st.integers(1, 7))
        return [RawFrame(frame.opcode, frame.payload, frame.fin, rsv, True, frame.mask)]
    if how == "reserved-opcode":
        opcode = draw(st.sampled_from([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]))
        return [RawFrame(opcode, frame.payload)]
    if how == "fragmented-control":
        opcode = draw(st.sampled_from([0x8, 0x9, 0xA]))
        return [RawFrame(opcode, b"\x03\xe8"[: draw(st.sampled_from([0, 2]))], fin=False)]
    if how == "long-control":
        opcode = draw(st.sampled_from([0x8, 0x9, 0xA]))
        return [RawFrame(opcode, b"\x03\xe8" + b"x" * draw(st.integers(124, 200)))]
    if how == "msb-length":
        return [RawFrame(frame.opcode, frame.payload, frame.fin, length="msb")]
    if how == "stray-continuation":
        return [RawFrame(0x0, frame.payload)]
    if how == "bad-utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]))
        if draw(st.booleans()):
            return [RawFrame(0x1, b"ok" + bad)]
        # the bad byte in a later fragment, or a character cut off at the end
        return [RawFrame(0x1, b"ok", fin=False), RawFrame(0x0, bad[:1] + b"!" + bad[1:])]
    if how == "short-close":
        return [RawFrame(0x8, b"\x03")]
    if how == "bad-close-code":
        code = draw(st.sampled_from([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]))
        return [RawFrame(0x8, code.to_bytes(2, "big"))]
    if how == "bad-close-reason":
        return [RawFrame(0x8, b"\x03\xe8bad \xff")]
    raise ValueError(how)


@st.composite
def sequences(draw: st.DrawFn, content: st.SearchStrategy[bytes] | None = None) -> list[RawFrame]:
    """What a client sends: data messages (their frames interleaved with
    pings and pongs), perhaps a close frame, and often one frame made wrong
    somewhere."""
    frames: list[RawFrame] = []
    for message in draw(st.lists(messages(content), max_size=4)):
        frames.extend(message)
    if draw(st.booleans()):
        frames.append(draw(close_frames()))
    if frames and draw(st.integers(0, 3)) > 0:
        where = draw(st.integers(0, len(frames) - 1))
        how = draw(st.sampled_from(MUTATIONS))
        frames[where : where + 1] = mutate(frames[where], how, draw)
    return frames
