"""IR → generated TypeScript on the official ``@microsoft/signalr`` client.

Modules: ``models.ts`` (interfaces and enums), one ``<hubCamel>.ts`` per hub
(hub and client interfaces, the ``create<Hub>`` factory, ``register<Client>``),
``runtime.ts`` (connection building, stream adapters, registrations),
``index.ts`` (the public names) and, when MessagePack is enabled,
``messagepack.ts`` (the protocol choice, a separate entry point so that its
peer dependency stays optional).

With :class:`TypeScriptOptions` ``package`` set they go to ``src/`` of an npm
package that also gets ``package.json``, ``tsconfig.json`` and ``README.md``.

The subpackage follows the concepts: :mod:`.options` (what to generate),
:mod:`.syntax` (TypeScript source text), :mod:`.types` (IR types as TypeScript
types), :mod:`.models` (``models.ts``), :mod:`.hubs` (one module per hub),
:mod:`.package` (``package.json``, ``tsconfig.json``); templates in
``templates/typescript/`` own every file's shape. Names come from
:mod:`hubgen.artifacts`.

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

from dataclasses import dataclass

from hubgen import artifacts, ir
from hubgen.codegen._templates import render
from hubgen.codegen.errors import CodegenError
from hubgen.codegen.typescript.hubs import HubView, hub_view
from hubgen.codegen.typescript.models import model_declarations, models_module
from hubgen.codegen.typescript.options import (
    SIGNALR_PEER_RANGE,
    TESTED_VERSIONS,
    HubProtocolName,
    NpmPackage,
    TypeScriptOptions,
)
from hubgen.codegen.typescript.package import package_json, package_readme, source_files, tsconfig
from hubgen.codegen.typescript.syntax import import_statement
from hubgen.codegen.typescript.types import Types

__all__ = [
    "SIGNALR_PEER_RANGE",
    "TESTED_VERSIONS",
    "HubProtocolName",
    "NpmPackage",
    "TypeScriptModule",
    "TypeScriptOptions",
    "typescript_files",
]


@dataclass(frozen=True)
class TypeScriptModule:
    """One generated file: its path relative to the output folder, and text."""

    filename: str
    text: str


def typescript_files(
    contract: ir.Contract, options: TypeScriptOptions | None = None
) -> list[TypeScriptModule]:
    """Every generated TypeScript file for ``contract``, paths relative to the
    output folder."""
    options = options or TypeScriptOptions()
    types = Types(contract, options)
    source = source_files(contract)
    modules = [
        TypeScriptModule("models.ts", models_module(contract, types, source)),
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
    hubs: list[HubView] = []
    for hub in contract.hubs:
        filename = artifacts.typescript_module(hub.name)
        view = hub_view(contract, hub, types, client_modules.get(hub.client.name))
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
    package = options.package
    if package is None:
        return modules
    if not hubs:
        raise CodegenError("the contract declares no hub: there is no client to package")
    models = model_declarations(contract, types)
    return [
        TypeScriptModule("package.json", package_json(contract, options, package, source)),
        TypeScriptModule("tsconfig.json", tsconfig()),
        TypeScriptModule("README.md", package_readme(options, package, source, hubs, models)),
        *(TypeScriptModule(f"src/{m.filename}", m.text) for m in modules),
    ]
