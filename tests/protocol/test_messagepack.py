"""The MessagePack hub protocol against byte vectors from the spec, the
JavaScript client and the .NET server, and every malformed-input rule."""

from __future__ import annotations

import enum
import math
import struct
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubgen.codec import WireFormat
from hubgen.protocol import (
    MESSAGEPACK_PROTOCOL,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    MessagePackHubProtocol,
    PingMessage,
    ProtocolError,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
    TransferFormat,
    get_protocol,
)
from hubgen.protocol.framing import frame_binary
from hubgen.protocol.messagepack import _read_invocation, _read_invocation_checked
from tests.protocol.strategies import FUZZ

PROTOCOL = MESSAGEPACK_PROTOCOL


def h(text: str) -> bytes:
    """Bytes from the spec's notation: ``0x96 0x01 ...`` or plain hex pairs."""
    return bytes.fromhex(text.replace("0x", "").replace(",", " "))


def parse_payload(payload: bytes) -> list[HubMessage]:
    buffer = bytearray(frame_binary(payload))
    messages = PROTOCOL.parse(buffer)
    assert buffer == bytearray()
    return messages


def parse_one(payload: bytes) -> HubMessage:
    messages = parse_payload(payload)
    assert len(messages) == 1
    return messages[0]


def packed(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def test_protocol_identity() -> None:
    assert PROTOCOL.name == "messagepack"
    assert PROTOCOL.version == 2
    assert PROTOCOL.transfer_format is TransferFormat.BINARY
    assert PROTOCOL.wire is WireFormat.MSGPACK
    assert isinstance(PROTOCOL, MessagePackHubProtocol)
    assert get_protocol("messagepack") is PROTOCOL


# --------------------------------------------------------------------------- HubProtocol.md

XYZ = "0xa3 0x78 0x79 0x7a"
METHOD = "0xa6 0x6d 0x65 0x74 0x68 0x6f 0x64"

# (payload as printed in the spec, message, whether we write exactly it)
SPEC_EXAMPLES: list[tuple[str, HubMessage, bool]] = [
    (
        f"0x96 0x01 0x80 {XYZ} {METHOD} 0x91 0x2a 0x90",
        InvocationMessage("method", [42], "xyz"),
        True,
    ),
    (f"0x96 0x01 0x80 0xc0 {METHOD} 0x91 0x2a 0x90", InvocationMessage("method", [42]), True),
    (
        f"0x96 0x04 0x80 {XYZ} {METHOD} 0x91 0x2a 0x90",
        StreamInvocationMessage("xyz", "method", [42]),
        True,
    ),
    (f"0x94 0x02 0x80 {XYZ} 0x2a", StreamItemMessage("xyz", 42), True),
    # The spec labels this one "0x94 - 4-element array" but prints 0x95, which
    # is right: the error string is a 5th element.
    (
        f"0x95 0x03 0x80 {XYZ} 0x01 0xa5 0x45 0x72 0x72 0x6f 0x72",
        CompletionMessage.with_error("xyz", "Error"),
        True,
    ),
    (f"0x94 0x03 0x80 {XYZ} 0x02", CompletionMessage.empty("xyz"), True),
    (f"0x95 0x03 0x80 {XYZ} 0x03 0x2a", CompletionMessage.with_result("xyz", 42), True),
    (f"0x93 0x05 0x80 {XYZ}", CancelInvocationMessage("xyz"), True),
    ("0x91 0x06", PingMessage(), True),
    # A 2-element Close (what clients send); a server writes all 3 elements.
    (f"0x92 0x07 {XYZ}", CloseMessage("xyz"), False),
    (f"0x93 0x07 {XYZ} 0xc3", CloseMessage("xyz", allow_reconnect=True), True),
    # "any unsigned int size is fine": we write the smallest.
    ("0x92 0x08 0xcc 0x24", AckMessage(36), False),
    ("0x92 0x09 0xcc 0x13", SequenceMessage(19), False),
    (
        f"0x96 0x01 0x82 0xa1 0x78 0xa1 0x79 0xa1 0x7a 0xa1 0x7a {XYZ} {METHOD} 0x91 0x2a 0x90",
        InvocationMessage("method", [42], "xyz", headers={"x": "y", "z": "z"}),
        True,
    ),
]


@pytest.mark.parametrize(("payload", "message", "exact"), SPEC_EXAMPLES)
def test_spec_examples(payload: str, message: HubMessage, exact: bool) -> None:
    assert parse_one(h(payload)) == message
    written = PROTOCOL.write(message)
    if exact:
        assert written == frame_binary(h(payload))
    assert PROTOCOL.parse(bytearray(written)) == [message]


def test_spec_writes_of_the_other_examples() -> None:
    assert PROTOCOL.write(CloseMessage("xyz")) == frame_binary(h(f"0x93 0x07 {XYZ} 0xc2"))
    assert PROTOCOL.write(AckMessage(36)) == h("03 92 08 24")
    assert PROTOCOL.write(SequenceMessage(19)) == h("03 92 09 13")


def test_the_mislabelled_spec_example_taken_literally_is_rejected() -> None:
    # A 4-element array cannot carry the error; the string after it is not
    # part of the message.
    with pytest.raises(ProtocolError, match="Invalid Completion message"):
        parse_one(h(f"0x94 0x03 0x80 {XYZ} 0x01 0xa5 0x45 0x72 0x72 0x6f 0x72"))


# --------------------------------------------------------------------------- JavaScript client


def s(text: str) -> str:
    """A short string's MessagePack bytes in hex (fixstr)."""
    return f"{0xA0 + len(text):02x} " + text.encode().hex(" ")


# Exact frames @microsoft/signalr-protocol-msgpack 10.0.11 sends.
CLIENT_BYTES: list[tuple[str, HubMessage]] = [
    ("0e 95 01 80 a1 30 a4 45 63 68 6f 91 a2 68 69", InvocationMessage("Echo", ["hi"], "0")),
    ("0d 95 01 80 c0 a4 45 63 68 6f 91 a2 68 69", InvocationMessage("Echo", ["hi"])),
    (
        f"19 96 01 80 a1 31 {s('StreamingConcat')} 90 91 a1 30",
        InvocationMessage("StreamingConcat", [], "1", ["0"]),
    ),
    (f"0d 95 04 80 a1 32 {s('Stream')} 90", StreamInvocationMessage("2", "Stream", [])),
    (f"0c 94 02 80 a1 30 {s('Hello ')}", StreamItemMessage("0", "Hello ")),
    ("06 94 03 80 a1 30 02", CompletionMessage.empty("0")),
    (
        f"14 95 03 80 a1 30 01 {s('Something bad')}",
        CompletionMessage.with_error("0", "Something bad"),
    ),
    ("07 95 03 80 a1 35 03 0a", CompletionMessage.with_result("5", 10)),
    ("07 95 03 80 a1 35 03 c0", CompletionMessage.with_result("5", None)),
    ("05 93 05 80 a1 32", CancelInvocationMessage("2")),
    ("02 91 06", PingMessage()),
    ("03 92 07 c0", CloseMessage()),
    ("03 92 08 03", AckMessage(3)),
    ("03 92 09 01", SequenceMessage(1)),
]


@pytest.mark.parametrize(("frame", "message"), CLIENT_BYTES)
def test_javascript_client_bytes(frame: str, message: HubMessage) -> None:
    buffer = bytearray(h(frame))
    assert PROTOCOL.parse(buffer) == [message]
    assert buffer == bytearray()


def test_javascript_client_batch_split_at_every_point() -> None:
    data = b"".join(h(frame) for frame, _ in CLIENT_BYTES)
    expected = [message for _, message in CLIENT_BYTES]
    for cut in range(len(data) + 1):
        buffer = bytearray(data[:cut])
        messages = PROTOCOL.parse(buffer)
        buffer += data[cut:]
        messages += PROTOCOL.parse(buffer)
        assert messages == expected
        assert buffer == bytearray()


# --------------------------------------------------------------------------- .NET server

SERVER_BYTES: list[tuple[HubMessage, str]] = [
    # A void hub method: "has a result, and it is nil".
    (CompletionMessage.with_result("0", None), "07 95 03 80 a1 30 03 c0"),
    # The end of a stream: no result.
    (CompletionMessage.empty("2"), "06 94 03 80 a1 32 02"),
    (CompletionMessage.with_error("0", "boom"), f"0b 95 03 80 a1 30 01 {s('boom')}"),
    (PingMessage(), "02 91 06"),
    (CloseMessage(), "04 93 07 c0 c2"),
    (CloseMessage(""), "04 93 07 c0 c2"),  # an empty error is written as nil
    (CloseMessage(allow_reconnect=True), "04 93 07 c0 c3"),
    (InvocationMessage("Message", ["x"]), f"10 96 01 80 c0 {s('Message')} 91 a1 78 90"),
    (
        InvocationMessage("Result", [], "7", headers={"a": "b"}),
        f"12 96 01 81 a1 61 a1 62 a1 37 {s('Result')} 90 90",
    ),
    (StreamItemMessage("2", "a"), "07 94 02 80 a1 32 a1 61"),
    (AckMessage(12), "03 92 08 0c"),
    (SequenceMessage(300), "05 92 09 cd 01 2c"),
]


@pytest.mark.parametrize(("message", "frame"), SERVER_BYTES)
def test_server_writes_exact_bytes(message: HubMessage, frame: str) -> None:
    assert PROTOCOL.write(message) == h(frame)


def test_write_uses_nil_for_an_empty_invocation_id_and_empty_arrays_for_no_streams() -> None:
    assert PROTOCOL.write(InvocationMessage("T", [], "", [], {})) == h(
        f"08 96 01 80 c0 {s('T')} 90 90"
    )


def test_error_wins_over_a_result_on_write() -> None:
    message = CompletionMessage("1", result=5, error="e", has_result=True)
    assert PROTOCOL.write(message) == h(f"08 95 03 80 a1 31 01 {s('e')}")


def test_write_refuses_what_is_not_a_hub_message() -> None:
    with pytest.raises(TypeError, match="not a hub message"):
        PROTOCOL.write(b"\x91\x06")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- values


def item_bytes(value: Any) -> bytes:
    """The packed item of a StreamItem written with ``value``."""
    frame = PROTOCOL.write(StreamItemMessage("1", value))
    prefix = h("94 02 80 a1 31")
    body = frame[1:] if frame[0] < 0x80 else frame[2:]
    assert body.startswith(prefix)
    return body[len(prefix) :]


def item_of(value_bytes: bytes) -> Any:
    message = parse_one(h("94 02 80 a1 31") + value_bytes)
    assert isinstance(message, StreamItemMessage)
    return message.item


def test_bytes_travel_as_bin() -> None:
    assert item_bytes(b"\x01\x02\x03") == h("c4 03 01 02 03")
    assert item_bytes(bytearray(b"\x01")) == h("c4 01 01")
    assert item_bytes(b"x" * 300)[:3] == h("c5 01 2c")
    assert item_of(h("c4 03 01 02 03")) == b"\x01\x02\x03"
    assert item_of(h("c5 00 01 ff")) == b"\xff"


def test_strings_and_numbers() -> None:
    assert item_bytes("h\u00e9") == h("a3 68 c3 a9")
    assert item_of(h("a3 68 c3 a9")) == "h\u00e9"
    assert item_bytes(255) == h("cc ff")
    assert item_bytes(-1) == h("ff")
    assert item_bytes(2**64 - 1) == h("cf ff ff ff ff ff ff ff ff")
    assert item_bytes(-(2**63)) == h("d3 80 00 00 00 00 00 00 00")
    assert item_bytes(1.5) == h("cb 3f f8 00 00 00 00 00 00")
    assert item_of(h("ca 3f c0 00 00")) == 1.5  # float32 from other writers
    assert item_bytes(True) == h("c3")
    assert item_bytes(None) == h("c0")
    assert item_bytes({"a": [1]}) == h("81 a1 61 91 01")
    assert math.isnan(item_of(item_bytes(math.nan)))  # MessagePack has NaN


def test_integers_out_of_range_are_refused_on_write() -> None:
    with pytest.raises(ValueError, match="out of MessagePack's range"):
        PROTOCOL.write(StreamItemMessage("1", 2**64))


def test_lone_surrogates_are_refused_on_write() -> None:
    # JSON can carry one (as a \u escape); MessagePack strings are UTF-8
    with pytest.raises(ValueError, match=r"lone surrogate \(U\+DC00 at index 3\)"):
        PROTOCOL.write(StreamItemMessage("1", {"key": ["abc\udc00"]}))


def test_values_without_a_messagepack_form_are_refused_on_write() -> None:
    with pytest.raises(TypeError, match="cannot write a value of type 'object' as MessagePack"):
        PROTOCOL.write(StreamItemMessage("1", object()))


def test_values_containing_themselves_are_refused_on_write() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="nested too deeply"):
        PROTOCOL.write(StreamItemMessage("1", cycle))


MOMENT = datetime(2002, 4, 1, 10, 20, 15, tzinfo=UTC)
MOMENT_SECONDS = 0x3CA8345F


def test_timestamp_32_bit_vector() -> None:
    # @msgpack/msgpack writes whole seconds in uint32 range as "d6 ff <u32>".
    assert item_bytes(MOMENT) == h("d6 ff 3c a8 34 5f")
    assert item_of(h("d6 ff 3c a8 34 5f")) == MOMENT


def test_timestamp_64_bit_vector() -> None:
    moment = MOMENT.replace(microsecond=123456)
    data64 = (123_456_000 << 34) | MOMENT_SECONDS
    encoded = h("d7 ff") + struct.pack(">Q", data64)
    assert item_bytes(moment) == encoded
    assert item_of(encoded) == moment


@pytest.mark.parametrize(
    ("moment", "nanoseconds", "seconds"),
    [
        (datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), 500_000_000, -1),
        (datetime(1, 1, 1, tzinfo=UTC), 0, -62_135_596_800),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 999_999_000, 253_402_300_799),
    ],
)
def test_timestamp_96_bit_vectors(moment: datetime, nanoseconds: int, seconds: int) -> None:
    encoded = h("c7 0c ff") + struct.pack(">Iq", nanoseconds, seconds)
    assert item_bytes(moment) == encoded
    decoded = item_of(encoded)
    assert decoded == moment
    assert decoded.tzinfo is UTC


def test_timestamps_decode_to_aware_utc_datetimes() -> None:
    decoded = item_of(h("d6 ff 00 00 00 00"))
    assert decoded == datetime(1970, 1, 1, tzinfo=UTC)
    assert decoded.utcoffset() == timedelta(0)


def test_naive_datetimes_are_written_as_utc() -> None:
    assert item_bytes(datetime(2002, 4, 1, 10, 20, 15)) == h("d6 ff 3c a8 34 5f")


def test_aware_datetimes_in_other_zones_keep_their_instant() -> None:
    local = datetime(2002, 4, 1, 12, 20, 15, tzinfo=timezone(timedelta(hours=2)))
    assert item_bytes(local) == h("d6 ff 3c a8 34 5f")


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (uuid.UUID("00010203-0405-0607-0706-050403020100"), "00010203-0405-0607-0706-050403020100"),
        (Decimal("1.50"), "1.50"),
        (Color.RED, "red"),
        (Level.HIGH, 3),
        (date(2020, 1, 2), "2020-01-02"),
        (time(1, 2, 3), "01:02:03"),
        (timedelta(days=1, seconds=5), "P1DT5S"),
        (frozenset({1}), [1]),
        ((1, "a"), [1, "a"]),
    ],
)
def test_rich_values_are_written_in_their_json_forms(value: Any, expected: Any) -> None:
    assert item_bytes(value) == packed(expected)


def test_other_extension_types_pass_through() -> None:
    assert item_of(h("d4 05 78")) == msgpack.ExtType(5, b"x")


# --------------------------------------------------------------------------- lenient reading


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # Elements after the ones a type uses are ignored.
        ([1, {}, "1", "T", [], [], "extra"], InvocationMessage("T", [], "1")),
        ([3, {}, "1", 2, "ignored"], CompletionMessage.empty("1")),
        ([6, {"a": "b"}, 1], PingMessage()),
        ([7, None, False, "extra"], CloseMessage()),
        ([8, 1, 2], AckMessage(1)),
        # An empty invocation id on an Invocation means "none".
        ([1, {}, "", "T", []], InvocationMessage("T", [])),
        # An empty stream-id array is no streams.
        ([4, {}, "1", "T", [1], []], StreamInvocationMessage("1", "T", [1])),
        ([4, {}, "1", "T", [1], ["a", "b"]], StreamInvocationMessage("1", "T", [1], ["a", "b"])),
        # An empty error is still an error.
        ([7, ""], CloseMessage("")),
        ([3, {}, "1", 1, ""], CompletionMessage.with_error("1", "")),
        ([2, {"k": "v"}, "1", None], StreamItemMessage("1", None, {"k": "v"})),
        ([9, 2**63 - 1], SequenceMessage(2**63 - 1)),
        ([8, -5], AckMessage(-5)),
    ],
)
def test_lenient_reading(value: list[Any], message: HubMessage) -> None:
    assert parse_one(packed(value)) == message


@pytest.mark.parametrize("kind", [0, 10, 99, -1, 2**40])
def test_unknown_message_types_are_skipped(kind: int) -> None:
    buffer = bytearray(frame_binary(packed([kind, "anything"])) + h("02 91 06"))
    assert PROTOCOL.parse(buffer) == [PingMessage()]
    assert buffer == bytearray()


def test_bytes_after_the_array_in_a_frame_are_ignored() -> None:
    assert parse_one(h("91 06 c0 c0")) == PingMessage()


def test_parse_without_a_complete_frame_consumes_nothing() -> None:
    buffer = bytearray(h("02 91"))
    assert PROTOCOL.parse(buffer) == []
    assert buffer == bytearray(h("02 91"))


# --------------------------------------------------------------------------- malformed input

MALFORMED: list[tuple[bytes, str]] = [
    # the frame itself
    (b"", "Error reading MessagePack: empty message."),
    (h("95 01"), "Error reading MessagePack: "),  # truncated array
    (h("c1"), "Error reading MessagePack: "),  # a reserved byte
    (h("91 a1 ff"), "Error reading MessagePack: "),  # invalid UTF-8
    (h("91 c7 03 ff 00 00 00"), "Error reading MessagePack: "),  # ext -1 of bad size
    (h("91") * 5000 + h("06"), "Error reading MessagePack: "),  # nested too deep
    (packed(6), "Invalid message: a hub message must be a MessagePack array."),
    (packed({"type": 6}), "Invalid message: a hub message must be a MessagePack array."),
    (packed([]), "Reading 'messageType' as Int32 failed."),
    (packed(["1"]), "Reading 'messageType' as Int32 failed."),
    (packed([True]), "Reading 'messageType' as Int32 failed."),
    (packed([6.0]), "Reading 'messageType' as Int32 failed."),
    # shapes
    (
        packed([1, {}, "1", "T"]),
        "Invalid Invocation message: expected at least 5 array elements, received 4.",
    ),
    (packed([4, {}, "1"]), "Invalid StreamInvocation message: expected at least 5"),
    (packed([2, {}, "1"]), "Invalid StreamItem message: expected at least 4"),
    (packed([3, {}, "1"]), "Invalid Completion message: expected at least 4"),
    (packed([3, {}, "1", 3]), "Invalid Completion message: expected at least 5"),
    (packed([3, {}, "1", 1]), "Invalid Completion message: expected at least 5"),
    (packed([5, {}]), "Invalid CancelInvocation message: expected at least 3"),
    (packed([7]), "Invalid Close message: expected at least 2"),
    (packed([8]), "Invalid Ack message: expected at least 2"),
    (packed([9]), "Invalid Sequence message: expected at least 2"),
    # headers
    (packed([1, None, "1", "T", []]), "Reading map length for 'headers' failed."),
    (packed([5, [], "1"]), "Reading map length for 'headers' failed."),
    (packed([5, {"a": "b", 1: "c"}, "1"]), "Reading 'headers[1].Key' as String failed."),
    (packed([5, {"a": 1}, "1"]), "Reading 'headers[0].Value' as String failed."),
    (packed([5, {"a": b"b"}, "1"]), "Reading 'headers[0].Value' as String failed."),
    (packed([5, {"": "b"}, "1"]), "Null or empty key in header."),
    (packed([5, {"a": ""}, "1"]), "Null or empty value in header."),
    (packed([5, {"a": None}, "1"]), "Null or empty value in header."),
    # Invocation
    (packed([1, {}, 5, "T", []]), "Reading 'invocationId' as String failed."),
    (packed([1, {}, b"1", "T", []]), "Reading 'invocationId' as String failed."),
    (packed([1, {}, "1", None, []]), "Null or empty target for Invocation message."),
    (packed([1, {}, "1", "", []]), "Null or empty target for Invocation message."),
    (packed([1, {}, "1", 5, []]), "Reading 'target' as String failed."),
    (packed([1, {}, "1", "T", {}]), "Reading array length for 'arguments' failed."),
    (packed([1, {}, "1", "T", None]), "Reading array length for 'arguments' failed."),
    (packed([1, {}, "1", "T", [], None]), "Reading array length for 'streamIds' failed."),
    (packed([1, {}, "1", "T", [], [None]]), "Null or empty value in streamIds received."),
    (packed([1, {}, "1", "T", [], ["a", ""]]), "Null or empty value in streamIds received."),
    (packed([1, {}, "1", "T", [], [1]]), "Reading 'streamIds[0]' as String failed."),
    # StreamInvocation
    (
        packed([4, {}, None, "T", []]),
        "Null or empty invocation ID for StreamInvocation message.",
    ),
    (packed([4, {}, "", "T", []]), "Null or empty invocation ID for StreamInvocation message."),
    (packed([4, {}, "1", "", []]), "Null or empty target for StreamInvocation message."),
    # StreamItem
    (packed([2, {}, None, 1]), "Null or empty invocation ID for StreamItem message."),
    (packed([2, {}, 1, 1]), "Reading 'invocationId' as String failed."),
    # Completion
    (packed([3, {}, None, 2]), "Null or empty invocation ID for Completion message."),
    (packed([3, {}, "1", "3", 1]), "Reading 'resultKind' as Int32 failed."),
    (packed([3, {}, "1", None]), "Reading 'resultKind' as Int32 failed."),
    (packed([3, {}, "1", 0]), "Invalid invocation result kind."),
    (packed([3, {}, "1", 4, 1]), "Invalid invocation result kind."),
    (packed([3, {}, "1", 1, None]), "Reading 'error' as String failed."),
    (packed([3, {}, "1", 1, 5]), "Reading 'error' as String failed."),
    # CancelInvocation
    (packed([5, {}, None]), "Null or empty invocation ID for CancelInvocation message."),
    # Close
    (packed([7, 5]), "Reading 'error' as String failed."),
    (packed([7, None, 1]), "Reading 'allowReconnect' as Boolean failed."),
    (packed([7, None, None]), "Reading 'allowReconnect' as Boolean failed."),
    # Ack and Sequence
    (packed([8, "1"]), "Reading 'sequenceId' as Int64 failed."),
    (packed([8, None]), "Reading 'sequenceId' as Int64 failed."),
    (packed([9, 1.0]), "Reading 'sequenceId' as Int64 failed."),
    (packed([9, False]), "Reading 'sequenceId' as Int64 failed."),
    (packed([9, 2**64 - 1]), "Reading 'sequenceId' as Int64 failed."),
]


@pytest.mark.parametrize(("payload", "error"), MALFORMED)
def test_malformed_input(payload: bytes, error: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        PROTOCOL.parse(bytearray(frame_binary(payload)))
    assert str(caught.value).startswith(error)


def test_a_bad_length_prefix_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match=r"^Messages over 2GB in size are not supported\.$"):
        PROTOCOL.parse(bytearray(h("ff ff ff ff 0f 91 06")))


@pytest.mark.parametrize(
    "value",
    [
        None,
        1,
        "x",
        "y" * 200,  # a two-byte length prefix
        [1, "a"],
        {"k": b"\x00"},
        datetime(2024, 1, 2, tzinfo=UTC),
        2**64,
        "lone \ud800",
        object(),
    ],
)
def test_write_result_is_write_of_a_completion_with_that_result(value: Any) -> None:
    message = CompletionMessage.with_result("7", value)
    try:
        expected: bytes | str = PROTOCOL.write(message)
    except (ValueError, TypeError) as exc:
        expected = f"{type(exc).__name__}: {exc}"
    try:
        actual: bytes | str = PROTOCOL.write_result("7", value)
    except (ValueError, TypeError) as exc:
        actual = f"{type(exc).__name__}: {exc}"
    assert actual == expected


_ANY = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3)
_ELEMENT = (
    _ANY
    | st.lists(_ANY, max_size=2)
    | st.dictionaries(st.text(max_size=2), _ANY, min_size=1, max_size=1)
    | st.sampled_from([{}, [], "", {"h": "v"}, ["s"], [None]])
)


@FUZZ
@given(
    changes=st.dictionaries(st.integers(1, 5), _ELEMENT, max_size=2),
    size=st.sampled_from([5, 6, 6, 6, 4, 7]),
)
def test_the_common_invocation_shape_reads_like_the_checked_path(
    changes: dict[int, Any], size: int
) -> None:
    """The common shape with one or two elements changed (and the array cut
    or lengthened): the fast path must read it as the checked one does."""
    message: list[Any] = [1, {}, "1", "Echo", ["x"], [], "extra"][:size]
    for index, value in changes.items():
        if index < size:
            message[index] = value

    def read(reader: Any) -> object:
        try:
            return reader(message)
        except ProtocolError as exc:
            return str(exc)

    assert read(_read_invocation) == read(_read_invocation_checked)
