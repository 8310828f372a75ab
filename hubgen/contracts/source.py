"""Source positions and docstrings of contract declarations, read with libcst.

Runtime introspection says what a contract *means*; the source says where each
piece is written. :class:`SourceIndex` parses every file a declaration lives in
(once) and finds classes by ``__qualname__``; :class:`ClassSource` gives the
positions of a class's methods, parameters, annotations and fields and their
docstrings (including attribute docstrings: a string literal right after an
assignment in a class body). :class:`Site` follows a type annotation into its
parts so that an error inside ``list[dict[int, str]]`` points at ``int``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from hubgen.ir import SourceLocation

__all__ = ["ClassSource", "MemberSource", "Site", "SourceFile", "SourceIndex", "display_path"]

Locate = Callable[[cst.CSTNode], SourceLocation]


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with POSIX separators; absolute when outside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` for a Name/Attribute chain, ``""`` for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        if isinstance(value, str):
            return inspect.cleandoc(value)
    return None


@dataclass(frozen=True, slots=True)
class MemberSource:
    """A name bound in a class body: ``x: T = ...``, ``x = ...`` or ``def x``."""

    name: cst.Name
    annotation: cst.BaseExpression | None = None
    doc: str | None = None


@dataclass(slots=True)
class ClassSource:
    """A class definition in a parsed file."""

    file: SourceFile
    node: cst.ClassDef
    qualname: str
    functions: dict[str, list[cst.FunctionDef]] = field(default_factory=dict)
    members: dict[str, MemberSource] = field(default_factory=dict)

    @property
    def location(self) -> SourceLocation:
        """The class name in its ``class`` statement."""
        return self.file.locate(self.node.name)

    @property
    def doc(self) -> str | None:
        return self.node.get_docstring(clean=True)

    def function(self, name: str) -> cst.FunctionDef | None:
        """The last ``def name`` in the class body (the one Python binds)."""
        defs = self.functions.get(name)
        return defs[-1] if defs else None

    def member_location(self, name: str) -> SourceLocation | None:
        """Where ``name`` is bound in the class body (a def, a field, an assignment)."""
        node = self.function(name)
        if node is not None:
            return self.file.locate(node.name)
        member = self.members.get(name)
        return self.file.locate(member.name) if member is not None else None

    def decorator_argument(self, decorator: str, keyword: str) -> cst.BaseExpression | None:
        """The value of ``keyword=`` in a ``@...decorator(...)`` call on the class."""
        return decorator_argument(self.node.decorators, decorator, keyword)

    def keyword(self, keyword: str) -> cst.BaseExpression | None:
        """A class keyword: ``class M(BaseModel, extra="allow")``."""
        for arg in self.node.keywords:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
        return None


def decorator_argument(
    decorators: Sequence[cst.Decorator], decorator: str, keyword: str
) -> cst.BaseExpression | None:
    """The value of ``keyword=`` in the first ``@decorator(...)`` / ``@x.decorator(...)``."""
    for item in decorators:
        call = item.decorator
        if not isinstance(call, cst.Call):
            continue
        name = _dotted(call.func)
        if name != decorator and not name.endswith(f".{decorator}"):
            continue
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
    return None


class _ClassCollector(cst.CSTVisitor):
    """Indexes every class by the ``__qualname__`` Python gives it."""

    def __init__(self, file: SourceFile) -> None:
        self.file = file
        self.scopes: list[tuple[str, bool]] = []  # (name, is_function)
        self.classes: dict[str, ClassSource] = {}

    def _qualname(self, name: str) -> str:
        parts: list[str] = []
        for scope, is_function in self.scopes:
            parts.append(scope)
            if is_function:
                parts.append("<locals>")
        return ".".join([*parts, name])

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        qualname = self._qualname(node.name.value)
        self.classes[qualname] = _index_class(self.file, node, qualname)
        self.scopes.append((node.name.value, False))
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.scopes.append((node.name.value, True))
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()


def _index_class(file: SourceFile, node: cst.ClassDef, qualname: str) -> ClassSource:
    source = ClassSource(file=file, node=node, qualname=qualname)
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    statements = list(body)
    for index, statement in enumerate(statements):
        if isinstance(statement, cst.FunctionDef):
            source.functions.setdefault(statement.name.value, []).append(statement)
            continue
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        target: cst.BaseExpression | None = None
        annotation: cst.BaseExpression | None = None
        if isinstance(small, cst.AnnAssign):
            target, annotation = small.target, small.annotation.annotation
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        if not isinstance(target, cst.Name):
            continue
        doc: str | None = None
        following = statements[index + 1] if index + 1 < len(statements) else None
        if (
            isinstance(following, cst.SimpleStatementLine)
            and len(following.body) == 1
            and isinstance(following.body[0], cst.Expr)
        ):
            doc = _string_value(following.body[0].value)
        source.members[target.value] = MemberSource(name=target, annotation=annotation, doc=doc)
    return source


class SourceFile:
    """One parsed Python file."""

    def __init__(self, path: Path, display: str, text: str) -> None:
        self.path = path
        self.display = display
        wrapper = MetadataWrapper(cst.parse_module(text))
        self.module = wrapper.module
        self._positions: Mapping[cst.CSTNode, CodeRange] = wrapper.resolve(PositionProvider)
        collector = _ClassCollector(self)
        self.module.visit(collector)
        self.classes = collector.classes

    @property
    def start(self) -> SourceLocation:
        return SourceLocation(file=self.display, line=1, column=1)

    def locate(self, node: cst.CSTNode) -> SourceLocation:
        """The 1-based start position of ``node``."""
        position = self._positions.get(node)
        if position is None:
            return self.start
        return SourceLocation(
            file=self.display, line=position.start.line, column=position.start.column + 1
        )


class SourceIndex:
    """Parses source files on demand, once each, and finds declarations in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[Path, SourceFile | None] = {}

    def display(self, path: Path) -> str:
        return display_path(path, self.root)

    def file(self, path: Path) -> SourceFile | None:
        key = path.resolve()
        if key not in self._files:
            try:
                text = key.read_text(encoding="utf-8")
                self._files[key] = SourceFile(key, self.display(key), text)
            except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
                self._files[key] = None
        return self._files[key]

    def module_file(self, module_name: str) -> Path | None:
        module = sys.modules.get(module_name)
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename.endswith(".py"):
            return None
        return Path(filename)

    def class_source(self, cls: type) -> ClassSource | None:
        """The ``class`` statement of ``cls``, if its source can be read."""
        path = self.module_file(cls.__module__)
        source = self.file(path) if path is not None else None
        return source.classes.get(cls.__qualname__) if source is not None else None

    def fallback(self, obj: Any) -> SourceLocation:
        """Where ``obj``'s module starts, when no finer position is known."""
        module_name = getattr(obj, "__module__", None)
        path = self.module_file(module_name) if isinstance(module_name, str) else None
        if path is None:
            return SourceLocation(file=f"<{module_name or 'unknown'}>", line=1, column=1)
        return SourceLocation(file=self.display(path), line=1, column=1)

    def class_location(self, cls: type) -> SourceLocation:
        source = self.class_source(cls)
        return source.location if source is not None else self.fallback(cls)


# --------------------------------------------------------------------------- sites


def _union_operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return [*_union_operands(node.left), *_union_operands(node.right)]
    return [node]


def _type_arguments(node: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The written parts of a type expression, in the order ``typing.get_args``
    reports them; ``None`` when the expression has no visible parts."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _union_operands(node)
    if not isinstance(node, cst.Subscript):
        return None
    elements: list[cst.BaseExpression] = []
    for element in node.slice:
        if not isinstance(element.slice, cst.Index):
            return None
        elements.append(element.slice.value)
    name = _dotted(node.value)
    if (name == "Optional" or name.endswith(".Optional")) and len(elements) == 1:
        # Optional[X] is Union[X, None]: the None part is the subscript itself.
        return [elements[0], node]
    return elements


def _is_annotated(node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.Subscript):
        return False
    name = _dotted(node.value)
    return name == "Annotated" or name.endswith(".Annotated")


@dataclass(frozen=True, slots=True)
class Site:
    """Where a type (or a part of one) is written.

    ``node`` is the annotation expression when the source is known; a site
    without a node stays at ``location`` however deep the type goes.
    """

    location: SourceLocation
    node: cst.BaseExpression | None = None
    locate: Locate | None = None

    @staticmethod
    def at(file: SourceFile, node: cst.BaseExpression) -> Site:
        return Site(file.locate(node), node, file.locate)._unquoted()

    def _move(self, node: cst.BaseExpression) -> Site:
        assert self.locate is not None
        return Site(self.locate(node), node, self.locate)._unquoted()

    def _unquoted(self) -> Site:
        """Follow a quoted annotation (``"list[Foo]"``) into its expression."""
        node = self.node
        if not isinstance(node, cst.SimpleString) or self.locate is None:
            return self
        quote = node.quote
        body = node.value[len(node.prefix) + len(quote) : -len(quote)]
        if node.prefix or "\\" in body or "\n" in body:
            return self
        try:
            wrapper = MetadataWrapper(cst.parse_module(body))
        except cst.ParserSyntaxError:
            return self
        statement = wrapper.module.body[0] if wrapper.module.body else None
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
        ):
            return self
        positions = wrapper.resolve(PositionProvider)
        start = self.location
        offset = start.column + len(quote)

        def locate(inner: cst.CSTNode) -> SourceLocation:
            position = positions.get(inner)
            if position is None:
                return start
            return SourceLocation(
                file=start.file, line=start.line, column=offset + position.start.column
            )

        expression = statement.body[0].value
        return Site(locate(expression), expression, locate)

    def argument(self, index: int, count: int) -> Site:
        """The site of the ``index``-th of ``count`` type arguments; this site
        itself when the written form does not show them one by one."""
        if self.node is None:
            return self
        parts = _type_arguments(self.node)
        if parts is None or len(parts) != count:
            return self
        return self._move(parts[index])

    def without_annotated(self) -> Site:
        """``Annotated[T, ...]`` → ``T`` (pydantic strips ``Annotated`` from fields)."""
        site = self
        while site.node is not None and _is_annotated(site.node):
            parts = _type_arguments(site.node)
            if not parts:
                break
            site = site._move(parts[0])
        return site
