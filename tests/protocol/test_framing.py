"""Record-separator and VarInt length-prefix framing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubgen.protocol import JSON_PROTOCOL, MESSAGEPACK_PROTOCOL, ProtocolError
from hubgen.protocol.framing import (
    MAX_FRAME_LENGTH,
    RECORD_SEPARATOR,
    binary_frame_exceeds,
    frame_binary,
    frame_text,
    length_prefix,
    split_binary_frames,
    split_text_frames,
    text_frame_exceeds,
)

# --------------------------------------------------------------------------- text


def test_record_separator_is_0x1e() -> None:
    assert RECORD_SEPARATOR == b"\x1e"


def test_split_text_returns_every_complete_record_and_keeps_the_partial_one() -> None:
    buffer = bytearray(b'{"a":1}\x1e{"b":2}\x1e{"c"')
    assert split_text_frames(buffer) == [b'{"a":1}', b'{"b":2}']
    assert buffer == bytearray(b'{"c"')
    buffer += b":3}\x1e"
    assert split_text_frames(buffer) == [b'{"c":3}']
    assert buffer == bytearray()


def test_split_text_without_a_separator_consumes_nothing() -> None:
    buffer = bytearray(b'{"type":')
    assert split_text_frames(buffer) == []
    assert buffer == bytearray(b'{"type":')


def test_split_text_keeps_empty_records() -> None:
    # An empty record is still a record; the protocol decides it is invalid.
    buffer = bytearray(b"\x1e\x1e")
    assert split_text_frames(buffer) == [b"", b""]
    assert buffer == bytearray()


def test_frame_text_appends_the_separator() -> None:
    assert frame_text(b'{"type":6}') == b'{"type":6}\x1e'


def test_frame_text_refuses_a_payload_containing_the_separator() -> None:
    with pytest.raises(ValueError, match="record separator"):
        frame_text(b"a\x1eb")


# --------------------------------------------------------------------------- VarInt


@pytest.mark.parametrize(
    ("length", "prefix"),
    [
        (0, b"\x00"),
        (53, b"\x35"),  # HubProtocol.md: 0x35 is 53
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (5248, b"\x80\x29"),  # HubProtocol.md: 0x80 0x29 is 5248
        (2**21 - 1, b"\xff\xff\x7f"),
        (2**28, b"\x80\x80\x80\x80\x01"),
        (MAX_FRAME_LENGTH, b"\xff\xff\xff\xff\x07"),  # the largest: 5 bytes
    ],
)
def test_length_prefix_vectors(length: int, prefix: bytes) -> None:
    assert length_prefix(length) == prefix
    # And the parser reads the same prefix back (with a body that long, for
    # the small ones; the large ones only need to be seen as incomplete).
    if length <= 5248:
        buffer = bytearray(prefix + b"x" * length)
        assert split_binary_frames(buffer) == [b"x" * length]
        assert buffer == bytearray()
    else:
        buffer = bytearray(prefix + b"x")
        assert split_binary_frames(buffer) == []
        assert buffer == bytearray(prefix + b"x")


def test_length_prefix_refuses_lengths_over_2gb_and_negative_ones() -> None:
    with pytest.raises(ValueError, match="over 2GB"):
        length_prefix(MAX_FRAME_LENGTH + 1)
    with pytest.raises(ValueError, match="negative"):
        length_prefix(-1)


def test_hubprotocol_md_binary_encoding_example() -> None:
    # The spec's text says "Hello\nWorld" but its bytes spell "hello\nworld";
    # the bytes are what count.
    wire = bytes.fromhex("0B 68 65 6C 6C 6F 0A 77 6F 72 6C 64 02 01 02")
    assert frame_binary(b"hello\nworld") + frame_binary(b"\x01\x02") == wire
    buffer = bytearray(wire)
    assert split_binary_frames(buffer) == [b"hello\nworld", b"\x01\x02"]
    assert buffer == bytearray()


def test_split_binary_keeps_a_partial_length_prefix() -> None:
    buffer = bytearray(b"\x02ab\x80")
    assert split_binary_frames(buffer) == [b"ab"]
    assert buffer == bytearray(b"\x80")
    buffer += b"\x01" + b"y" * 127
    assert split_binary_frames(buffer) == []
    assert len(buffer) == 2 + 127
    buffer += b"z"
    assert split_binary_frames(buffer) == [b"y" * 127 + b"z"]
    assert buffer == bytearray()


def test_split_binary_keeps_a_partial_body() -> None:
    buffer = bytearray(b"\x05abc")
    assert split_binary_frames(buffer) == []
    assert buffer == bytearray(b"\x05abc")


def test_split_binary_accepts_empty_frames() -> None:
    buffer = bytearray(b"\x00\x00\x01a")
    assert split_binary_frames(buffer) == [b"", b"", b"a"]


def test_four_continuation_bytes_are_just_an_incomplete_prefix() -> None:
    buffer = bytearray(b"\xff\xff\xff\xff")
    assert split_binary_frames(buffer) == []
    assert buffer == bytearray(b"\xff\xff\xff\xff")


@pytest.mark.parametrize(
    "prefix",
    [
        b"\xff\xff\xff\xff\x08",  # a 5th byte above 7: more than 2**31 - 1
        b"\x80\x80\x80\x80\x7f",
        b"\xff\xff\xff\xff\xff",  # a continuation bit on the 5th byte
        b"\x80\x80\x80\x80\x80\x00",
    ],
)
def test_split_binary_rejects_prefixes_over_2gb(prefix: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"^Messages over 2GB in size are not supported\.$"):
        split_binary_frames(bytearray(prefix))


def test_a_bad_prefix_after_good_frames_is_still_an_error() -> None:
    with pytest.raises(ProtocolError):
        split_binary_frames(bytearray(b"\x01a\xff\xff\xff\xff\x7f"))


# --------------------------------------------------------------------------- feeding


def _feed_text(data: bytes, cuts: list[int]) -> list[bytes]:
    buffer = bytearray()
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(data)]:
        buffer += data[start:cut]
        start = cut
        out.extend(split_text_frames(buffer))
    assert buffer == bytearray()
    return out


def _feed_binary(data: bytes, cuts: list[int]) -> list[bytes]:
    buffer = bytearray()
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(data)]:
        buffer += data[start:cut]
        start = cut
        out.extend(split_binary_frames(buffer))
    assert buffer == bytearray()
    return out


def test_text_frames_split_at_every_point_come_out_the_same() -> None:
    records = [b'{"type":6}', b'{"a":"\xc3\xa9"}', b"", b'{"b":[1,2,3]}']
    data = b"".join(frame_text(r) for r in records)
    for cut in range(len(data) + 1):
        assert _feed_text(data, [cut]) == records
    assert _feed_text(data, list(range(1, len(data)))) == records  # byte by byte


def test_binary_frames_split_at_every_point_come_out_the_same() -> None:
    bodies = [b"\x91\x06", b"x" * 200, b"", b"\x1e" * 3, b"y" * 5000]
    data = b"".join(frame_binary(b) for b in bodies)
    for cut in range(len(data) + 1):
        assert _feed_binary(data, [cut]) == bodies
    assert _feed_binary(data, list(range(1, len(data)))) == bodies  # byte by byte


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize(
    ("data", "limit", "expected"),
    [
        (b"", 3, False),
        (b"abc\x1e", 3, False),  # the separator does not count
        (b"abcd\x1e", 3, True),
        (b"abc", 3, False),  # a partial record, not over the limit yet
        (b"abcd", 3, True),  # a partial record already over it
        (b"ab\x1eabc\x1ea\x1e", 3, False),
        (b"ab\x1eabc\x1eabcd", 3, True),  # the last, partial record is over
        (b"\x1e\x1e\x1e\x1e\x1e", 0, False),  # empty records
    ],
)
def test_text_frame_exceeds(data: bytes, limit: int, expected: bool) -> None:
    assert text_frame_exceeds(bytearray(data), limit) is expected


@pytest.mark.parametrize(
    ("data", "limit", "expected"),
    [
        (b"", 3, False),
        (b"\x03abc", 3, False),
        (b"\x04abcd", 3, True),
        (b"\x04ab", 3, True),  # the prefix announces too much: no need to wait for the body
        (b"\x02ab\x03abc\x01", 3, False),  # the last frame's body has not arrived yet
        (b"\x02ab\x80", 3, False),  # a partial prefix
        (b"\x02ab\x80\x01", 3, True),  # 128
        (b"\x00\x00\x00", 0, False),  # empty frames
    ],
)
def test_binary_frame_exceeds(data: bytes, limit: int, expected: bool) -> None:
    assert binary_frame_exceeds(bytearray(data), limit) is expected


def test_binary_frame_exceeds_reads_at_most_five_prefix_bytes() -> None:
    """A run of continuation bytes is refused at its fifth byte, however long
    the buffer: before the fix, the check walked all of it, each time data
    arrived (a 1 MiB message of 0xff stalled a server for ~40 s)."""
    with pytest.raises(ProtocolError, match="over 2GB"):
        binary_frame_exceeds(bytearray(b"\xff" * (16 << 20)), 32_768)
    with pytest.raises(ProtocolError, match="over 2GB"):
        binary_frame_exceeds(bytearray(b"\x01a" + b"\xff" * 100), 32_768)


def _naive_text_exceeds(data: bytes, limit: int) -> bool:
    return any(len(record) > limit for record in data.split(RECORD_SEPARATOR))


def _naive_binary_exceeds(data: bytes, limit: int) -> bool:
    buffer = bytearray(data)
    if any(len(frame) > limit for frame in split_binary_frames(buffer)):
        return True
    if not buffer:
        return False
    header = bytearray(buffer[:5])
    for end in range(1, len(header) + 1):  # the partial frame's prefix, once complete
        if header[end - 1] < 0x80:
            announced = split_binary_frames(bytearray(header[:end]) + b"\0" * 2**16)
            return len(announced[0]) > limit if announced else True
    return False


@given(
    st.lists(st.binary(max_size=40).filter(lambda r: RECORD_SEPARATOR not in r)), st.integers(0, 40)
)
def test_text_frame_exceeds_agrees_with_splitting(records: list[bytes], limit: int) -> None:
    data = RECORD_SEPARATOR.join(records)
    assert text_frame_exceeds(bytearray(data), limit) is _naive_text_exceeds(data, limit)


@given(st.lists(st.binary(max_size=300)), st.integers(0, 300), st.integers(0, 400))
def test_binary_frame_exceeds_agrees_with_splitting(
    bodies: list[bytes], limit: int, cut: int
) -> None:
    data = b"".join(frame_binary(b) for b in bodies)
    data = data[: len(data) - min(cut, len(data))]  # the last frame(s) still arriving
    assert binary_frame_exceeds(bytearray(data), limit) is _naive_binary_exceeds(data, limit)


def test_each_protocol_checks_its_own_framing() -> None:
    assert JSON_PROTOCOL.exceeds(bytearray(b"abcd"), 3)
    assert not JSON_PROTOCOL.exceeds(bytearray(b"\x04ab"), 3)
    assert MESSAGEPACK_PROTOCOL.exceeds(bytearray(b"\x04ab"), 3)
    assert not MESSAGEPACK_PROTOCOL.exceeds(bytearray(b"\x03abc"), 3)
