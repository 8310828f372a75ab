"""Python annotations → IR type references.

:class:`TypeMapper` walks a resolved annotation (what ``typing.get_type_hints``
or pydantic's ``model_fields`` give) and builds its :data:`hubgen.ir.TypeRef`,
declaring every model and enum it meets through :class:`~hubgen.contracts.models.Declarations`.
Anything the wire rules cannot carry is reported with the position of the
offending part of the annotation and the path by which it was reached; the
walk then carries on so that every independent problem is found.
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import enum
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import typing_extensions
from pydantic import BaseModel, Discriminator, PlainSerializer, RootModel, WrapSerializer
from pydantic.fields import FieldInfo

from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.report import Report
from hubgen.contracts.source import Site
from hubgen.ir import (
    DictType,
    EnumRef,
    ListType,
    LiteralType,
    ModelRef,
    NullableType,
    PrimitiveName,
    PrimitiveType,
    TupleType,
    TypeRef,
    TypeVarRef,
    UnionType,
)

if typing.TYPE_CHECKING:
    from hubgen.contracts.models import Declarations

__all__ = [
    "INVALID",
    "Scope",
    "TypeMapper",
    "describe",
    "discriminator_of",
    "is_class",
]

#: What a type that could not be mapped becomes; never reaches a returned IR
#: because analysis raises when it reported anything.
INVALID: TypeRef = PrimitiveType(name="none")

_NONE = PrimitiveType(name="none")

_PRIMITIVES: dict[type, PrimitiveName] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    bytes: "bytes",
    datetime: "datetime",
    date: "date",
    time: "time",
    timedelta: "timedelta",
    UUID: "uuid",
    Decimal: "decimal",
    type(None): "none",
}

_CONTAINERS: dict[Any, typing.Literal["list", "set", "frozenset"]] = {
    list: "list",
    set: "set",
    frozenset: "frozenset",
}

#: Types a stream is spelled with (:func:`hubgen.members.stream_item`), and
#: the generator type: none of them can be part of another type.
_ASYNC_ITERATION = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
)

#: Abstract or specialised containers, with the spelling to use instead.
_USE_INSTEAD: dict[Any, str] = {
    collections.abc.Sequence: "list[T]",
    collections.abc.MutableSequence: "list[T]",
    collections.abc.Iterable: "list[T]",
    collections.abc.Iterator: "list[T]",
    collections.abc.Collection: "list[T]",
    collections.abc.Generator: "list[T]",
    collections.deque: "list[T]",
    collections.abc.Set: "set[T]",
    collections.abc.MutableSet: "set[T]",
    collections.abc.Mapping: "dict[str, T]",
    collections.abc.MutableMapping: "dict[str, T]",
    collections.OrderedDict: "dict[str, T]",
    collections.defaultdict: "dict[str, T]",
    collections.Counter: "dict[str, int]",
}


def is_class(tp: Any) -> bool:
    """A real class, not a ``list[int]``-style alias (which claims to be one)."""
    return isinstance(tp, type) and not isinstance(tp, types.GenericAlias)


def _is_type_alias(tp: Any) -> bool:
    alias_types: tuple[type, ...] = (typing_extensions.TypeAliasType,)
    builtin = getattr(typing, "TypeAliasType", None)
    if isinstance(builtin, type):
        alias_types = (*alias_types, builtin)
    return isinstance(tp, alias_types)


def describe(tp: Any) -> str:
    """A short spelling of a type for messages: ``list[ChatMessage] | None``."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Ellipsis:
        return "..."
    if isinstance(tp, TypeVar):
        return tp.__name__
    if isinstance(tp, typing.NewType):
        return tp.__name__
    if isinstance(tp, str):
        return tp
    if isinstance(tp, list):
        return f"[{', '.join(describe(a) for a in tp)}]"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return f"Annotated[{describe(args[0])}, ...]"
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe(a) for a in args)
    if origin is not None:
        name = describe(origin)
        return f"{name}[{', '.join(describe(a) for a in args)}]" if args else name
    if is_class(tp):
        return str(tp.__qualname__)
    text = repr(tp)
    for prefix in ("typing_extensions.", "typing.", "collections.abc."):
        text = text.replace(prefix, "")
    return text


@dataclass(frozen=True, slots=True)
class Scope:
    """What surrounds the type being mapped.

    ``type_parameters`` are the type variables in scope: those of the generic
    model whose fields are being mapped (``model`` names it), none in method
    signatures. ``stream_context`` completes the sentence "AsyncIterator cannot
    be used ..." for this place.
    """

    type_parameters: tuple[Any, ...] = ()
    stream_context: str = "inside another type"
    model: str | None = None


class TypeMapper:
    """Maps annotations to :data:`TypeRef` s, reporting what cannot be mapped."""

    def __init__(self, report: Report, declarations: Declarations) -> None:
        self.report = report
        self.declarations = declarations
        self._aliases: list[Any] = []

    def _fail(self, code: ErrorCode, message: str, site: Site, path: Sequence[str]) -> TypeRef:
        self.report.error(code, message, site.location, path)
        return INVALID

    # -- entry point ---------------------------------------------------------------

    def map(
        self,
        tp: Any,
        site: Site,
        path: Sequence[str],
        scope: Scope,
        *,
        discriminator: str | None = None,
    ) -> TypeRef:
        """The IR of ``tp``; ``discriminator`` is a pydantic discriminator (the
        tag field's Python name or alias) declared on the enclosing field."""
        path = tuple(path)
        while isinstance(tp, typing.NewType):
            tp = tp.__supertype__
        if isinstance(tp, str | typing.ForwardRef):
            name = tp if isinstance(tp, str) else tp.__forward_arg__
            return self._fail(
                ErrorCode.UNRESOLVED_ANNOTATION,
                f"cannot resolve the annotation {name!r}",
                site,
                path,
            )
        if _is_type_alias(tp):
            return self._alias(tp, site, path, scope)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)

        if origin is typing.Annotated:
            return self._annotated(tp, args, site, path, scope, discriminator)
        if tp is None or (is_class(tp) and tp in _PRIMITIVES):
            return PrimitiveType(name=_PRIMITIVES[type(None) if tp is None else tp])
        if isinstance(tp, TypeVar):
            return self._typevar(tp, site, path, scope)
        if origin is typing.Literal:
            return self._literal(tp, args, site, path)
        if origin in (typing.Union, types.UnionType):
            return self._union(args, site, path, scope, discriminator)
        if tp in _ASYNC_ITERATION or origin in _ASYNC_ITERATION:
            return self._fail(
                ErrorCode.MISPLACED_STREAM,
                f"{describe(tp)!r} cannot be used {scope.stream_context}: a stream is the "
                "whole result or a whole parameter of a hub method, AsyncIterator[T]",
                site,
                path,
            )
        if origin in _CONTAINERS:
            return self._sequence(origin, args, site, path, scope)
        if any(tp is bare for bare in (list, set, frozenset, tuple, dict)):
            name = tp.__name__
            example = "dict[str, T]" if tp is dict else f"{name}[T]"
            return self._fail(
                ErrorCode.MISSING_TYPE_ARGUMENTS,
                f"bare {name!r} does not say what it holds: write {example}",
                site,
                path,
            )
        if origin is tuple:
            return self._tuple(args, site, path, scope)
        if origin is dict:
            return self._dict(args, site, path, scope)
        if is_class(tp):
            return self._class(tp, site, path, scope)
        return self._unsupported(tp, origin, site, path)

    # -- special forms -------------------------------------------------------------

    def _alias(self, tp: Any, site: Site, path: tuple[str, ...], scope: Scope) -> TypeRef:
        if any(seen is tp for seen in self._aliases):
            return self._fail(
                ErrorCode.UNSUPPORTED_TYPE,
                f"type alias {tp.__name__!r} refers to itself: use a model for recursive data",
                site,
                path,
            )
        self._aliases.append(tp)
        try:
            return self.map(tp.__value__, site, path, scope)
        finally:
            self._aliases.pop()

    def _annotated(
        self,
        tp: Any,
        args: tuple[Any, ...],
        site: Site,
        path: tuple[str, ...],
        scope: Scope,
        discriminator: str | None,
    ) -> TypeRef:
        inner, *metadata = args
        for item in metadata:
            if isinstance(item, PlainSerializer | WrapSerializer):
                return self._fail(
                    ErrorCode.FIELD_SERIALIZER,
                    f"{type(item).__name__} in {describe(tp)!r} changes the wire form in a "
                    "way the IR cannot describe: remove it and convert in your code",
                    site,
                    path,
                )
            found = discriminator_of(item)
            if found is not None:
                discriminator = found
        return self.map(
            inner, site.argument(0, len(args)), path, scope, discriminator=discriminator
        )

    def _typevar(self, tp: Any, site: Site, path: tuple[str, ...], scope: Scope) -> TypeRef:
        if tp in scope.type_parameters:
            return TypeVarRef(name=tp.__name__)
        if scope.model is not None:
            message = (
                f"type variable {tp.__name__!r} is not a type parameter of model "
                f"{scope.model!r}: declare it as 'class {scope.model}(BaseModel, "
                f"Generic[{tp.__name__}])' or use a concrete type"
            )
        else:
            message = (
                f"type variable {tp.__name__!r} in a method signature: generic methods are "
                "not supported; use a concrete type (or a generic model with type arguments)"
            )
        return self._fail(ErrorCode.GENERIC_METHOD, message, site, path)

    def _literal(
        self, tp: Any, args: tuple[Any, ...], site: Site, path: tuple[str, ...]
    ) -> TypeRef:
        values: list[str | int | bool] = []
        nullable = False
        for index, value in enumerate(args):
            if value is None:
                nullable = True
                continue
            if isinstance(value, enum.Enum):
                value = value.value
            if isinstance(value, str | int) and not isinstance(value, enum.Enum):
                values.append(value)
                continue
            self.report.error(
                ErrorCode.LITERAL_VALUE,
                f"{describe(tp)!r}: literal value {value!r} is not a str, int or bool",
                site.argument(index, len(args)).location,
                path,
            )
        if not values:
            return _NONE
        literal = LiteralType(values=values)
        return NullableType(inner=literal) if nullable else literal

    def _union(
        self,
        args: tuple[Any, ...],
        site: Site,
        path: tuple[str, ...],
        scope: Scope,
        discriminator: str | None,
    ) -> TypeRef:
        nullable = any(a is type(None) or a is None for a in args)
        members: list[TypeRef] = []
        real = [(i, a) for i, a in enumerate(args) if a is not type(None) and a is not None]
        for position, (index, member) in enumerate(real, start=1):
            step = () if len(real) == 1 else (f"union member {position}",)
            ref = self.map(member, site.argument(index, len(args)), (*path, *step), scope)
            if ref not in members:
                members.append(ref)
        wire_tag: str | None = None
        if discriminator is not None:
            wire_tag = self._discriminator(discriminator, [a for _, a in real], site, path)
        inner: TypeRef
        if not members:
            return _NONE
        if len(members) == 1:
            inner = members[0]
        else:
            inner = UnionType(members=members, discriminator=wire_tag)
        return NullableType(inner=inner) if nullable else inner

    def _discriminator(
        self, tag: str, members: list[Any], site: Site, path: tuple[str, ...]
    ) -> str | None:
        wire_names: list[str] = []
        for member in members:
            if not (is_class(member) and issubclass(member, BaseModel)):
                self.report.error(
                    ErrorCode.BAD_DISCRIMINATOR,
                    f"discriminated union on {tag!r}: member {describe(member)!r} is not "
                    "a pydantic model",
                    site.location,
                    path,
                )
                return None
            found = self.declarations.tag_field(member, tag)
            if found is None:
                self.report.error(
                    ErrorCode.BAD_DISCRIMINATOR,
                    f"discriminated union on {tag!r}: model {describe(member)!r} has no "
                    f"field {tag!r} typed as a Literal",
                    site.location,
                    path,
                )
                return None
            wire_names.append(found)
        if len(set(wire_names)) > 1:
            self.report.error(
                ErrorCode.BAD_DISCRIMINATOR,
                f"discriminated union on {tag!r}: members send the tag under different "
                f"wire names ({', '.join(sorted(set(wire_names)))})",
                site.location,
                path,
            )
            return None
        return wire_names[0] if wire_names else None

    # -- containers ----------------------------------------------------------------

    def _sequence(
        self,
        origin: Any,
        args: tuple[Any, ...],
        site: Site,
        path: tuple[str, ...],
        scope: Scope,
    ) -> TypeRef:
        container = _CONTAINERS[origin]
        item = self.map(args[0], site.argument(0, len(args)), (*path, f"{container}[...]"), scope)
        return ListType(item=item, container=container)

    def _tuple(
        self, args: tuple[Any, ...], site: Site, path: tuple[str, ...], scope: Scope
    ) -> TypeRef:
        if len(args) == 2 and args[1] is Ellipsis:
            item = self.map(args[0], site.argument(0, 2), (*path, "tuple[...]"), scope)
            return ListType(item=item, container="tuple")
        items = [
            self.map(arg, site.argument(index, len(args)), (*path, f"tuple item {index}"), scope)
            for index, arg in enumerate(args)
            if arg != ()
        ]
        return TupleType(items=items)

    def _dict(
        self, args: tuple[Any, ...], site: Site, path: tuple[str, ...], scope: Scope
    ) -> TypeRef:
        key_site = site.argument(0, 2)
        key = self.map(args[0], key_site, (*path, "dict key"), scope)
        value = self.map(args[1], site.argument(1, 2), (*path, "dict[str, ...]"), scope)
        if key is not INVALID and not self._string_like(key):
            self.report.error(
                ErrorCode.DICT_KEY,
                f"dict key type {describe(args[0])!r} is not a string: JSON object keys are "
                "strings; use str, a str Enum or a Literal of strings",
                key_site.location,
                (*path, "dict key"),
            )
        return DictType(key=key, value=value)

    def _string_like(self, key: TypeRef) -> bool:
        if isinstance(key, PrimitiveType):
            return key.name == "str"
        if isinstance(key, LiteralType):
            return all(isinstance(v, str) for v in key.values)
        if isinstance(key, EnumRef):
            return self.declarations.enum_value_type(key.name) == "str"
        return False

    # -- classes -------------------------------------------------------------------

    def _class(self, cls: type, site: Site, path: tuple[str, ...], scope: Scope) -> TypeRef:
        if issubclass(cls, enum.Enum):
            name = self.declarations.enum(cls, site, path)
            return EnumRef(name=name) if name is not None else INVALID
        if issubclass(cls, BaseModel):
            return self._model(cls, site, path, scope)
        return self._unsupported(cls, None, site, path)

    def _model(
        self, cls: type[BaseModel], site: Site, path: tuple[str, ...], scope: Scope
    ) -> TypeRef:
        if issubclass(cls, RootModel):
            return self._fail(
                ErrorCode.ROOT_MODEL,
                f"RootModel {describe(cls)!r} is not supported: use its root type directly",
                site,
                path,
            )
        metadata = cls.__pydantic_generic_metadata__
        origin = metadata["origin"]
        if origin is not None:
            name = self.declarations.model(origin, site, path)
            parameters = origin.__pydantic_generic_metadata__["parameters"]
            args = metadata["args"]
            refs = [
                self.map(
                    arg,
                    site.argument(index, len(args)),
                    (*path, f"{origin.__name__}[...] argument {_param_name(parameters, index)}"),
                    scope,
                )
                for index, arg in enumerate(args)
            ]
            return ModelRef(name=name, args=refs) if name is not None else INVALID
        parameters = metadata["parameters"]
        if parameters and not all(p in scope.type_parameters for p in parameters):
            names = ", ".join(p.__name__ for p in parameters)
            return self._fail(
                ErrorCode.MISSING_TYPE_ARGUMENTS,
                f"generic model {cls.__name__!r} needs type arguments: write "
                f"{cls.__name__}[{names}] with concrete types",
                site,
                path,
            )
        name = self.declarations.model(cls, site, path)
        if name is None:
            return INVALID
        # A generic model's own type parameters (``Page[T]`` inside ``Page``).
        return ModelRef(name=name, args=[TypeVarRef(name=p.__name__) for p in parameters])

    def _unsupported(self, tp: Any, origin: Any, site: Site, path: tuple[str, ...]) -> TypeRef:
        return self._fail(ErrorCode.UNSUPPORTED_TYPE, _unsupported_message(tp, origin), site, path)


def _param_name(parameters: tuple[Any, ...], index: int) -> str:
    return repr(parameters[index].__name__) if index < len(parameters) else str(index)


def discriminator_of(item: Any) -> str | None:
    """The tag field named by a ``Field(discriminator=...)`` or ``Discriminator``;
    ``None`` for anything else, including callable discriminators."""
    if isinstance(item, FieldInfo):
        item = item.discriminator
    if isinstance(item, Discriminator):
        item = item.discriminator
    return item if isinstance(item, str) else None


def _unsupported_message(tp: Any, origin: Any) -> str:
    shown = describe(tp)
    base = f"unsupported type {shown!r}"
    key = origin if origin is not None else tp
    if tp is Any or tp is typing_extensions.Any:
        return f"{base}: the wire type must be known; use a concrete type"
    if tp is object:
        return f"{base}: any value could be sent; use a concrete type"
    if key in _USE_INSTEAD:
        return f"{base}: use {_USE_INSTEAD[key]}"
    if key is collections.abc.Callable or key is typing.Callable:
        return f"{base}: callables cannot travel over the wire"
    if key is type:
        return f"{base}: classes cannot travel over the wire"
    if is_class(tp):
        if typing_extensions.is_typeddict(tp):
            return f"{base}: TypedDict is not supported; make {shown!r} a pydantic BaseModel"
        if dataclasses.is_dataclass(tp):
            return f"{base}: dataclasses are not supported; make {shown!r} a pydantic BaseModel"
        if issubclass(tp, tuple) and hasattr(tp, "_fields"):
            return f"{base}: NamedTuple is not supported; make {shown!r} a pydantic BaseModel"
        return (
            f"{base}: use a pydantic BaseModel, an int or str Enum, or one of str, int, "
            "float, bool, bytes, datetime, date, time, timedelta, UUID, Decimal"
        )
    return base
