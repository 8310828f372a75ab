"""The wire compatibility relation between two contract types.

A sender's type *fits* a receiver's type, over one hub protocol, when every
wire value the sender can write is a value the receiver accepts as its type.
That is what "compatible" means for every rule of ``hubgen diff``
(``docs/diff.md``): a change at a position is safe for a pair of versions
when the sender's version of the type fits the receiver's.

What a type's values look like on the wire is the codec table
(``docs/codecs.md``). A receiver accepts a value when it has the wire *kind*
its type declares (string, number, array, ...), with the *format* it
declares where it has one (a UUID string, an integral number): the
judgement every receiver shares, a hubgen server or Python client validating
it, and a TypeScript client whose code relies on its declared type. hubgen's
Python peers parse in pydantic's lax mode and would take a little more (an
integral float for an ``int``, 0 and 1 for a ``bool``); a TypeScript peer
would not, so the relation does not count on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

from hubgen import ir

__all__ = ["Fit", "Protocol", "Role", "describe", "undeclared"]


class Protocol(StrEnum):
    """A hub protocol: how values are written."""

    JSON = "json"
    MESSAGEPACK = "messagepack"

    @property
    def label(self) -> str:
        return "JSON" if self is Protocol.JSON else "MessagePack"


class Role(Enum):
    """Who writes the values: it decides whether defaulted fields may be absent.

    A server writes every field of a model; a client may leave out a field
    that has a default (the generated TypeScript ``XInput`` types make it
    optional), so a receiver that requires it may not get it.
    """

    CLIENT = "client"
    SERVER = "server"


#: (wire kind, format) of each primitive per protocol. A receiver accepts a
#: sender's primitive when the kinds are equal and the receiver's format is
#: None (any value of the kind) or the sender's own format.
_JSON: dict[str, tuple[str, str | None]] = {
    "str": ("string", None),
    "int": ("number", "integral"),
    "float": ("number", None),
    "bool": ("boolean", None),
    "none": ("null", None),
    "bytes": ("string", "base64"),
    "datetime": ("string", "date-time"),
    "date": ("string", "date"),
    "time": ("string", "time"),
    "timedelta": ("string", "duration"),
    "uuid": ("string", "uuid"),
    "decimal": ("string", "decimal"),
}
_MESSAGEPACK: dict[str, tuple[str, str | None]] = {
    **_JSON,
    "int": ("int", None),
    "float": ("float64", None),
    "bytes": ("bin", None),
    "datetime": ("timestamp", None),
}
_KINDS = {Protocol.JSON: _JSON, Protocol.MESSAGEPACK: _MESSAGEPACK}

#: How a wire kind reads in a message.
_KIND_WORDS = {
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
    "int": "an integer",
    "float64": "a float64",
    "bin": "binary (bin)",
    "timestamp": "a timestamp extension",
}
_FORMAT_WORDS = {
    "integral": "an integral number",
    "base64": "base64",
    "date-time": "an ISO 8601 date-time",
    "date": "an ISO 8601 date",
    "time": "an ISO 8601 time",
    "duration": "an ISO 8601 duration",
    "uuid": "a UUID",
    "decimal": "a decimal number",
}
#: An example value the sender can write that the receiver's format refuses.
_COUNTER_EXAMPLES = {
    ("float", "int"): "1.5",
    ("str", "uuid"): '"hello"',
}


def undeclared(wire_names: Iterable[str], receiver: ir.ModelDecl) -> list[str]:
    """Those of ``wire_names`` that ``receiver`` declares no field for."""
    declared = {field.wire_name for field in receiver.fields}
    return [wire for wire in wire_names if wire not in declared]


def describe(ref: ir.TypeRef) -> str:
    """A type reference in its Python spelling: ``list[ChatMessage] | None``."""
    if isinstance(ref, ir.PrimitiveType):
        return {"none": "None", "uuid": "UUID", "decimal": "Decimal"}.get(ref.name, ref.name)
    if isinstance(ref, ir.ListType):
        item = describe(ref.item)
        return f"tuple[{item}, ...]" if ref.container == "tuple" else f"{ref.container}[{item}]"
    if isinstance(ref, ir.TupleType):
        return f"tuple[{', '.join(describe(item) for item in ref.items)}]"
    if isinstance(ref, ir.DictType):
        return f"dict[{describe(ref.key)}, {describe(ref.value)}]"
    if isinstance(ref, ir.NullableType):
        return f"{describe(ref.inner)} | None"
    if isinstance(ref, ir.UnionType):
        return " | ".join(describe(member) for member in ref.members)
    if isinstance(ref, ir.LiteralType):
        return f"Literal[{', '.join(repr(value) for value in ref.values)}]"
    if isinstance(ref, ir.ModelRef):
        if ref.args:
            return f"{ref.name}[{', '.join(describe(arg) for arg in ref.args)}]"
        return ref.name
    return ref.name  # EnumRef, TypeVarRef


def _literal_key(value: str | int | bool) -> tuple[str, str | int | bool]:
    # True == 1 in Python, but not on the wire
    return (type(value).__name__, value)


def _alternatives(ref: ir.TypeRef) -> list[ir.TypeRef]:
    """``ref`` as a flat list of alternatives: unions and ``| None`` taken
    apart, a ``Literal`` of several values split into one per value."""
    if isinstance(ref, ir.NullableType):
        return [*_alternatives(ref.inner), ir.PrimitiveType(name="none")]
    if isinstance(ref, ir.UnionType):
        return [alt for member in ref.members for alt in _alternatives(member)]
    if isinstance(ref, ir.LiteralType) and len(ref.values) > 1:
        return [ir.LiteralType(values=[value]) for value in ref.values]
    return [ref]


Env = Mapping[str, ir.TypeRef]
_NO_ENV: Env = {}


@dataclass(frozen=True)
class _Key:
    sender: str
    receiver: str
    args: str


class Fit:
    """Checks that a sender's types fit a receiver's, over one protocol.

    ``sender`` and ``receiver`` are the contract versions the types come
    from (models and enums are looked up there by name). A model or enum of
    the same name on both sides fits at a position: its own changes are
    reported, field by field and value by value, under the model or enum.
    :meth:`model` compares two models field by field.
    """

    def __init__(
        self,
        sender: ir.Contract,
        receiver: ir.Contract,
        protocol: Protocol,
        role: Role,
    ) -> None:
        self.sender = sender
        self.receiver = receiver
        self.protocol = protocol
        self.role = role
        self._models_s = {m.name: m for m in sender.models}
        self._models_r = {m.name: m for m in receiver.models}
        self._enums_s = {e.name: e for e in sender.enums}
        self._enums_r = {e.name: e for e in receiver.enums}
        self._in_progress: set[_Key] = set()

    # -- entry points ----------------------------------------------------------------

    def check(
        self, sender: ir.TypeRef, receiver: ir.TypeRef, s_env: Env = _NO_ENV, r_env: Env = _NO_ENV
    ) -> str | None:
        """None when ``sender`` fits ``receiver``, else why not (one line)."""
        sender = self._resolve(sender, s_env)
        receiver = self._resolve(receiver, r_env)
        if isinstance(sender, ir.TypeVarRef) or isinstance(receiver, ir.TypeVarRef):
            return self._typevars(sender, receiver)
        s_alts = _alternatives(sender)
        if len(s_alts) > 1:
            for alt in s_alts:
                why = self.check(alt, receiver, s_env, r_env)
                if why is not None:
                    return why
            return None
        return self._one(sender, receiver, s_env, r_env)

    def model(
        self,
        sender: ir.ModelDecl,
        receiver: ir.ModelDecl,
        s_env: Env = _NO_ENV,
        r_env: Env = _NO_ENV,
    ) -> str | None:
        """None when every object ``sender`` writes is one ``receiver`` takes."""
        key = _Key(
            sender.name,
            receiver.name,
            repr(sorted(s_env.items())) + repr(sorted(r_env.items())),
        )
        if key in self._in_progress:
            return None  # a recursive model: assume it fits while checking it
        self._in_progress.add(key)
        try:
            return self._fields(sender, receiver, s_env, r_env)
        finally:
            self._in_progress.discard(key)

    # -- cases ---------------------------------------------------------------------------

    def _resolve(self, ref: ir.TypeRef, env: Env) -> ir.TypeRef:
        while isinstance(ref, ir.TypeVarRef) and ref.name in env:
            ref = env[ref.name]
        return ref

    def _typevars(self, sender: ir.TypeRef, receiver: ir.TypeRef) -> str | None:
        if isinstance(sender, ir.TypeVarRef) and isinstance(receiver, ir.TypeVarRef):
            if sender.name == receiver.name:
                return None
            return f"type parameter {sender.name} became {receiver.name}"
        # an unbound type parameter is Any to pydantic: it takes any value
        if isinstance(receiver, ir.TypeVarRef):
            return None
        return f"{describe(sender)} (any value) does not fit {describe(receiver)}"

    def _one(self, sender: ir.TypeRef, receiver: ir.TypeRef, s_env: Env, r_env: Env) -> str | None:
        r_alts = _alternatives(receiver)
        if len(r_alts) == 1:
            return self._single(sender, receiver, s_env, r_env)
        if any(self._single(sender, alt, s_env, r_env) is None for alt in r_alts):
            return None
        # an enum or a bool may fit the union value by value
        values = self._values(sender)
        if values is not None and all(
            any(self._single(value, alt, s_env, r_env) is None for alt in r_alts)
            for value in values
        ):
            return None
        return f"{describe(sender)} fits none of {describe(receiver)}"

    def _values(self, ref: ir.TypeRef) -> list[ir.TypeRef] | None:
        """A type with finitely many values, as one ``Literal`` per value."""
        if isinstance(ref, ir.EnumRef) and ref.name in self._enums_s:
            decl = self._enums_s[ref.name]
            return [ir.LiteralType(values=[member.value]) for member in decl.members]
        if isinstance(ref, ir.PrimitiveType) and ref.name == "bool":
            return [ir.LiteralType(values=[True]), ir.LiteralType(values=[False])]
        return None

    def _single(
        self, sender: ir.TypeRef, receiver: ir.TypeRef, s_env: Env, r_env: Env
    ) -> str | None:
        """Neither side a union (``sender`` already split into alternatives)."""
        receiver = self._resolve(receiver, r_env)
        if isinstance(receiver, ir.TypeVarRef):
            return None
        if isinstance(sender, ir.PrimitiveType) and isinstance(receiver, ir.PrimitiveType):
            return self._primitive(sender.name, receiver.name)
        if isinstance(sender, ir.PrimitiveType) and sender.name == "none":
            return f"None (null) does not fit {describe(receiver)}"
        if isinstance(sender, ir.LiteralType):
            return self._literal(sender.values[0], receiver)
        if isinstance(sender, ir.EnumRef):
            return self._enum(sender, receiver)
        if isinstance(sender, ir.ListType):
            if isinstance(receiver, ir.ListType):
                return self._inside("an item", sender.item, receiver.item, s_env, r_env)
            if isinstance(receiver, ir.TupleType):
                return (
                    f"{describe(sender)} (an array of any length) does not fit "
                    f"{describe(receiver)} (exactly {len(receiver.items)})"
                )
        if isinstance(sender, ir.TupleType):
            if isinstance(receiver, ir.ListType):
                for item in sender.items:
                    why = self._inside("an item", item, receiver.item, s_env, r_env)
                    if why is not None:
                        return why
                return None
            if isinstance(receiver, ir.TupleType):
                if len(sender.items) != len(receiver.items):
                    return (
                        f"{describe(sender)} ({len(sender.items)} items) does not fit "
                        f"{describe(receiver)} ({len(receiver.items)} items)"
                    )
                for index, (s_item, r_item) in enumerate(
                    zip(sender.items, receiver.items, strict=True)
                ):
                    why = self._inside(f"item {index}", s_item, r_item, s_env, r_env)
                    if why is not None:
                        return why
                return None
        if isinstance(sender, ir.DictType) and isinstance(receiver, ir.DictType):
            return self._inside("a key", sender.key, receiver.key, s_env, r_env) or self._inside(
                "a value", sender.value, receiver.value, s_env, r_env
            )
        if isinstance(sender, ir.ModelRef) and isinstance(receiver, ir.ModelRef):
            return self._model_ref(sender, receiver, s_env, r_env)
        return f"{describe(sender)} does not fit {describe(receiver)}"

    def _inside(
        self, what: str, sender: ir.TypeRef, receiver: ir.TypeRef, s_env: Env, r_env: Env
    ) -> str | None:
        why = self.check(sender, receiver, s_env, r_env)
        return None if why is None else f"{what}: {why}"

    def _primitive(self, sender: str, receiver: str) -> str | None:
        if sender == receiver:
            return None
        kinds = _KINDS[self.protocol]
        s_kind, s_format = kinds[sender]
        r_kind, r_format = kinds[receiver]
        s_name = describe(ir.PrimitiveType(name=sender))  # type: ignore[arg-type]
        r_name = describe(ir.PrimitiveType(name=receiver))  # type: ignore[arg-type]
        if s_kind == r_kind and r_format in (None, s_format):
            return None
        if self.protocol is Protocol.MESSAGEPACK and (sender, receiver) == ("int", "float"):
            return None  # an integer is read as a number by both pydantic and JavaScript
        if s_kind != r_kind:
            return (
                f"{s_name} travels as {_KIND_WORDS[s_kind]} in {self.protocol.label}, "
                f"where {r_name} expects {_KIND_WORDS[r_kind]}"
            )
        example = _COUNTER_EXAMPLES.get((sender, receiver))
        shown = f" (e.g. {example})" if example else ""
        return (
            f"not every {s_name} value{shown} is {_FORMAT_WORDS[r_format or '']} "
            f"as {r_name} requires"
        )

    def _literal(self, value: str | int | bool, receiver: ir.TypeRef) -> str | None:
        shown = repr(value)
        if isinstance(receiver, ir.LiteralType):
            if _literal_key(value) in {_literal_key(v) for v in receiver.values}:
                return None
            return f"the value {shown} is not one of {describe(receiver)}"
        if isinstance(receiver, ir.EnumRef) and receiver.name in self._enums_r:
            decl = self._enums_r[receiver.name]
            if _literal_key(value) in {_literal_key(m.value) for m in decl.members}:
                return None
            return f"the value {shown} is not a value of {decl.name}"
        if isinstance(receiver, ir.PrimitiveType):
            kind = type(value).__name__
            if receiver.name == kind or (kind == "int" and receiver.name == "float"):
                return None
        return f"the value {shown} does not fit {describe(receiver)}"

    def _enum(self, sender: ir.EnumRef, receiver: ir.TypeRef) -> str | None:
        if isinstance(receiver, ir.EnumRef) and receiver.name == sender.name:
            return None  # its values are compared under the enum itself
        decl = self._enums_s.get(sender.name)
        if decl is None:
            return None  # not in the IR: nothing to compare
        if isinstance(receiver, ir.PrimitiveType):
            return self._primitive(decl.value_type, receiver.name)
        for member in decl.members:
            why = self._literal(member.value, receiver)
            if why is not None:
                return f"{decl.name}.{member.name}: {why}"
        return None

    def _model_ref(
        self, sender: ir.ModelRef, receiver: ir.ModelRef, s_env: Env, r_env: Env
    ) -> str | None:
        if sender.name == receiver.name:
            if len(sender.args) != len(receiver.args):
                return f"{describe(sender)} does not fit {describe(receiver)}"
            for s_arg, r_arg in zip(sender.args, receiver.args, strict=True):
                why = self.check(s_arg, r_arg, s_env, r_env)
                if why is not None:
                    return f"{describe(sender)} → {describe(receiver)}: {why}"
            return None
        s_decl = self._models_s.get(sender.name)
        r_decl = self._models_r.get(receiver.name)
        if s_decl is None or r_decl is None:
            return None  # not in the IR: nothing to compare
        s_bound = dict(
            zip(
                s_decl.type_parameters, [self._resolve(a, s_env) for a in sender.args], strict=False
            )
        )
        r_bound = dict(
            zip(
                r_decl.type_parameters,
                [self._resolve(a, r_env) for a in receiver.args],
                strict=False,
            )
        )
        why = self.model(s_decl, r_decl, s_bound, r_bound)
        return None if why is None else f"{describe(sender)} → {describe(receiver)}: {why}"

    def _fields(
        self, sender: ir.ModelDecl, receiver: ir.ModelDecl, s_env: Env, r_env: Env
    ) -> str | None:
        sent = {field.wire_name: field for field in sender.fields}
        for wire, field in ((f.wire_name, f) for f in receiver.fields):
            got = sent.get(wire)
            if got is None:
                if field.has_default:
                    continue
                return f"field {wire!r} is required, and {sender.name} has no such field"
            if got.has_default and not field.has_default and self.role is Role.CLIENT:
                return (
                    f"field {wire!r} is required, and a client may leave it out "
                    "(it has a default on the sending side)"
                )
            why = self.check(got.type, field.type, s_env, r_env)
            if why is not None:
                return f"field {wire!r}: {why}"
        if receiver.extra == "forbid":
            unknown = undeclared(sent, receiver)
            if unknown:
                listed = ", ".join(repr(wire) for wire in unknown)
                return f"{receiver.name} forbids extra fields, and {sender.name} sends {listed}"
        return None
