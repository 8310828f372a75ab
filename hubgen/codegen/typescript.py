"""IR → generated TypeScript on the official ``@microsoft/signalr`` client.

Files: ``models.ts`` (interfaces and enums), one ``<hubCamel>.ts`` per hub
(hub and client interfaces, ``create<Hub>``, ``register<Client>``),
``runtime.ts`` (stream adapters, ``Disposable``) and ``index.ts``.

Types follow the JSON wire: field names are wire names, every temporal,
``UUID``, ``Decimal`` and ``bytes`` value is a ``string``. What a client
*sends* (hub-method arguments, upload items, client results) uses a model's
``XInput`` variant when the model has defaulted fields, directly or through
nested models, in which those fields are optional.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hubgen import ir
from hubgen.codegen._templates import render
from hubgen.codegen.errors import CodegenError
from hubgen.naming import to_camel

__all__ = ["TypeScriptModule", "typescript_files"]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_RESERVED = frozenset(
    {
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "implements",
        "interface",
        "let",
        "package",
        "private",
        "protected",
        "public",
        "static",
        "yield",
        "await",
        "arguments",
        "eval",
        "undefined",
    }
)
#: Local names inside generated functions that parameters must not shadow.
_LOCALS = frozenset({"connection", "receiver", "toHubStream", "toStreamResult", "registerHandlers"})
_STRING_PRIMITIVES = frozenset(
    {"bytes", "datetime", "date", "time", "timedelta", "uuid", "decimal"}
)


@dataclass(frozen=True)
class TypeScriptModule:
    filename: str
    text: str


def _jsdoc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    lines = [line.rstrip().replace("*/", "*\\/") for line in text.strip().splitlines()]
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _property(name: str) -> str:
    return name if _IDENTIFIER.match(name) else _literal(name)


def _parameter(name: str) -> str:
    camel = to_camel(name)
    while camel in _RESERVED or camel in _LOCALS or not _IDENTIFIER.match(camel):
        camel += "_"
    return camel


def _wrap(text: str) -> str:
    """Parenthesise a union or function type used as an array item."""
    return f"({text})" if " | " in text or "=>" in text else text


class _Types:
    """Prints IR types as TypeScript, in output (server sends) or input form."""

    def __init__(self, contract: ir.Contract) -> None:
        self.contract = contract
        self.required_tags = _discriminator_tags(contract)
        self.needs_input = _needs_input(contract, self.required_tags)

    def model_name(self, name: str, *, input: bool) -> str:
        return f"{name}Input" if input and name in self.needs_input else name

    def type(self, ref: ir.TypeRef, *, input: bool) -> str:
        if isinstance(ref, ir.PrimitiveType):
            if ref.name in _STRING_PRIMITIVES or ref.name == "str":
                return "string"
            return {"int": "number", "float": "number", "bool": "boolean", "none": "null"}[ref.name]
        if isinstance(ref, ir.ListType):
            return f"{_wrap(self.type(ref.item, input=input))}[]"
        if isinstance(ref, ir.TupleType):
            return f"[{', '.join(self.type(i, input=input) for i in ref.items)}]"
        if isinstance(ref, ir.DictType):
            value = self.type(ref.value, input=input)
            if isinstance(ref.key, ir.EnumRef | ir.LiteralType):
                return f"Partial<Record<{self.type(ref.key, input=input)}, {value}>>"
            return f"Record<string, {value}>"
        if isinstance(ref, ir.NullableType):
            return f"{self.type(ref.inner, input=input)} | null"
        if isinstance(ref, ir.UnionType):
            return " | ".join(self.type(m, input=input) for m in ref.members)
        if isinstance(ref, ir.LiteralType):
            return " | ".join(_literal(v) for v in ref.values)
        if isinstance(ref, ir.EnumRef):
            return ref.name
        if isinstance(ref, ir.ModelRef):
            name = self.model_name(ref.name, input=input)
            if ref.args:
                return f"{name}<{', '.join(self.type(a, input=input) for a in ref.args)}>"
            return name
        return ref.name

    def result(self, ref: ir.TypeRef, *, input: bool) -> str:
        """A method result: ``void`` for ``None``."""
        if ref == ir.PrimitiveType(name="none"):
            return "void"
        return self.type(ref, input=input)


def _walk(ref: ir.TypeRef) -> Iterable[ir.TypeRef]:
    yield ref
    children: list[ir.TypeRef] = []
    if isinstance(ref, ir.ListType):
        children = [ref.item]
    elif isinstance(ref, ir.TupleType):
        children = list(ref.items)
    elif isinstance(ref, ir.DictType):
        children = [ref.key, ref.value]
    elif isinstance(ref, ir.NullableType):
        children = [ref.inner]
    elif isinstance(ref, ir.UnionType):
        children = list(ref.members)
    elif isinstance(ref, ir.ModelRef):
        children = list(ref.args)
    for child in children:
        yield from _walk(child)


def _all_types(contract: ir.Contract) -> Iterable[ir.TypeRef]:
    for model in contract.models:
        for f in model.fields:
            yield from _walk(f.type)
    for hub in contract.hubs:
        for method in (*hub.methods, *hub.client.methods):
            yield from _walk(method.returns)
            for param in method.parameters:
                yield from _walk(param.type)


def _discriminator_tags(contract: ir.Contract) -> dict[str, set[str]]:
    """Per model, the tag fields (wire names) a discriminated union reads: they
    stay required in ``XInput`` since the server needs them to pick the member."""
    tags: dict[str, set[str]] = {}
    for ref in _all_types(contract):
        if isinstance(ref, ir.UnionType) and ref.discriminator:
            for member in ref.members:
                if isinstance(member, ir.ModelRef):
                    tags.setdefault(member.name, set()).add(ref.discriminator)
    return tags


def _optional_in_input(f: ir.FieldDecl, model: str, tags: dict[str, set[str]]) -> bool:
    return f.has_default and f.wire_name not in tags.get(model, set())


def _needs_input(contract: ir.Contract, tags: dict[str, set[str]]) -> set[str]:
    needs = {
        m.name
        for m in contract.models
        if any(_optional_in_input(f, m.name, tags) for f in m.fields)
    }
    changed = True
    while changed:
        changed = False
        for model in contract.models:
            if model.name in needs:
                continue
            if any(
                isinstance(ref, ir.ModelRef) and ref.name in needs
                for f in model.fields
                for ref in _walk(f.type)
            ):
                needs.add(model.name)
                changed = True
    return needs


# --------------------------------------------------------------------------- models.ts


@dataclass
class _Field:
    doc: list[str]
    name: str
    optional: bool
    type: str


@dataclass
class _Interface:
    doc: list[str]
    name: str
    type_parameters: str
    fields: list[_Field]


@dataclass
class _EnumMember:
    doc: list[str]
    key: str
    value: str


@dataclass
class _Enum:
    doc: list[str]
    name: str
    members: list[_EnumMember]


def _models(contract: ir.Contract, types: _Types, source: str) -> str:
    declarations: list[_Interface | _Enum] = []
    for enum in contract.enums:
        declarations.append(
            _Enum(
                doc=_jsdoc(enum.doc, ""),
                name=enum.name,
                members=[
                    _EnumMember(_jsdoc(m.doc, "  "), _property(m.name), _literal(m.value))
                    for m in enum.members
                ],
            )
        )
    for model in contract.models:
        params = f"<{', '.join(model.type_parameters)}>" if model.type_parameters else ""
        for input in (False, True):
            if input and model.name not in types.needs_input:
                continue
            doc = model.doc
            if input:
                doc = f"{model.name} as a client sends it: fields with defaults may be left out."
                if model.doc:
                    doc = f"{model.doc}\n\n{doc}"
            declarations.append(
                _Interface(
                    doc=_jsdoc(doc, ""),
                    name=types.model_name(model.name, input=input),
                    type_parameters=params,
                    fields=[
                        _Field(
                            doc=_jsdoc(f.doc, "  "),
                            name=_property(f.wire_name),
                            optional=input
                            and _optional_in_input(f, model.name, types.required_tags),
                            type=types.type(f.type, input=input),
                        )
                        for f in model.fields
                    ],
                )
            )
    return render("typescript/models.ts.jinja", source=source, declarations=declarations)


# --------------------------------------------------------------------------- hub files


@dataclass
class _Param:
    name: str
    type: str
    #: ``?`` in the interface (a default and nothing required after it)
    optional: bool
    default: str | None
    upload: bool


@dataclass
class _HubMethod:
    doc: list[str]
    name: str
    wire_name: str
    params: list[_Param]
    returns: str
    item: str
    kind: str


@dataclass
class _ClientMethod:
    doc: list[str]
    name: str
    wire_name: str
    params: list[_Param]
    returns: str


@dataclass
class _Hub:
    doc: list[str]
    name: str
    methods: list[_HubMethod]
    client_name: str
    client_doc: list[str]
    client_methods: list[_ClientMethod]
    emit_client: bool
    model_imports: list[str] = field(default_factory=list)
    signalr_imports: list[str] = field(default_factory=list)
    runtime_values: list[str] = field(default_factory=list)
    runtime_types: list[str] = field(default_factory=list)


def _params(types: _Types, method: ir.MethodDecl, *, input: bool) -> list[_Param]:
    out: list[_Param] = []
    required_after = False
    for param in reversed(method.parameters):
        kind = types.type(param.type, input=input)
        if param.stream:
            kind = f"IStreamResult<{kind}> | AsyncIterable<{kind}>"
        default = _literal(param.default.json_value) if param.default is not None else None
        optional = default is not None and not required_after
        if default is None:
            required_after = True
        elif not optional:
            kind = f"{kind} | undefined"
        out.append(_Param(_parameter(param.name), kind, optional, default, param.stream))
    out.reverse()
    return out


def _referenced_models(text: Iterable[str], names: Iterable[str]) -> list[str]:
    joined = " ".join(text)
    return sorted(n for n in names if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", joined))


def _hub(contract: ir.Contract, hub: ir.HubDecl, types: _Types, emit_client: bool) -> _Hub:
    methods: list[_HubMethod] = []
    for m in hub.methods:
        item = types.result(m.returns, input=False)
        if m.kind is ir.MethodKind.STREAM:
            returns, kind = f"HubStream<{item}>", "stream"
        else:
            returns, kind = f"Promise<{item}>", "invoke"
        methods.append(
            _HubMethod(
                doc=_jsdoc(m.doc, "  "),
                name=to_camel(m.name),
                wire_name=_literal(m.wire_name),
                params=_params(types, m, input=True),
                returns=returns,
                item=item,
                kind=kind,
            )
        )
    client_methods = []
    for m in hub.client.methods:
        result = types.result(m.returns, input=True)
        client_methods.append(
            _ClientMethod(
                doc=_jsdoc(m.doc, "  "),
                name=to_camel(m.name),
                wire_name=_literal(m.wire_name),
                params=_params(types, m, input=False),
                returns=f"{_wrap(result)} | Promise<{result}>",
            )
        )
    view = _Hub(
        doc=_jsdoc(hub.doc, ""),
        name=hub.name,
        methods=methods,
        client_name=hub.client.name,
        client_doc=_jsdoc(hub.client.doc, ""),
        client_methods=client_methods if emit_client else [],
        emit_client=emit_client,
    )
    used = [p.type for m in view.methods for p in m.params] + [m.returns for m in view.methods]
    used += [p.type for m in view.client_methods for p in m.params]
    used += [m.returns for m in view.client_methods]
    names = [types.model_name(mo.name, input=i) for mo in contract.models for i in (False, True)]
    names += [e.name for e in contract.enums]
    view.model_imports = _referenced_models(used, set(names))
    view.signalr_imports = ["HubConnection"]
    if any(p.upload for m in view.methods for p in m.params):
        view.signalr_imports.append("IStreamResult")
    view.runtime_types = ["Disposable"] if emit_client else []
    if any(m.kind == "stream" for m in view.methods):
        view.runtime_types.append("HubStream")
        view.runtime_values.append("toHubStream")
    if emit_client:
        view.runtime_values.append("registerHandlers")
    if any(p.upload for m in view.methods for p in m.params):
        view.runtime_values.append("toStreamResult")
    view.runtime_values.sort()
    return view


def import_statement(names: Sequence[str], module: str, *, type_only: bool = False) -> str:
    """``import { a, b } from "module";``, one name a line when it gets long."""
    keyword = "import type" if type_only else "import"
    line = f'{keyword} {{ {", ".join(names)} }} from "{module}";'
    if len(line) <= 100:
        return line
    inner = "".join(f"  {name},\n" for name in names)
    return f'{keyword} {{\n{inner}}} from "{module}";'


def _runtime_import(values: Sequence[str], types: Sequence[str]) -> str | None:
    if not values and not types:
        return None
    if not values:
        return import_statement(sorted(types), "./runtime.js", type_only=True)
    names = sorted([*values, *(f"type {t}" for t in types)], key=lambda n: n.removeprefix("type "))
    return import_statement(names, "./runtime.js")


def _check_exports(contract: ir.Contract, types: _Types) -> None:
    exported: dict[str, str] = {}

    def claim(name: str, what: str) -> None:
        if name in exported and exported[name] != what:
            raise CodegenError(
                f"TypeScript name clash: {name} would be both {exported[name]} and {what}; "
                "rename one of them in the contract"
            )
        exported[name] = what

    for runtime in ("Disposable", "HubStream", "toHubStream", "toStreamResult", "registerHandlers"):
        claim(runtime, "a hubgen runtime helper")
    for enum in contract.enums:
        claim(enum.name, f"enum {enum.name}")
    for model in contract.models:
        claim(model.name, f"model {model.name}")
        if model.name in types.needs_input:
            claim(f"{model.name}Input", f"the input form of model {model.name}")
    for hub in contract.hubs:
        claim(hub.name, f"the interface of hub {hub.name}")
        claim(f"create{hub.name}", f"the factory of hub {hub.name}")
        claim(hub.client.name, f"client interface {hub.client.name}")
        claim(f"register{hub.client.name}", f"the registration of {hub.client.name}")


def typescript_files(contract: ir.Contract) -> list[TypeScriptModule]:
    """Every generated TypeScript module for ``contract``."""
    types = _Types(contract)
    _check_exports(contract, types)
    declared: list[ir.HubDecl | ir.ModelDecl | ir.EnumDecl] = [
        *contract.hubs,
        *contract.models,
        *contract.enums,
    ]
    files = sorted({d.location.file for d in declared})
    source = ", ".join(files) or ", ".join(contract.modules)
    out = [
        TypeScriptModule("models.ts", _models(contract, types, source)),
        TypeScriptModule("runtime.ts", render("typescript/runtime.ts.jinja")),
    ]
    seen_clients: set[str] = set()
    hub_modules = []
    for hub in contract.hubs:
        emit_client = hub.client.name not in seen_clients
        seen_clients.add(hub.client.name)
        view = _hub(contract, hub, types, emit_client)
        filename = to_camel(hub.name)
        hub_modules.append(filename)
        out.append(
            TypeScriptModule(
                f"{filename}.ts",
                render(
                    "typescript/hub.ts.jinja",
                    source=hub.location.file,
                    hub=view,
                    signalr_import=import_statement(
                        view.signalr_imports, "@microsoft/signalr", type_only=True
                    ),
                    models_import=import_statement(
                        view.model_imports, "./models.js", type_only=True
                    )
                    if view.model_imports
                    else None,
                    runtime_import=_runtime_import(view.runtime_values, view.runtime_types),
                ),
            )
        )
    out.append(
        TypeScriptModule(
            "index.ts", render("typescript/index.ts.jinja", source=source, hubs=hub_modules)
        )
    )
    return out
