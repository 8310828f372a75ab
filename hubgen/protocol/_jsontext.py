"""Strict JSON text, shared by the JSON hub protocol and the handshake.

Reading rejects what System.Text.Json rejects and Python's :mod:`json` would
let through (``NaN``/``Infinity`` literals, invalid UTF-8) and turns every
failure into a :class:`ProtocolError`. Writing is compact, UTF-8, and never
produces invalid JSON.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any, Final

from pydantic_core import PydanticSerializationError, from_json, to_jsonable_python

from hubgen.protocol.base import ProtocolError

__all__ = ["dumps", "encode_value", "json_default", "quote", "read_object", "text", "token_name"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON value")


_decoder: Final = json.JSONDecoder(parse_constant=_reject_constant)
_scan: Final[Callable[[str, int], tuple[Any, int]]] = _decoder.scan_once  # type: ignore[attr-defined]
_decode_slow: Final = _decoder.decode
#: pydantic-core's parser (jiter): about twice as fast as ``json``'s scanner
#: on a hub message, and stricter. Whatever it accepts, ``json`` reads the
#: same; what it refuses, ``json`` reads or explains (see :func:`read_object`).
_read_strict: Final[Callable[[bytes], Any]] = functools.partial(from_json, allow_inf_nan=False)


def token_name(value: object) -> str:
    """The System.Text.Json token name for a decoded JSON value."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Number"


def read_object(record: bytes) -> dict[str, Any]:
    """Decode one record (without its separator) that must be a JSON object.

    pydantic-core's strict parser reads nearly every record. What it refuses
    goes through :mod:`json` (:func:`_read_object_json`): lone surrogate
    escapes (``"\\ud800"``), which System.Text.Json reads too, and every
    malformed record, for the error messages."""
    try:
        value = _read_strict(record)
    except ValueError:
        pass
    else:
        if value.__class__ is dict:
            return value
    return _read_object_json(record)


def _read_object_json(record: bytes) -> dict[str, Any]:
    """:func:`read_object` with :mod:`json` alone. The value is scanned
    directly, with ``JSONDecoder.decode`` (and its whitespace handling) only
    when the record is not exactly one value."""
    try:
        text = str(record, "utf-8")
        try:
            value, end = _scan(text, 0)
        except StopIteration:  # leading whitespace, or no value at all
            value = _decode_slow(text)
        else:
            if end != len(text):  # trailing whitespace, or extra data
                value = _decode_slow(text)
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"Error reading JSON: invalid UTF-8 at byte {exc.start} ({exc.reason})."
        ) from exc
    except ValueError as exc:
        raise ProtocolError(f"Error reading JSON: {exc}.") from exc
    except RecursionError as exc:
        raise ProtocolError("Error reading JSON: the value is nested too deeply.") from exc
    if value.__class__ is not dict:
        raise ProtocolError(
            f"Unexpected JSON Token Type '{token_name(value)}'. Expected a JSON Object."
        )
    return value


def json_default(value: Any) -> Any:
    """JSON form of values the stdlib encoder does not know: ``bytes`` as
    standard base64, everything else as pydantic renders it in JSON mode
    (ISO 8601 datetimes, UUID strings, Decimal strings, enum values, ...)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise TypeError(
            f"cannot write a value of type {type(value).__name__!r} as JSON; "
            "encode it with a hubgen.codec.Codec first"
        ) from exc


def _make_encoder(*, ensure_ascii: bool) -> Callable[[Any], str]:
    """A compact, strict encoder. ``JSONEncoder.encode`` builds a new C encoder
    on every call; reusing one halves the cost of writing a small message."""
    try:
        import _json
    except ImportError:  # pragma: no cover - CPython always has the accelerator
        return json.JSONEncoder(
            ensure_ascii=ensure_ascii,
            separators=(",", ":"),
            allow_nan=False,
            check_circular=False,
            default=json_default,
        ).encode
    chunks = _json.make_encoder(
        None,  # no cycle check: a cycle ends in RecursionError instead
        json_default,
        _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,  # allow_nan
    )

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


_encode_utf8: Final = _make_encoder(ensure_ascii=False)
#: Compact JSON text for any value; raises what the encoder raises, unexplained.
encode_value: Final = _encode_utf8
_encode_ascii: Final = _make_encoder(ensure_ascii=True)


def dumps(value: Any, suffix: str = "") -> bytes:
    """Compact UTF-8 JSON for ``value``, followed by ``suffix``.

    Strings that cannot be UTF-8 (lone surrogates) are written as ``\\u``
    escapes rather than failing. Raises :class:`ValueError` for NaN and
    infinities, for values nested too deeply or containing themselves, and
    :class:`TypeError` for values that have no JSON form.
    """
    try:
        text = _encode_utf8(value)
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise ValueError(
                "NaN and Infinity cannot be written in JSON (the format has no such numbers)"
            ) from exc
        raise
    except RecursionError as exc:
        raise ValueError(
            "the value is nested too deeply to be written as JSON, or contains itself"
        ) from exc
    try:
        return (text + suffix).encode("utf-8")
    except UnicodeEncodeError:
        return (_encode_ascii(value) + suffix).encode("ascii")


try:
    from _json import encode_basestring as _quote_c
except ImportError:  # pragma: no cover - CPython always has the accelerator
    _quote_c = json.encoder.py_encode_basestring

#: A ``str`` as a JSON string literal (quotes included, not ASCII-escaped).
quote: Final[Callable[[str], str]] = _quote_c


def text(value: Any) -> str:
    """Compact JSON text for ``value`` (before UTF-8 encoding): what
    :func:`dumps` writes, for callers that assemble a message around it.
    Raises what the encoder raises, unchanged; callers that get an error
    fall back to :func:`dumps`, which explains it."""
    if value.__class__ is str:
        return _quote_c(value)
    return _encode_utf8(value)
