"""Models and enums reachable from a contract → :class:`ModelDecl` / :class:`EnumDecl`.

:class:`Declarations` declares each pydantic model and enum once, when the type
walk first meets it, and checks that the wire rules describe it truthfully: a
model's wire form must be exactly its fields under their wire names (no custom
serializers, computed fields, extra fields, one-way aliases or excluded fields).
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Sequence
from typing import Literal

from pydantic import AliasChoices, BaseModel, PlainSerializer, WrapSerializer
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hubgen.contracts.defaults import constant_default
from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.names import import_problem
from hubgen.contracts.report import Report
from hubgen.contracts.source import ClassSource, Site, SourceIndex
from hubgen.contracts.typerefs import Scope, TypeMapper, describe, discriminator_of
from hubgen.ir import (
    DefaultValue,
    EnumDecl,
    EnumMember,
    EnumRef,
    FieldDecl,
    ModelDecl,
    PythonRef,
    SourceLocation,
    TypeRef,
    walk,
)
from hubgen.naming import FieldNaming

__all__ = ["Declarations", "enum_names", "field_wire_name"]


def field_wire_name(name: str, info: FieldInfo, naming: FieldNaming) -> str:
    """The name a field travels under: its serialization alias, else its
    alias, else the field naming policy applied to ``name``."""
    return info.serialization_alias or info.alias or naming.apply(name)


def _accepted_names(name: str, info: FieldInfo, naming: FieldNaming) -> list[str]:
    """The names the runtime codecs accept the field under when decoding."""
    alias = info.validation_alias
    if alias is None:
        return [info.alias or naming.apply(name)]
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return []


def enum_names(ref: TypeRef) -> set[str]:
    """Names of the enums a type reference mentions, at any depth."""
    return {r.name for r in walk(ref) if isinstance(r, EnumRef)}


class Declarations:
    """The models and enums of one analysis, each declared once."""

    def __init__(self, report: Report, sources: SourceIndex, naming: FieldNaming) -> None:
        self.report = report
        self.sources = sources
        self.naming = naming
        self.mapper = TypeMapper(report, self)
        self._models: dict[type[BaseModel], ModelDecl | None] = {}
        self._enums: dict[type[enum.Enum], EnumDecl | None] = {}
        self._enum_types: dict[str, Literal["str", "int"]] = {}
        self._enum_classes: dict[str, type[enum.Enum]] = {}

    # -- results -------------------------------------------------------------------

    def models(self) -> list[ModelDecl]:
        decls = [d for d in self._models.values() if d is not None]
        return sorted(decls, key=lambda d: (d.name, d.python.module, d.python.qualname))

    def enums(self) -> list[EnumDecl]:
        decls = [d for d in self._enums.values() if d is not None]
        return sorted(decls, key=lambda d: (d.name, d.python.module, d.python.qualname))

    def enum_value_type(self, name: str) -> Literal["str", "int"] | None:
        return self._enum_types.get(name)

    def enum_in(self, ref: TypeRef) -> typing.Callable[[type[enum.Enum]], bool]:
        """Whether an enum class is the one a type reference mentions by name."""
        names = enum_names(ref)
        return lambda cls: cls.__name__ in names and self._enum_classes.get(cls.__name__) is cls

    def tag_field(self, cls: type[BaseModel], tag: str) -> str | None:
        """The wire name of ``cls``'s discriminator field ``tag`` (matched by
        Python name or alias) when it is typed as a ``Literal``."""
        for name, info in cls.model_fields.items():
            if tag in (name, info.alias) and typing.get_origin(info.annotation) is Literal:
                return field_wire_name(name, info, self.naming)
        return None

    # -- helpers -------------------------------------------------------------------

    def _location(self, cls: type) -> tuple[ClassSource | None, SourceLocation]:
        source = self.sources.class_source(cls)
        return source, source.location if source is not None else self.sources.fallback(cls)

    def _member_location(self, cls: type, name: str) -> SourceLocation:
        """Where ``name`` is defined in ``cls`` or the first base that defines it."""
        for klass in cls.__mro__:
            if name in vars(klass):
                source = self.sources.class_source(klass)
                found = source.member_location(name) if source is not None else None
                if found is not None:
                    return found
                break
        return self.sources.class_location(cls)

    def _config_location(self, cls: type, key: str) -> SourceLocation:
        """Where a model config key is set: a class keyword or ``model_config``."""
        for klass in cls.__mro__:
            if klass is BaseModel:
                break
            source = self.sources.class_source(klass)
            if source is None:
                continue
            keyword = source.keyword(key)
            if keyword is not None:
                return source.file.locate(keyword)
            member = source.members.get("model_config")
            if member is not None:
                return source.file.locate(member.name)
        return self.sources.class_location(cls)

    def _importable(
        self, cls: type, kind: str, location: SourceLocation, path: Sequence[str]
    ) -> None:
        problem = import_problem(cls)
        if problem is not None:
            self.report.error(
                ErrorCode.NOT_IMPORTABLE,
                f"{kind} {cls.__qualname__!r} cannot be imported by generated code: {problem}",
                location,
                path,
            )

    # -- enums ---------------------------------------------------------------------

    def enum(self, cls: type[enum.Enum], site: Site, path: Sequence[str]) -> str | None:
        """Declare ``cls`` (once) and return its IR name."""
        if cls in self._enums:
            return cls.__name__
        self._enums[cls] = None
        source, location = self._location(cls)
        path = (*path, cls.__name__)
        self._importable(cls, "enum", location, path)
        if issubclass(cls, enum.Flag):
            self.report.error(
                ErrorCode.UNSUPPORTED_ENUM,
                f"flag enum {cls.__name__!r} is not supported: combined flags are not members; "
                "use set[...] of a plain Enum",
                location,
                path,
            )
            return cls.__name__
        members = list(cls)
        if not members:
            self.report.error(
                ErrorCode.UNSUPPORTED_ENUM,
                f"enum {cls.__name__!r} has no members",
                location,
                path,
            )
            return cls.__name__
        value_type: Literal["str", "int"] = "str" if isinstance(members[0].value, str) else "int"
        ir_members: list[EnumMember] = []
        for member in members:
            value = member.value
            fits = (
                isinstance(value, str)
                if value_type == "str"
                else isinstance(value, int) and not isinstance(value, bool)
            )
            if not fits:
                where = source.member_location(member.name) if source is not None else None
                self.report.error(
                    ErrorCode.UNSUPPORTED_ENUM,
                    f"enum {cls.__name__!r}: member {member.name!r} has the value {value!r}; "
                    "enum values must be all str or all int",
                    where or location,
                    path,
                )
                return cls.__name__
            doc = (
                source.members[member.name].doc
                if source and member.name in source.members
                else None
            )
            ir_members.append(EnumMember(name=member.name, value=value, doc=doc))
        self._enum_types[cls.__name__] = value_type
        self._enum_classes.setdefault(cls.__name__, cls)
        self._enums[cls] = EnumDecl(
            name=cls.__name__,
            python=PythonRef(module=cls.__module__, qualname=cls.__qualname__),
            value_type=value_type,
            members=ir_members,
            doc=source.doc if source is not None else None,
            location=location,
        )
        return cls.__name__

    # -- models --------------------------------------------------------------------

    def model(self, cls: type[BaseModel], site: Site, path: Sequence[str]) -> str | None:
        """Declare ``cls`` (an unparametrized model, once) and return its IR name."""
        if cls in self._models:
            return cls.__name__
        self._models[cls] = None
        source, location = self._location(cls)
        model_path = (*path, cls.__name__)
        self._importable(cls, "model", location, model_path)
        if not cls.__pydantic_complete__:
            try:
                cls.model_rebuild()
            except Exception as exc:
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                self.report.error(
                    ErrorCode.INCOMPLETE_MODEL,
                    f"model {cls.__name__!r} is not fully defined: {message}",
                    location,
                    model_path,
                )
                return cls.__name__
        self._check_wire_shape(cls, location, model_path)
        fields = self._fields(cls, location, path)
        parameters = cls.__pydantic_generic_metadata__["parameters"]
        self._models[cls] = ModelDecl(
            name=cls.__name__,
            python=PythonRef(module=cls.__module__, qualname=cls.__qualname__),
            fields=fields,
            type_parameters=[p.__name__ for p in parameters],
            extra="forbid" if cls.model_config.get("extra") == "forbid" else "ignore",
            doc=source.doc if source is not None else None,
            location=location,
        )
        return cls.__name__

    def _check_wire_shape(
        self, cls: type[BaseModel], location: SourceLocation, path: Sequence[str]
    ) -> None:
        decorators = cls.__pydantic_decorators__
        for name in decorators.model_serializers:
            self.report.error(
                ErrorCode.MODEL_SERIALIZER,
                f"model {cls.__name__!r} has a custom model_serializer ({name!r}): its wire form "
                "is no longer its fields, which generated clients rely on; remove it",
                self._member_location(cls, name),
                path,
            )
        for name, decorator in decorators.field_serializers.items():
            fields = ", ".join(repr(f) for f in decorator.info.fields)
            self.report.error(
                ErrorCode.FIELD_SERIALIZER,
                f"model {cls.__name__!r} has a field_serializer ({name!r}) for {fields}: the "
                "field's wire form is no longer its type; remove it and convert in your code",
                self._member_location(cls, name),
                path,
            )
        for name in decorators.computed_fields:
            self.report.error(
                ErrorCode.COMPUTED_FIELD,
                f"model {cls.__name__!r} has a computed field {name!r}: hub codecs send "
                "declared fields only, so it would silently never arrive; make it a regular "
                "field or a plain property",
                self._member_location(cls, name),
                path,
            )
        if cls.model_config.get("extra") == "allow":
            self.report.error(
                ErrorCode.EXTRA_ALLOWED,
                f"model {cls.__name__!r} allows extra fields (extra='allow'): undeclared data "
                "cannot be typed on the other side; use extra='ignore' or 'forbid' and declare "
                "the fields",
                self._config_location(cls, "extra"),
                path,
            )
        if cls.model_config.get("validate_by_alias") is False:
            self.report.error(
                ErrorCode.ALIAS_MISMATCH,
                f"model {cls.__name__!r} sets validate_by_alias=False: fields are sent under "
                "their aliases but would not be accepted under them",
                self._config_location(cls, "validate_by_alias"),
                path,
            )

    def _declaring_class(self, cls: type, name: str) -> type:
        for klass in cls.__mro__:
            if name in vars(klass).get("__annotations__", {}):
                return klass
        return cls

    def _fields(
        self, cls: type[BaseModel], location: SourceLocation, path: Sequence[str]
    ) -> list[FieldDecl]:
        parameters = cls.__pydantic_generic_metadata__["parameters"]
        scope = Scope(
            type_parameters=parameters,
            stream_context="in a model field",
            model=cls.__name__,
        )
        fields: list[FieldDecl] = []
        wire_owners: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            owner = self._declaring_class(cls, name)
            source = self.sources.class_source(owner)
            member = source.members.get(name) if source is not None else None
            field_location = (
                source.file.locate(member.name) if source is not None and member else location
            )
            if source is not None and member is not None and member.annotation is not None:
                site = Site.at(source.file, member.annotation).without_annotated()
            else:
                site = Site(field_location)
            field_path = (*path, f"{cls.__name__}.{name}")
            wire = field_wire_name(name, info, self.naming)
            self._check_field(cls, name, info, wire, field_location, field_path)
            if wire in wire_owners:
                self.report.error(
                    ErrorCode.FIELD_WIRE_NAME_COLLISION,
                    f"fields {wire_owners[wire]!r} and {name!r} of model {cls.__name__!r} "
                    f"would both be sent as {wire!r}; give one of them another alias",
                    field_location,
                    field_path,
                )
            wire_owners.setdefault(wire, name)
            ref = self.mapper.map(
                info.annotation,
                site,
                field_path,
                scope,
                discriminator=discriminator_of(info),
            )
            has_default = not info.is_required()
            default: DefaultValue | None = None
            if info.default_factory is None and info.default is not PydanticUndefined:
                default = constant_default(info.default, self.enum_in(ref))
            fields.append(
                FieldDecl(
                    name=name,
                    wire_name=wire,
                    type=ref,
                    default=default,
                    has_default=has_default,
                    doc=info.description or (member.doc if member is not None else None),
                    location=field_location,
                )
            )
        return fields

    def _check_field(
        self,
        cls: type[BaseModel],
        name: str,
        info: FieldInfo,
        wire: str,
        location: SourceLocation,
        path: Sequence[str],
    ) -> None:
        for item in info.metadata:
            if isinstance(item, PlainSerializer | WrapSerializer):
                self.report.error(
                    ErrorCode.FIELD_SERIALIZER,
                    f"field {name!r} of model {cls.__name__!r} has a {type(item).__name__}: "
                    "its wire form is no longer its type; remove it and convert in your code",
                    location,
                    path,
                )
        if info.exclude:
            self.report.error(
                ErrorCode.EXCLUDED_FIELD,
                f"field {name!r} of model {cls.__name__!r} is excluded from serialization: it "
                "would be accepted but never sent; make it a private attribute or drop exclude",
                location,
                path,
            )
        accepted = _accepted_names(name, info, self.naming)
        if wire not in accepted:
            shown = ", ".join(repr(a) for a in accepted) or describe(info.validation_alias)
            self.report.error(
                ErrorCode.ALIAS_MISMATCH,
                f"field {name!r} of model {cls.__name__!r} is sent as {wire!r} but accepted as "
                f"{shown}: use Field(alias=...) so both directions agree",
                location,
                path,
            )
