"""Names generated code will use: the checks that keep them from clashing.

Generated Python imports every hub, client, model and enum of a contract by
name and defines classes named after hubs and clients; generated TypeScript
declares an interface per model, hub and client, and functions named after
hubs and clients. :mod:`hubgen.artifacts` spells all of those names; this
module reports, at the declaration that causes it, every name two things would
share (HG045), every name generated code reserves (HG047) and every member
of a TypeScript hub object claimed twice (HG041). ``docs/errors.md`` documents
the same lists.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from hubgen import artifacts
from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.report import Report
from hubgen.ir import Contract, HubDecl, PythonRef, SourceLocation

__all__ = ["check_names", "import_problem"]

Target = Literal["python", "typescript"]
_PYTHON: frozenset[Target] = frozenset({"python"})
_TYPESCRIPT: frozenset[Target] = frozenset({"typescript"})


def import_problem(obj: Any) -> str | None:
    """Why generated code could not import ``obj`` by ``module.qualname``, if so."""
    qualname: str = obj.__qualname__
    if "<locals>" in qualname:
        return "it is defined inside a function; move it to module level"
    module = sys.modules.get(obj.__module__)
    if module is None or obj.__module__ == "__main__":
        return f"its module {obj.__module__!r} cannot be imported"
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not obj:
        return f"{obj.__module__}.{qualname} does not name it (was it rebound?)"
    return None


def _reserved(target: Target) -> dict[str, str]:
    """The names generated code of ``target`` keeps for itself, and why."""
    if target == "python":
        return dict.fromkeys(
            artifacts.PYTHON_MODULE_NAMES, "the name of the hub's spec in generated Python modules"
        )
    reasons: dict[str, str] = {}
    for name in artifacts.TYPESCRIPT_RESERVED_WORDS | artifacts.TYPESCRIPT_TYPE_KEYWORDS:
        reasons[name] = "a reserved word in TypeScript"
    for name in artifacts.TYPESCRIPT_GLOBALS:
        reasons[name] = "a TypeScript global type the generated declarations use"
    for name in artifacts.TYPESCRIPT_SIGNALR_TYPES:
        reasons[name] = "imported from @microsoft/signalr by every generated hub module"
    for name in (
        *artifacts.TYPESCRIPT_RUNTIME_TYPES,
        *artifacts.TYPESCRIPT_WIRE_TYPES,
        *artifacts.TYPESCRIPT_PROTOCOL_VALUES,
        *artifacts.TYPESCRIPT_RUNTIME_HELPERS,
    ):
        reasons[name] = "a name of the generated TypeScript runtime"
    reasons[artifacts.TYPESCRIPT_WIRE_PARAMETER] = (
        "the type parameter the TypeScript client gives declarations for the hub protocol's types"
    )
    return reasons


@dataclass(frozen=True, slots=True)
class _Claim:
    """A name some declaration takes in generated code.

    ``owner`` is the declaration's ``(module, qualname)``, ``role`` how it takes
    the name (``"declaration"`` for its own name). Two claims clash when they
    are equal in a target they share and come from different ``(owner, role)``
    pairs.
    """

    name: str
    owner: tuple[str, str]
    role: str
    targets: frozenset[Target]
    location: SourceLocation
    description: str


class _Claims:
    def __init__(self) -> None:
        self._claims: dict[tuple[str, tuple[str, str], str], _Claim] = {}

    def add(
        self,
        name: str,
        ref: PythonRef,
        role: str,
        targets: frozenset[Target],
        location: SourceLocation,
        description: str,
    ) -> None:
        owner = (ref.module, ref.qualname)
        key = (name, owner, role)
        known = self._claims.get(key)
        if known is not None:
            targets = known.targets | targets
            description = known.description
        self._claims[key] = _Claim(name, owner, role, targets, location, description)

    def declaration(
        self,
        kind: str,
        name: str,
        ref: PythonRef,
        location: SourceLocation,
    ) -> str:
        """Claim a declaration's names: ``name`` in TypeScript, the class
        Python imports; returns how messages describe it."""
        described = f"{kind} {ref.module}.{ref.qualname}"
        self.add(name, ref, "declaration", _TYPESCRIPT, location, described)
        top = artifacts.python_import(ref)
        if top == ref.qualname:
            self.add(top, ref, "declaration", _PYTHON, location, described)
        else:  # a nested class: Python imports the outermost one
            outer = PythonRef(module=ref.module, qualname=top)
            imported = f"{ref.module}.{top} (imported for {kind} {ref.qualname})"
            self.add(top, outer, "declaration", _PYTHON, location, imported)
        return described

    def __iter__(self) -> Iterator[_Claim]:
        return iter(self._claims.values())


def _claims(contract: Contract) -> _Claims:
    claims = _Claims()
    input_models = artifacts.input_models(contract)
    for hub in contract.hubs:
        names = artifacts.hub_names(hub)
        described = claims.declaration("hub", hub.name, hub.python, hub.location)
        for name, role, targets, what in (
            (names.base, "base", _PYTHON, "the server base"),
            (names.hub_client, "proxy", _PYTHON, "the client proxy"),
            (names.factory, "factory", _TYPESCRIPT, "the TypeScript factory"),
        ):
            claims.add(
                name, hub.python, role, targets, hub.location, f"{what} generated for {described}"
            )
    for hub in contract.hubs:  # after every hub: a shared client is described once
        client = hub.client
        names = artifacts.hub_names(hub)
        described = claims.declaration("client", client.name, client.python, client.location)
        for name, role, targets, what in (
            (names.proxy, "proxy", _PYTHON, "the proxy"),
            (names.single_proxy, "single proxy", _PYTHON, "the single-client proxy"),
            (names.register, "registration", _TYPESCRIPT, "the TypeScript registration"),
        ):
            claims.add(
                name,
                client.python,
                role,
                targets,
                client.location,
                f"{what} generated for {described}",
            )
    for model in contract.models:
        described = claims.declaration("model", model.name, model.python, model.location)
        if model.name in input_models:
            claims.add(
                artifacts.input_model(model.name),
                model.python,
                "input",
                _TYPESCRIPT,
                model.location,
                f"the TypeScript input form of {described}",
            )
    for enum in contract.enums:
        claims.declaration("enum", enum.name, enum.python, enum.location)
    return claims


def _position(claim: _Claim) -> tuple[str, int, int]:
    return claim.location.file, claim.location.line, claim.location.column


def _check_clashes(claims: _Claims, report: Report) -> None:
    """Report every generated name that two different things would claim (HG045).

    When two declarations already clash by name, the classes generated from
    them (``<Client>Proxy``, ...) clash too; only the first clash is reported.
    """
    by_name: dict[str, list[_Claim]] = {}
    for claim in sorted(claims, key=lambda c: c.role != "declaration"):
        by_name.setdefault(claim.name, []).append(claim)
    reported: set[frozenset[tuple[str, str]]] = set()
    for name, found in by_name.items():
        ordered = sorted(found, key=_position)
        for index, other in enumerate(ordered[1:], start=1):
            first = next((c for c in ordered[:index] if c.targets & other.targets), None)
            if first is None:
                continue
            pair = frozenset({first.owner, other.owner})
            if len(pair) == 2 and pair in reported:
                continue
            reported.add(pair)
            report.error(
                ErrorCode.DECLARATION_NAME_COLLISION,
                f"{other.description} and {first.description} ({first.location}) would both "
                f"be generated as {name!r}; rename one of them",
                other.location,
            )


def _check_reserved(contract: Contract, claims: _Claims, report: Report) -> None:
    """Report every declaration that would take a name generated code keeps (HG047)."""
    reserved = {target: _reserved(target) for target in ("python", "typescript")}
    for claim in claims:
        for target in sorted(claim.targets):
            why = reserved[target].get(claim.name)
            if why is not None:
                report.error(
                    ErrorCode.RESERVED_NAME,
                    f"{claim.description} would be generated as {claim.name!r}, which is "
                    f"{why}; rename it",
                    claim.location,
                )
    wire = artifacts.TYPESCRIPT_WIRE_PARAMETER
    dependent = artifacts.wire_dependent_models(contract)
    for model in contract.models:
        if model.name in dependent and wire in model.type_parameters:
            report.error(
                ErrorCode.RESERVED_NAME,
                f"model {model.name!r} has a type parameter named {wire!r}, which the "
                "TypeScript client gives models holding bytes or datetimes for the hub "
                "protocol's types; rename the type variable",
                model.location,
                (model.name,),
            )


def _check_hub_members(hub: HubDecl, report: Report) -> None:
    """Report a hub method named like a client method's registration on the
    TypeScript hub object (HG041)."""
    registrations = {artifacts.typescript_registration(m.name): m.name for m in hub.client.methods}
    for method in hub.methods:
        member = artifacts.typescript_member(method.name)
        client_method = registrations.get(member)
        if client_method is not None:
            report.error(
                ErrorCode.MEMBER_NAME_COLLISION,
                f"hub method {method.name!r} and the registration of client method "
                f"{client_method!r} would both be named {member!r} on the TypeScript hub "
                "object; rename one of them",
                method.location,
                (f"{hub.python.qualname.rsplit('.', 1)[-1]}.{method.name}",),
            )


def check_names(contract: Contract, report: Report) -> None:
    """Report every name clash in the code generated for ``contract``."""
    claims = _claims(contract)
    _check_clashes(claims, report)
    _check_reserved(contract, claims, report)
    for hub in contract.hubs:
        _check_hub_members(hub, report)
