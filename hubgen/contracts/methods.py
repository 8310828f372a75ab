"""Hub and client Protocol methods → :class:`hubgen.ir.MethodDecl`.

A hub method is ``async def m(...) -> T`` (an invocation; ``-> None`` is void)
or ``def m(...) -> AsyncIterator[T]`` (a server-to-client stream); a parameter
typed ``AsyncIterator[T]`` is a client-to-server stream. A client method is
``async def m(...) -> None`` (a plain call) or ``-> T`` (a client result).
Members are read by :mod:`hubgen.members`, as :mod:`hubgen.spec` reads them at
runtime: the public members of the Protocol and its bases, bases first.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import libcst as cst
from pydantic import TypeAdapter, ValidationError

from hubgen import artifacts
from hubgen._markers import METHOD_ATTR, MethodMarker
from hubgen.contracts.defaults import constant_default, describe_value
from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.models import Declarations
from hubgen.contracts.report import Report
from hubgen.contracts.source import ClassSource, Site, SourceIndex, decorator_argument
from hubgen.contracts.typerefs import INVALID, Scope, describe
from hubgen.ir import DefaultValue, MethodDecl, MethodKind, ParameterDecl, SourceLocation, TypeRef
from hubgen.members import DATA_MEMBER, protocol_members, stream_item
from hubgen.naming import MethodNaming

__all__ = ["MethodAnalyzer", "Role"]

Role = Literal["hub", "client"]

_EMPTY = inspect.Parameter.empty

#: Generated method bodies use module-level names starting with ``_``
#: (``_SEND``): a parameter with such a name would shadow them.
_RESERVED_PARAMETER_PREFIX = "_"


def _is_overload_stub(func: Any) -> bool:
    """``typing.overload`` replaces the last ``@overload`` def with a dummy."""
    return getattr(func, "__qualname__", "") == "_overload_dummy" and getattr(
        func, "__module__", ""
    ) in ("typing", "typing_extensions")


def _resolve(func: Any, key: str) -> Any:
    """One annotation of ``func``, resolved in the function's globals."""
    holder = types.SimpleNamespace(__annotations__={key: func.__annotations__[key]})
    return typing.get_type_hints(holder, globalns=func.__globals__, include_extras=True)[key]


def _param_nodes(node: cst.FunctionDef | None) -> dict[str, cst.Param]:
    if node is None:
        return {}
    params = node.params
    found: list[cst.Param] = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return {p.name.value: p for p in found}


@dataclass(frozen=True, slots=True)
class _Where:
    """Positions of one method's source."""

    source: ClassSource | None
    node: cst.FunctionDef | None
    location: SourceLocation

    def at(self, node: cst.CSTNode | None) -> SourceLocation:
        if node is None or self.source is None:
            return self.location
        return self.source.file.locate(node)

    def site(self, annotation: cst.Annotation | None) -> Site:
        if annotation is None or self.source is None:
            return Site(self.location)
        return Site.at(self.source.file, annotation.annotation)


class MethodAnalyzer:
    """Builds the :class:`MethodDecl` s of hub and client Protocols."""

    def __init__(
        self,
        report: Report,
        sources: SourceIndex,
        declarations: Declarations,
        naming: MethodNaming,
    ) -> None:
        self.report = report
        self.sources = sources
        self.declarations = declarations
        self.naming = naming
        self._scope = Scope()

    def methods(self, protocol: type, role: Role) -> list[MethodDecl]:
        """The methods of ``protocol``; problems are reported, never raised."""
        decls: list[MethodDecl] = []
        # A generic Protocol is reported once (HG015), not at every use of its
        # type variables.
        self._scope = Scope(type_parameters=tuple(getattr(protocol, "__parameters__", ())))
        for member in protocol_members(protocol):
            klass, name, value = member.owner, member.name, member.value
            source = self.sources.class_source(klass)
            if not member.is_method:
                self._not_a_method(protocol, klass, source, name, value, role)
                continue
            decl = self._method(protocol, source, klass, name, value, role)
            if decl is not None:
                decls.append(decl)
        self._check_collisions(protocol, decls, role)
        return decls

    def _check_collisions(self, protocol: type, decls: list[MethodDecl], role: Role) -> None:
        by_wire: dict[str, MethodDecl] = {}
        by_ts: dict[str, MethodDecl] = {}
        for decl in decls:
            path = (f"{protocol.__name__}.{decl.name}",)
            other = by_wire.setdefault(decl.wire_name.lower(), decl)
            if other is not decl:
                self.report.error(
                    ErrorCode.WIRE_NAME_COLLISION,
                    f"{role} methods {other.name!r} ({other.wire_name!r}) and {decl.name!r} "
                    f"({decl.wire_name!r}) have the same wire name ignoring case, and SignalR "
                    "matches method names case-insensitively; rename one or set "
                    "@hubgen.method(name=...)",
                    decl.location,
                    path,
                )
            ts_name = artifacts.typescript_member(decl.name)
            other = by_ts.setdefault(ts_name, decl)
            if other is not decl:
                self.report.error(
                    ErrorCode.MEMBER_NAME_COLLISION,
                    f"{role} methods {other.name!r} and {decl.name!r} would both be named "
                    f"{ts_name!r} in TypeScript; rename one of them",
                    decl.location,
                    path,
                )

    # -- members -------------------------------------------------------------------

    def _not_a_method(
        self,
        protocol: type,
        klass: type,
        source: ClassSource | None,
        name: str,
        value: Any,
        role: Role,
    ) -> None:
        if value is DATA_MEMBER:
            kind = "a data member"
        elif isinstance(value, staticmethod | classmethod | property):
            kind = f"a {type(value).__name__}"
        elif isinstance(value, type):
            kind = "a nested class"
        else:
            kind = f"a value ({type(value).__name__})"
        location = source.member_location(name) if source is not None else None
        self.report.error(
            ErrorCode.NOT_A_METHOD,
            f"{role} Protocol {protocol.__name__!r} declares {name!r} as {kind}: a {role} "
            "contract declares methods only (async def, or def returning AsyncIterator)",
            location or self.sources.class_location(klass),
            (f"{protocol.__name__}.{name}",),
        )

    def _method(
        self,
        protocol: type,
        source: ClassSource | None,
        klass: type,
        name: str,
        func: Any,
        role: Role,
    ) -> MethodDecl | None:
        node = source.function(name) if source is not None else None
        where = _Where(
            source,
            node,
            source.file.locate(node.name)
            if source is not None and node is not None
            else self.sources.class_location(klass),
        )
        path = (f"{protocol.__name__}.{name}",)
        if _is_overload_stub(func) or typing.get_overloads(func):
            first = (
                source.functions[name][0]
                if source is not None and source.functions.get(name)
                else None
            )
            self.report.error(
                ErrorCode.OVERLOADED_METHOD,
                f"{name!r} is overloaded: a SignalR method has one signature; declare each "
                "variant as its own method",
                where.at(first.name if first is not None else None),
                path,
            )
            return None
        if getattr(func, "__type_params__", ()):
            self.report.error(
                ErrorCode.GENERIC_METHOD,
                f"{name!r} declares type parameters: generic methods are not supported; "
                "use concrete types",
                where.location,
                path,
            )
            return None
        self._check_method_name(name, role, where.location, path)
        wire_name = self._wire_name(func, name, where, path)
        kind, returns = self._returns(func, name, role, where, path)
        parameters = self._parameters(func, name, role, where, path)
        doc = node.get_docstring(clean=True) if node is not None else None
        if doc is None and node is None and func.__doc__:
            doc = inspect.cleandoc(func.__doc__)
        return MethodDecl(
            name=name,
            wire_name=wire_name,
            kind=kind,
            parameters=parameters,
            returns=returns,
            doc=doc,
            location=where.location,
        )

    def _check_method_name(
        self, name: str, role: Role, location: SourceLocation, path: tuple[str, ...]
    ) -> None:
        reason: str | None = None
        prefix = artifacts.PYTHON_REGISTRATION_PREFIX
        if role == "hub":
            member = artifacts.typescript_member(name)
            if name in artifacts.HUB_BASE_MEMBERS:
                reason = "the generated hub base (hubgen.server.Hub) already has it"
            elif name in artifacts.PYTHON_HUB_CLIENT_MEMBERS:
                reason = "the generated client proxy (hubgen.client.HubProxy) already has it"
            elif name.startswith(prefix):
                reason = (
                    f"names starting with {prefix!r} are the client proxy's handler "
                    f"registrations ({prefix}<client method>)"
                )
            elif member in artifacts.TYPESCRIPT_HUB_MEMBERS:
                reason = f"its TypeScript name {member!r} is a member of the generated hub object"
        elif name.startswith(prefix):
            reason = (
                f"names starting with {prefix!r} are reserved: the client proxy registers a "
                f"client method 'x' as {artifacts.python_registration('x')!r}, so this one "
                f"would become {artifacts.python_registration(name)!r}"
            )
        elif name in artifacts.CLIENT_PROXY_MEMBERS:
            reason = "the generated client proxies (hubgen.server.ClientProxy) already have it"
        if reason is not None:
            self.report.error(
                ErrorCode.RESERVED_METHOD_NAME,
                f"{role} method name {name!r} is reserved: {reason}; rename the method (keep "
                "its wire name with @hubgen.method(name=...))",
                location,
                path,
            )

    def _wire_name(self, func: Any, name: str, where: _Where, path: tuple[str, ...]) -> str:
        marker = getattr(func, METHOD_ATTR, None)
        if not isinstance(marker, MethodMarker) or marker.name is None:
            return self.naming.apply(name)
        wire = marker.name
        if isinstance(wire, str) and wire and wire == wire.strip() and wire.isprintable():
            return wire
        node = (
            decorator_argument(where.node.decorators, "method", "name")
            if where.node is not None
            else None
        )
        self.report.error(
            ErrorCode.BAD_WIRE_NAME,
            f"wire name {wire!r} of {name!r} is not usable: it must be a non-empty string "
            "without surrounding whitespace or control characters",
            where.at(node),
            path,
        )
        return self.naming.apply(name)

    # -- result --------------------------------------------------------------------

    def _returns(
        self, func: Any, name: str, role: Role, where: _Where, path: tuple[str, ...]
    ) -> tuple[MethodKind, TypeRef]:
        is_coroutine = inspect.iscoroutinefunction(func)
        is_generator = inspect.isasyncgenfunction(func)
        if "return" not in func.__annotations__:
            self.report.error(
                ErrorCode.MISSING_ANNOTATION,
                f"{name!r} has no return annotation: write '-> None' when it returns nothing",
                where.location,
                path,
            )
            return MethodKind.INVOKE, INVALID
        annotation = where.node.returns if where.node is not None else None
        site = where.site(annotation)
        result_path = (*path, "result")
        try:
            hint = _resolve(func, "return")
        except Exception as exc:
            self._unresolved(exc, "the return annotation", site, path)
            return MethodKind.INVOKE, INVALID
        is_stream, item = stream_item(hint)
        if typing.get_origin(hint) is AsyncGenerator or hint is AsyncGenerator:
            self.report.error(
                ErrorCode.MISPLACED_STREAM,
                f"{name!r} returns {describe(hint)!r}: declare a stream as '-> AsyncIterator[T]'",
                site.location,
                result_path,
            )
            return MethodKind.INVOKE, INVALID
        if role == "client":
            if is_stream or is_generator:
                self.report.error(
                    ErrorCode.MISPLACED_STREAM,
                    f"client method {name!r} returns a stream: the server cannot stream from "
                    "clients; return a value (a client result) or None",
                    site.location,
                    result_path,
                )
                return MethodKind.INVOKE, INVALID
            if not is_coroutine:
                self.report.error(
                    ErrorCode.CLIENT_NOT_ASYNC,
                    f"client method {name!r} is a plain 'def': client methods are 'async def'",
                    where.location,
                    path,
                )
            return MethodKind.INVOKE, self._map(hint, site, result_path)
        if is_stream:
            if is_coroutine:
                self.report.error(
                    ErrorCode.ASYNC_STREAM,
                    f"{name!r} is an 'async def' returning {describe(hint)!r}: calling it "
                    "gives a coroutine, not a stream; drop 'async' (def m(...) -> "
                    "AsyncIterator[T]) or make it an async generator (add 'yield')",
                    where.location,
                    path,
                )
                return MethodKind.STREAM, INVALID
            if item is None:
                self.report.error(
                    ErrorCode.MISSING_TYPE_ARGUMENTS,
                    f"{name!r} returns a bare AsyncIterator: write AsyncIterator[T]",
                    site.location,
                    result_path,
                )
                return MethodKind.STREAM, INVALID
            return MethodKind.STREAM, self._map(item, site.argument(0, 1), result_path)
        if is_generator:
            self.report.error(
                ErrorCode.MISPLACED_STREAM,
                f"{name!r} is an async generator but is annotated {describe(hint)!r}: "
                "annotate it '-> AsyncIterator[T]'",
                site.location,
                result_path,
            )
            return MethodKind.STREAM, INVALID
        if not is_coroutine:
            self.report.error(
                ErrorCode.SYNC_NOT_STREAM,
                f"{name!r} is a plain 'def' returning {describe(hint)!r}: hub methods are "
                "'async def' (only streams, returning AsyncIterator[T], are plain 'def')",
                where.location,
                path,
            )
            return MethodKind.INVOKE, INVALID
        return MethodKind.INVOKE, self._map(hint, site, result_path)

    def _map(self, hint: Any, site: Site, path: tuple[str, ...]) -> TypeRef:
        return self.declarations.mapper.map(hint, site, path, self._scope)

    def _unresolved(self, exc: Exception, what: str, site: Site, path: tuple[str, ...]) -> None:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.report.error(
            ErrorCode.UNRESOLVED_ANNOTATION,
            f"cannot resolve {what}: {detail}",
            site.location,
            path,
        )

    # -- parameters ----------------------------------------------------------------

    def _parameters(
        self, func: Any, name: str, role: Role, where: _Where, path: tuple[str, ...]
    ) -> list[ParameterDecl]:
        signature = inspect.signature(func)
        params = list(signature.parameters.values())
        nodes = _param_nodes(where.node)
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if params and params[0].kind in positional:
            params = params[1:]
        elif not params or params[0].kind is not inspect.Parameter.VAR_POSITIONAL:
            self.report.error(
                ErrorCode.NO_SELF,
                f"{name!r} takes no 'self': contract methods are instance methods",
                where.location,
                path,
            )
            return []
        decls: list[ParameterDecl] = []
        for param in params:
            decl = self._parameter(func, param, nodes.get(param.name), role, where, path)
            if decl is not None:
                decls.append(decl)
        seen: dict[str, str] = {}
        for decl in decls:
            ts_name = artifacts.typescript_parameter(decl.name, locals=False)
            if ts_name in seen:
                self.report.error(
                    ErrorCode.MEMBER_NAME_COLLISION,
                    f"parameters {seen[ts_name]!r} and {decl.name!r} of {name!r} would both be "
                    f"named {ts_name!r} in TypeScript; rename one of them",
                    decl.location,
                    (*path, f"parameter {decl.name!r}"),
                )
            seen.setdefault(ts_name, decl.name)
        return decls

    def _parameter(
        self,
        func: Any,
        param: inspect.Parameter,
        node: cst.Param | None,
        role: Role,
        where: _Where,
        path: tuple[str, ...],
    ) -> ParameterDecl | None:
        name = param.name
        location = where.at(node.name if node is not None else None)
        param_path = (*path, f"parameter {name!r}")
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            stars = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            self.report.error(
                ErrorCode.VARIADIC_PARAMETER,
                f"'{stars}{name}': SignalR passes a fixed list of arguments; declare each "
                "parameter with its type",
                where.at(node),
                param_path,
            )
            return None
        if name.startswith(_RESERVED_PARAMETER_PREFIX):
            self.report.error(
                ErrorCode.RESERVED_PARAMETER_NAME,
                f"parameter name {name!r} is reserved: names starting with '_' are used by "
                "generated code; rename it",
                location,
                param_path,
            )
        if param.annotation is _EMPTY:
            self.report.error(
                ErrorCode.MISSING_ANNOTATION,
                f"parameter {name!r} has no type annotation",
                location,
                param_path,
            )
            return None
        site = where.site(node.annotation if node is not None else None)
        try:
            hint = _resolve(func, name)
        except Exception as exc:
            self._unresolved(exc, f"the annotation of parameter {name!r}", site, param_path)
            return None
        is_stream, item = stream_item(hint)
        if is_stream or typing.get_origin(hint) is AsyncGenerator or hint is AsyncGenerator:
            return self._stream_parameter(param, hint, item, role, location, site, param_path)
        ref = self._map(hint, site, param_path)
        default = None
        if param.default is not _EMPTY:
            default_node = node.default if node is not None else None
            default = self._default(param, hint, ref, where.at(default_node), param_path)
        return ParameterDecl(
            name=name,
            type=ref,
            default=default,
            keyword_only=param.kind is inspect.Parameter.KEYWORD_ONLY,
            location=location,
        )

    def _stream_parameter(
        self,
        param: inspect.Parameter,
        hint: Any,
        item: Any,
        role: Role,
        location: SourceLocation,
        site: Site,
        path: tuple[str, ...],
    ) -> ParameterDecl | None:
        name = param.name
        message: str | None = None
        code = ErrorCode.MISPLACED_STREAM
        if role == "client":
            message = (
                f"client method parameter {name!r} is a stream: the server cannot stream to "
                "client methods; use a hub method returning AsyncIterator[T]"
            )
        elif typing.get_origin(hint) is AsyncGenerator or hint is AsyncGenerator:
            message = f"parameter {name!r}: declare an upload stream as AsyncIterator[T]"
        elif param.default is not _EMPTY:
            message = f"stream parameter {name!r} cannot have a default"
        elif item is None:
            code = ErrorCode.MISSING_TYPE_ARGUMENTS
            message = f"stream parameter {name!r} is a bare AsyncIterator: write AsyncIterator[T]"
        if message is not None:
            self.report.error(code, message, site.location if role == "hub" else location, path)
            return None
        ref = self._map(item, site.argument(0, 1), path)
        return ParameterDecl(
            name=name,
            type=ref,
            stream=True,
            keyword_only=param.kind is inspect.Parameter.KEYWORD_ONLY,
            location=location,
        )

    def _default(
        self,
        param: inspect.Parameter,
        hint: Any,
        ref: TypeRef,
        location: SourceLocation,
        path: tuple[str, ...],
    ) -> DefaultValue | None:
        value = param.default
        default = constant_default(value, self.declarations.enum_in(ref))
        if default is None:
            why = (
                "it is not finite"
                if isinstance(value, float) and not math.isfinite(value)
                else "generated code repeats defaults, so they must be None, a bool, int, "
                "float or str literal, or an enum member"
            )
            self.report.error(
                ErrorCode.NON_CONSTANT_DEFAULT,
                f"default {describe_value(value)} of parameter {param.name!r} is not a "
                f"constant: {why}",
                location,
                path,
            )
            return None
        if ref is INVALID:
            return default
        problem = _misfit(hint, value)
        if problem is not None:
            self.report.error(
                ErrorCode.DEFAULT_TYPE_MISMATCH,
                f"default {describe_value(value)} of parameter {param.name!r} does not fit "
                f"its type {describe(hint)!r}: {problem}",
                location,
                path,
            )
        return default


def _misfit(hint: Any, value: Any) -> str | None:
    """Why ``value`` is not a valid ``hint`` (strictly), or ``None``."""
    check: Callable[[Any], Any]
    try:
        check = TypeAdapter(hint).validate_python
    except Exception:  # a type pydantic cannot build; already reported
        return None
    try:
        check(value, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return str(errors[0]["msg"]) if errors else str(exc)
    return None
