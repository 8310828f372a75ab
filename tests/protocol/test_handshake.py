"""The handshake request and response records."""

from __future__ import annotations

import pytest

from hubgen.protocol import (
    HandshakeRequest,
    HandshakeResponse,
    ProtocolError,
    parse_handshake_request,
    parse_handshake_response,
    write_handshake_request,
    write_handshake_response,
)
from hubgen.protocol.handshake import DEFAULT_MAX_HANDSHAKE_SIZE

# --------------------------------------------------------------------------- request


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # What the JavaScript client sends.
        (b'{"protocol":"json","version":1}\x1e', HandshakeRequest("json", 1)),
        (b'{"protocol":"messagepack","version":1}\x1e', HandshakeRequest("messagepack", 1)),
        # With stateful reconnect over WebSockets.
        (b'{"protocol":"json","version":2}\x1e', HandshakeRequest("json", 2)),
        # HubProtocol.md's (pretty-printed) example.
        (
            b'{\n    "protocol": "messagepack",\n    "version": 1\n}\x1e',
            HandshakeRequest("messagepack", 1),
        ),
        # Order does not matter; other properties are skipped.
        (
            b'{"version":1,"minorVersion":0,"extra":{"a":[1]},"protocol":"json"}\x1e',
            HandshakeRequest("json", 1),
        ),
    ],
)
def test_parse_request(data: bytes, expected: HandshakeRequest) -> None:
    buffer = bytearray(data)
    assert parse_handshake_request(buffer) == expected
    assert buffer == bytearray()


def test_parse_request_waits_for_the_record_separator() -> None:
    buffer = bytearray(b'{"protocol":"json","version":1}')
    assert parse_handshake_request(buffer) is None
    assert buffer == bytearray(b'{"protocol":"json","version":1}')
    buffer += b"\x1e"
    assert parse_handshake_request(buffer) == HandshakeRequest("json", 1)


def test_parse_request_leaves_what_follows_it() -> None:
    # MessagePack messages may arrive in the same read as the (JSON) handshake.
    ping = b"\x02\x91\x06"
    buffer = bytearray(b'{"protocol":"messagepack","version":1}\x1e' + ping)
    assert parse_handshake_request(buffer) == HandshakeRequest("messagepack", 1)
    assert buffer == bytearray(ping)


def test_parse_request_split_at_every_point() -> None:
    data = b'{"protocol":"json","version":1}\x1e{"type":6}\x1e'
    for cut in range(len(data) + 1):
        buffer = bytearray(data[:cut])
        request = parse_handshake_request(buffer)
        if request is None:
            buffer += data[cut:]
            request = parse_handshake_request(buffer)
        else:
            buffer += data[cut:]
        assert request == HandshakeRequest("json", 1)
        assert buffer == bytearray(b'{"type":6}\x1e')


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"version":1}', "Missing required property 'protocol'."),
        (b'{"protocol":"json"}', "Missing required property 'version'."),
        (b'{"protocol":"json","version":null}', "Missing required property 'version'."),
        (b'{"protocol":null,"version":1}', "Expected 'protocol' to be of type String."),
        (b'{"protocol":1,"version":1}', "Expected 'protocol' to be of type String."),
        (b'{"protocol":"json","version":"1"}', "Expected 'version' to be of type Number."),
        (b'{"protocol":"json","version":true}', "Expected 'version' to be of type Number."),
        (b'{"protocol":"json","version":1.5}', "Expected 'version' to be of type Number."),
        (b'["json",1]', "Unexpected JSON Token Type 'Array'. Expected a JSON Object."),
        (b'"json"', "Unexpected JSON Token Type 'String'. Expected a JSON Object."),
        (b"null", "Unexpected JSON Token Type 'Null'. Expected a JSON Object."),
        (b"", "Error reading JSON: Expecting value: line 1 column 1 (char 0)."),
        (b'{"protocol":"json",', "Error reading JSON: Expecting property name enclosed in"),
        (b"\xff", "Error reading JSON: invalid UTF-8 at byte 0 (invalid start byte)."),
    ],
)
def test_parse_request_errors(data: bytes, error: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_handshake_request(bytearray(data + b"\x1e"))
    assert str(caught.value).startswith(error)


def test_request_size_limit() -> None:
    def request_of_size(size: int) -> bytes:
        head = b'{"protocol":"json","version":1,"pad":"'
        tail = b'"}\x1e'
        return head + b"x" * (size - len(head) - len(tail)) + tail

    exact = request_of_size(100)
    assert len(exact) == 100
    assert parse_handshake_request(bytearray(exact), max_size=100) == HandshakeRequest("json", 1)

    with pytest.raises(ProtocolError, match="exceeds the maximum message size of 100 bytes"):
        parse_handshake_request(bytearray(request_of_size(101)), max_size=100)

    # Without a separator, giving up as soon as more than max_size bytes wait.
    waiting = bytearray(b"{" + b" " * 99)
    assert parse_handshake_request(waiting, max_size=100) is None
    waiting += b" "
    with pytest.raises(ProtocolError, match="maximum"):
        parse_handshake_request(waiting, max_size=100)

    # No limit at all.
    large = request_of_size(DEFAULT_MAX_HANDSHAKE_SIZE * 2)
    with pytest.raises(ProtocolError, match="32768 bytes"):
        parse_handshake_request(bytearray(large))
    assert parse_handshake_request(bytearray(large), max_size=None) == HandshakeRequest("json", 1)


def test_write_request_is_what_the_javascript_client_sends() -> None:
    assert write_handshake_request("json") == b'{"protocol":"json","version":1}\x1e'
    assert write_handshake_request("messagepack", 2) == (
        b'{"protocol":"messagepack","version":2}\x1e'
    )


# --------------------------------------------------------------------------- response


def test_success_response_is_exactly_an_empty_object() -> None:
    assert write_handshake_response() == b"{}\x1e"
    assert write_handshake_response(None) == bytes.fromhex("7B 7D 1E")


def test_error_response() -> None:
    assert write_handshake_response("The protocol 'xml' is not supported.") == (
        b'{"error":"The protocol \'xml\' is not supported."}\x1e'
    )


def test_error_response_is_ascii() -> None:
    # The JavaScript client decodes a binary handshake response as Latin-1.
    data = write_handshake_response('naïve "quoted" \u2713')
    assert data == b'{"error":"na\\u00efve \\"quoted\\" \\u2713"}\x1e'
    assert data.isascii()
    buffer = bytearray(data)
    assert parse_handshake_response(buffer) == HandshakeResponse('naïve "quoted" \u2713')


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{}\x1e", HandshakeResponse()),
        (b'{"minorVersion":1}\x1e', HandshakeResponse()),  # older servers
        (b'{"error":"Handshake was canceled."}\x1e', HandshakeResponse("Handshake was canceled.")),
        (b'{"error":null}\x1e', HandshakeResponse()),
    ],
)
def test_parse_response(data: bytes, expected: HandshakeResponse) -> None:
    buffer = bytearray(data)
    assert parse_handshake_response(buffer) == expected
    assert buffer == bytearray()


def test_parse_response_leaves_the_hub_messages_that_follow() -> None:
    buffer = bytearray(b'{}\x1e{"type":6}\x1e')
    assert parse_handshake_response(buffer) == HandshakeResponse()
    assert buffer == bytearray(b'{"type":6}\x1e')


def test_parse_response_waits_for_the_record_separator() -> None:
    buffer = bytearray(b"{}")
    assert parse_handshake_response(buffer) is None
    assert buffer == bytearray(b"{}")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"type":6}', "Expected a handshake response from the server."),
        (
            b'{"type":1,"target":"x","arguments":[]}',
            "Expected a handshake response from the server.",
        ),
        (b'{"error":42}', "Expected 'error' to be of type String."),
        (b"[]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object."),
        (b"{", "Error reading JSON: Expecting property name enclosed in double quotes"),
    ],
)
def test_parse_response_errors(data: bytes, error: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_handshake_response(bytearray(data + b"\x1e"))
    assert str(caught.value).startswith(error)


def test_request_and_response_round_trip() -> None:
    for protocol, version in (("json", 1), ("messagepack", 2), ("x\u00e9", 0)):
        buffer = bytearray(write_handshake_request(protocol, version))
        assert parse_handshake_request(buffer) == HandshakeRequest(protocol, version)
    for error in (None, "", "boom", "\u2603"):
        buffer = bytearray(write_handshake_response(error))
        assert parse_handshake_response(buffer) == HandshakeResponse(error)
