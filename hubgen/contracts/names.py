"""Names generated code will use, and the rules that keep them from clashing.

Generated Python imports every hub, client, model and enum of a contract by
name and defines classes named after hubs and clients; generated TypeScript
declares an interface per model, hub and client. This module lists the names
that are reserved and finds declarations that would end up with the same name.
``docs/errors.md`` (HG042, HG043, HG045) documents the same lists.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.report import Report
from hubgen.ir import SourceLocation

__all__ = [
    "RESERVED_CLIENT_METHOD_PREFIXES",
    "RESERVED_HUB_METHODS",
    "RESERVED_HUB_METHOD_PREFIXES",
    "RESERVED_HUB_NAMES",
    "RESERVED_PARAMETER_PREFIXES",
    "GeneratedName",
    "check_generated_names",
    "import_problem",
]

#: Hub method names taken by the generated server base (``Hub``: ``spec``,
#: ``client_proxy``, ``single_client_proxy``, ``context``, ``clients``,
#: ``groups``, ``on_connected``, ``on_disconnected``) or by the generated client
#: proxy (``HubProxy``: ``spec``, ``connection``, ``register``).
RESERVED_HUB_METHODS = frozenset(
    {
        "spec",
        "client_proxy",
        "single_client_proxy",
        "context",
        "clients",
        "groups",
        "on_connected",
        "on_disconnected",
        "connection",
        "register",
    }
)

#: The generated client proxy has an ``on_<client method>`` for every client
#: method, and the server base has the ``on_connected``/``on_disconnected`` hooks.
RESERVED_HUB_METHOD_PREFIXES = ("on_",)

#: A client method ``x`` is registered with ``on_x``; a client method named
#: ``on_x`` would read as a registration (``on_on_x``) and is refused.
RESERVED_CLIENT_METHOD_PREFIXES = ("on_",)

#: Generated method bodies use module-level names starting with ``_`` (``_SEND``);
#: a parameter with such a name would shadow them.
RESERVED_PARAMETER_PREFIXES = ("_",)

#: TypeScript module names generated next to one module per hub.
RESERVED_HUB_NAMES = frozenset({"models", "index"})


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


@dataclass(frozen=True, slots=True)
class GeneratedName:
    """A name that ends up in generated code, and what it stands for.

    ``owner`` is the declaration it comes from (a class); ``role`` says how
    (``"model"``, ``"hub"``, ``"server base of hub 'Chat'"``, ...). Two names
    clash when they are equal and come from different ``(owner, role)`` pairs.
    """

    name: str
    owner: Any
    role: str
    location: SourceLocation
    description: str


def check_generated_names(names: Iterable[GeneratedName], report: Report) -> None:
    """Report every generated name that two different things would claim (HG045).

    When two declarations already clash by name, the classes generated from
    them (``<Client>Proxy``, ...) clash too; only the first clash is reported.
    """
    by_name: dict[str, list[GeneratedName]] = {}
    for entry in sorted(names, key=lambda n: n.role != "declaration"):
        claims = by_name.setdefault(entry.name, [])
        if not any(c.owner is entry.owner and c.role == entry.role for c in claims):
            claims.append(entry)
    reported: set[frozenset[int]] = set()
    for name, claims in by_name.items():
        ordered = sorted(
            claims, key=lambda c: (c.location.file, c.location.line, c.location.column)
        )
        first = ordered[0]
        for other in ordered[1:]:
            pair = frozenset({id(first.owner), id(other.owner)})
            if len(pair) == 2 and pair in reported:
                continue
            reported.add(pair)
            report.error(
                ErrorCode.DECLARATION_NAME_COLLISION,
                f"{other.description} and {first.description} ({first.location}) would both "
                f"be generated as {name!r}; rename one of them",
                other.location,
            )
