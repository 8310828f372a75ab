"""The names of everything hubgen generates, for Python and TypeScript.

Code generation spells every generated name with these functions and lists,
and analysis (:mod:`hubgen.contracts.names`) checks with the same ones that
no two things of a contract get one name and that none takes a name generated
code reserves: a clash is a contract error at the offending declaration
(``docs/errors.md``: HG012, HG013, HG041, HG042, HG045, HG047), never broken
output or a late error without a position.

For a hub ``ChatHub`` with client ``ChatClient``, generated Python has the
modules ``chat_hub_binders``, ``chat_hub_server`` and ``chat_hub_client``, the
module constant ``HUB``, the classes ``ChatHubBase``, ``ChatClientProxy``,
``ChatClientSingleProxy`` and ``ChatHubClient`` (whose members are the hub
methods, ``register`` and an ``on_<client method>`` per client method), and
imports every contract declaration by its name. Generated TypeScript has the
module ``chatHub.ts`` declaring the interfaces ``ChatHub`` and ``ChatClient``,
``createChatHub`` and ``registerChatClient`` (the hub object's members are
``connection``, the hub methods in camelCase, ``register`` and an
``on<ClientMethod>`` per client method), and ``models.ts`` declaring every
model and enum by name and ``<Model>Input`` for the models a client sends in
another form (:func:`input_models`).

The members of the runtime classes generated Python subclasses are listed
here as constants (code generation never imports the runtime);
``tests/contracts/test_reserved.py`` pins each list to its class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hubgen import ir
from hubgen.naming import to_camel, to_snake

__all__ = [
    "CLIENT_PROXY_MEMBERS",
    "HUB_BASE_MEMBERS",
    "HUB_PROXY_MEMBERS",
    "PYTHON_HUB_CLIENT_MEMBERS",
    "PYTHON_MODULE_NAMES",
    "PYTHON_REGISTRATION_PREFIX",
    "PYTHON_SPEC",
    "TYPESCRIPT_GLOBALS",
    "TYPESCRIPT_HUB_MEMBERS",
    "TYPESCRIPT_LOCALS",
    "TYPESCRIPT_MODULES",
    "TYPESCRIPT_PROTOCOL_VALUES",
    "TYPESCRIPT_RESERVED_WORDS",
    "TYPESCRIPT_RUNTIME_HELPERS",
    "TYPESCRIPT_RUNTIME_TYPES",
    "TYPESCRIPT_SIGNALR_TYPES",
    "TYPESCRIPT_TYPE_KEYWORDS",
    "TYPESCRIPT_WIRE_PARAMETER",
    "TYPESCRIPT_WIRE_TYPES",
    "WIRE_PRIMITIVES",
    "HubNames",
    "discriminator_tags",
    "hub_names",
    "input_model",
    "input_models",
    "optional_in_input",
    "python_import",
    "python_registration",
    "typescript_member",
    "typescript_module",
    "typescript_parameter",
    "typescript_registration",
    "upload_type_parameters",
    "wire_dependent_models",
]

# --------------------------------------------------------------------------- Python

#: The module constant holding a hub's :class:`hubgen.spec.HubSpec`, defined
#: by the binders module and imported by the server and client modules.
PYTHON_SPEC = "HUB"
#: Module-level names of generated Python modules besides the imports and the
#: classes of :class:`HubNames` (method handles start with ``_``: ``_SEND``).
PYTHON_MODULE_NAMES = frozenset({PYTHON_SPEC})

#: Public members of ``hubgen.server.Hub``, the base of every generated
#: ``<Hub>Base``; generated code sets ``spec``, ``client_proxy`` and
#: ``single_client_proxy``. A hub method cannot take one of these names.
HUB_BASE_MEMBERS = frozenset(
    {
        "spec",
        "client_proxy",
        "single_client_proxy",
        "context",
        "clients",
        "groups",
        "on_connected",
        "on_disconnected",
    }
)

#: Public members of ``hubgen.client.HubProxy``, the base of every generated
#: ``<Hub>Client``.
HUB_PROXY_MEMBERS = frozenset({"spec", "connection"})

#: Every member of a generated ``<Hub>Client`` that is not a hub method: the
#: proxy base's, ``register``, and ``on_<client method>`` (see
#: :data:`PYTHON_REGISTRATION_PREFIX`).
PYTHON_HUB_CLIENT_MEMBERS = HUB_PROXY_MEMBERS | {"register"}

#: A client method ``x`` is registered on the generated ``<Hub>Client`` with
#: ``on_x``: hub methods cannot start with it, and client methods neither (a
#: client method ``on_x`` would be registered as ``on_on_x``).
PYTHON_REGISTRATION_PREFIX = "on_"

#: Public members of ``hubgen.server.ClientProxy`` and ``SingleClientProxy``,
#: the bases of the generated client proxies whose methods are the client's
#: methods. (They have none today: every runtime member starts with ``_``.)
CLIENT_PROXY_MEMBERS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HubNames:
    """The names generated for one hub and its client."""

    #: Python modules: ``chat_hub_binders``, ``chat_hub_server``, ``chat_hub_client``
    binders_module: str
    server_module: str
    client_module: str
    #: Python classes: ``ChatHubBase`` (server), ``ChatClientProxy`` and
    #: ``ChatClientSingleProxy`` (server), ``ChatHubClient`` (client)
    base: str
    proxy: str
    single_proxy: str
    hub_client: str
    #: TypeScript: the module ``chatHub`` (``chatHub.ts``), the interfaces
    #: ``ChatHub`` and ``ChatClient``, ``createChatHub`` and ``registerChatClient``
    module: str
    interface: str
    client_interface: str
    factory: str
    register: str


def hub_names(hub: ir.HubDecl) -> HubNames:
    """Every name generated for ``hub`` and its client."""
    snake = to_snake(hub.name)
    return HubNames(
        binders_module=f"{snake}_binders",
        server_module=f"{snake}_server",
        client_module=f"{snake}_client",
        base=f"{hub.name}Base",
        proxy=f"{hub.client.name}Proxy",
        single_proxy=f"{hub.client.name}SingleProxy",
        hub_client=f"{hub.name}Client",
        module=typescript_module(hub.name),
        interface=hub.name,
        client_interface=hub.client.name,
        factory=f"create{hub.name}",
        register=f"register{hub.client.name}",
    )


def python_import(ref: ir.PythonRef) -> str:
    """The name generated Python imports a declaration by: the outermost class
    of its qualified name (``Outer`` for ``Outer.Inner``)."""
    return ref.qualname.split(".")[0]


def python_registration(method: str) -> str:
    """``on_message_received``: registers client method ``message_received``."""
    return f"{PYTHON_REGISTRATION_PREFIX}{method}"


# --------------------------------------------------------------------------- TypeScript

#: Modules generated besides one per hub (``models.ts``, ...).
TYPESCRIPT_MODULES = frozenset({"models", "runtime", "index", "messagepack"})

#: Types ``runtime.ts`` exports to users (``index.ts`` re-exports them).
TYPESCRIPT_RUNTIME_TYPES = (
    "AbortSignalLike",
    "ConnectOptions",
    "Disposable",
    "HubStream",
    "HubSubscription",
    "SignalOptions",
    "StreamOptions",
    "StreamSubscriber",
    "UploadOf",
    "Uploadable",
)
#: Types ``runtime.ts`` exports when MessagePack is enabled.
TYPESCRIPT_WIRE_TYPES = (
    "HubProtocolChoice",
    "JsonWire",
    "MessagePackWire",
    "ProtocolOptions",
    "Wire",
)
#: The hub protocol values: ``json`` (``runtime.ts``) and ``messagePack``
#: (``messagepack.ts``), exported when MessagePack is enabled.
TYPESCRIPT_PROTOCOL_VALUES = ("json", "messagePack")
#: Functions of ``runtime.ts`` hub modules import (not re-exported).
TYPESCRIPT_RUNTIME_HELPERS = (
    "expectProtocol",
    "hubConnection",
    "registerHandlers",
    "streamArguments",
    "toHubStream",
    "toStreamResult",
)
#: What hub modules import from ``@microsoft/signalr``.
TYPESCRIPT_SIGNALR_TYPES = ("HubConnection",)
#: Global types the generated declarations use.
TYPESCRIPT_GLOBALS = ("Partial", "Promise", "Record")
#: The type parameter of declarations whose types follow the hub protocol
#: (``bytes`` and datetimes, with MessagePack enabled).
TYPESCRIPT_WIRE_PARAMETER = "W"
#: Members of every hub object besides its methods and registrations.
TYPESCRIPT_HUB_MEMBERS = frozenset({"connection", "register"})
#: Local names of generated function bodies, which parameters must not shadow.
TYPESCRIPT_LOCALS = frozenset(
    {
        "connection",
        "receiver",
        "handler",
        "options",
        "rest",
        "target",
        *TYPESCRIPT_RUNTIME_HELPERS,
    }
)
#: Reserved words and predefined type names: no declaration or parameter
#: can have one of these names.
TYPESCRIPT_RESERVED_WORDS = frozenset(
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
#: Type names TypeScript predefines: a declaration cannot be named so.
TYPESCRIPT_TYPE_KEYWORDS = frozenset(
    {"any", "bigint", "boolean", "never", "number", "object", "string", "symbol", "unknown"}
)


def typescript_module(hub: str) -> str:
    """``chatHub``: the module (``chatHub.ts``) of hub ``ChatHub``."""
    return to_camel(hub)


def typescript_member(method: str) -> str:
    """``messageReceived``: a hub or client method's TypeScript name."""
    return to_camel(method)


def typescript_registration(method: str) -> str:
    """``onMessageReceived``: registers client method ``message_received`` on
    the hub object."""
    camel = typescript_member(method)
    return f"on{camel[:1].upper()}{camel[1:]}"


def typescript_parameter(name: str, *, locals: bool = True) -> str:
    """A parameter's TypeScript name: camelCase, with ``_`` appended while it
    is a reserved word or, in generated function bodies (``locals``), one of
    their local names. (A Python identifier is a TypeScript identifier.)"""
    camel = to_camel(name)
    while camel in TYPESCRIPT_RESERVED_WORDS or (locals and camel in TYPESCRIPT_LOCALS):
        camel += "_"
    return camel


def upload_type_parameters(count: int, taken: Iterable[str]) -> list[str]:
    """The type parameters of a method's ``count`` uploads (``S``, or ``S1``,
    ``S2``, ...), with ``_`` appended while one is named like a name in ``taken``."""
    taken = set(taken)
    names = ["S"] if count == 1 else [f"S{i}" for i in range(1, count + 1)]
    unique = []
    for name in names:
        while name in taken:
            name += "_"
        unique.append(name)
    return unique


def input_model(model: str) -> str:
    """``ChatMessageInput``: model ``ChatMessage`` as a client sends it."""
    return f"{model}Input"


def _contract_types(contract: ir.Contract) -> Iterable[ir.TypeRef]:
    """Every type reference of ``contract``: fields, results and parameters."""
    for model in contract.models:
        for f in model.fields:
            yield from ir.walk(f.type)
    for hub in contract.hubs:
        for method in (*hub.methods, *hub.client.methods):
            yield from ir.walk(method.returns)
            for param in method.parameters:
                yield from ir.walk(param.type)


def discriminator_tags(contract: ir.Contract) -> dict[str, set[str]]:
    """Per model, the tag fields (wire names) a discriminated union reads: they
    stay required in ``XInput`` since the server needs them to pick the member."""
    tags: dict[str, set[str]] = {}
    for ref in _contract_types(contract):
        if isinstance(ref, ir.UnionType) and ref.discriminator:
            for member in ref.members:
                if isinstance(member, ir.ModelRef):
                    tags.setdefault(member.name, set()).add(ref.discriminator)
    return tags


def optional_in_input(f: ir.FieldDecl, model: str, tags: dict[str, set[str]]) -> bool:
    """Whether a client may leave field ``f`` of ``model`` out: it has a default
    and is not a tag of :func:`discriminator_tags`."""
    return f.has_default and f.wire_name not in tags.get(model, set())


def _closure(contract: ir.Contract, seed: set[str]) -> set[str]:
    """``seed`` and every model that holds one of them, directly or nested."""
    found = set(seed)
    changed = True
    while changed:
        changed = False
        for model in contract.models:
            if model.name in found:
                continue
            if any(
                isinstance(ref, ir.ModelRef) and ref.name in found
                for f in model.fields
                for ref in ir.walk(f.type)
            ):
                found.add(model.name)
                changed = True
    return found


def input_models(contract: ir.Contract, tags: dict[str, set[str]] | None = None) -> set[str]:
    """The models that get an :func:`input_model` form: those with a field a
    client may leave out, directly or through nested models."""
    tags = discriminator_tags(contract) if tags is None else tags
    return _closure(
        contract,
        {
            m.name
            for m in contract.models
            if any(optional_in_input(f, m.name, tags) for f in m.fields)
        },
    )


#: Primitives whose TypeScript type depends on the hub protocol.
WIRE_PRIMITIVES = frozenset({"bytes", "datetime"})


def wire_dependent_models(contract: ir.Contract) -> set[str]:
    """The models holding ``bytes`` or a datetime, directly or nested: with
    MessagePack enabled they take the type parameter
    :data:`TYPESCRIPT_WIRE_PARAMETER`."""
    return _closure(
        contract,
        {
            m.name
            for m in contract.models
            if any(
                isinstance(ref, ir.PrimitiveType) and ref.name in WIRE_PRIMITIVES
                for f in m.fields
                for ref in ir.walk(f.type)
            )
        },
    )
