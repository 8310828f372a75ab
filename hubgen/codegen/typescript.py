"""IR → generated TypeScript on the official ``@microsoft/signalr`` client.

Modules: ``models.ts`` (interfaces and enums), one ``<hubCamel>.ts`` per hub
(hub and client interfaces, the ``create<Hub>`` factory, ``register<Client>``),
``runtime.ts`` (connection building, stream adapters, registrations),
``index.ts`` (the public names) and, when MessagePack is enabled,
``messagepack.ts`` (the protocol choice, a separate entry point so that its
peer dependency stays optional).

With :class:`TypeScriptOptions` ``package`` set they go to ``src/`` of an npm
package that also gets ``package.json``, ``tsconfig.json`` and ``README.md``.

Types follow the wire: field names are wire names; ``UUID``, ``Decimal``,
``date``, ``time`` and ``timedelta`` are strings. ``bytes`` and ``datetime``
are strings over JSON but ``Uint8Array`` and ``Date`` over MessagePack: with
MessagePack enabled, every declaration that holds one takes a type parameter
``W extends Wire`` (``JsonWire`` or ``MessagePackWire``) that says which. What
a client *sends* (hub-method arguments, upload items, client results) uses a
model's ``XInput`` variant when the model has defaulted fields, directly or
through nested models, in which those fields are optional.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hubgen import artifacts, ir
from hubgen.codegen._templates import HEADER, render
from hubgen.codegen.errors import CodegenError

__all__ = [
    "SIGNALR_PEER_RANGE",
    "TESTED_VERSIONS",
    "HubProtocolName",
    "NpmPackage",
    "TypeScriptModule",
    "TypeScriptOptions",
    "typescript_files",
]

HubProtocolName = Literal["json", "messagepack"]

#: The ``@microsoft/signalr`` versions generated packages accept: the tests
#: compile and run a generated package against the lowest (8.0.0, the client
#: of .NET 8, the oldest supported release) and the newest of this range.
SIGNALR_PEER_RANGE = ">=8.0.0 <11.0.0"
#: The exact versions a generated package builds with (its devDependencies),
#: the ones pinned in tests/node/package.json.
TESTED_VERSIONS: dict[str, str] = {
    "@microsoft/signalr": "10.0.11",
    "@microsoft/signalr-protocol-msgpack": "10.0.11",
    "typescript": "7.0.2",
}


@dataclass(frozen=True)
class NpmPackage:
    """The npm package the TypeScript client is written as."""

    name: str
    version: str


@dataclass(frozen=True)
class TypeScriptOptions:
    """What to generate besides the contract: hub protocols, and a package."""

    protocols: tuple[HubProtocolName, ...] = ("json",)
    package: NpmPackage | None = None

    @property
    def messagepack(self) -> bool:
        return "messagepack" in self.protocols

    @property
    def json(self) -> bool:
        return "json" in self.protocols


_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_STRING_PRIMITIVES = frozenset({"str", "date", "time", "timedelta", "uuid", "decimal"})
#: The type parameter of declarations that hold a protocol-dependent value.
_W = artifacts.TYPESCRIPT_WIRE_PARAMETER


@dataclass(frozen=True)
class TypeScriptModule:
    """One generated file: its path relative to the output folder, and text."""

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


def _wrap(text: str) -> str:
    """Parenthesise a union or function type used as an array item."""
    return f"({text})" if " | " in text or "=>" in text else text


def _generic(name: str, args: Sequence[str]) -> str:
    return f"{name}<{', '.join(args)}>" if args else name


class _Types:
    """Prints IR types as TypeScript, in output (server sends) or input form."""

    def __init__(self, contract: ir.Contract, options: TypeScriptOptions) -> None:
        self.contract = contract
        #: MessagePack is enabled: ``bytes`` and ``datetime`` depend on ``W``.
        self.wire = options.messagepack
        self.default_wire = "JsonWire" if options.json else "MessagePackWire"
        self.json = options.json
        self.required_tags = artifacts.discriminator_tags(contract)
        self.needs_input = artifacts.input_models(contract, self.required_tags)
        #: Models holding a protocol-dependent value: they take ``W``.
        self.wired = artifacts.wire_dependent_models(contract) if self.wire else set()

    def depends(self, ref: ir.TypeRef) -> bool:
        """Whether ``ref`` holds a protocol-dependent value (so needs ``W``)."""
        return any(
            (isinstance(r, ir.PrimitiveType) and r.name in artifacts.WIRE_PRIMITIVES and self.wire)
            or (isinstance(r, ir.ModelRef) and r.name in self.wired)
            for r in ir.walk(ref)
        )

    def parameters(self, own: Sequence[str], wired: bool) -> str:
        """``<T, W extends Wire = JsonWire>``: a declaration's type parameters."""
        params = list(own)
        if wired:
            params.append(f"{_W} extends Wire = {self.default_wire}")
        return f"<{', '.join(params)}>" if params else ""

    def model_name(self, name: str, *, input: bool) -> str:
        return artifacts.input_model(name) if input and name in self.needs_input else name

    def type(self, ref: ir.TypeRef, *, input: bool) -> str:
        if isinstance(ref, ir.PrimitiveType):
            if ref.name in artifacts.WIRE_PRIMITIVES:
                return f'{_W}["{ref.name}"]' if self.wire else "string"
            if ref.name in _STRING_PRIMITIVES:
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
            args = [self.type(a, input=input) for a in ref.args]
            if ref.name in self.wired:
                args.append(_W)
            return _generic(self.model_name(ref.name, input=input), args)
        return ref.name

    def result(self, ref: ir.TypeRef, *, input: bool) -> str:
        """A method result: ``void`` for ``None``."""
        if ref == ir.PrimitiveType(name="none"):
            return "void"
        return self.type(ref, input=input)


def import_statement(names: Sequence[str], module: str, *, type_only: bool = False) -> str:
    """``import { a, b } from "module";``, one name a line when it gets long."""
    keyword = "import type" if type_only else "import"
    line = f'{keyword} {{ {", ".join(names)} }} from "{module}";'
    if len(line) <= 100:
        return line
    inner = "".join(f"  {name},\n" for name in names)
    return f'{keyword} {{\n{inner}}} from "{module}";'


def _mixed_import(values: Iterable[str], types: Iterable[str], module: str) -> str | None:
    """One import of values and types (``type``-marked) from ``module``."""
    values, types = sorted(set(values)), sorted(set(types))
    if not values and not types:
        return None
    if not values:
        return import_statement(types, module, type_only=True)
    names = sorted([*values, *(f"type {t}" for t in types)], key=lambda n: n.removeprefix("type "))
    return import_statement(names, module)


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


def _model_declarations(contract: ir.Contract, types: _Types) -> list[_Interface | _Enum]:
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
                    type_parameters=types.parameters(
                        model.type_parameters, model.name in types.wired
                    ),
                    fields=[
                        _Field(
                            doc=_jsdoc(f.doc, "  "),
                            name=_property(f.wire_name),
                            optional=input
                            and artifacts.optional_in_input(f, model.name, types.required_tags),
                            type=types.type(f.type, input=input),
                        )
                        for f in model.fields
                    ],
                )
            )
    return declarations


def _models(contract: ir.Contract, types: _Types, source: str) -> str:
    runtime_import = None
    if types.wired:
        runtime_import = import_statement(
            sorted({"Wire", types.default_wire}), "./runtime.js", type_only=True
        )
    return render(
        "typescript/models.ts.jinja",
        source=source,
        runtime_import=runtime_import,
        declarations=_model_declarations(contract, types),
    )


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
    #: ``<S extends Uploadable<number>>``: one per upload, else empty
    type_parameters: str
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
    #: ``onMessageReceived``: the hub object's registration of this method
    on_name: str
    on_doc: list[str]
    #: ``ChatClient["messageReceived"]``: the type of its handler
    handler_type: str


@dataclass
class _Hub:
    doc: list[str]
    name: str
    #: ``ChatHub<W>`` or ``ChatHub``; ``type_parameters`` declares ``W``
    type: str
    type_parameters: str
    methods: list[_HubMethod]
    client_name: str
    client_type: str
    client_type_parameters: str
    client_doc: list[str]
    client_methods: list[_ClientMethod]
    #: This module declares the client interface and its registration (the
    #: first hub with this client does; later ones import the interface).
    emit_client: bool
    #: ``createChatHub``, ``registerChatClient``
    factory_function: str
    register_function: str
    imports: list[str] = field(default_factory=list)
    #: The factory's overloads and implementation signature, line by line
    factory: list[str] = field(default_factory=list)
    #: The client registration's signature, line by line
    register: list[str] = field(default_factory=list)
    #: MessagePack is enabled: the factory and the registration take
    #: ``options`` saying the protocol
    wire: bool = False
    #: The hub's types depend on the protocol (it takes ``W``)
    wired: bool = False
    #: JSON is enabled: the protocol when a URL's options name none
    json: bool = False


def _params(
    types: _Types,
    method: ir.MethodDecl,
    *,
    input: bool,
    locals: bool = True,
    sources: Sequence[str] = (),
) -> list[_Param]:
    """The parameters of ``method``; ``sources`` names the type parameter of
    each upload (:func:`hubgen.artifacts.upload_type_parameters`), in order:
    an upload's type is ``UploadOf<S, T>``, ``S`` inferred from the source
    passed, so that tsc checks the source's item type (``UploadOf`` in runtime.ts)."""
    out: list[_Param] = []
    required_after = False
    uploads = iter(reversed(sources))
    for param in reversed(method.parameters):
        kind = types.type(param.type, input=input)
        if param.stream:
            kind = f"UploadOf<{next(uploads)}, {kind}>"
        default = _literal(param.default.json_value) if param.default is not None else None
        optional = default is not None and not required_after
        if default is None:
            required_after = True
        elif not optional:
            kind = f"{kind} | undefined"
        name = artifacts.typescript_parameter(param.name, locals=locals)
        out.append(_Param(name, kind, optional, default, param.stream))
    out.reverse()
    return out


def _signature(head: str, params: Sequence[str], tail: str) -> list[str]:
    """``head(a, b)tail`` on one line when it fits in 100 columns, else one
    parameter a line (as prettier prints it)."""
    line = f"{head}({', '.join(params)}){tail}"
    if len(line) <= 100:
        return [line]
    return [f"{head}(", *(f"  {p}," for p in params), f"){tail}"]


def _referenced_models(text: Iterable[str], names: Iterable[str]) -> list[str]:
    joined = " ".join(text)
    return sorted(n for n in names if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", joined))


def _method_types(method: ir.MethodDecl) -> Iterable[ir.TypeRef]:
    yield method.returns
    for param in method.parameters:
        yield param.type


def _hub(
    contract: ir.Contract,
    hub: ir.HubDecl,
    types: _Types,
    client_module: str | None,
) -> _Hub:
    """The view of one hub module; ``client_module`` is the module that
    declares the hub's client interface when it is not this one."""
    client_wired = any(types.depends(ref) for m in hub.client.methods for ref in _method_types(m))
    hub_wired = client_wired or any(
        types.depends(ref) for m in hub.methods for ref in _method_types(m)
    )
    names = artifacts.hub_names(hub)
    client_type = _generic(names.client_interface, [_W] if client_wired else [])
    methods: list[_HubMethod] = []
    taken = {_W, *(mo.name for mo in contract.models), *(e.name for e in contract.enums)}
    taken |= {types.model_name(mo.name, input=True) for mo in contract.models}
    taken |= {names.interface, names.client_interface}
    for m in hub.methods:
        item = types.result(m.returns, input=False)
        sources = artifacts.upload_type_parameters(sum(p.stream for p in m.parameters), taken)
        uploads = [types.type(p.type, input=True) for p in m.parameters if p.stream]
        bounds = [f"{s} extends Uploadable<{t}>" for s, t in zip(sources, uploads, strict=True)]
        if m.kind is ir.MethodKind.STREAM:
            returns, kind = f"HubStream<{item}>", "stream"
        else:
            returns, kind = f"Promise<{item}>", "invoke"
        methods.append(
            _HubMethod(
                doc=_jsdoc(m.doc, "  "),
                name=artifacts.typescript_member(m.name),
                type_parameters=f"<{', '.join(bounds)}>" if bounds else "",
                wire_name=_literal(m.wire_name),
                params=_params(types, m, input=True, sources=sources),
                returns=returns,
                item=item,
                kind=kind,
            )
        )
    client_methods = []
    for m in hub.client.methods:
        result = types.result(m.returns, input=True)
        # A push handler's result is ignored (the official client awaits it and
        # drops it): any will do, `(p) => list.push(p)` included. A client
        # result is the answer the server awaits: that or a promise of it.
        handler_result = "unknown" if result == "void" else f"{_wrap(result)} | Promise<{result}>"
        name = artifacts.typescript_member(m.name)
        on_doc = f"Calls `handler` for every {name} call from the server."
        if m.doc:
            on_doc = f"{on_doc}\n\n{m.doc}"
        client_methods.append(
            _ClientMethod(
                doc=_jsdoc(m.doc, "  "),
                name=name,
                wire_name=_literal(m.wire_name),
                params=_params(types, m, input=False, locals=False),
                returns=handler_result,
                on_name=artifacts.typescript_registration(m.name),
                on_doc=_jsdoc(on_doc, "  "),
                handler_type=f"{client_type}[{_literal(name)}]",
            )
        )
    view = _Hub(
        doc=_jsdoc(hub.doc, ""),
        name=names.interface,
        type=_generic(names.interface, [_W] if hub_wired else []),
        type_parameters=types.parameters([], hub_wired),
        methods=methods,
        client_name=names.client_interface,
        client_type=client_type,
        client_type_parameters=types.parameters([], client_wired),
        client_doc=_jsdoc(hub.client.doc, ""),
        client_methods=client_methods,
        emit_client=client_module is None,
        factory_function=names.factory,
        register_function=names.register,
        wire=types.wire,
        wired=hub_wired,
        json=types.json,
    )
    view.imports = _hub_imports(contract, types, view, client_module, hub_wired)
    view.factory = _factory(types, view, hub_wired)
    view.register = _registration(types, view, client_wired)
    return view


def _factory(types: _Types, view: _Hub, wired: bool) -> list[str]:
    """``create<Hub>``'s overloads and implementation signature. With
    MessagePack enabled, the hub's wire types follow from the protocol: the
    one ``options`` name (JSON when none does), or, for a connection the
    application built, the one ``options`` says it uses."""
    create = f"export function {view.factory_function}"
    connection, target = "connection: HubConnection", "target: HubConnection | string"
    signatures: list[tuple[str, list[str], str]] = []  # head, parameters, result
    if not types.wire:
        signatures += [
            (create, [connection], view.type),
            (create, ["url: string", "options?: ConnectOptions"], view.type),
            (create, [target, "options?: ConnectOptions"], view.type),
        ]
    elif not wired:  # nothing depends on the protocol: saying it is optional
        url = "options?" if types.json else "options"
        signatures += [
            (create, [connection, "options?: ProtocolOptions<Wire>"], view.type),
            (create, ["url: string", f"{url}: ConnectOptions<Wire>"], view.type),
            (create, [target, "options?: ConnectOptions<Wire>"], view.type),
        ]
    else:
        generic = f"{create}<{_W} extends Wire>"
        signatures.append((generic, [connection, "options: ProtocolOptions<W>"], view.type))
        if types.json:
            json = _generic(view.name, ["JsonWire"])
            signatures += [
                (create, ["url: string", "options?: ConnectOptions<JsonWire>"], json),
                (
                    generic,
                    ["url: string", "options: ConnectOptions<W> & ProtocolOptions<W>"],
                    view.type,
                ),
            ]
        else:  # ConnectOptions requires the protocol
            signatures.append((generic, ["url: string", "options: ConnectOptions<W>"], view.type))
        signatures.append((generic, [target, "options?: ConnectOptions<W>"], view.type))
    *overloads, (head, params, result) = signatures
    lines = [line for h, p, r in overloads for line in _signature(h, p, f": {r};")]
    return [*lines, *_signature(head, params, f": {result} {{")]


def _registration(types: _Types, view: _Hub, wired: bool) -> list[str]:
    """``register<Client>``'s signature: with MessagePack enabled, it takes
    ``options`` saying the connection's protocol, required when the client's
    types depend on it."""
    own = f"<{_W} extends Wire>" if wired else ""  # W follows from options: no default
    head = f"export function {view.register_function}{own}"
    receiver = "receiver" if view.client_methods else "_receiver"
    params = ["connection: HubConnection", f"{receiver}: Partial<{view.client_type}>"]
    if types.wire:
        params.append("options: ProtocolOptions<W>" if wired else "options?: ProtocolOptions<Wire>")
    return [f"{head}(", *(f"  {p}," for p in params), "): Disposable {"]


def _hub_imports(
    contract: ir.Contract,
    types: _Types,
    view: _Hub,
    client_module: str | None,
    wired: bool,
) -> list[str]:
    signalr = ["HubConnection"]
    uploads = any(p.upload for m in view.methods for p in m.params)
    used = [p.type for m in view.methods for p in m.params] + [m.returns for m in view.methods]
    if view.emit_client:
        used += [p.type for m in view.client_methods for p in m.params]
        used += [m.returns for m in view.client_methods]
    names = [types.model_name(mo.name, input=i) for mo in contract.models for i in (False, True)]
    names += [e.name for e in contract.enums]
    models = _referenced_models(used, set(names))

    values = ["hubConnection", "registerHandlers"]
    runtime_types = ["Disposable", "ConnectOptions"]
    if view.emit_client and types.wire:
        values.append("expectProtocol")
    if any(m.kind == "stream" for m in view.methods):
        values.append("toHubStream")
        runtime_types += ["HubStream", "StreamOptions"]
    if uploads:
        values.append("toStreamResult")
        runtime_types += ["Uploadable", "UploadOf"]
    if types.wire:
        runtime_types += ["ProtocolOptions", "Wire"]
        if wired:
            runtime_types.append(types.default_wire)

    imports = [import_statement(signalr, "@microsoft/signalr", type_only=True), ""]
    if models:
        imports.append(import_statement(models, "./models.js", type_only=True))
    runtime = _mixed_import(values, runtime_types, "./runtime.js")
    assert runtime is not None
    imports.append(runtime)
    if client_module is not None:
        imports.append(
            import_statement([view.client_name], f"./{client_module}.js", type_only=True)
        )
    return imports


# --------------------------------------------------------------------------- package


def _source(contract: ir.Contract) -> str:
    declared: list[ir.HubDecl | ir.ModelDecl | ir.EnumDecl] = [
        *contract.hubs,
        *contract.models,
        *contract.enums,
    ]
    files = sorted({d.location.file for d in declared})
    return ", ".join(files) or ", ".join(contract.modules)


def _package_json(
    contract: ir.Contract, options: TypeScriptOptions, package: NpmPackage, source: str
) -> str:
    hubs = ", ".join(hub.name for hub in contract.hubs)
    exports: dict[str, object] = {
        ".": {"types": "./dist/index.d.ts", "default": "./dist/index.js"},
    }
    peers = {"@microsoft/signalr": SIGNALR_PEER_RANGE}
    dev = {"@microsoft/signalr": TESTED_VERSIONS["@microsoft/signalr"]}
    meta: dict[str, object] = {}
    if options.messagepack:
        exports["./messagepack"] = {
            "types": "./dist/messagepack.d.ts",
            "default": "./dist/messagepack.js",
        }
        msgpack = "@microsoft/signalr-protocol-msgpack"
        peers[msgpack] = SIGNALR_PEER_RANGE
        dev[msgpack] = TESTED_VERSIONS[msgpack]
        meta[msgpack] = {"optional": True}
    exports["./package.json"] = "./package.json"
    dev["typescript"] = TESTED_VERSIONS["typescript"]
    data: dict[str, object] = {
        "//": HEADER,
        "name": package.name,
        "version": package.version,
        "description": f"Typed SignalR client for {hubs}, generated by hubgen from {source}",
        "keywords": ["signalr", "hubgen"],
        "type": "module",
        "sideEffects": False,
        "exports": exports,
        "types": "./dist/index.d.ts",
        "files": ["dist"],
        "scripts": {"build": "tsc -p tsconfig.json", "prepack": "npm run build"},
        "peerDependencies": peers,
    }
    if meta:
        data["peerDependenciesMeta"] = meta
    data["devDependencies"] = dev
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


#: The compiler options of a generated package: the strictest common set.
TSCONFIG: dict[str, object] = {
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "lib": ["es2022"],
    "types": [],
    "rootDir": "src",
    "outDir": "dist",
    "declaration": True,
    "strict": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "noImplicitOverride": True,
    "noImplicitReturns": True,
    "noFallthroughCasesInSwitch": True,
    "verbatimModuleSyntax": True,
    "isolatedModules": True,
    "forceConsistentCasingInFileNames": True,
    "skipLibCheck": True,
}


def _tsconfig() -> str:
    body = json.dumps({"compilerOptions": TSCONFIG, "include": ["src"]}, indent=2)
    return f"// {HEADER}\n{body}\n"


# --------------------------------------------------------------------------- entry


def typescript_files(
    contract: ir.Contract, options: TypeScriptOptions | None = None
) -> list[TypeScriptModule]:
    """Every generated TypeScript file for ``contract``, paths relative to the
    output folder."""
    options = options or TypeScriptOptions()
    types = _Types(contract, options)
    source = _source(contract)
    modules = [
        TypeScriptModule("models.ts", _models(contract, types, source)),
        TypeScriptModule(
            "runtime.ts",
            render(
                "typescript/runtime.ts.jinja",
                wire=types.wire,
                json_enabled=options.json,
                default_wire=types.default_wire,
            ),
        ),
    ]
    client_modules: dict[str, str] = {}
    hubs: list[_Hub] = []
    for hub in contract.hubs:
        filename = artifacts.typescript_module(hub.name)
        view = _hub(contract, hub, types, client_modules.get(hub.client.name))
        client_modules.setdefault(hub.client.name, filename)
        hubs.append(view)
        modules.append(
            TypeScriptModule(
                f"{filename}.ts",
                render("typescript/hub.ts.jinja", source=hub.location.file, hub=view),
            )
        )
    if options.messagepack:
        modules.append(
            TypeScriptModule("messagepack.ts", render("typescript/messagepack.ts.jinja"))
        )
    runtime_types = [
        *artifacts.TYPESCRIPT_RUNTIME_TYPES,
        *(artifacts.TYPESCRIPT_WIRE_TYPES if types.wire else ()),
    ]
    modules.append(
        TypeScriptModule(
            "index.ts",
            render(
                "typescript/index.ts.jinja",
                source=source,
                hubs=[artifacts.typescript_module(h.name) for h in contract.hubs],
                runtime_types=import_statement(
                    sorted(runtime_types), "./runtime.js", type_only=True
                ).replace("import type", "export type", 1),
                runtime_values="json" if types.wire and options.json else None,
            ),
        )
    )
    if options.package is None:
        return modules
    package = options.package
    if not hubs:
        raise CodegenError("the contract declares no hub: there is no client to package")
    first = hubs[0]
    readme = render(
        "typescript/README.md.jinja",
        package=package,
        options=options,
        peer_range=SIGNALR_PEER_RANGE,
        source=source,
        hubs=hubs,
        models=_model_declarations(contract, types),
        first=first,
        call=next((m for m in first.methods if m.kind == "invoke"), None),
        stream=next((m for m in first.methods if m.kind == "stream"), None),
        event=next(iter(first.client_methods), None),
    )
    return [
        TypeScriptModule("package.json", _package_json(contract, options, package, source)),
        TypeScriptModule("tsconfig.json", _tsconfig()),
        TypeScriptModule("README.md", readme),
        *(TypeScriptModule(f"src/{m.filename}", m.text) for m in modules),
    ]
