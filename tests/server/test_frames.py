"""hubgen's WebSocket frame reader (hubgen.server.frames), fuzzed: random
bytes and structured frame sequences (every opcode, bad masks, bad lengths,
fragmented control frames, bad UTF-8, bad close frames), fed in random
pieces. It never raises anything but FrameError, never hangs, reads the same
whatever the pieces, and agrees with a plain reference reader
(tests/server/frames_model.py) on every message and every close code;
valid sequences read the same as the ``websockets`` package reads them.

The same frames over real sockets, against a running server:
tests/server/test_wsprotocol.py.
"""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from hubgen.server.frames import (
    FrameError,
    FrameReader,
    binary_frame,
    close_frame,
    control_frame,
    text_frame,
)
from tests.server.frames_model import Event, Outcome, RawFrame, read, sequences

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)


class Recorder(FrameReader):
    """A reader that keeps what it reads."""

    __slots__ = ("events",)

    def __init__(self, max_size: int | None = None) -> None:
        super().__init__(max_size)
        self.events: list[Event] = []

    def on_message(self, payload: bytes, text: bool) -> None:
        assert type(payload) is bytes
        self.events.append(("message", payload, text))

    def on_ping(self, payload: bytes) -> None:
        self.events.append(("ping", payload))

    def on_pong(self, payload: bytes) -> None:
        self.events.append(("pong", payload))

    def on_close(self, code: int, reason: str) -> None:
        self.events.append(("close", code, reason))


def feed(data: bytes, cuts: list[int], max_size: int | None = None) -> Outcome:
    """``data`` through a reader in pieces cut at ``cuts``."""
    reader = Recorder(max_size)
    error = None
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        try:
            reader.feed(data[start:end])
        except FrameError as exc:
            if error is not None:
                raise AssertionError("a reader that refused something reads nothing more") from exc
            error = exc.code
    assert error in (None, 1002, 1007, 1009)
    return Outcome(reader.events, error, closed=reader.finished and error is None)


def expected(data: bytes, max_size: int | None = None) -> Outcome:
    outcome = read(data, max_size)
    return Outcome(outcome.events, outcome.error, closed=outcome.closed)


cuts = st.lists(st.integers(0, 1 << 16), max_size=8)


@FUZZ
@given(st.binary(max_size=600), cuts, st.sampled_from([None, 0, 64, 1 << 20]))
def test_random_bytes(data: bytes, pieces: list[int], max_size: int | None) -> None:
    assert feed(data, pieces, max_size) == expected(data, max_size)


@FUZZ
@given(sequences(), cuts, st.sampled_from([None, 100, 1 << 20]))
@example([RawFrame(0x1, b"ab", fin=False), RawFrame(0x9, b"p" * 120), RawFrame(0x0, b"cd")], [3], 3)
def test_frame_sequences(frames: list[RawFrame], pieces: list[int], max_size: int | None) -> None:
    data = b"".join(frame.encode() for frame in frames)
    outcome = feed(data, pieces, max_size)
    assert outcome == expected(data, max_size)
    # one byte at a time reads the same
    assert feed(data, list(range(len(data))), max_size) == outcome


@FUZZ
@given(sequences())
def test_valid_sequences_read_as_websockets_reads_them(frames: list[RawFrame]) -> None:
    """An independent reader, the ``websockets`` package's own (what
    uvicorn's protocols use), makes the same messages of every valid
    sequence (it leaves UTF-8 to its callers, so only valid text counts)."""
    data = b"".join(frame.encode() for frame in frames)
    outcome = read(data)
    if outcome.error is not None:
        return
    theirs = ServerProtocol(state=State.OPEN, max_size=None)
    theirs.receive_data(data)
    assert theirs.parser_exc is None
    events: list[Event] = []
    parts: list[bytes] = []
    text = False
    for frame in theirs.events_received():
        assert isinstance(frame, Frame)
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            parts, text = [bytes(frame.data)], frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT:
            parts.append(bytes(frame.data))
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if frame.fin:
                events.append(("message", b"".join(parts), text))
        elif frame.opcode is Opcode.PING:
            events.append(("ping", bytes(frame.data)))
        elif frame.opcode is Opcode.PONG:
            events.append(("pong", bytes(frame.data)))
        else:
            assert theirs.close_rcvd is not None
            events.append(("close", theirs.close_rcvd.code, theirs.close_rcvd.reason))
    assert feed(data, []).events == events


# -- each violation, and its close code --------------------------------------------------------


def frame(first: int, payload: bytes = b"", *, masked: bool = True) -> bytes:
    """A short frame with ``first`` as its first byte."""
    return RawFrame(first & 0x0F, payload, bool(first & 0x80), first >> 4 & 7, masked).encode()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(0x81, b"hi", masked=False), 1002),  # a client's frames are masked
        (frame(0xC1, b"hi"), 1002),  # RSV1 without permessage-deflate
        (frame(0xA1, b"hi"), 1002),  # RSV2
        (frame(0x91, b"hi"), 1002),  # RSV3
        (frame(0x83), 1002),  # reserved data opcode
        (frame(0x8B), 1002),  # reserved control opcode
        (frame(0x09, b"ping"), 1002),  # fragmented ping
        (frame(0x08), 1002),  # fragmented close
        (RawFrame(0x9, b"x" * 126).encode(), 1002),  # control frame over 125 bytes
        (RawFrame(0x2, b"x", length="msb").encode(), 1002),  # 64-bit length, top bit set
        (frame(0x80, b"x"), 1002),  # continuation of nothing
        (frame(0x01, b"a") + frame(0x81, b"b"), 1002),  # a new message inside a fragmented one
        (frame(0x81, b"\xff"), 1007),  # text that is not UTF-8
        (frame(0x01, b"\xe2\x82") + frame(0x80, b"\xff"), 1007),  # ... across fragments
        (frame(0x88, b"\x03"), 1002),  # close body of one byte
        (frame(0x88, (1005).to_bytes(2, "big")), 1002),  # a code never sent
        (frame(0x88, (999).to_bytes(2, "big")), 1002),
        (frame(0x88, (5000).to_bytes(2, "big")), 1002),
        (frame(0x88, b"\x03\xe8\xff"), 1007),  # close reason that is not UTF-8
    ],
)
def test_a_violation_gets_its_close_code(data: bytes, code: int) -> None:
    reader = Recorder()
    with pytest.raises(FrameError) as raised:
        reader.feed(data)
    assert raised.value.code == code
    reader.feed(frame(0x81, b"after"))  # nothing more is read
    assert reader.events == []


def test_control_frames_between_fragments_and_a_text_message_cut_inside_a_character() -> None:
    euro = "€".encode()
    data = frame(0x01, b"a" + euro[:1]) + frame(0x89, b"p") + frame(0x00, euro[1:2])
    data += frame(0x8A) + frame(0x80, euro[2:])
    data += frame(0x88, (4000).to_bytes(2, "big") + b"bye") + frame(0x81, b"gone")
    reader = Recorder()
    reader.feed(data)
    assert reader.events == [
        ("ping", b"p"),
        ("pong", b""),
        ("message", "a€".encode(), True),
        ("close", 4000, "bye"),
    ]
    assert reader.finished


def test_an_oversized_message_is_refused_from_its_header() -> None:
    """The header of a 1 MiB frame is enough: nothing of it is buffered."""
    reader = Recorder(max_size=1024)
    header = RawFrame(0x2, b"x" * (1 << 20)).encode()[:14]
    with pytest.raises(FrameError) as raised:
        reader.feed(header)
    assert raised.value.code == 1009
    # the limit is on the message, its fragments together
    reader = Recorder(max_size=1024)
    reader.feed(frame(0x02, b"x" * 1000))
    with pytest.raises(FrameError) as raised:
        reader.feed(RawFrame(0x0, b"x" * 25).encode())
    assert raised.value.code == 1009


def test_a_large_message_in_small_pieces_is_read_in_linear_time() -> None:
    """16 MiB in 4 KiB pieces: each piece is appended, not the whole buffer
    copied or parsed again (that would take minutes)."""
    data = RawFrame(0x2, b"\x5a" * (16 << 20)).encode()
    reader = Recorder()
    started = time.monotonic()
    for start in range(0, len(data), 4096):
        reader.feed(data[start : start + 4096])
    assert time.monotonic() - started < 10
    assert reader.events == [("message", b"\x5a" * (16 << 20), False)]


# -- what the server writes ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_frames_written_read_back_with_websockets(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    client = ClientProtocol(parse_uri("ws://x/"), state=State.OPEN, max_size=None)
    text = ("é" * (size // 2)).encode()
    client.receive_data(
        binary_frame(payload)
        + text_frame(text)
        + control_frame(0x9, b"ping")
        + close_frame(1001, "going away " + "ü" * 100)
    )
    got = [(f.opcode, bytes(f.data)) for f in client.events_received() if isinstance(f, Frame)]
    assert got[:3] == [(Opcode.BINARY, payload), (Opcode.TEXT, text), (Opcode.PING, b"ping")]
    assert client.close_rcvd is not None
    assert client.close_rcvd.code == 1001
    assert len(got[3][1]) <= 125  # the reason is cut to fit, at a character boundary
