"""Wire codecs: how a contract type's Python values become hub-protocol values.

A :class:`Codec` converts values of one Python type (an annotation from a
contract) to and from *wire values* — the plain data a hub protocol writes:
``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, plus ``bytes`` and
aware ``datetime`` for MessagePack. Server binders, the Python client and the
generated TypeScript types all follow the same rules, listed in
``docs/codecs.md``.

Codecs are built on pydantic-core. User models are *not* modified: their core
schema is copied and rewritten so that

* fields without an explicit alias travel under the contract's field naming
  policy (camelCase by default, or PascalCase, or the Python name; a
  ``Field(alias=...)`` always wins), and discriminated unions read their tag
  under its wire name;
* ``bytes`` travel as standard base64 (RFC 4648 §4, with padding) in JSON
  rather than pydantic's default;
* a naive ``datetime`` means UTC, in both directions and both protocols: it is
  sent as UTC (``Z`` in JSON, a timestamp in MessagePack) and one received
  without an offset becomes an aware UTC ``datetime``.

pydantic-core reuses a complete model's prebuilt validator and serializer for
any ``model`` schema node, which would ignore those rewrites, so each model
node becomes a typed-dict schema over the same fields (keeping the model's
config, field validators and model validators) followed by a constructor that
builds the real model class. Every per-field step still runs in pydantic-core.
"""

from __future__ import annotations

import base64
import binascii
import functools
import operator
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast, overload

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, SchemaSerializer, SchemaValidator
from pydantic_core import core_schema as cs

from hubgen.naming import FieldNaming
from hubgen.wire import WireFormat

__all__ = ["Codec", "CodecError", "WireFormat", "wire_core_schema"]

T = TypeVar("T")


class CodecError(ValueError):
    """A value could not be converted to or from its wire form.

    ``message`` is one line fit to send to a remote caller: it names what was
    wrong (``'limit': Input should be a valid integer``) but no server internals.
    """

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


def _format_validation_error(exc: ValidationError) -> str:
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if not _is_schema_step(p))
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts) or str(exc)


def _is_schema_step(step: object) -> bool:
    # pydantic-core inserts schema names (e.g. "function-after[...]") into error
    # locations of rewritten schemas; they mean nothing to a caller.
    return isinstance(step, str) and ("[" in step or step in {"typed-dict"})


# --------------------------------------------------------------------------- schema rewrite


def _b64_decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("Input should be a valid standard base64 string") from exc
    return value


def _b64_encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _utc_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _naive_utc(value: datetime) -> datetime:
    """A received datetime for a ``NaiveDatetime``: UTC wall time, no offset."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _serialize_utc_if_naive(value: Any, handler: cs.SerializerFunctionWrapHandler) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return handler(value)


_get_dict = operator.attrgetter("__dict__")

#: Annotations whose exact-type values pass through a codec untouched (float
#: is not one: pydantic writes inf and nan as null in JSON).
_PASSTHROUGH: dict[Any, type] = {
    str: str,
    int: int,
    bool: bool,
    None: type(None),
    type(None): type(None),
}


def _model_constructor(
    cls: type[Any], field_names: frozenset[str]
) -> Callable[[dict[str, Any]], Any]:
    """Build instances of ``cls`` from already-validated field values, the way
    pydantic's own model validator does (no second validation)."""
    new: Callable[[type[Any]], Any] = cls.__new__  # type: ignore[assignment]
    setattr_ = object.__setattr__
    # pydantic sets this when the model defines model_post_init or has private
    # attributes (whose defaults model_post_init then initialises).
    has_post_init = bool(getattr(cls, "__pydantic_post_init__", None))

    def construct(values: dict[str, Any]) -> Any:
        extra: dict[str, Any] | None = None
        if len(values) > len(field_names):
            extra = {k: v for k, v in values.items() if k not in field_names}
            values = {k: v for k, v in values.items() if k in field_names}
        instance = new(cls)
        setattr_(instance, "__dict__", values)
        setattr_(instance, "__pydantic_fields_set__", set(values))
        setattr_(instance, "__pydantic_extra__", extra)
        setattr_(instance, "__pydantic_private__", None)
        if has_post_init:
            instance.model_post_init(None)
        return instance

    return construct


def _refs(schema: Any) -> dict[str, dict[str, Any]]:
    """Every schema node of ``schema`` that has a ``ref``, by that ref."""
    found: dict[str, dict[str, Any]] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("ref")
            if isinstance(ref, str):
                found[ref] = node
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


#: Schema nodes that wrap the schema they validate (a model's validators).
_WRAPPERS = frozenset({"function-before", "function-after", "function-wrap", "nullable"})


class _Rewriter:
    def __init__(self, wire: WireFormat, naming: FieldNaming, schema: Any) -> None:
        self.wire = wire
        self.naming = naming
        self.schema = schema

    @functools.cached_property
    def refs(self) -> dict[str, dict[str, Any]]:
        """The schema's nodes by ref: walked only for a union whose tag the
        naming policy renames (the rewriter builds new nodes and leaves the
        schema it reads as it was, so the walk finds the same either way)."""
        return _refs(self.schema)

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("type")
        if kind == "bytes" and self.wire is WireFormat.JSON:
            return cs.no_info_before_validator_function(
                _b64_decode,
                dict(node),
                serialization=cs.plain_serializer_function_ser_schema(
                    _b64_encode, when_used="json"
                ),
            )
        if kind == "datetime" and node.get("tz_constraint") in (None, "aware", "naive"):
            # Naive datetimes mean UTC (docs/codecs.md, "Naive datetimes"), for
            # pydantic's AwareDatetime and NaiveDatetime too: they are read
            # as any datetime, then given the form they declare.
            plain = {key: value for key, value in node.items() if key != "tz_constraint"}
            return cs.no_info_after_validator_function(
                _naive_utc if node.get("tz_constraint") == "naive" else _utc_if_naive,
                plain,
                serialization=cs.wrap_serializer_function_ser_schema(
                    _serialize_utc_if_naive, schema=dict(plain)
                ),
            )
        if kind == "model":
            return self._model(node)
        rewritten = {key: self(value) for key, value in node.items()}
        if kind == "tagged-union" and isinstance(node.get("discriminator"), str):
            rewritten["discriminator"] = self._tag(node["discriminator"], node["choices"].values())
        return rewritten

    def _tag(self, discriminator: str, choices: Iterable[Any]) -> str | list[list[str | int]]:
        """Where a discriminated union finds its tag once its models' fields
        travel under their wire names. pydantic names a tag field without an
        alias by its own name (an aliased one by ``[[name], [alias]]``, which
        already holds the wire name): when the naming policy renames it, the
        wire name is looked up first (in what a peer sent), the field's name
        next (the attribute of a model being sent)."""
        renamed = self.naming.apply(discriminator)
        if renamed == discriminator:
            return discriminator
        for choice in choices:
            fields = self._model_fields(choice)
            field = fields.get(discriminator) if fields is not None else None
            if field is None or "validation_alias" in field:
                return discriminator  # not a plain field of a model: left alone
        return [[renamed], [discriminator]]

    def _model_fields(self, node: Any) -> dict[str, Any] | None:
        """The fields of the model schema ``node`` is or refers to."""
        for _ in range(100):  # wrappers and references, never a cycle
            if not isinstance(node, dict):
                return None
            kind = node.get("type")
            if kind == "definition-ref":
                node = self.refs.get(node.get("schema_ref", ""))
            elif kind in _WRAPPERS:
                node = node.get("schema")
            elif kind == "model":
                inner = node.get("schema", {})
                fields = inner.get("fields") if inner.get("type") == "model-fields" else None
                return fields if isinstance(fields, dict) else None
            else:
                return None
        return None

    def _model(self, node: dict[str, Any]) -> Any:
        cls = node["cls"]
        inner = node["schema"]
        if node.get("root_model"):
            root = self(inner)
            return cs.no_info_after_validator_function(
                lambda value: cls.model_construct(root=value),
                root,
                ref=node.get("ref"),
                serialization=cs.plain_serializer_function_ser_schema(
                    operator.attrgetter("root"), return_schema=root
                ),
            )
        if "serialization" in node or inner.get("type") != "model-fields":
            raise TypeError(
                f"{cls.__qualname__}: models with a custom model_serializer cannot be "
                "used in a hub contract"
            )
        fields: dict[str, cs.TypedDictField] = {}
        for name, field in inner["fields"].items():
            schema = self(field["schema"])
            wire_name = self.naming.apply(name)
            fields[name] = cs.typed_dict_field(
                schema,
                required=schema.get("type") != "default",
                validation_alias=field.get("validation_alias", wire_name),
                serialization_alias=field.get("serialization_alias", wire_name),
                serialization_exclude=field.get("serialization_exclude"),
                metadata=field.get("metadata"),
            )
        typed_dict = cs.typed_dict_schema(
            fields,
            config=node.get("config"),
            extra_behavior=inner.get("extra_behavior"),
        )
        return cs.no_info_after_validator_function(
            _model_constructor(cls, frozenset(fields)),
            typed_dict,
            ref=node.get("ref"),
            serialization=cs.plain_serializer_function_ser_schema(
                _get_dict, return_schema=typed_dict
            ),
        )


def wire_core_schema(
    annotation: Any, wire: WireFormat, field_naming: FieldNaming = FieldNaming.CAMEL
) -> cs.CoreSchema:
    """The pydantic-core schema a :class:`Codec` of ``annotation`` runs: the
    type's own schema rewritten to the wire rules above (field wire names,
    base64 bytes in JSON, naive datetimes as UTC). ``hubgen export asyncapi``
    derives its JSON Schemas from it, so they describe what the codecs do."""
    core = TypeAdapter(annotation).core_schema
    schema: cs.CoreSchema = _Rewriter(wire, field_naming, core)(core)
    return schema


# --------------------------------------------------------------------------- codec


class Codec(Generic[T]):
    """Converts values of ``annotation`` to and from wire values of ``wire``.

    Build codecs once (per contract type and protocol) and reuse them: building
    compiles a pydantic-core validator and serializer.
    """

    __slots__ = ("_exact", "_mode", "_serializer", "_validator", "annotation", "wire")

    @overload
    def __init__(
        self: Codec[T],
        annotation: type[T],
        wire: WireFormat = ...,
        *,
        field_naming: FieldNaming = ...,
    ) -> None: ...

    @overload
    def __init__(
        self: Codec[Any],
        annotation: Any,
        wire: WireFormat = ...,
        *,
        field_naming: FieldNaming = ...,
    ) -> None: ...

    def __init__(
        self,
        annotation: Any,
        wire: WireFormat = WireFormat.JSON,
        *,
        field_naming: FieldNaming = FieldNaming.CAMEL,
    ) -> None:
        self.annotation = annotation
        self.wire = wire
        schema = wire_core_schema(annotation, wire, field_naming)
        self._validator = SchemaValidator(schema)
        self._serializer = SchemaSerializer(schema)
        # MessagePack keeps bytes and datetimes native; the protocol packs the
        # remaining rich values (UUID, Decimal, Enum, ...) as their JSON forms.
        self._mode = "json" if wire is WireFormat.JSON else "python"
        #: For a bare ``str``, ``int``, ``bool`` or ``None``, a value of exactly
        #: that type is its own wire form and its own validated value, so it
        #: skips pydantic (the hot path of most calls); any other value, and
        #: every other type, goes through the schema.
        self._exact: type | None = _PASSTHROUGH.get(annotation)

    def encode(self, value: T) -> Any:
        """Python value → wire value. Raises :class:`CodecError` when ``value``
        is not of the codec's type."""
        if type(value) is self._exact:
            return value
        try:
            return self._serializer.to_python(
                value, mode=self._mode, by_alias=True, warnings="error"
            )
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            raise CodecError(f"cannot encode {type(value).__name__}: {exc}") from exc

    def decode(self, data: Any) -> T:
        """Wire value → Python value. Raises :class:`CodecError` naming what
        failed validation."""
        if type(data) is self._exact:
            return data  # type: ignore[return-value]  # no cast(): the hot path
        try:
            return cast("T", self._validator.validate_python(data))
        except ValidationError as exc:
            raise CodecError(
                _format_validation_error(exc),
                errors=cast("list[dict[str, Any]]", exc.errors(include_url=False)),
            ) from exc
