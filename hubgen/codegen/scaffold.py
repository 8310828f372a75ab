"""``hubgen scaffold``: an implementation skeleton for a hub, grown in place.

The first run writes a module with a class deriving from the generated
``<Hub>Base``, one stub per hub method (its docstring and a body raising
:class:`NotImplementedError`; an async generator for a stream). Later runs add
only the methods the class lacks, and the imports they need, through libcst:
every existing line, comment and formatting choice stays byte-for-byte as it
was.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from hubgen import artifacts, ir
from hubgen.codegen._pysource import ImportSet, docstring
from hubgen.codegen.errors import CodegenError
from hubgen.codegen.python import ModuleNames, scaffold_method

__all__ = ["ScaffoldResult", "scaffold"]


@dataclass(frozen=True, slots=True)
class ScaffoldResult:
    """What :func:`scaffold` did: ``created`` the file, or added ``added``
    methods to it (none when it was complete)."""

    path: Path
    created: bool
    added: tuple[str, ...]


def _hub(contract: ir.Contract, name: str) -> ir.HubDecl:
    for hub in contract.hubs:
        if hub.name == name or hub.python.qualname == name:
            return hub
    known = ", ".join(h.name for h in contract.hubs) or "none"
    raise CodegenError(f"no hub named {name!r} in the contract (hubs: {known})")


def _stubs(
    contract: ir.Contract, hub: ir.HubDecl, methods: Sequence[ir.MethodDecl]
) -> tuple[ModuleNames, list[list[str]]]:
    names = ModuleNames(contract, None)  # absolute imports: user code lives anywhere
    return names, [scaffold_method(names, m) for m in methods]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.hubgen-tmp")
    temporary.write_bytes(text.encode("utf-8"))
    os.replace(temporary, path)


def scaffold(
    contract: ir.Contract, hub_name: str, path: Path, *, generated_package: str
) -> ScaffoldResult:
    """Create or complete the implementation of hub ``hub_name`` at ``path``.

    ``generated_package`` is the dotted name of the generated Python package
    (``[tool.hubgen.python] out``), from which the hub base is imported.
    """
    hub = _hub(contract, hub_name)
    generated = artifacts.hub_names(hub)
    base = generated.base
    server_module = f"{generated_package}.{generated.server_module}"
    if not path.exists():
        names, stubs = _stubs(contract, hub, hub.methods)
        names.imports.add(ImportSet.FIRST_PARTY, server_module, base)
        lines = [
            *docstring(f"The {hub.name} implementation.", ""),
            "",
            "from __future__ import annotations",
            "",
            *names.imports.render(),
            "",
            "",
            f"class {hub.name}({base}):",
            *docstring(hub.doc or f"Implements {hub.name}.", "    "),
        ]
        for stub in stubs:
            lines += ["", *stub]
        text = "\n".join(lines) + "\n"
        _write(path, text)
        return ScaffoldResult(path, created=True, added=tuple(m.name for m in hub.methods))

    source = path.read_text(encoding="utf-8")
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise CodegenError(f"{path}: cannot parse it: {exc.message}") from None
    target = _find_class(module, base)
    if target is None:
        raise CodegenError(
            f"{path}: no class deriving from {base}; scaffold adds methods only to the "
            f"class that subclasses the generated base (from {server_module} import {base})"
        )
    existing = {
        statement.name.value
        for statement in target.body.body
        if isinstance(statement, cst.FunctionDef)
    }
    missing = [m for m in hub.methods if m.name not in existing]
    if not missing:
        return ScaffoldResult(path, created=False, added=())
    names, stubs = _stubs(contract, hub, missing)
    new_methods = [
        cst.parse_statement(textwrap.dedent("\n".join(stub) + "\n")).with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
        )
        for stub in stubs
    ]
    bound = _bound_names(module)
    new_imports = [
        cst.parse_statement(f"from {module_name} import {name}\n")
        for module_name, name in names.imports.entries()
        if name.split(" as ")[-1] not in bound
    ]
    updated = module.visit(_Grow(target, new_methods))
    if new_imports:
        updated = _add_imports(updated, new_imports)
    _write(path, updated.code)
    return ScaffoldResult(path, created=False, added=tuple(m.name for m in missing))


def _find_class(module: cst.Module, base: str) -> cst.ClassDef | None:
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            for arg in statement.bases:
                value = arg.value
                name = value.attr.value if isinstance(value, cst.Attribute) else None
                if isinstance(value, cst.Name):
                    name = value.value
                if name == base:
                    return statement
    return None


def _bound_names(module: cst.Module) -> set[str]:
    """Names bound at the top level of ``module`` (imports, classes, functions,
    assignments)."""
    bound: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.ClassDef | cst.FunctionDef):
            bound.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    for alias in small.names:
                        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                            bound.add(alias.asname.name.value)
                        else:
                            bound.add(cst.Module([]).code_for_node(alias.name).split(".")[0])
                elif isinstance(small, cst.Assign | cst.AnnAssign):
                    targets = (
                        [t.target for t in small.targets]
                        if isinstance(small, cst.Assign)
                        else [small.target]
                    )
                    bound |= {t.value for t in targets if isinstance(t, cst.Name)}
    return bound


class _Grow(cst.CSTTransformer):
    """Appends methods to one class body, touching nothing else."""

    def __init__(
        self,
        target: cst.ClassDef,
        methods: Sequence[cst.SimpleStatementLine | cst.BaseCompoundStatement],
    ) -> None:
        super().__init__()
        self._target = target
        self._methods = methods

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        if original_node is not self._target:
            return updated_node
        body = updated_node.body
        if not isinstance(body, cst.IndentedBlock):  # `class X(Base): ...` on one line
            raise CodegenError(
                f"class {updated_node.name.value} is written on one line; "
                "give it an indented body so scaffold can add methods"
            )
        return updated_node.with_changes(body=body.with_changes(body=[*body.body, *self._methods]))


def _add_imports(
    module: cst.Module, imports: Sequence[cst.SimpleStatementLine | cst.BaseCompoundStatement]
) -> cst.Module:
    """Insert ``imports`` right after the last top-level import statement."""
    last = -1
    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
        ):
            last = index
    if last == -1:
        # after the module docstring, if any
        first = module.body[0] if module.body else None
        if (
            isinstance(first, cst.SimpleStatementLine)
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
        ):
            last = 0
    body = list(module.body)
    body[last + 1 : last + 1] = imports
    return module.with_changes(body=body)
