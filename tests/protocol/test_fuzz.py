"""Hostile input: parsers return messages or raise ProtocolError — nothing
else, and they always finish."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from hubgen.protocol import (
    JSON_PROTOCOL,
    MESSAGEPACK_PROTOCOL,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HandshakeRequest,
    HandshakeResponse,
    HubProtocol,
    InvocationMessage,
    PingMessage,
    ProtocolError,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
    parse_handshake_request,
    parse_handshake_response,
)
from hubgen.protocol.framing import frame_binary, split_binary_frames
from hubgen.protocol.messages import HubMessage
from tests.protocol.strategies import (
    FUZZ,
    JSON_MESSAGES,
    JSON_VALUES,
    MSGPACK_MESSAGES,
    MSGPACK_VALUES,
)

_MESSAGE_CLASSES = (
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)


def check_parse(protocol: HubProtocol, data: bytes) -> None:
    """Parse ``data``; on success every result is a hub message and what stays
    in the buffer holds no complete frame."""
    buffer = bytearray(data)
    error: ProtocolError | None = None
    try:
        messages = protocol.parse(buffer)
    except ProtocolError as exc:
        error = exc
    if error is not None:
        assert str(error)  # a message a person can read
        return
    assert all(isinstance(m, _MESSAGE_CLASSES) for m in messages)
    if protocol is JSON_PROTOCOL:
        assert b"\x1e" not in buffer
    else:
        # Nothing complete is left behind (a bad prefix after the good frames
        # is reported by the next parse).
        with contextlib.suppress(ProtocolError):
            assert split_binary_frames(bytearray(buffer)) == []
    assert len(buffer) <= len(data)


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[bytes]) -> bytes:
    """Valid frames, then a few flipped, inserted, deleted or truncated bytes."""
    data = bytearray(draw(frames))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "insert" or not data:
            data.insert(position, draw(st.integers(0, 255)))
        elif action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            data[position] = draw(st.sampled_from([0x00, 0x1E, 0x7F, 0x80, 0xC0, 0xC1, 0xFF]))
        elif action == "delete":
            del data[position]
        else:
            del data[position:]
    return bytes(data)


def _batch(protocol: HubProtocol, messages: st.SearchStrategy[HubMessage]) -> Any:
    return st.lists(messages, min_size=1, max_size=3).map(
        lambda batch: b"".join(protocol.write(m) for m in batch)
    )


# --------------------------------------------------------------------------- JSON


@FUZZ
@given(st.binary(max_size=300))
def test_json_random_bytes(data: bytes) -> None:
    check_parse(JSON_PROTOCOL, data)
    check_parse(JSON_PROTOCOL, data + b"\x1e")


@FUZZ
@given(mutated(_batch(JSON_PROTOCOL, JSON_MESSAGES)))
def test_json_mutated_frames(data: bytes) -> None:
    check_parse(JSON_PROTOCOL, data)


_JSON_KEYS = st.sampled_from(
    [
        "type",
        "invocationId",
        "target",
        "arguments",
        "streamIds",
        "headers",
        "item",
        "result",
        "error",
        "allowReconnect",
        "sequenceId",
        "other",
    ]
)
_JSON_FIELD_VALUES = (
    st.integers(-2, 12) | JSON_VALUES | st.lists(st.text(max_size=3) | st.none(), max_size=3)
)


@FUZZ
@given(st.dictionaries(_JSON_KEYS, _JSON_FIELD_VALUES, max_size=7), st.integers(0, 10))
def test_json_objects_with_hub_fields(obj: dict[str, Any], kind: int) -> None:
    check_parse(JSON_PROTOCOL, json.dumps(obj).encode() + b"\x1e")
    check_parse(JSON_PROTOCOL, json.dumps({**obj, "type": kind}).encode() + b"\x1e")


# --------------------------------------------------------------------------- MessagePack


@FUZZ
@given(st.binary(max_size=300))
def test_messagepack_random_bytes(data: bytes) -> None:
    check_parse(MESSAGEPACK_PROTOCOL, data)
    check_parse(MESSAGEPACK_PROTOCOL, frame_binary(data))


@FUZZ
@given(mutated(_batch(MESSAGEPACK_PROTOCOL, MSGPACK_MESSAGES)))
def test_messagepack_mutated_frames(data: bytes) -> None:
    check_parse(MESSAGEPACK_PROTOCOL, data)


_ELEMENTS = (
    st.integers(-2, 12)
    | st.none()
    | st.text(max_size=3)
    | st.dictionaries(st.text(max_size=2) | st.integers(0, 3), st.text(max_size=2) | st.none())
    | st.lists(st.text(max_size=2) | st.none() | st.integers(0, 3), max_size=3)
    | MSGPACK_VALUES
)


@FUZZ
@given(st.integers(-1, 10), st.lists(_ELEMENTS, max_size=7))
def test_messagepack_arrays_with_hub_shapes(kind: int, rest: list[Any]) -> None:
    check_parse(
        MESSAGEPACK_PROTOCOL,
        frame_binary(msgpack.packb([kind, *rest], use_bin_type=True, datetime=True)),
    )


# --------------------------------------------------------------------------- handshake


def check_handshake(data: bytes) -> None:
    for parse, result_type in (
        (lambda b: parse_handshake_request(b, max_size=256), HandshakeRequest),
        (parse_handshake_response, HandshakeResponse),
    ):
        buffer = bytearray(data)
        error: ProtocolError | None = None
        try:
            result = parse(buffer)
        except ProtocolError as exc:
            error = exc
        if error is not None:
            assert str(error)
            continue
        if result is None:
            assert buffer == bytearray(data)
        else:
            assert isinstance(result, result_type)
            assert len(buffer) < len(data)


@FUZZ
@given(st.binary(max_size=400))
def test_handshake_random_bytes(data: bytes) -> None:
    check_handshake(data)
    check_handshake(data + b"\x1e")


@FUZZ
@given(
    mutated(
        st.sampled_from(
            [
                b'{"protocol":"json","version":1}\x1e',
                b'{"protocol":"messagepack","version":2}\x1e\x02\x91\x06',
                b'{}\x1e{"type":6}\x1e',
                b'{"error":"The protocol \'xml\' is not supported."}\x1e',
            ]
        )
    )
)
def test_handshake_mutated_records(data: bytes) -> None:
    check_handshake(data)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["protocol", "version", "error", "type", "x"]),
        st.integers(-2, 3) | JSON_VALUES,
        max_size=4,
    )
)
def test_handshake_objects(obj: dict[str, Any]) -> None:
    check_handshake(json.dumps(obj).encode() + b"\x1e")
