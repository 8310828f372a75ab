"""IR → generated Python: binders, the server base and proxies, the client proxy.

Per hub ``ChatHub`` the output package gets ``chat_hub_binders.py`` (the
:class:`~hubgen.spec.HubSpec`), ``chat_hub_server.py`` and ``chat_hub_client.py``,
in the shapes ``docs/architecture.md`` describes, plus an ``__init__.py``
holding only a docstring. Contract names are imported exactly as the contract
spells them; a runtime name that a contract declaration (or a class the module
defines) also uses is imported under an alias.

The modules are built here as lines, without templates. Their layout is
computed, not fixed: every signature, call and class line is wrapped the way
``ruff format`` wraps it at :data:`~hubgen.codegen._pysource.WIDTH` columns,
imports are sorted and aliased, defaults are respelled, and a method without a
docstring ends in ``...`` on its signature line only when it fits. A template
could only paste the lines this code computes (the former ``templates/python``
did, in 29 of its 34 loops), so the whole shape is in one place: the functions
:func:`_binders`, :func:`_server` and :func:`_client` read top to bottom as the
modules they write. TypeScript keeps its templates (``templates/typescript``),
whose files are mostly fixed text around a few computed parts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubgen import artifacts, ir
from hubgen.codegen._pysource import (
    INDENT,
    WIDTH,
    ImportSet,
    bracketed,
    docstring,
    expression,
    mutable_default_rule,
    string_literal,
)
from hubgen.codegen.errors import CodegenError
from hubgen.codegen.files import HEADER
from hubgen.naming import to_snake

__all__ = ["ModuleNames", "PythonModule", "package_name", "python_files", "scaffold_method"]

_STDLIB_CALLS = {
    "datetime": ("datetime", "datetime"),
    "date": ("datetime", "date"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "UUID": ("uuid", "UUID"),
    "Decimal": ("decimal", "Decimal"),
}
_SPEC = artifacts.PYTHON_SPEC
_PRIMITIVES: dict[str, tuple[str, str] | str] = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "bytes": "bytes",
    "none": "None",
    "datetime": ("datetime", "datetime"),
    "date": ("datetime", "date"),
    "time": ("datetime", "time"),
    "timedelta": ("datetime", "timedelta"),
    "uuid": ("uuid", "UUID"),
    "decimal": ("decimal", "Decimal"),
}


@dataclass(frozen=True)
class PythonModule:
    """Where a generated module stands: its file name and dotted package."""

    filename: str
    text: str


def package_name(directory: Path, search_roots: Sequence[Path]) -> str | None:
    """The dotted package name of ``directory`` as Python finds it: seen from
    the first of ``search_roots`` (in ``sys.path`` order) that contains it;
    ``None`` when none does."""
    resolved = directory.resolve()
    for base in search_roots:
        try:
            parts = resolved.relative_to(base.resolve()).parts
        except ValueError:
            continue
        if parts and all(p.isidentifier() for p in parts):
            return ".".join(parts)
    return None


def _import_from(target: str, package: str | None) -> tuple[int, str]:
    """How a module inside ``package`` imports ``target``: (section, module)."""
    if package is not None:
        mine = package.split(".")
        theirs = target.split(".")
        if mine[0] == theirs[0]:
            common = 0
            for a, b in zip(mine, theirs, strict=False):
                if a != b:
                    break
                common += 1
            dots = "." * (len(mine) - common + 1)
            return ImportSet.LOCAL, dots + ".".join(theirs[common:])
    return ImportSet.FIRST_PARTY, target


# --------------------------------------------------------------------------- names


def _declarations(contract: ir.Contract) -> list[ir.ModelDecl | ir.EnumDecl]:
    return [*contract.models, *contract.enums]


class ModuleNames:
    """The imports and local names of one generated module.

    ``defines`` are the classes the module defines (``ChatClientProxy``, ...):
    like contract names, they are never shadowed by an import of the runtime,
    which is imported under an alias instead.
    """

    def __init__(
        self, contract: ir.Contract, package: str | None, defines: Iterable[str] = ()
    ) -> None:
        self.contract = contract
        self.package = package
        self.imports = ImportSet()
        declared = [decl.python for decl in _declarations(contract)]
        for hub in contract.hubs:
            declared += [hub.python, hub.client.python]
        self._contract_names = {artifacts.python_import(ref) for ref in declared} | set(defines)

    def taken(self) -> set[str]:
        """Module-level names that are not the runtime's: the hub's spec, the
        contract's names and the module's classes."""
        return {_SPEC, *self._contract_names}

    # -- imports ---------------------------------------------------------------

    def contract_name(self, ref: ir.PythonRef) -> str:
        top = artifacts.python_import(ref)
        section, module = _import_from(ref.module, self.package)
        self.imports.add(section, module, top)
        return ref.qualname

    def runtime(self, module: str, name: str) -> str:
        """Import ``name`` from a stdlib or hubgen module; aliased on a clash."""
        section = ImportSet.THIRD_PARTY if module.split(".")[0] == "hubgen" else ImportSet.STDLIB
        if name in self._contract_names:
            self.imports.add(section, module, f"{name} as _{name}")
            return f"_{name}"
        self.imports.add(section, module, name)
        return name

    def module(self, name: str) -> str:
        """``import name`` (``abc``); aliased on a clash."""
        if name in self._contract_names:
            self.imports.add_module(f"{name} as _{name}")
            return f"_{name}"
        self.imports.add_module(name)
        return name

    def local(self, module: str, name: str) -> str:
        self.imports.add(ImportSet.LOCAL, module, name)
        return name

    # -- annotations -------------------------------------------------------------

    def annotation(self, ref: ir.TypeRef) -> str:
        if isinstance(ref, ir.PrimitiveType):
            spelled = _PRIMITIVES[ref.name]
            return spelled if isinstance(spelled, str) else self.runtime(*spelled)
        if isinstance(ref, ir.ListType):
            item = self.annotation(ref.item)
            return f"tuple[{item}, ...]" if ref.container == "tuple" else f"{ref.container}[{item}]"
        if isinstance(ref, ir.TupleType):
            items = ", ".join(self.annotation(i) for i in ref.items)
            return f"tuple[{items or '()'}]"
        if isinstance(ref, ir.DictType):
            return f"dict[{self.annotation(ref.key)}, {self.annotation(ref.value)}]"
        if isinstance(ref, ir.NullableType):
            return f"{self.annotation(ref.inner)} | None"
        if isinstance(ref, ir.UnionType):
            return " | ".join(self.annotation(m) for m in ref.members)
        if isinstance(ref, ir.LiteralType):
            literal = self.runtime("typing", "Literal")
            values = ", ".join(
                string_literal(v) if isinstance(v, str) else repr(v) for v in ref.values
            )
            return f"{literal}[{values}]"
        if isinstance(ref, ir.EnumRef):
            return self.contract_name(self.contract.enum(ref.name).python)
        if isinstance(ref, ir.ModelRef):
            name = self.contract_name(self.contract.model(ref.name).python)
            if ref.args:
                return f"{name}[{', '.join(self.annotation(a) for a in ref.args)}]"
            return name
        return ref.name  # a TypeVarRef: only inside generic models

    def default(self, value: ir.DefaultValue) -> str:
        """A default's expression, with the names it uses imported."""
        spelled = expression(value.python)
        known = {
            decl.python.qualname.split(".")[0]: decl.python for decl in _declarations(self.contract)
        }
        for node in ast.walk(ast.parse(spelled, mode="eval")):
            if isinstance(node, ast.Name):
                if node.id in known:
                    self.contract_name(known[node.id])
                elif node.id in _STDLIB_CALLS:
                    self.runtime(*_STDLIB_CALLS[node.id])
        return spelled


# --------------------------------------------------------------------------- methods


@dataclass
class _Method:
    """A method's lines: decorators, signature, docstring, body."""

    signature: list[str]
    doc: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    decorators: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [*self.decorators, *self.signature, *self.doc, *self.body]


def _parameters(
    module: ModuleNames, method: ir.MethodDecl, *, upload: str | None
) -> tuple[list[str], list[str | None]]:
    """Parameter strings (``self`` first) and a ``noqa`` comment per entry."""
    params: list[str] = ["self"]
    comments: list[str | None] = [None]
    keyword_only = False
    for param in method.parameters:
        if param.keyword_only and not keyword_only:
            keyword_only = True
            params.append("*")
            comments.append(None)
        annotation = module.annotation(param.type)
        if param.stream:
            if upload is None:
                raise CodegenError(
                    f"{param.location}: stream parameter '{param.name}' on "
                    f"{method.name}, which is not a hub method"
                )
            annotation = f"{module.runtime('collections.abc', upload)}[{annotation}]"
        text = f"{param.name}: {annotation}"
        rule = None
        if param.default is not None:
            text += f" = {module.default(param.default)}"
            rule = mutable_default_rule(param.default.python)
        params.append(text)
        comments.append(f"noqa: {rule}" if rule else None)
    return params, comments


def _signature(
    head: str, params: list[str], comments: list[str | None], returns: str, indent: str
) -> list[str]:
    return bracketed(head, params, f" -> {returns}:", indent, comments=comments)


def _call(head: str, args: Sequence[str], indent: str) -> list[str]:
    return bracketed(head, list(args), "", indent)


def _assign(target: str, value: str, indent: str) -> list[str]:
    line = f"{indent}{target} = {value}"
    if len(line) <= WIDTH:
        return [line]
    return [f"{indent}{target} = (", f"{indent}{INDENT}{value}", f"{indent})"]


def _doc(text: str | None, indent: str) -> list[str]:
    return docstring(text, indent) if text else []


def _handles(methods: Iterable[ir.MethodDecl], taken: set[str]) -> dict[str, str]:
    """Module-level names of method handles, ``_SEND`` for ``send``, unique."""
    out: dict[str, str] = {}
    for method in methods:
        base = "_" + to_snake(method.name).upper()
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        out[method.name] = name
    return out


def _handle_lines(
    module: ModuleNames,
    methods: Sequence[ir.MethodDecl],
    handles: dict[str, str],
    accessor: str,
    hub: str,
) -> list[str]:
    if not methods:
        return []
    method_t = module.runtime("hubgen.spec", "Method")
    final = module.runtime("typing", "Final")
    lines: list[str] = []
    for method in methods:
        result = module.annotation(method.returns)
        head = f"{handles[method.name]}: {final}[{method_t}[{result}]] = {hub}.{accessor}"
        lines += _call(head, [string_literal(method.name)], "")
    return lines


def _is_void(method: ir.MethodDecl) -> bool:
    return method.returns == ir.PrimitiveType(name="none")


def _check_client_method(method: ir.MethodDecl, client: ir.ClientDecl) -> None:
    if method.kind is ir.MethodKind.STREAM:
        raise CodegenError(
            f"{method.location}: {client.name}.{method.name} is a stream; SignalR servers "
            "cannot stream to a client method, declare it `async def` instead"
        )


# --------------------------------------------------------------------------- modules


def _header(*sources: str) -> list[str]:
    """``# source:`` comment lines, one per contract file: a comment is never
    re-wrapped by a formatter, so each file gets a line of its own."""
    return [f"# source: {source}" for source in sources]


def _preamble(hub: ir.HubDecl, doc: list[str], module: ModuleNames) -> list[str]:
    """A hub module's first lines: the hubgen header, its source, docstring
    and imports."""
    return [
        f"# {HEADER}",
        *_header(hub.location.file),
        *doc,
        "",
        "from __future__ import annotations",
        "",
        *module.imports.render(),
    ]


def _class(
    head: list[str], doc: list[str], attributes: list[str], methods: Sequence[_Method]
) -> list[str]:
    """A top-level class after two blank lines: its ``class`` line(s), docstring,
    class attributes and methods, each after a blank line."""
    lines = ["", "", *head, *doc]
    if attributes:
        lines += ["", *attributes]
    for method in methods:
        lines += ["", *method.lines()]
    return lines


def _text(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"


def _binders(contract: ir.Contract, hub: ir.HubDecl, package: str | None) -> str:
    module = ModuleNames(contract, package)
    hub_spec = module.runtime("hubgen.spec", "HubSpec")
    method_spec = module.runtime("hubgen.spec", "MethodSpec")
    final = module.runtime("typing", "Final")
    naming = module.runtime("hubgen.naming", "FieldNaming")

    def specs(methods: Sequence[ir.MethodDecl]) -> list[str]:
        out = []
        for m in methods:
            args = [string_literal(m.name), string_literal(m.wire_name)]
            if m.kind is ir.MethodKind.STREAM:
                args.append("stream=True")
            out.append(f"{method_spec}({', '.join(args)})")
        return out

    def tuple_arg(name: str, items: list[str]) -> list[str]:
        single = f"{INDENT}{name}=({items[0]},)," if len(items) == 1 else ""
        if single and len(single) <= WIDTH:
            return [single]
        return bracketed(f"{name}=", items, ",", INDENT, explode=bool(items))

    body = [
        f"{INDENT}name={string_literal(hub.name)},",
        f"{INDENT}contract={module.contract_name(hub.python)},",
        f"{INDENT}client={module.contract_name(hub.client.python)},",
        *tuple_arg("methods", specs(hub.methods)),
        *tuple_arg("client_methods", specs(hub.client.methods)),
        f"{INDENT}field_naming={naming}.{contract.naming.fields.upper()},",
    ]
    doc = docstring(f"The runtime spec of {hub.name}, shared by its server and client modules.", "")
    declaration = [f"{_SPEC}: {final} = {hub_spec}(", *body, ")"]
    return _text([*_preamble(hub, doc, module), "", *declaration])


def _server(contract: ir.Contract, hub: ir.HubDecl, package: str | None) -> str:
    names = artifacts.hub_names(hub)
    module = ModuleNames(contract, package, (names.proxy, names.single_proxy, names.base))
    hub_base = module.runtime("hubgen.server", "Hub")
    proxy_base = module.runtime("hubgen.server", "ClientProxy")
    single_base = module.runtime("hubgen.server", "SingleClientProxy")
    hub_spec = module.runtime("hubgen.spec", "HubSpec")
    class_var = module.runtime("typing", "ClassVar")
    hub_const = module.local(f".{names.binders_module}", _SPEC)
    abc = module.module("abc")
    for method in hub.client.methods:
        _check_client_method(method, hub.client)

    handles = _handles(hub.client.methods, module.taken())
    handle_lines = _handle_lines(module, hub.client.methods, handles, "client_method", hub_const)

    def proxy_method(method: ir.MethodDecl) -> _Method:
        params, comments = _parameters(module, method, upload=None)
        returns = module.annotation(method.returns)
        args = [handles[method.name], *(p.name for p in method.parameters)]
        if _is_void(method):
            body = _call("await self._send", args, INDENT * 2)
        else:
            body = _call("return await self._invoke", args, INDENT * 2)
        return _Method(
            signature=_signature(f"async def {method.name}", params, comments, returns, INDENT),
            doc=_doc(method.doc, INDENT * 2),
            body=body,
        )

    def hub_method(method: ir.MethodDecl) -> _Method:
        params, comments = _parameters(module, method, upload="AsyncIterator")
        returns = module.annotation(method.returns)
        if method.kind is ir.MethodKind.STREAM:
            returns = f"{module.runtime('collections.abc', 'AsyncIterator')}[{returns}]"
            head = f"def {method.name}"
        else:
            head = f"async def {method.name}"
        doc = _doc(method.doc, INDENT * 2)
        signature = _signature(head, params, comments, returns, INDENT)
        body: list[str] = []
        if not doc:  # ruff format's "dummy implementation" style
            if len(signature[-1]) + 4 <= WIDTH:
                signature[-1] += " ..."
            else:
                body = [f"{INDENT * 2}..."]
        return _Method(
            signature=signature,
            doc=doc,
            body=body,
            decorators=[f"{INDENT}@{abc}.abstractmethod"],
        )

    void = [proxy_method(m) for m in hub.client.methods if _is_void(m)]
    results = [proxy_method(m) for m in hub.client.methods if not _is_void(m)]
    hub_methods = [hub_method(m) for m in hub.methods]
    contract_hub = hub.name
    base_doc = f"Base of {contract_hub} implementations: subclass it and implement every method."
    if hub.doc:
        base_doc += "\n\n" + hub.doc
    doc = docstring(
        f"The server side of {hub.name}: the hub base to implement and typed client proxies.",
        "",
    )
    proxy_doc = docstring(
        f"Calls {hub.client.name} methods on every connection it addresses.", INDENT
    )
    single_proxy_doc = docstring(
        f"Calls {hub.client.name} methods on one connection; client results allowed.", INDENT
    )
    hub_base_line = bracketed(
        f"class {names.base}", [f"{hub_base}[{names.proxy}, {names.single_proxy}]"], ":", ""
    )
    class_vars = [
        *_assign(f"spec: {class_var}[{hub_spec}]", hub_const, INDENT),
        *_assign(f"client_proxy: {class_var}[type[{proxy_base}]]", names.proxy, INDENT),
        *_assign(
            f"single_client_proxy: {class_var}[type[{single_base}]]", names.single_proxy, INDENT
        ),
    ]
    return _text(
        [
            *_preamble(hub, doc, module),
            *(["", *handle_lines] if handle_lines else []),
            *_class([f"class {names.proxy}({proxy_base}):"], proxy_doc, [], void),
            *_class(
                [f"class {names.single_proxy}({single_base}, {names.proxy}):"],
                single_proxy_doc,
                [],
                results,
            ),
            *_class(hub_base_line, docstring(base_doc, INDENT), class_vars, hub_methods),
        ]
    )


def _client(contract: ir.Contract, hub: ir.HubDecl, package: str | None) -> str:
    names = artifacts.hub_names(hub)
    module = ModuleNames(contract, package, (names.hub_client,))
    hub_proxy = module.runtime("hubgen.client", "HubProxy")
    registration = module.runtime("hubgen.client", "Registration")
    hub_spec = module.runtime("hubgen.spec", "HubSpec")
    class_var = module.runtime("typing", "ClassVar")
    hub_const = module.local(f".{names.binders_module}", _SPEC)
    for method in hub.client.methods:
        _check_client_method(method, hub.client)

    taken = module.taken()
    hub_handles = _handles(hub.methods, taken)
    client_handles = _handles(hub.client.methods, taken)
    handle_lines = _handle_lines(module, hub.methods, hub_handles, "method", hub_const)
    handle_lines += _handle_lines(
        module, hub.client.methods, client_handles, "client_method", hub_const
    )

    def hub_method(method: ir.MethodDecl) -> _Method:
        params, comments = _parameters(module, method, upload="AsyncIterable")
        result = module.annotation(method.returns)
        args = [hub_handles[method.name], *(p.name for p in method.parameters)]
        if method.kind is ir.MethodKind.STREAM:
            returns = f"{module.runtime('hubgen.client', 'HubStream')}[{result}]"
            head = f"def {method.name}"
            body = _call("return self._stream", args, INDENT * 2)
        else:
            returns = result
            head = f"async def {method.name}"
            call = "await self._invoke" if _is_void(method) else "return await self._invoke"
            body = _call(call, args, INDENT * 2)
        return _Method(
            signature=_signature(head, params, comments, returns, INDENT),
            doc=_doc(method.doc, INDENT * 2),
            body=body,
        )

    def on_method(method: ir.MethodDecl) -> _Method:
        callable_ = module.runtime("collections.abc", "Callable")
        awaitable = module.runtime("collections.abc", "Awaitable")
        arg_types = ", ".join(module.annotation(p.type) for p in method.parameters)
        handler = f"{callable_}[[{arg_types}], {awaitable}[{module.annotation(method.returns)}]]"
        doc = f"Handle {hub.client.name}.{method.name} calls from the server with ``handler``."
        if not _is_void(method):
            doc += " Its result answers the server."
        return _Method(
            signature=_signature(
                f"def {artifacts.python_registration(method.name)}",
                ["self", f"handler: {handler}"],
                [],
                registration,
                INDENT,
            ),
            doc=docstring(doc, INDENT * 2),
            body=_call("return self._on", [client_handles[method.name], "handler"], INDENT * 2),
        )

    client_protocol = module.contract_name(hub.client.python)
    register = _Method(
        signature=_signature(
            "def register", ["self", f"receiver: {client_protocol}"], [], registration, INDENT
        ),
        doc=docstring(
            f"Route every {hub.client.name} call from the server to ``receiver``.", INDENT * 2
        ),
        body=[f"{INDENT * 2}return self._register(receiver)"],
    )
    methods = [
        *(hub_method(m) for m in hub.methods),
        register,
        *(on_method(m) for m in hub.client.methods),
    ]
    class_doc = f"Calls {hub.name} on the server over a HubConnection."
    if hub.doc:
        class_doc += "\n\n" + hub.doc
    doc = docstring(f"The client side of {hub.name}: a typed proxy over a HubConnection.", "")
    spec_line = _assign(f"spec: {class_var}[{hub_spec}]", hub_const, INDENT)
    return _text(
        [
            *_preamble(hub, doc, module),
            *(["", *handle_lines] if handle_lines else []),
            *_class(
                [f"class {names.hub_client}({hub_proxy}):"],
                docstring(class_doc, INDENT),
                spec_line,
                methods,
            ),
        ]
    )


def python_files(contract: ir.Contract, *, package: str | None) -> list[PythonModule]:
    """Every generated Python module for ``contract``, ``package`` being the
    dotted name of the output package (``None`` if it is not importable)."""
    sources = sorted({hub.location.file for hub in contract.hubs})
    files = [
        PythonModule(
            "__init__.py",
            _text(
                [
                    f"# {HEADER}",
                    *_header(*(sources or contract.modules)),
                    *docstring(
                        "Generated by hubgen from "
                        + ", ".join(contract.modules)
                        + ".\n\nImporting this package loads neither the server nor the "
                        "client runtime: import the per-hub modules you need.",
                        "",
                    ),
                ]
            ),
        )
    ]
    for hub in contract.hubs:
        names = artifacts.hub_names(hub)
        files.append(PythonModule(f"{names.binders_module}.py", _binders(contract, hub, package)))
        files.append(PythonModule(f"{names.server_module}.py", _server(contract, hub, package)))
        files.append(PythonModule(f"{names.client_module}.py", _client(contract, hub, package)))
    for module in files:
        too_long = [n for n, line in enumerate(module.text.splitlines(), 1) if len(line) > WIDTH]
        if too_long:  # pragma: no cover - a template or layout bug
            raise CodegenError(
                f"internal error: {module.filename} line {too_long[0]} exceeds {WIDTH} characters"
            )
    return files


def scaffold_method(module: ModuleNames, method: ir.MethodDecl) -> list[str]:
    """An implementation stub for a hub method: its docstring and a body that
    raises :class:`NotImplementedError` (an async generator for a stream)."""
    params, comments = _parameters(module, method, upload="AsyncIterator")
    item = module.annotation(method.returns)
    returns = item
    if method.kind is ir.MethodKind.STREAM:
        returns = f"{module.runtime('collections.abc', 'AsyncIterator')}[{item}]"
    lines = _signature(f"async def {method.name}", params, comments, returns, INDENT)
    lines += _doc(method.doc, INDENT * 2)
    if method.kind is ir.MethodKind.STREAM:
        lines += [
            f"{INDENT * 2}items: list[{item}] = []  # the stream's items",
            f"{INDENT * 2}for item in items:",
            f"{INDENT * 3}yield item",
        ]
    lines.append(f"{INDENT * 2}raise NotImplementedError")
    return lines
