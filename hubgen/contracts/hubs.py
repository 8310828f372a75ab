"""``@hubgen.hub`` Protocols and their client Protocols → :class:`HubDecl` / :class:`ClientDecl`.

Hubs are the classes a contract module *defines* (not imports) carrying the
``@hubgen.hub`` marker, in source order. Each must be a ``typing.Protocol``
with a Protocol as its client; a client shared by several hubs is analyzed once.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from hubgen import artifacts
from hubgen._markers import HUB_ATTR, HubMarker
from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.methods import MethodAnalyzer, Role
from hubgen.contracts.names import import_problem
from hubgen.contracts.report import Report
from hubgen.contracts.source import SourceIndex
from hubgen.contracts.typerefs import is_class
from hubgen.ir import ClientDecl, HubDecl, PythonRef, SourceLocation
from hubgen.members import is_protocol

__all__ = ["HubAnalyzer"]


class HubAnalyzer:
    """Finds the hubs of contract modules and builds their declarations."""

    def __init__(self, report: Report, sources: SourceIndex, methods: MethodAnalyzer) -> None:
        self.report = report
        self.sources = sources
        self.methods = methods
        self._clients: dict[type, ClientDecl | None] = {}

    def discover(self, module: ModuleType) -> list[type]:
        """The hub Protocols ``module`` defines, in source order."""
        found: dict[int, type] = {}
        for value in vars(module).values():
            if is_class(value) and HUB_ATTR in vars(value) and value.__module__ == module.__name__:
                found.setdefault(id(value), value)

        def position(cls: type) -> tuple[int, int]:
            location = self.sources.class_location(cls)
            return location.line, location.column

        return sorted(found.values(), key=position)

    def hubs(self, classes: list[type]) -> list[HubDecl]:
        decls: list[HubDecl] = []
        by_key: dict[str, HubDecl] = {}
        for cls in classes:
            decl = self._hub(cls)
            if decl is None:
                continue
            # the files generated for a hub, as a case-insensitive file system sees them
            names = artifacts.hub_names(decl)
            for key in {names.module.lower(), names.binders_module.lower()}:
                other = by_key.setdefault(key, decl)
                if other is not decl:
                    self.report.error(
                        ErrorCode.DUPLICATE_HUB,
                        f"hub {decl.name!r} has the same name as hub {other.name!r} "
                        f"({other.python.module}.{other.python.qualname}, {other.location}) "
                        "ignoring case: generated modules would collide; rename one or set "
                        "@hubgen.hub(name=...)",
                        decl.location,
                        (decl.name,),
                    )
                    break
            decls.append(decl)
        return decls

    # -- hubs ----------------------------------------------------------------------

    def _hub(self, cls: type) -> HubDecl | None:
        marker = vars(cls)[HUB_ATTR]
        if not isinstance(marker, HubMarker):
            return None
        source = self.sources.class_source(cls)
        location = self.sources.class_location(cls)
        path = (cls.__name__,)
        if not is_protocol(cls):
            self.report.error(
                ErrorCode.HUB_NOT_PROTOCOL,
                f"hub {cls.__name__!r} is not a Protocol: declare it as "
                f"'class {cls.__name__}(Protocol)'",
                location,
                path,
            )
        self._check_declaration(cls, "hub", location, path)
        name = self._hub_name(cls, marker, location, path)
        client_node = source.decorator_argument("hub", "client") if source is not None else None
        client_location = source.file.locate(client_node) if source and client_node else location
        client = self._client(marker.client, cls, client_location)
        methods = self.methods.methods(cls, "hub")
        if client is None:
            return None
        return HubDecl(
            name=name,
            python=PythonRef(module=cls.__module__, qualname=cls.__qualname__),
            methods=methods,
            client=client,
            doc=source.doc if source is not None else None,
            location=location,
        )

    def _hub_name(
        self, cls: type, marker: HubMarker, location: SourceLocation, path: tuple[str, ...]
    ) -> str:
        if marker.name is None:
            name = cls.__name__
            where = location
        else:
            name = marker.name
            source = self.sources.class_source(cls)
            node = source.decorator_argument("hub", "name") if source is not None else None
            where = (
                source.file.locate(node) if source is not None and node is not None else location
            )
        problem: str | None = None
        if not isinstance(name, str) or not name.isidentifier():
            problem = "it must be a Python identifier (it names generated classes and modules)"
        elif artifacts.typescript_module(name).lower() in artifacts.TYPESCRIPT_MODULES:
            module = artifacts.typescript_module(name)
            problem = f"the TypeScript module {module}.ts is reserved for generated code"
        if problem is not None:
            self.report.error(
                ErrorCode.BAD_HUB_NAME, f"hub name {name!r} is not usable: {problem}", where, path
            )
            return cls.__name__
        return name

    def _check_declaration(
        self, cls: type, role: str, location: SourceLocation, path: tuple[str, ...]
    ) -> None:
        parameters = getattr(cls, "__parameters__", ())
        if parameters:
            names = ", ".join(getattr(p, "__name__", repr(p)) for p in parameters)
            self.report.error(
                ErrorCode.GENERIC_PROTOCOL,
                f"{role} {cls.__name__!r} is generic over {names}: contracts are concrete; "
                "use concrete types",
                location,
                path,
            )
        problem = import_problem(cls)
        if problem is not None:
            self.report.error(
                ErrorCode.NOT_IMPORTABLE,
                f"{role} {cls.__qualname__!r} cannot be imported by generated code: {problem}",
                location,
                path,
            )

    # -- clients -------------------------------------------------------------------

    def _client(self, client: Any, hub: type, location: SourceLocation) -> ClientDecl | None:
        if not is_protocol(client):
            shown = getattr(client, "__qualname__", None) or repr(client)
            what = "missing" if client is None else f"{shown!r}, which is not a Protocol"
            self.report.error(
                ErrorCode.BAD_CLIENT,
                f"the client of hub {hub.__name__!r} is {what}: pass the Protocol of the "
                "methods the server calls on clients, @hubgen.hub(client=MyClient)",
                location,
                (hub.__name__,),
            )
            return None
        if client in self._clients:
            return self._clients[client]
        self._clients[client] = None
        role: Role = "client"
        location = self.sources.class_location(client)
        self._check_declaration(client, role, location, (client.__name__,))
        methods = self.methods.methods(client, role)
        source = self.sources.class_source(client)
        decl = ClientDecl(
            name=client.__name__,
            python=PythonRef(module=client.__module__, qualname=client.__qualname__),
            methods=methods,
            doc=source.doc if source is not None else None,
            location=location,
        )
        self._clients[client] = decl
        return decl
