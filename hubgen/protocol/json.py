"""The JSON hub protocol: one UTF-8 JSON object per message, each followed by 0x1E.

Reading follows the .NET server (``JsonHubProtocol``):

* property order does not matter (the JavaScript client writes ``arguments``
  before ``target``); properties a message type does not use are skipped;
* messages of unknown type are skipped, so newer peers can add types;
* required properties and property types are checked, with the .NET error
  texts (``Missing required property 'type'.``,
  ``The 'error' and 'result' properties are mutually exclusive.``, ...);
* an empty ``invocationId`` on an Invocation means "no id" (fire-and-forget).

Writing follows the .NET property order — ``type``, ``headers`` (if any),
``invocationId`` (if any), then the rest — compact and UTF-8. Values are wire
values (see :mod:`hubgen.codec`); ``bytes`` are written as standard base64 and
other rich values (``datetime``, ``UUID``, ``Decimal``, enums) in their pydantic
JSON form. ``NaN`` and infinities raise :class:`ValueError`: JSON has no such
numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final

from hubgen.protocol._jsontext import dumps, encode_value, quote, read_object, text
from hubgen.protocol.base import HubProtocol, ProtocolError, TransferFormat
from hubgen.protocol.framing import RECORD_SEPARATOR, split_text_frames, text_frame_exceeds
from hubgen.protocol.messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from hubgen.wire import WireFormat

__all__ = ["JsonHubProtocol"]

_Object = dict[str, Any]

_MISSING: Final[Any] = object()
_RS: Final = RECORD_SEPARATOR.decode("ascii")
_PING_BYTES: Final = b'{"type":6}' + RECORD_SEPARATOR
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


# --------------------------------------------------------------------------- reading


def _missing(name: str) -> ProtocolError:
    return ProtocolError(f"Missing required property '{name}'.")


def _optional_string(obj: _Object, name: str) -> str | None:
    """A string property that may be absent (None); ``null`` is not a string."""
    value = obj.get(name, _MISSING)
    if value is _MISSING:
        return None
    if value.__class__ is not str:
        raise ProtocolError(f"Expected '{name}' to be of type String.")
    return value


def _required_id(obj: _Object) -> str:
    invocation_id = _optional_string(obj, "invocationId")
    if not invocation_id:
        raise _missing("invocationId")
    return invocation_id


def _arguments(obj: _Object) -> list[Any]:
    arguments = obj.get("arguments", _MISSING)
    if arguments is _MISSING:
        raise _missing("arguments")
    if arguments.__class__ is not list:
        raise ProtocolError("Expected 'arguments' to be of type Array.")
    return arguments


def _stream_ids(obj: _Object) -> list[str] | None:
    stream_ids = obj.get("streamIds", _MISSING)
    if stream_ids is _MISSING:
        return None
    if stream_ids.__class__ is not list:
        raise ProtocolError("Expected 'streamIds' to be of type Array.")
    for stream_id in stream_ids:
        if stream_id.__class__ is not str:
            if stream_id is None:
                raise ProtocolError("Null value for 'streamIds' is not valid.")
            raise ProtocolError("Expected 'streamIds' to contain only values of type String.")
    return stream_ids


def _headers(obj: _Object) -> dict[str, str] | None:
    headers = obj.get("headers", _MISSING)
    if headers is _MISSING:
        return None
    if headers.__class__ is not dict:
        raise ProtocolError("Expected 'headers' to be of type Object.")
    for name, value in headers.items():
        if value.__class__ is not str:
            raise ProtocolError(f"Expected header '{name}' to be of type String.")
    return headers or None


def _sequence_id(obj: _Object) -> int:
    value = obj.get("sequenceId")
    if value is None:
        raise _missing("sequenceId")
    if value.__class__ is not int:
        if value.__class__ is float:
            raise ProtocolError("Expected 'sequenceId' to be an integer.")
        raise ProtocolError("Expected 'sequenceId' to be of type Number.")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ProtocolError("Expected 'sequenceId' to fit in 64 bits.")
    return value


def _read_invocation(obj: _Object) -> InvocationMessage:
    # The shape of nearly every call, checked in one go; anything else (and
    # every error) takes the property-by-property path below.
    target = obj.get("target")
    arguments = obj.get("arguments")
    invocation_id = obj.get("invocationId", "")
    if (
        target.__class__ is str
        and target
        and arguments.__class__ is list
        and invocation_id.__class__ is str
        and "streamIds" not in obj
        and "headers" not in obj
    ):
        return InvocationMessage(target, arguments, invocation_id or None)
    return _read_invocation_checked(obj)


def _read_invocation_checked(obj: _Object) -> InvocationMessage:
    target = _optional_string(obj, "target")
    arguments = _arguments(obj)
    if not target:
        raise _missing("target")
    return InvocationMessage(
        target,
        arguments,
        _optional_string(obj, "invocationId") or None,
        _stream_ids(obj),
        _headers(obj),
    )


def _read_stream_invocation(obj: _Object) -> StreamInvocationMessage:
    target = _optional_string(obj, "target")
    if target is None:
        raise _missing("target")
    invocation_id = _required_id(obj)
    arguments = _arguments(obj)
    if not target:
        raise _missing("target")
    return StreamInvocationMessage(
        invocation_id, target, arguments, _stream_ids(obj), _headers(obj)
    )


def _read_stream_item(obj: _Object) -> StreamItemMessage:
    invocation_id = _required_id(obj)
    item = obj.get("item", _MISSING)
    if item is _MISSING:
        raise _missing("item")
    return StreamItemMessage(invocation_id, item, _headers(obj))


def _read_completion(obj: _Object) -> CompletionMessage:
    invocation_id = _required_id(obj)
    error = _optional_string(obj, "error")
    result = obj.get("result", _MISSING)
    has_result = result is not _MISSING
    if has_result:
        if error is not None:
            raise ProtocolError("The 'error' and 'result' properties are mutually exclusive.")
    else:
        result = None
    return CompletionMessage(invocation_id, result, error, has_result, _headers(obj))


def _read_cancel_invocation(obj: _Object) -> CancelInvocationMessage:
    return CancelInvocationMessage(_required_id(obj), _headers(obj))


def _read_ping(obj: _Object) -> PingMessage:
    return PING


def _read_close(obj: _Object) -> CloseMessage:
    error = _optional_string(obj, "error")
    allow_reconnect = obj.get("allowReconnect", False)
    if allow_reconnect.__class__ is not bool:
        raise ProtocolError("Expected 'allowReconnect' to be true or false.")
    return CloseMessage(error, allow_reconnect)


def _read_ack(obj: _Object) -> AckMessage:
    return AckMessage(_sequence_id(obj))


def _read_sequence(obj: _Object) -> SequenceMessage:
    return SequenceMessage(_sequence_id(obj))


_READERS: Final[dict[int, Callable[[_Object], HubMessage]]] = {
    1: _read_invocation,
    2: _read_stream_item,
    3: _read_completion,
    4: _read_stream_invocation,
    5: _read_cancel_invocation,
    6: _read_ping,
    7: _read_close,
    8: _read_ack,
    9: _read_sequence,
}


# --------------------------------------------------------------------------- writing


# The writers below assemble the common messages (no headers) as text around
# the encoded values, which skips building a dict only to encode it. Any
# error (NaN, a value with no JSON form, a lone surrogate that UTF-8 cannot
# carry) falls back to the dict-and-dumps path, which writes what can be
# written (surrogates as \u escapes) and explains what cannot.
_FALLBACK: Final = (ValueError, TypeError, RecursionError)


def _write_invocation(message: InvocationMessage | StreamInvocationMessage) -> bytes:
    """Invocation (type 1) and StreamInvocation (type 4) share one layout."""
    if message.headers or message.stream_ids is not None:
        return _write_invocation_object(message)
    invocation_id = message.invocation_id
    try:
        if invocation_id:
            head = f'{{"type":{int(message.type)},"invocationId":{quote(invocation_id)},'
        else:
            head = f'{{"type":{int(message.type)},'
        return (
            f'{head}"target":{quote(message.target)},"arguments":{text(message.arguments)}}}{_RS}'
        ).encode()
    except _FALLBACK:
        return _write_invocation_object(message)


def _write_invocation_object(message: InvocationMessage | StreamInvocationMessage) -> bytes:
    obj: _Object = {"type": int(message.type)}
    if message.headers:
        obj["headers"] = message.headers
    if message.invocation_id:
        obj["invocationId"] = message.invocation_id
    obj["target"] = message.target
    obj["arguments"] = message.arguments
    if message.stream_ids is not None:
        obj["streamIds"] = message.stream_ids
    return dumps(obj, _RS)


def _write_stream_item(message: StreamItemMessage) -> bytes:
    if message.headers or not message.invocation_id:
        return _write_stream_item_object(message)
    try:
        return (
            f'{{"type":2,"invocationId":{quote(message.invocation_id)},'
            f'"item":{text(message.item)}}}{_RS}'
        ).encode()
    except _FALLBACK:
        return _write_stream_item_object(message)


def _write_stream_item_object(message: StreamItemMessage) -> bytes:
    obj: _Object = {"type": 2}
    if message.headers:
        obj["headers"] = message.headers
    if message.invocation_id:
        obj["invocationId"] = message.invocation_id
    obj["item"] = message.item
    return dumps(obj, _RS)


def _write_result(invocation_id: str, result: Any) -> bytes:
    """A Completion with a result and no headers (the reply to most calls)."""
    if invocation_id:
        try:
            value = quote(result) if result.__class__ is str else encode_value(result)
            return (
                f'{{"type":3,"invocationId":{quote(invocation_id)},"result":{value}}}{_RS}'.encode()
            )
        except _FALLBACK:
            pass
    return _write_completion_object(CompletionMessage(invocation_id, result, None, True))


def _write_completion(message: CompletionMessage) -> bytes:
    if message.has_result and message.error is None and not message.headers:
        return _write_result(message.invocation_id, message.result)
    return _write_completion_object(message)


def _write_completion_object(message: CompletionMessage) -> bytes:
    obj: _Object = {"type": 3}
    if message.headers:
        obj["headers"] = message.headers
    if message.invocation_id:
        obj["invocationId"] = message.invocation_id
    if message.error is not None:
        obj["error"] = message.error
    elif message.has_result:
        obj["result"] = message.result
    return dumps(obj, _RS)


def _write_cancel_invocation(message: CancelInvocationMessage) -> bytes:
    obj: _Object = {"type": 5}
    if message.headers:
        obj["headers"] = message.headers
    if message.invocation_id:
        obj["invocationId"] = message.invocation_id
    return dumps(obj, _RS)


def _write_ping(message: PingMessage) -> bytes:
    return _PING_BYTES


def _write_close(message: CloseMessage) -> bytes:
    obj: _Object = {"type": 7}
    if message.error is not None:
        obj["error"] = message.error
    if message.allow_reconnect:
        obj["allowReconnect"] = True
    return dumps(obj, _RS)


def _write_ack(message: AckMessage) -> bytes:
    return dumps({"type": 8, "sequenceId": message.sequence_id}, _RS)


def _write_sequence(message: SequenceMessage) -> bytes:
    return dumps({"type": 9, "sequenceId": message.sequence_id}, _RS)


_WRITERS: Final[dict[type, Callable[[Any], bytes]]] = {
    InvocationMessage: _write_invocation,
    StreamInvocationMessage: _write_invocation,
    StreamItemMessage: _write_stream_item,
    CompletionMessage: _write_completion,
    CancelInvocationMessage: _write_cancel_invocation,
    PingMessage: _write_ping,
    CloseMessage: _write_close,
    AckMessage: _write_ack,
    SequenceMessage: _write_sequence,
}


# --------------------------------------------------------------------------- protocol


class JsonHubProtocol(HubProtocol):
    """The ``json`` hub protocol (version 2, text transfer format)."""

    name: ClassVar[str] = "json"
    version: ClassVar[int] = 2
    transfer_format: ClassVar[TransferFormat] = TransferFormat.TEXT
    wire: ClassVar[WireFormat] = WireFormat.JSON

    def parse(self, buffer: bytearray) -> list[HubMessage]:
        """Remove every complete record from the front of ``buffer`` and
        return its messages (unknown message types skipped). Raises
        :class:`ProtocolError` on the first malformed record; the connection
        cannot continue after that."""
        records = split_text_frames(buffer)
        if not records:
            return []
        messages: list[HubMessage] = []
        for record in records:
            obj = read_object(record)
            kind = obj.get("type")
            if kind.__class__ is not int:
                if kind is None:
                    raise _missing("type")
                if kind.__class__ is float:
                    raise ProtocolError("Expected 'type' to be an integer.")
                raise ProtocolError("Expected 'type' to be of type Number.")
            reader = _READERS.get(kind)
            if reader is not None:  # unknown types are skipped
                messages.append(reader(obj))
        return messages

    def write(self, message: HubMessage) -> bytes:
        """``message`` as a JSON record, record separator included. Raises
        :class:`ValueError` for NaN/Infinity and :class:`TypeError` for values
        with no JSON form."""
        try:
            writer = _WRITERS[message.__class__]
        except KeyError:
            raise TypeError(f"not a hub message: {message!r}") from None
        return writer(message)

    exceeds = staticmethod(text_frame_exceeds)
    write_result = staticmethod(_write_result)
