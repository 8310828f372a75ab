"""One module per hub: the hub and client interfaces, ``create<Hub>`` and
``register<Client>``, described as a :class:`HubView` that
``templates/typescript/hub.ts.jinja`` (and the package README) print."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hubgen import artifacts, ir
from hubgen.codegen.typescript.syntax import (
    generic,
    import_statement,
    jsdoc,
    literal,
    mixed_import,
    signature,
    wrap,
)
from hubgen.codegen.typescript.types import Types, W

__all__ = ["HubView", "hub_view"]


@dataclass
class _Param:
    name: str
    type: str
    #: ``?`` in the interface (a default and nothing required after it)
    optional: bool
    default: str | None
    upload: bool
    #: Its values may be plain objects (a model, a ``Record``): a stream's
    #: options in its place must hold their signal (``SignalOptions``)
    objects: bool = False

    def declaration(self) -> str:
        """``name?: type`` (optional) or ``name: type``."""
        return f"{self.name}{'?' if self.optional else ''}: {self.type}"

    def argument(self) -> str:
        """What the generated method passes to the official client for it."""
        return f"toStreamResult({self.name})" if self.upload else self.name


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

    @property
    def optional(self) -> list[_Param]:
        """The trailing parameters a call may leave out."""
        return [p for p in self.params if p.optional]

    @property
    def splits_options(self) -> bool:
        """A stream whose options may follow any of its trailing optional
        parameters: its implementation tells them apart (``streamArguments``)."""
        return self.kind == "stream" and bool(self.optional)

    @property
    def signal_options(self) -> bool:
        """A stream whose options, after an optional parameter that may be a
        plain object, are declared ``SignalOptions`` (see :meth:`declarations`)."""
        return self.kind == "stream" and any(p.objects for p in self.optional)

    def declarations(self) -> list[list[str]]:
        """The interface's declarations of the method, line by line: one, or
        for a stream with optional parameters, one per number of them given,
        each followed by the options (``counter(count, options?)``,
        ``counter(count, delay?, options?)``)."""
        declared = [p.declaration() for p in self.params]
        if self.kind != "stream":
            lists = [declared]
        else:
            required = len(self.params) - len(self.optional)
            lists = []
            for given in range(required, len(self.params) + 1):
                left_out = self.params[given] if given < len(self.params) else None
                objects = left_out is not None and left_out.objects
                options = "SignalOptions" if objects else "StreamOptions"
                lists.append([*declared[:given], f"options?: {options}"])
        head = f"{self.name}{self.type_parameters}"
        return [signature(head, params, f": {self.returns};", "  ") for params in lists]

    def implementation(self) -> list[str]:
        """The implementation's signature, line by line: the interface's
        parameters with their defaults; a stream's optional parameters and
        options arrive as ``rest``."""
        if self.splits_options:
            required = [f"{p.name}: {p.type}" for p in self.params if not p.optional]
            params = [*required, "...rest: unknown[]"]
        else:
            params = [
                f"{p.name}: {p.type}" + (f" = {p.default}" if p.default is not None else "")
                for p in self.params
            ]
            if self.kind == "stream":
                params.append("options?: StreamOptions")
        head = f"{self.name}{self.type_parameters}"
        return signature(head, params, f": {self.returns} {{", "    ")

    def split(self) -> str:
        """``const [[delay = 0.0], options] = streamArguments(rest, [false]);``:
        the optional parameters (their defaults where left out) and the options."""
        names = ", ".join(f"{p.name} = {p.default}" for p in self.optional)
        objects = ", ".join("true" if p.objects else "false" for p in self.optional)
        return f"const [[{names}], options] = streamArguments(rest, [{objects}]);"

    def arguments(self) -> str:
        """``, count, delay``: the arguments after the wire name."""
        return "".join(f", {p.argument()}" for p in self.params)


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
class HubView:
    """What ``hub.ts.jinja`` prints for one hub: names, signatures, imports."""

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
    types: Types,
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
        default = literal(param.default.json_value) if param.default is not None else None
        optional = default is not None and not required_after
        if default is None:
            required_after = True
        elif not optional:
            kind = f"{kind} | undefined"
        name = artifacts.typescript_parameter(param.name, locals=locals)
        out.append(_Param(name, kind, optional, default, param.stream, _objects(param.type)))
    out.reverse()
    return out


def _objects(ref: ir.TypeRef) -> bool:
    """Whether values of ``ref`` may be plain objects in TypeScript: a model, a
    ``Record``, or a union holding one (arrays, ``Date`` and ``Uint8Array`` are
    objects too, but none is taken for a stream's options)."""
    if isinstance(ref, ir.NullableType):
        return _objects(ref.inner)
    if isinstance(ref, ir.UnionType):
        return any(_objects(member) for member in ref.members)
    return isinstance(ref, ir.ModelRef | ir.DictType | ir.TypeVarRef)


def _method_types(method: ir.MethodDecl) -> Iterable[ir.TypeRef]:
    yield method.returns
    for param in method.parameters:
        yield param.type


def hub_view(
    contract: ir.Contract,
    hub: ir.HubDecl,
    types: Types,
    client_module: str | None,
) -> HubView:
    """The view of one hub module; ``client_module`` is the module that
    declares the hub's client interface when it is not this one."""
    client_wired = any(types.depends(ref) for m in hub.client.methods for ref in _method_types(m))
    hub_wired = client_wired or any(
        types.depends(ref) for m in hub.methods for ref in _method_types(m)
    )
    names = artifacts.hub_names(hub)
    client_type = generic(names.client_interface, [W] if client_wired else [])
    methods: list[_HubMethod] = []
    taken = {W, *(mo.name for mo in contract.models), *(e.name for e in contract.enums)}
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
                doc=jsdoc(m.doc, "  "),
                name=artifacts.typescript_member(m.name),
                type_parameters=f"<{', '.join(bounds)}>" if bounds else "",
                wire_name=literal(m.wire_name),
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
        handler_result = "unknown" if result == "void" else f"{wrap(result)} | Promise<{result}>"
        name = artifacts.typescript_member(m.name)
        on_doc = f"Calls `handler` for every {name} call from the server."
        if m.doc:
            on_doc = f"{on_doc}\n\n{m.doc}"
        client_methods.append(
            _ClientMethod(
                doc=jsdoc(m.doc, "  "),
                name=name,
                wire_name=literal(m.wire_name),
                params=_params(types, m, input=False, locals=False),
                returns=handler_result,
                on_name=artifacts.typescript_registration(m.name),
                on_doc=jsdoc(on_doc, "  "),
                handler_type=f"{client_type}[{literal(name)}]",
            )
        )
    view = HubView(
        doc=jsdoc(hub.doc, ""),
        name=names.interface,
        type=generic(names.interface, [W] if hub_wired else []),
        type_parameters=types.parameters([], hub_wired),
        methods=methods,
        client_name=names.client_interface,
        client_type=client_type,
        client_type_parameters=types.parameters([], client_wired),
        client_doc=jsdoc(hub.client.doc, ""),
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


def _factory(types: Types, view: HubView, wired: bool) -> list[str]:
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
        create_w = f"{create}<{W} extends Wire>"
        signatures.append((create_w, [connection, "options: ProtocolOptions<W>"], view.type))
        if types.json:
            json = generic(view.name, ["JsonWire"])
            signatures += [
                (create, ["url: string", "options?: ConnectOptions<JsonWire>"], json),
                (
                    create_w,
                    ["url: string", "options: ConnectOptions<W> & ProtocolOptions<W>"],
                    view.type,
                ),
            ]
        else:  # ConnectOptions requires the protocol
            signatures.append((create_w, ["url: string", "options: ConnectOptions<W>"], view.type))
        signatures.append((create_w, [target, "options?: ConnectOptions<W>"], view.type))
    *overloads, (head, params, result) = signatures
    lines = [line for h, p, r in overloads for line in signature(h, p, f": {r};")]
    return [*lines, *signature(head, params, f": {result} {{")]


def _registration(types: Types, view: HubView, wired: bool) -> list[str]:
    """``register<Client>``'s signature: with MessagePack enabled, it takes
    ``options`` saying the connection's protocol, required when the client's
    types depend on it."""
    own = f"<{W} extends Wire>" if wired else ""  # W follows from options: no default
    head = f"export function {view.register_function}{own}"
    receiver = "receiver" if view.client_methods else "_receiver"
    params = ["connection: HubConnection", f"{receiver}: Partial<{view.client_type}>"]
    if types.wire:
        params.append("options: ProtocolOptions<W>" if wired else "options?: ProtocolOptions<Wire>")
    return [f"{head}(", *(f"  {p}," for p in params), "): Disposable {"]


def _hub_imports(
    contract: ir.Contract,
    types: Types,
    view: HubView,
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
    if any(m.splits_options for m in view.methods):
        values.append("streamArguments")
    if any(m.signal_options for m in view.methods):
        runtime_types.append("SignalOptions")
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
    runtime = mixed_import(values, runtime_types, "./runtime.js")
    assert runtime is not None
    imports.append(runtime)
    if client_module is not None:
        imports.append(
            import_statement([view.client_name], f"./{client_module}.js", type_only=True)
        )
    return imports


def _referenced_models(text: Iterable[str], names: Iterable[str]) -> list[str]:
    joined = " ".join(text)
    return sorted(n for n in names if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", joined))
