"""Write then parse, for every message type and both protocols; batching and
partial input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubgen.protocol import (
    JSON_PROTOCOL,
    MESSAGEPACK_PROTOCOL,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    HubProtocol,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from tests.protocol.strategies import FUZZ, JSON_MESSAGES, MSGPACK_MESSAGES

PROTOCOLS = [JSON_PROTOCOL, MESSAGEPACK_PROTOCOL]

EVERY_TYPE: list[HubMessage] = [
    InvocationMessage("Send", ["a", 1, 2.5, None, True, [1, {"k": "v"}]]),
    InvocationMessage("Send", [], "1", ["2", "3"], {"h": "v"}),
    StreamInvocationMessage("4", "Ticker", ["MSFT"], ["5"], {"a": "b"}),
    StreamItemMessage("4", {"price": 1.25}),
    StreamItemMessage("4", None, {"x": "y"}),
    CompletionMessage.with_result("1", [1, 2, 3]),
    CompletionMessage.with_result("1", None),
    CompletionMessage.with_error("1", "It didn't work!"),
    CompletionMessage.empty("4"),
    CompletionMessage("4", headers={"h": "v"}),
    CancelInvocationMessage("4"),
    PingMessage(),
    CloseMessage(),
    CloseMessage("bye", allow_reconnect=True),
    AckMessage(1394),
    SequenceMessage(1234),
]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
@pytest.mark.parametrize("message", EVERY_TYPE, ids=lambda m: type(m).__name__)
def test_every_message_type_round_trips(protocol: HubProtocol, message: HubMessage) -> None:
    buffer = bytearray(protocol.write(message))
    assert protocol.parse(buffer) == [message]
    assert buffer == bytearray()


def test_messagepack_round_trips_bytes_and_datetimes() -> None:
    message = InvocationMessage("T", [b"\x00\x01", datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC)])
    assert MESSAGEPACK_PROTOCOL.parse(bytearray(MESSAGEPACK_PROTOCOL.write(message))) == [message]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_a_batch_split_at_every_point_yields_the_same_messages(protocol: HubProtocol) -> None:
    data = b"".join(protocol.write(message) for message in EVERY_TYPE)
    assert protocol.parse(bytearray(data)) == EVERY_TYPE
    for cut in range(len(data) + 1):
        buffer = bytearray(data[:cut])
        parsed = protocol.parse(buffer)
        buffer += data[cut:]
        parsed += protocol.parse(buffer)
        assert parsed == EVERY_TYPE
        assert buffer == bytearray()


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_a_batch_fed_byte_by_byte_yields_the_same_messages(protocol: HubProtocol) -> None:
    data = b"".join(protocol.write(message) for message in EVERY_TYPE)
    buffer = bytearray()
    parsed: list[HubMessage] = []
    for byte in data:
        buffer.append(byte)
        parsed += protocol.parse(buffer)
    assert parsed == EVERY_TYPE
    assert buffer == bytearray()


def test_large_messages_round_trip() -> None:
    # Long enough for 3-byte length prefixes and multi-chunk JSON.
    message = StreamItemMessage("1", ["x" * 1000] * 100)
    for protocol in PROTOCOLS:
        assert protocol.parse(bytearray(protocol.write(message))) == [message]


def _feed(protocol: HubProtocol, data: bytes, cuts: list[int]) -> list[HubMessage]:
    buffer = bytearray()
    parsed: list[HubMessage] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        buffer += data[start:cut]
        start = max(start, cut)
        parsed += protocol.parse(buffer)
    assert buffer == bytearray()
    return parsed


@FUZZ
@given(st.lists(JSON_MESSAGES, max_size=5), st.data())
def test_json_round_trip_property(batch: list[HubMessage], data: st.DataObject) -> None:
    wire = b"".join(JSON_PROTOCOL.write(message) for message in batch)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=4))
    assert _feed(JSON_PROTOCOL, wire, cuts) == batch


@FUZZ
@given(st.lists(MSGPACK_MESSAGES, max_size=5), st.data())
def test_messagepack_round_trip_property(batch: list[HubMessage], data: st.DataObject) -> None:
    wire = b"".join(MESSAGEPACK_PROTOCOL.write(message) for message in batch)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=4))
    assert _feed(MESSAGEPACK_PROTOCOL, wire, cuts) == batch
