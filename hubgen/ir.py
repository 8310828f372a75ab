"""The intermediate representation (IR): what analysis finds in a contract.

Analysis (``hubgen.contracts``) turns contract modules into a :class:`Contract`;
code generation (``hubgen.codegen``) renders it. The IR is plain data, knows
nothing of either side, and is exported as JSON Schema to ``schemas/``
(``hubgen inspect`` prints a contract's IR as JSON).

Type references form a tree (:data:`TypeRef`); named declarations (models,
enums) are listed once in :class:`Contract` and referenced by name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "IR_VERSION",
    "ClientDecl",
    "Contract",
    "DefaultValue",
    "DictType",
    "EnumDecl",
    "EnumMember",
    "EnumRef",
    "FieldDecl",
    "HubDecl",
    "ListType",
    "LiteralType",
    "MethodDecl",
    "MethodKind",
    "ModelDecl",
    "ModelRef",
    "NamingDecl",
    "NullableType",
    "ParameterDecl",
    "PrimitiveName",
    "PrimitiveType",
    "PythonRef",
    "SourceLocation",
    "TupleType",
    "TypeRef",
    "TypeVarRef",
    "UnionType",
    "json_schema",
    "json_schema_text",
    "walk",
]

#: Bumped whenever the IR changes shape; written into every :class:`Contract`.
IR_VERSION: Literal[1] = 1


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceLocation(_Node):
    """Where a declaration stands: ``file`` relative to the project root, POSIX
    separators; ``line`` and ``column`` are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class PythonRef(_Node):
    """How generated Python code imports a contract declaration."""

    module: str
    qualname: str


# --------------------------------------------------------------------------- types

PrimitiveName = Literal[
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "datetime",
    "date",
    "time",
    "timedelta",
    "uuid",
    "decimal",
    "none",
]


class PrimitiveType(_Node):
    """A builtin scalar. ``none`` is ``None``: a void result or a union member."""

    kind: Literal["primitive"] = "primitive"
    name: PrimitiveName


class ListType(_Node):
    """A homogeneous sequence. ``container`` keeps the Python spelling
    (``list[T]``, ``set[T]``, ``frozenset[T]``, ``tuple[T, ...]``); on the wire
    all of them are arrays."""

    kind: Literal["list"] = "list"
    item: TypeRef
    container: Literal["list", "set", "frozenset", "tuple"] = "list"


class TupleType(_Node):
    """A fixed-length tuple ``tuple[A, B]``: an array of that length on the wire."""

    kind: Literal["tuple"] = "tuple"
    items: list[TypeRef]


class DictType(_Node):
    """``dict[K, V]`` with string-like keys (``str``, a str ``Enum`` or a ``Literal``
    of strings): an object on the wire."""

    kind: Literal["dict"] = "dict"
    key: TypeRef
    value: TypeRef


class NullableType(_Node):
    """``T | None``."""

    kind: Literal["nullable"] = "nullable"
    inner: TypeRef


class UnionType(_Node):
    """``A | B``. ``discriminator`` is the *wire* name of the tag field when every
    member is a model carrying a ``Literal`` tag in that field."""

    kind: Literal["union"] = "union"
    members: list[TypeRef]
    discriminator: str | None = None


class LiteralType(_Node):
    """``Literal[...]`` of strings, integers or booleans."""

    kind: Literal["literal"] = "literal"
    values: list[str | int | bool]


class EnumRef(_Node):
    """A reference to :attr:`Contract.enums` by :attr:`EnumDecl.name`."""

    kind: Literal["enum"] = "enum"
    name: str


class ModelRef(_Node):
    """A reference to :attr:`Contract.models` by :attr:`ModelDecl.name`; ``args``
    binds the model's type parameters when it is generic."""

    kind: Literal["model"] = "model"
    name: str
    args: list[TypeRef] = Field(default_factory=list)


class TypeVarRef(_Node):
    """A type parameter of a generic model, used inside that model's fields."""

    kind: Literal["typevar"] = "typevar"
    name: str


TypeRef = Annotated[
    PrimitiveType
    | ListType
    | TupleType
    | DictType
    | NullableType
    | UnionType
    | LiteralType
    | EnumRef
    | ModelRef
    | TypeVarRef,
    Field(discriminator="kind"),
]


def walk(ref: TypeRef) -> Iterator[TypeRef]:
    """``ref`` and every type reference inside it, depth first, ``ref`` first."""
    yield ref
    children: list[TypeRef] = []
    if isinstance(ref, ListType):
        children = [ref.item]
    elif isinstance(ref, TupleType):
        children = list(ref.items)
    elif isinstance(ref, DictType):
        children = [ref.key, ref.value]
    elif isinstance(ref, NullableType):
        children = [ref.inner]
    elif isinstance(ref, UnionType):
        children = list(ref.members)
    elif isinstance(ref, ModelRef):
        children = list(ref.args)
    for child in children:
        yield from walk(child)


# --------------------------------------------------------------------------- declarations


class DefaultValue(_Node):
    """A parameter or field default. ``json`` is its wire value, ``python`` a
    Python expression for it that is valid in generated code (enum members are
    spelled ``Enum.MEMBER`` and need the enum imported)."""

    json_value: JsonValue
    python: str


class EnumMember(_Node):
    name: str
    value: str | int
    doc: str | None = None


class EnumDecl(_Node):
    """An ``Enum`` subclass used by the contract; its wire values are its values."""

    name: str
    python: PythonRef
    value_type: Literal["str", "int"]
    members: list[EnumMember]
    doc: str | None = None
    location: SourceLocation


class FieldDecl(_Node):
    """A pydantic model field. ``wire_name`` is its alias if the model declares
    one, otherwise the field naming policy applied to ``name``."""

    name: str
    wire_name: str
    type: TypeRef
    default: DefaultValue | None = None
    #: True when the field has a default (or default factory): optional to send.
    has_default: bool = False
    doc: str | None = None
    location: SourceLocation


class ModelDecl(_Node):
    """A pydantic model used by the contract, directly or nested."""

    name: str
    python: PythonRef
    fields: list[FieldDecl]
    type_parameters: list[str] = Field(default_factory=list)
    #: What receiving an object with fields the model does not declare does:
    #: ``ignore`` drops them (pydantic's default), ``forbid`` rejects the
    #: object (``model_config = ConfigDict(extra="forbid")``). ``allow`` is a
    #: contract error (HG053), so it never appears here.
    extra: Literal["ignore", "forbid"] = "ignore"
    doc: str | None = None
    location: SourceLocation


class MethodKind(StrEnum):
    """``invoke``: a coroutine with one result (``None`` for void).
    ``stream``: a server-to-client stream, ``def m(...) -> AsyncIterator[T]``."""

    INVOKE = "invoke"
    STREAM = "stream"


class ParameterDecl(_Node):
    """A method parameter. With ``stream`` true the parameter is a
    client-to-server stream (``AsyncIterator[T]``) and ``type`` is ``T``."""

    name: str
    type: TypeRef
    stream: bool = False
    default: DefaultValue | None = None
    #: True for a parameter after ``*`` in the contract: generated signatures
    #: keep the marker so implementations override them compatibly.
    keyword_only: bool = False
    location: SourceLocation


class MethodDecl(_Node):
    """A hub method (client → server) or a client method (server → client).

    ``returns`` is the result type; ``PrimitiveType(name="none")`` for void. For
    a ``stream`` method it is the item type. A client method with a non-void
    ``returns`` is a *client result*: the server awaits the client's answer.
    """

    name: str
    wire_name: str
    kind: MethodKind = MethodKind.INVOKE
    parameters: list[ParameterDecl]
    returns: TypeRef
    doc: str | None = None
    location: SourceLocation


class ClientDecl(_Node):
    """The client Protocol of a hub: what the server may call on clients."""

    name: str
    python: PythonRef
    methods: list[MethodDecl]
    doc: str | None = None
    location: SourceLocation


class HubDecl(_Node):
    """A hub Protocol marked with ``@hubgen.hub``: what clients may call."""

    name: str
    python: PythonRef
    methods: list[MethodDecl]
    client: ClientDecl
    doc: str | None = None
    location: SourceLocation


class NamingDecl(_Node):
    """The wire naming policies in force (``[tool.hubgen.naming]``)."""

    methods: Literal["pascal", "preserve"] = "pascal"
    fields: Literal["camel", "pascal", "preserve"] = "camel"


class Contract(_Node):
    """Everything analysis found in a set of contract modules."""

    ir_version: Literal[1] = IR_VERSION
    modules: list[str]
    naming: NamingDecl = Field(default_factory=NamingDecl)
    hubs: list[HubDecl]
    models: list[ModelDecl] = Field(default_factory=list)
    enums: list[EnumDecl] = Field(default_factory=list)

    def model(self, name: str) -> ModelDecl:
        for decl in self.models:
            if decl.name == name:
                return decl
        raise KeyError(name)

    def enum(self, name: str) -> EnumDecl:
        for decl in self.enums:
            if decl.name == name:
                return decl
        raise KeyError(name)


# --------------------------------------------------------------------------- schema


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a :class:`Contract` as JSON, i.e. of
    what ``hubgen inspect`` prints and :meth:`Contract.model_validate_json` reads."""
    schema = Contract.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        # ``kind`` has a default in Python, but it is the union's discriminator:
        # pydantic requires it in input, and every dump writes it.
        if "const" in definition.get("properties", {}).get("kind", {}):
            definition["required"] = sorted({"kind", *definition.get("required", [])})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text() -> str:
    """:func:`json_schema` as ``schemas/ir.schema.json`` holds it: indented,
    keys sorted, with a trailing newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m hubgen.ir > schemas/ir.schema.json
    sys.stdout.write(json_schema_text())
