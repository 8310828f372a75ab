"""The MessagePack hub protocol: each message a MessagePack array, VarInt-length-prefixed.

Array layouts (``HubProtocol.md``, "MessagePack Encoding"; the .NET
``MessagePackHubProtocolWorker`` and the JavaScript client agree)::

    Invocation        [1, headers, invocationId | nil, target, [args], [streamIds]]
    StreamItem        [2, headers, invocationId, item]
    Completion        [3, headers, invocationId, 1, error]      error
                      [3, headers, invocationId, 2]             no result
                      [3, headers, invocationId, 3, result]     result (may be nil)
    StreamInvocation  [4, headers, invocationId, target, [args], [streamIds]]
    CancelInvocation  [5, headers, invocationId]
    Ping              [6]                                       always 91 06
    Close             [7, error | nil, allowReconnect]
    Ack / Sequence    [8 | 9, sequenceId]

Reading is as lenient as the .NET server: Invocations and StreamInvocations
may have 5 elements (the JavaScript client leaves out an empty stream-id
array), Close may have 2, elements after the ones a type uses are ignored, an
empty invocation id on an Invocation means "none" (fire-and-forget), and
messages of unknown type are skipped. Anything else malformed raises
:class:`ProtocolError` with the .NET text where there is one.

Writing always produces the full shapes: 6-element invocations (an empty
stream-id array when there are none) and 3-element Close messages.

Values: ``bytes`` travel as ``bin`` and ``str`` as ``str``. Datetimes use the
timestamp extension (type -1, the smallest of its three encodings), which
JavaScript turns into ``Date``; **naive datetimes are taken to be UTC**. Every
timestamp read, whichever encoding, becomes an aware UTC ``datetime``. Other
rich values a codec may hand over in MessagePack mode — ``UUID``, ``Decimal``,
enums, ``date``, ``time``, ``timedelta``, sets — are written in their JSON
forms (as :func:`pydantic_core.to_jsonable_python` renders them), exactly as
the JSON protocol would write them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import msgpack
from pydantic_core import PydanticSerializationError, to_jsonable_python

from hubgen.protocol.base import HubProtocol, ProtocolError, TransferFormat
from hubgen.protocol.framing import binary_frame_exceeds, frame_binary, split_binary_frames
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

__all__ = ["MessagePackHubProtocol"]

_ERROR_RESULT: Final = 1
_VOID_RESULT: Final = 2
_NON_VOID_RESULT: Final = 3
_PING_BYTES: Final = b"\x02\x91\x06"
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


# --------------------------------------------------------------------------- values


def _pack_default(value: Any) -> Any:
    """What to pack for values msgpack has no native encoding for."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return msgpack.Timestamp.from_datetime(value)
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise TypeError(
            f"cannot write a value of type {type(value).__name__!r} as MessagePack; "
            "encode it with a hubgen.codec.Codec first"
        ) from exc


class _Packers(threading.local):
    """One reusable packer per thread (a packer is not safe to share)."""

    def __init__(self) -> None:
        self.pack: Callable[[Any], bytes] = msgpack.Packer(
            default=_pack_default, use_bin_type=True, datetime=False
        ).pack


_packers: Final = _Packers()


def _frame(message: list[Any]) -> bytes:
    try:
        body = _packers.pack(message)
    except OverflowError as exc:
        raise ValueError("an integer is out of MessagePack's range (-2**63 to 2**64 - 1)") from exc
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"a string holds a lone surrogate (U+{ord(exc.object[exc.start]):04X} at index "
            f"{exc.start}), which MessagePack cannot carry: its strings are UTF-8"
        ) from exc
    except ValueError as exc:
        if "recursion" in str(exc):
            raise ValueError(
                "the value is nested too deeply to be written as MessagePack, or contains itself"
            ) from exc
        raise
    return frame_binary(body)


#: ``msgpack.unpackb`` with hubgen's options bound once (str keys and values,
#: timestamps as datetimes, maps with any keys).
_unpackb: Final = functools.partial(msgpack.unpackb, raw=False, timestamp=3, strict_map_key=False)


def _unpack(frame: bytes) -> Any:
    try:
        return _unpackb(frame)
    except msgpack.ExtraData as extra:
        # Like the .NET reader, ignore bytes after the message's array.
        return extra.unpacked
    except Exception as exc:  # msgpack raises many types for malformed input
        detail = str(exc) or type(exc).__name__
        raise ProtocolError(f"Error reading MessagePack: {detail}.") from exc


# --------------------------------------------------------------------------- reading


def _require_length(message: list[Any], count: int, name: str) -> None:
    if len(message) < count:
        raise ProtocolError(
            f"Invalid {name} message: expected at least {count} array elements, "
            f"received {len(message)}."
        )


def _string(value: Any, field: str) -> str | None:
    """A string element that may be nil."""
    if value.__class__ is str or value is None:
        return value
    raise ProtocolError(f"Reading '{field}' as String failed.")


def _required_string(value: Any, field: str, what: str) -> str:
    text = _string(value, field)
    if not text:
        raise ProtocolError(f"Null or empty {what}.")
    return text


def _headers(value: Any) -> dict[str, str] | None:
    if value.__class__ is not dict:
        raise ProtocolError("Reading map length for 'headers' failed.")
    if not value:
        return None
    for index, (key, item) in enumerate(value.items()):
        _required_string(key, f"headers[{index}].Key", "key in header")
        _required_string(item, f"headers[{index}].Value", "value in header")
    return value


def _array(value: Any, field: str) -> list[Any]:
    if value.__class__ is not list:
        raise ProtocolError(f"Reading array length for '{field}' failed.")
    return value


def _stream_ids(message: list[Any]) -> list[str] | None:
    if len(message) <= 5:
        return None
    stream_ids = _array(message[5], "streamIds")
    for index, stream_id in enumerate(stream_ids):
        _required_string(stream_id, f"streamIds[{index}]", "value in streamIds received")
    return stream_ids or None


def _integer(value: Any, field: str, kind: str) -> int:
    if value.__class__ is not int:
        raise ProtocolError(f"Reading '{field}' as {kind} failed.")
    return value


def _read_invocation(message: list[Any]) -> InvocationMessage:
    # The shape of nearly every call, checked in one go: no headers, a string
    # id or nil, a target, arguments, and no stream ids (absent or empty, as
    # the JavaScript client sends them). Anything else, and every error,
    # takes the element-by-element path below.
    size = len(message)
    if size == 6:
        stream_ids = message[5]
        common = stream_ids.__class__ is list and not stream_ids
    else:
        common = size == 5
    if common:
        headers = message[1]
        invocation_id = message[2]
        target = message[3]
        arguments = message[4]
        if (
            headers.__class__ is dict
            and not headers
            and (invocation_id is None or invocation_id.__class__ is str)
            and target.__class__ is str
            and target
            and arguments.__class__ is list
        ):
            return InvocationMessage(target, arguments, invocation_id or None)
    return _read_invocation_checked(message)


def _read_invocation_checked(message: list[Any]) -> InvocationMessage:
    _require_length(message, 5, "Invocation")
    headers = _headers(message[1])
    invocation_id = _string(message[2], "invocationId") or None
    target = _required_string(message[3], "target", "target for Invocation message")
    arguments = _array(message[4], "arguments")
    return InvocationMessage(target, arguments, invocation_id, _stream_ids(message), headers)


def _read_stream_invocation(message: list[Any]) -> StreamInvocationMessage:
    _require_length(message, 5, "StreamInvocation")
    headers = _headers(message[1])
    invocation_id = _required_string(
        message[2], "invocationId", "invocation ID for StreamInvocation message"
    )
    target = _required_string(message[3], "target", "target for StreamInvocation message")
    arguments = _array(message[4], "arguments")
    return StreamInvocationMessage(invocation_id, target, arguments, _stream_ids(message), headers)


def _read_stream_item(message: list[Any]) -> StreamItemMessage:
    _require_length(message, 4, "StreamItem")
    headers = _headers(message[1])
    invocation_id = _required_string(
        message[2], "invocationId", "invocation ID for StreamItem message"
    )
    return StreamItemMessage(invocation_id, message[3], headers)


def _read_completion(message: list[Any]) -> CompletionMessage:
    _require_length(message, 4, "Completion")
    headers = _headers(message[1])
    invocation_id = _required_string(
        message[2], "invocationId", "invocation ID for Completion message"
    )
    kind = _integer(message[3], "resultKind", "Int32")
    if kind == _VOID_RESULT:
        return CompletionMessage(invocation_id, headers=headers)
    if kind == _NON_VOID_RESULT:
        _require_length(message, 5, "Completion")
        return CompletionMessage(invocation_id, message[4], None, True, headers)
    if kind == _ERROR_RESULT:
        _require_length(message, 5, "Completion")
        if message[4].__class__ is not str:
            raise ProtocolError("Reading 'error' as String failed.")
        return CompletionMessage(invocation_id, None, message[4], False, headers)
    raise ProtocolError("Invalid invocation result kind.")


def _read_cancel_invocation(message: list[Any]) -> CancelInvocationMessage:
    _require_length(message, 3, "CancelInvocation")
    headers = _headers(message[1])
    invocation_id = _required_string(
        message[2], "invocationId", "invocation ID for CancelInvocation message"
    )
    return CancelInvocationMessage(invocation_id, headers)


def _read_ping(message: list[Any]) -> PingMessage:
    return PING


def _read_close(message: list[Any]) -> CloseMessage:
    _require_length(message, 2, "Close")
    error = _string(message[1], "error")
    allow_reconnect = False
    if len(message) > 2:
        allow_reconnect = message[2]
        if allow_reconnect.__class__ is not bool:
            raise ProtocolError("Reading 'allowReconnect' as Boolean failed.")
    return CloseMessage(error, allow_reconnect)


def _sequence_id(message: list[Any], name: str) -> int:
    _require_length(message, 2, name)
    value = _integer(message[1], "sequenceId", "Int64")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ProtocolError("Reading 'sequenceId' as Int64 failed.")
    return value


def _read_ack(message: list[Any]) -> AckMessage:
    return AckMessage(_sequence_id(message, "Ack"))


def _read_sequence(message: list[Any]) -> SequenceMessage:
    return SequenceMessage(_sequence_id(message, "Sequence"))


_READERS: Final[dict[int, Callable[[list[Any]], HubMessage]]] = {
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


def _write_invocation(message: InvocationMessage | StreamInvocationMessage) -> bytes:
    """Invocation (type 1) and StreamInvocation (type 4) share one layout."""
    return _frame(
        [
            int(message.type),
            message.headers or {},
            message.invocation_id or None,
            message.target,
            message.arguments,
            message.stream_ids or [],
        ]
    )


def _write_stream_item(message: StreamItemMessage) -> bytes:
    return _frame([2, message.headers or {}, message.invocation_id, message.item])


def _write_completion(message: CompletionMessage) -> bytes:
    headers = message.headers or {}
    if message.error is not None:
        return _frame([3, headers, message.invocation_id, _ERROR_RESULT, message.error])
    if message.has_result:
        return _frame([3, headers, message.invocation_id, _NON_VOID_RESULT, message.result])
    return _frame([3, headers, message.invocation_id, _VOID_RESULT])


def _write_cancel_invocation(message: CancelInvocationMessage) -> bytes:
    return _frame([5, message.headers or {}, message.invocation_id])


def _write_ping(message: PingMessage) -> bytes:
    return _PING_BYTES


def _write_close(message: CloseMessage) -> bytes:
    return _frame([7, message.error or None, message.allow_reconnect])


def _write_ack(message: AckMessage) -> bytes:
    return _frame([8, message.sequence_id])


def _write_sequence(message: SequenceMessage) -> bytes:
    return _frame([9, message.sequence_id])


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


class MessagePackHubProtocol(HubProtocol):
    """The ``messagepack`` hub protocol (version 2, binary transfer format)."""

    name: ClassVar[str] = "messagepack"
    version: ClassVar[int] = 2
    transfer_format: ClassVar[TransferFormat] = TransferFormat.BINARY
    wire: ClassVar[WireFormat] = WireFormat.MSGPACK

    def parse(self, buffer: bytearray) -> list[HubMessage]:
        """Remove every complete frame from the front of ``buffer`` and return
        its messages (unknown message types skipped). Raises
        :class:`ProtocolError` on the first malformed frame; the connection
        cannot continue after that."""
        frames = split_binary_frames(buffer)
        if not frames:
            return []
        messages: list[HubMessage] = []
        for frame in frames:
            if not frame:
                raise ProtocolError("Error reading MessagePack: empty message.")
            message = _unpack(frame)
            if message.__class__ is not list:
                raise ProtocolError("Invalid message: a hub message must be a MessagePack array.")
            if not message:
                raise ProtocolError("Reading 'messageType' as Int32 failed.")
            kind = _integer(message[0], "messageType", "Int32")
            reader = _READERS.get(kind)
            if reader is not None:  # unknown types are skipped
                messages.append(reader(message))
        return messages

    def write(self, message: HubMessage) -> bytes:
        """``message`` as a length-prefixed MessagePack frame. Raises
        :class:`ValueError` for integers out of range and :class:`TypeError`
        for values with no MessagePack form."""
        try:
            writer = _WRITERS[message.__class__]
        except KeyError:
            raise TypeError(f"not a hub message: {message!r}") from None
        return writer(message)

    exceeds = staticmethod(binary_frame_exceeds)

    def write_result(self, invocation_id: str, result: Any) -> bytes:
        # _frame inlined for the reply to nearly every call; any error goes
        # through _frame again, which explains it
        try:
            body = _packers.pack([3, {}, invocation_id, _NON_VOID_RESULT, result])
        except Exception:
            return _frame([3, {}, invocation_id, _NON_VOID_RESULT, result])
        return frame_binary(body)
