"""The JSON hub protocol against byte vectors from the spec, the JavaScript
client and the .NET server, and every malformed-input rule."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubgen.codec import WireFormat
from hubgen.protocol import (
    JSON_PROTOCOL,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    JsonHubProtocol,
    PingMessage,
    ProtocolError,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
    TransferFormat,
    get_protocol,
)
from hubgen.protocol._jsontext import _read_object_json, dumps, read_object
from tests.protocol.strategies import FUZZ

RS = b"\x1e"


def parse_one(record: bytes) -> HubMessage:
    buffer = bytearray(record + RS)
    messages = JSON_PROTOCOL.parse(buffer)
    assert buffer == bytearray()
    assert len(messages) == 1
    return messages[0]


def test_protocol_identity() -> None:
    assert JSON_PROTOCOL.name == "json"
    assert JSON_PROTOCOL.version == 2
    assert JSON_PROTOCOL.transfer_format is TransferFormat.TEXT
    assert JSON_PROTOCOL.wire is WireFormat.JSON
    assert isinstance(JSON_PROTOCOL, JsonHubProtocol)
    assert get_protocol("json") is JSON_PROTOCOL
    assert get_protocol("JSON") is None
    assert get_protocol("xml") is None


# --------------------------------------------------------------------------- HubProtocol.md

# Every example of the spec's "JSON Encoding" section, exactly as printed
# there; and, for the ones a server writes, the compact bytes we write.
SPEC_EXAMPLES: list[tuple[str, str, HubMessage]] = [
    (
        """{
    "type": 1,
    "invocationId": "123",
    "target": "Send",
    "arguments": [
        42,
        "Test Message"
    ]
}""",
        '{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}',
        InvocationMessage("Send", [42, "Test Message"], "123"),
    ),
    (
        """{
    "type": 1,
    "target": "Send",
    "arguments": [
        42,
        "Test Message"
    ]
}""",
        '{"type":1,"target":"Send","arguments":[42,"Test Message"]}',
        InvocationMessage("Send", [42, "Test Message"]),
    ),
    (
        """{
    "type": 1,
    "invocationId": "123",
    "target": "Send",
    "arguments": [
        42
    ],
    "streamIds": [
        "1"
    ]
}""",
        '{"type":1,"invocationId":"123","target":"Send","arguments":[42],"streamIds":["1"]}',
        InvocationMessage("Send", [42], "123", ["1"]),
    ),
    (
        """{
    "type": 4,
    "invocationId": "123",
    "target": "Send",
    "arguments": [
        42,
        "Test Message"
    ]
}""",
        '{"type":4,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}',
        StreamInvocationMessage("123", "Send", [42, "Test Message"]),
    ),
    (
        """{
    "type": 2,
    "invocationId": "123",
    "item": 42
}""",
        '{"type":2,"invocationId":"123","item":42}',
        StreamItemMessage("123", 42),
    ),
    (
        """{
    "type": 3,
    "invocationId": "123"
}""",
        '{"type":3,"invocationId":"123"}',
        CompletionMessage.empty("123"),
    ),
    (
        """{
    "type": 3,
    "invocationId": "123",
    "result": 42
}""",
        '{"type":3,"invocationId":"123","result":42}',
        CompletionMessage.with_result("123", 42),
    ),
    (
        """{
    "type": 3,
    "invocationId": "123",
    "error": "It didn't work!"
}""",
        '{"type":3,"invocationId":"123","error":"It didn\'t work!"}',
        CompletionMessage.with_error("123", "It didn't work!"),
    ),
    (
        """{
    "type": 5,
    "invocationId": "123"
}""",
        '{"type":5,"invocationId":"123"}',
        CancelInvocationMessage("123"),
    ),
    (
        """{
    "type": 6
}""",
        '{"type":6}',
        PingMessage(),
    ),
    (
        """{
    "type": 7
}""",
        '{"type":7}',
        CloseMessage(),
    ),
    (
        """{
    "type": 7,
    "error": "Connection closed because of an error!"
}""",
        '{"type":7,"error":"Connection closed because of an error!"}',
        CloseMessage("Connection closed because of an error!"),
    ),
    (
        """{
    "type": 7,
    "error": "Connection closed because of an error!",
    "allowReconnect": true
}""",
        '{"type":7,"error":"Connection closed because of an error!","allowReconnect":true}',
        CloseMessage("Connection closed because of an error!", allow_reconnect=True),
    ),
    (
        """{
    "type": 8,
    "sequenceId": 1394
}""",
        '{"type":8,"sequenceId":1394}',
        AckMessage(1394),
    ),
    (
        """{
    "type": 9,
    "sequenceId": 1234
}""",
        '{"type":9,"sequenceId":1234}',
        SequenceMessage(1234),
    ),
    (
        """{
    "type": 1,
    "headers": {
        "Foo": "Bar"
    },
    "invocationId": "123",
    "target": "Send",
    "arguments": [
        42,
        "Test Message"
    ]
}""",
        '{"type":1,"headers":{"Foo":"Bar"},"invocationId":"123","target":"Send",'
        '"arguments":[42,"Test Message"]}',
        InvocationMessage("Send", [42, "Test Message"], "123", headers={"Foo": "Bar"}),
    ),
]


@pytest.mark.parametrize(("spec", "compact", "message"), SPEC_EXAMPLES)
def test_spec_examples(spec: str, compact: str, message: HubMessage) -> None:
    assert parse_one(spec.encode()) == message
    assert JSON_PROTOCOL.write(message) == compact.encode() + RS


def test_spec_completion_with_result_and_error_is_a_protocol_error() -> None:
    spec = b"""{
    "type": 3,
    "invocationId": "123",
    "result": 42,
    "error": "It didn't work!"
}"""
    with pytest.raises(
        ProtocolError, match=r"^The 'error' and 'result' properties are mutually exclusive\.$"
    ):
        parse_one(spec)


# --------------------------------------------------------------------------- JavaScript client

# The exact bytes @microsoft/signalr 10.0.11 sends (JSON.stringify keeps its
# insertion order, so "arguments" comes before "target").
CLIENT_BYTES: list[tuple[bytes, HubMessage]] = [
    (
        b'{"arguments":["hi"],"invocationId":"0","target":"Echo","type":1}',
        InvocationMessage("Echo", ["hi"], "0"),
    ),
    (b'{"arguments":["hi"],"target":"Echo","type":1}', InvocationMessage("Echo", ["hi"])),
    (
        b'{"arguments":[],"invocationId":"1","streamIds":["0"],"target":"StreamingConcat","type":1}',
        InvocationMessage("StreamingConcat", [], "1", ["0"]),
    ),
    (
        b'{"arguments":[],"invocationId":"2","target":"Stream","type":4}',
        StreamInvocationMessage("2", "Stream", []),
    ),
    (b'{"invocationId":"0","item":"Hello ","type":2}', StreamItemMessage("0", "Hello ")),
    (b'{"invocationId":"0","type":3}', CompletionMessage.empty("0")),
    (
        b'{"error":"Something bad","invocationId":"0","type":3}',
        CompletionMessage.with_error("0", "Something bad"),
    ),
    (b'{"invocationId":"5","result":10,"type":3}', CompletionMessage.with_result("5", 10)),
    (b'{"invocationId":"2","type":5}', CancelInvocationMessage("2")),
    (b'{"type":6}', PingMessage()),
    (b'{"type":7}', CloseMessage()),
    (b'{"type":8,"sequenceId":3}', AckMessage(3)),
    (b'{"type":9,"sequenceId":1}', SequenceMessage(1)),
]


@pytest.mark.parametrize(("data", "message"), CLIENT_BYTES)
def test_javascript_client_bytes(data: bytes, message: HubMessage) -> None:
    assert parse_one(data) == message


def test_javascript_client_batch_split_at_every_point() -> None:
    # The client's send queue concatenates messages; transports split anywhere.
    data = b"".join(record + RS for record, _ in CLIENT_BYTES)
    expected = [message for _, message in CLIENT_BYTES]
    assert JSON_PROTOCOL.parse(bytearray(data)) == expected
    for cut in range(len(data) + 1):
        buffer = bytearray(data[:cut])
        messages = JSON_PROTOCOL.parse(buffer)
        buffer += data[cut:]
        messages += JSON_PROTOCOL.parse(buffer)
        assert messages == expected
        assert buffer == bytearray()


# --------------------------------------------------------------------------- .NET server

SERVER_BYTES: list[tuple[HubMessage, bytes]] = [
    (InvocationMessage("Message", ["x"]), b'{"type":1,"target":"Message","arguments":["x"]}'),
    (
        InvocationMessage("Result", [], "dGhpcyBpcyBhIGd1aWQ"),
        b'{"type":1,"invocationId":"dGhpcyBpcyBhIGd1aWQ","target":"Result","arguments":[]}',
    ),
    (StreamItemMessage("2", "a"), b'{"type":2,"invocationId":"2","item":"a"}'),
    (StreamItemMessage("2", None), b'{"type":2,"invocationId":"2","item":null}'),
    (CompletionMessage.empty("2"), b'{"type":3,"invocationId":"2"}'),
    (CompletionMessage.with_result("0", "hi"), b'{"type":3,"invocationId":"0","result":"hi"}'),
    (CompletionMessage.with_result("0", None), b'{"type":3,"invocationId":"0","result":null}'),
    (CompletionMessage.with_error("0", "boom"), b'{"type":3,"invocationId":"0","error":"boom"}'),
    (PingMessage(), b'{"type":6}'),
    (CloseMessage(), b'{"type":7}'),
    (CloseMessage(allow_reconnect=True), b'{"type":7,"allowReconnect":true}'),
    (
        CloseMessage("Connection closed with an error.", allow_reconnect=True),
        b'{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
    ),
    (AckMessage(12), b'{"type":8,"sequenceId":12}'),
    (SequenceMessage(5), b'{"type":9,"sequenceId":5}'),
    (
        CompletionMessage("1", error="e", headers={"a": "b", "c": "d"}),
        b'{"type":3,"headers":{"a":"b","c":"d"},"invocationId":"1","error":"e"}',
    ),
    (
        StreamInvocationMessage("7", "S", [1, [2, {"k": None}]], ["8", "9"], {"h": "v"}),
        b'{"type":4,"headers":{"h":"v"},"invocationId":"7","target":"S",'
        b'"arguments":[1,[2,{"k":null}]],"streamIds":["8","9"]}',
    ),
    (
        CancelInvocationMessage("3", {"x": "y"}),
        b'{"type":5,"headers":{"x":"y"},"invocationId":"3"}',
    ),
]


@pytest.mark.parametrize(("message", "data"), SERVER_BYTES)
def test_server_writes_exact_bytes(message: HubMessage, data: bytes) -> None:
    assert JSON_PROTOCOL.write(message) == data + RS
    assert parse_one(data) == message


def test_write_leaves_out_empty_ids_and_headers() -> None:
    assert JSON_PROTOCOL.write(InvocationMessage("T", [], "", None, {})) == (
        b'{"type":1,"target":"T","arguments":[]}' + RS
    )


def test_error_wins_over_a_result_on_write() -> None:
    message = CompletionMessage("1", result=5, error="bad", has_result=True)
    assert JSON_PROTOCOL.write(message) == b'{"type":3,"invocationId":"1","error":"bad"}' + RS


def test_write_is_utf8_not_ascii_escaped() -> None:
    data = JSON_PROTOCOL.write(InvocationMessage("Send", ["h\u00e9llo \u2713 \U0001f600"]))
    assert data == '{"type":1,"target":"Send","arguments":["héllo ✓ 😀"]}'.encode() + RS


def test_record_separator_inside_a_string_is_escaped() -> None:
    data = JSON_PROTOCOL.write(InvocationMessage("Send", ["a\x1eb"]))
    assert data.count(RS) == 1
    assert parse_one(data[:-1]) == InvocationMessage("Send", ["a\x1eb"])


def test_lone_surrogates_are_written_as_escapes() -> None:
    data = JSON_PROTOCOL.write(InvocationMessage("Send", ["x\ud800y"]))
    assert data == b'{"type":1,"target":"Send","arguments":["x\\ud800y"]}' + RS
    assert parse_one(data[:-1]) == InvocationMessage("Send", ["x\ud800y"])


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1, {"x": math.nan}]])
def test_nan_and_infinity_are_refused_on_write(value: Any) -> None:
    with pytest.raises(ValueError, match="NaN and Infinity cannot be written in JSON"):
        JSON_PROTOCOL.write(CompletionMessage.with_result("1", value))


def test_values_without_a_json_form_are_refused_on_write() -> None:
    with pytest.raises(TypeError, match="cannot write a value of type 'object' as JSON"):
        JSON_PROTOCOL.write(StreamItemMessage("1", object()))


def test_values_containing_themselves_are_refused_on_write() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="nested too deeply"):
        JSON_PROTOCOL.write(StreamItemMessage("1", cycle))


def test_rich_values_are_written_in_their_json_forms() -> None:
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    values = [
        b"\x00\xff",
        moment,
        datetime(2000, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        uuid.UUID("00010203-0405-0607-0706-050403020100"),
        {1, 2},
    ]
    data = JSON_PROTOCOL.write(InvocationMessage("T", values))
    assert data == (
        b'{"type":1,"target":"T","arguments":["AP8=","2000-01-01T00:00:00Z",'
        b'"2000-01-01T02:00:00+02:00","00010203-0405-0607-0706-050403020100",[1,2]]}' + RS
    )


def test_write_refuses_what_is_not_a_hub_message() -> None:
    with pytest.raises(TypeError, match="not a hub message"):
        JSON_PROTOCOL.write("hello")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- lenient reading


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # Unknown properties are skipped, wherever they are.
        (
            b'{"x":{"y":[1]},"type":1,"target":"T","z":null,"arguments":[]}',
            InvocationMessage("T", []),
        ),
        # An empty invocation id means "none": fire-and-forget.
        (b'{"type":1,"invocationId":"","target":"T","arguments":[]}', InvocationMessage("T", [])),
        # null items and results are values.
        (b'{"type":2,"invocationId":"1","item":null}', StreamItemMessage("1", None)),
        (b'{"type":3,"invocationId":"1","result":null}', CompletionMessage.with_result("1", None)),
        # An empty headers object is no headers.
        (b'{"type":5,"invocationId":"1","headers":{}}', CancelInvocationMessage("1")),
        # Ping ignores everything else.
        (b'{"type":6,"headers":{"a":"b"},"invocationId":"x"}', PingMessage()),
        # An empty error is still an error.
        (b'{"type":7,"error":""}', CloseMessage("")),
        (b'{"type":7,"allowReconnect":false}', CloseMessage()),
        (b'{"type":3,"invocationId":"1","error":""}', CompletionMessage.with_error("1", "")),
        (b'{"type":8,"sequenceId":0}', AckMessage(0)),
        (b'{"type":9,"sequenceId":9223372036854775807}', SequenceMessage(2**63 - 1)),
        # Whitespace around the object.
        (b' \r\n\t{"type":6} \n', PingMessage()),
        # Duplicated properties: the last one wins, as with System.Text.Json.
        (b'{"type":5,"type":6}', PingMessage()),
        # Empty streamIds stay empty (the .NET reader keeps an empty array too).
        (
            b'{"type":1,"target":"T","arguments":[],"streamIds":[]}',
            InvocationMessage("T", [], stream_ids=[]),
        ),
    ],
)
def test_lenient_reading(data: bytes, message: HubMessage) -> None:
    assert parse_one(data) == message


@pytest.mark.parametrize("kind", [0, 10, 99, -1, 2**40])
def test_unknown_message_types_are_skipped(kind: int) -> None:
    buffer = bytearray(b'{"type":%d,"whatever":[1]}\x1e{"type":6}\x1e' % kind)
    assert JSON_PROTOCOL.parse(buffer) == [PingMessage()]
    assert buffer == bytearray()


def test_parse_without_a_complete_record_consumes_nothing() -> None:
    buffer = bytearray(b'{"type":6}')
    assert JSON_PROTOCOL.parse(buffer) == []
    assert buffer == bytearray(b'{"type":6}')


# --------------------------------------------------------------------------- malformed input

MALFORMED: list[tuple[bytes, str]] = [
    # the record itself
    (b"", "Error reading JSON: Expecting value: line 1 column 1 (char 0)."),
    (b"  ", "Error reading JSON: Expecting value: line 1 column 3 (char 2)."),
    (b'{"type":6', "Error reading JSON: Expecting ',' delimiter: line 1 column 10 (char 9)."),
    (b'{"type":6}{"type":6}', "Error reading JSON: Extra data: line 1 column 11 (char 10)."),
    (b'{"type":6,}', "Error reading JSON: "),  # the detail differs between Pythons
    (b"{'type':6}", "Error reading JSON: Expecting property name enclosed in double quotes"),
    (b'{"type":6,"x":NaN}', "Error reading JSON: NaN is not a valid JSON value."),
    (b'{"type":6,"x":Infinity}', "Error reading JSON: Infinity is not a valid JSON value."),
    (
        b'{"type":6,"x":"\xff"}',
        "Error reading JSON: invalid UTF-8 at byte 15 (invalid start byte).",
    ),
    (b"\xef\xbb\xbf{}", "Error reading JSON: "),  # no byte order mark
    (b'{"type":6,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "Error reading JSON: the value"),
    (b"[]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object."),
    (b"6", "Unexpected JSON Token Type 'Number'. Expected a JSON Object."),
    (b"true", "Unexpected JSON Token Type 'True'. Expected a JSON Object."),
    # type
    (b"{}", "Missing required property 'type'."),
    (b'{"type":null}', "Missing required property 'type'."),
    (b'{"type":"1"}', "Expected 'type' to be of type Number."),
    (b'{"type":true}', "Expected 'type' to be of type Number."),
    (b'{"type":[1]}', "Expected 'type' to be of type Number."),
    (b'{"type":1.5}', "Expected 'type' to be an integer."),
    (b'{"type":1e400}', "Expected 'type' to be an integer."),
    # Invocation
    (b'{"type":1,"arguments":[]}', "Missing required property 'target'."),
    (b'{"type":1,"target":"","arguments":[]}', "Missing required property 'target'."),
    (b'{"type":1,"target":"T"}', "Missing required property 'arguments'."),
    (b'{"type":1,"target":5,"arguments":[]}', "Expected 'target' to be of type String."),
    (b'{"type":1,"target":null,"arguments":[]}', "Expected 'target' to be of type String."),
    (b'{"type":1,"target":"T","arguments":{}}', "Expected 'arguments' to be of type Array."),
    (b'{"type":1,"target":"T","arguments":null}', "Expected 'arguments' to be of type Array."),
    (
        b'{"type":1,"invocationId":5,"target":"T","arguments":[]}',
        "Expected 'invocationId' to be of type String.",
    ),
    (
        b'{"type":1,"invocationId":null,"target":"T","arguments":[]}',
        "Expected 'invocationId' to be of type String.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"streamIds":"0"}',
        "Expected 'streamIds' to be of type Array.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"streamIds":[null]}',
        "Null value for 'streamIds' is not valid.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"streamIds":["0",1]}',
        "Expected 'streamIds' to contain only values of type String.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"headers":[]}',
        "Expected 'headers' to be of type Object.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"headers":null}',
        "Expected 'headers' to be of type Object.",
    ),
    (
        b'{"type":1,"target":"T","arguments":[],"headers":{"a":"b","c":1}}',
        "Expected header 'c' to be of type String.",
    ),
    # StreamInvocation
    (b'{"type":4,"target":"T","arguments":[]}', "Missing required property 'invocationId'."),
    (
        b'{"type":4,"invocationId":"","target":"T","arguments":[]}',
        "Missing required property 'invocationId'.",
    ),
    (b'{"type":4,"invocationId":"1","arguments":[]}', "Missing required property 'target'."),
    (
        b'{"type":4,"invocationId":"1","target":"","arguments":[]}',
        "Missing required property 'target'.",
    ),
    (b'{"type":4,"invocationId":"1","target":"T"}', "Missing required property 'arguments'."),
    (
        b'{"type":4,"invocationId":"1","target":"T","arguments":[],"headers":{"a":null}}',
        "Expected header 'a' to be of type String.",
    ),
    # StreamItem
    (b'{"type":2,"item":1}', "Missing required property 'invocationId'."),
    (b'{"type":2,"invocationId":"","item":1}', "Missing required property 'invocationId'."),
    (b'{"type":2,"invocationId":"1"}', "Missing required property 'item'."),
    # Completion
    (b'{"type":3}', "Missing required property 'invocationId'."),
    (b'{"type":3,"invocationId":""}', "Missing required property 'invocationId'."),
    (
        b'{"type":3,"invocationId":"1","result":null,"error":"e"}',
        "The 'error' and 'result' properties are mutually exclusive.",
    ),
    (b'{"type":3,"invocationId":"1","error":5}', "Expected 'error' to be of type String."),
    (b'{"type":3,"invocationId":"1","error":null}', "Expected 'error' to be of type String."),
    # CancelInvocation
    (b'{"type":5}', "Missing required property 'invocationId'."),
    (b'{"type":5,"invocationId":[]}', "Expected 'invocationId' to be of type String."),
    # Close
    (b'{"type":7,"error":false}', "Expected 'error' to be of type String."),
    (b'{"type":7,"allowReconnect":"true"}', "Expected 'allowReconnect' to be true or false."),
    (b'{"type":7,"allowReconnect":1}', "Expected 'allowReconnect' to be true or false."),
    (b'{"type":7,"allowReconnect":null}', "Expected 'allowReconnect' to be true or false."),
    # Ack and Sequence
    (b'{"type":8}', "Missing required property 'sequenceId'."),
    (b'{"type":9,"sequenceId":null}', "Missing required property 'sequenceId'."),
    (b'{"type":8,"sequenceId":"1"}', "Expected 'sequenceId' to be of type Number."),
    (b'{"type":8,"sequenceId":true}', "Expected 'sequenceId' to be of type Number."),
    (b'{"type":9,"sequenceId":1.5}', "Expected 'sequenceId' to be an integer."),
    (b'{"type":9,"sequenceId":18446744073709551616}', "Expected 'sequenceId' to fit in 64 bits."),
]


@pytest.mark.parametrize(("data", "error"), MALFORMED)
def test_malformed_input(data: bytes, error: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        JSON_PROTOCOL.parse(bytearray(data + RS))
    assert str(caught.value).startswith(error)
    assert isinstance(caught.value, ValueError)


# --------------------------------------------------------------------------- fast paths

# Values that the text-assembling writers must hand to the general encoder:
# lone surrogates (UTF-8 cannot carry them), the record separator (escaped),
# NaN (refused), and ordinary nested data.
_AWKWARD_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "a\x1eb", 'q"\\', "é€😀"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_AWKWARD_IDS = st.sampled_from(["1", "", "\ud800", 'a"b', "é"]) | st.text(max_size=4)


def _general(obj: dict[str, Any]) -> bytes | type[Exception]:
    """What the dict-and-dumps path writes for ``obj``, or the error it raises."""
    try:
        return dumps(obj, "\x1e")
    except (ValueError, TypeError) as exc:
        return type(exc)


def _fast(write: Any, *args: Any) -> bytes | type[Exception]:
    try:
        result: bytes = write(*args)
    except (ValueError, TypeError) as exc:
        return type(exc)
    return result


@FUZZ
@given(invocation_id=_AWKWARD_IDS, value=_AWKWARD_VALUES, target=st.text(min_size=1, max_size=4))
def test_fast_writers_agree_with_the_general_encoder(
    invocation_id: str, value: Any, target: str
) -> None:
    completion: dict[str, Any] = {"type": 3}
    item: dict[str, Any] = {"type": 2}
    invocation: dict[str, Any] = {"type": 1}
    if invocation_id:
        completion["invocationId"] = item["invocationId"] = invocation["invocationId"] = (
            invocation_id
        )
    completion["result"] = value
    item["item"] = value
    invocation["target"] = target
    invocation["arguments"] = [value]

    assert _fast(JSON_PROTOCOL.write_result, invocation_id, value) == _general(completion)
    assert _fast(
        JSON_PROTOCOL.write, CompletionMessage.with_result(invocation_id, value)
    ) == _general(completion)
    assert _fast(JSON_PROTOCOL.write, StreamItemMessage(invocation_id, value)) == _general(item)
    assert _fast(
        JSON_PROTOCOL.write, InvocationMessage(target, [value], invocation_id or None)
    ) == _general(invocation)


@pytest.mark.parametrize(
    "record",
    [
        b'{"type":1,"target":"T","arguments":[1],"invocationId":null}',
        b'{"type":1,"target":"","arguments":[]}',
        b'{"type":1,"target":"T","arguments":{}}',
        b'{"type":1,"target":5,"arguments":[]}',
        b'{"type":1,"target":"T","arguments":[],"headers":{"a":1}}',
        b'{"type":1,"target":"T","arguments":[],"streamIds":[null]}',
    ],
)
def test_an_invocation_off_the_common_shape_gets_the_full_checks(record: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_one(record)


def test_an_invocation_of_the_common_shape_reads_like_the_checked_path() -> None:
    assert parse_one(b'{"arguments":["x"],"invocationId":"7","target":"Echo","type":1}') == (
        InvocationMessage("Echo", ["x"], "7")
    )
    assert parse_one(b'{"type":1,"invocationId":"","target":"Echo","arguments":[]}') == (
        InvocationMessage("Echo", [], None)
    )
    assert parse_one(
        b'{"type":1,"target":"Up","arguments":[],"streamIds":["s"],"headers":{"h":"v"}}'
    ) == InvocationMessage("Up", [], None, ["s"], {"h": "v"})


# --------------------------------------------------------------------------- reading, fast


def _read(read: Any, record: bytes) -> tuple[str, str]:
    """What ``read`` makes of ``record``: the value's repr (which tells -0.0
    from 0.0 and shows NaN) or the error message."""
    try:
        return ("value", repr(read(record)))
    except ProtocolError as exc:
        return ("error", str(exc))


_JSON_TEXTS = st.builds(
    lambda value, ascii_only, indent: json.dumps(
        {"type": 1, "v": value}, ensure_ascii=ascii_only, indent=indent
    ).encode("utf-8", "surrogatepass"),
    _AWKWARD_VALUES | st.floats(allow_nan=False) | st.integers(min_value=-(2**80), max_value=2**80),
    st.booleans(),
    st.sampled_from([None, 0, 1]),
)


@FUZZ
@given(text=_JSON_TEXTS, cut=st.integers(min_value=0), byte=st.integers(0, 255))
def test_the_strict_parser_reads_what_json_reads_and_defers_the_rest(
    text: bytes, cut: int, byte: int
) -> None:
    """pydantic-core's parser answers first: where it gives a value, it must
    be the value :mod:`json` gives; everything else (lone surrogates, NaN,
    bytes that are not UTF-8, malformed text) must come out as :mod:`json`
    alone would read or refuse it."""
    assert _read(read_object, text) == _read(_read_object_json, text)
    position = cut % (len(text) + 1)
    for mutated in (
        text[:position],  # cut short
        text[:position] + bytes([byte]) + text[position + 1 :],  # one byte changed
        text[:position] + bytes([byte]) + text[position:],  # one byte inserted
    ):
        assert _read(read_object, mutated) == _read(_read_object_json, mutated), mutated


@pytest.mark.parametrize(
    "record",
    [
        b'{"a":"\\ud800"}',  # a lone surrogate escape: the strict parser refuses it
        b'{"\\udc00":1}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded in UTF-8
        b'{"a":1' + b"0" * 5000 + b"}",  # over Python's 4300 integer digits
        b"[" * 3000 + b"]" * 3000,
        b'{"a":1}x',
        b"\xef\xbb\xbf{}",
        b"[1]",
    ],
)
def test_records_the_strict_parser_refuses(record: bytes) -> None:
    assert _read(read_object, record) == _read(_read_object_json, record)


def test_a_lone_surrogate_escape_is_read_as_system_text_json_reads_it() -> None:
    assert read_object(b'{"a":"x\\ud800"}') == {"a": "x\ud800"}
