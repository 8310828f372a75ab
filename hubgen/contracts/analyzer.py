"""``analyze``: contract modules → :class:`hubgen.ir.Contract`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.hubs import HubAnalyzer
from hubgen.contracts.loader import import_modules
from hubgen.contracts.methods import MethodAnalyzer
from hubgen.contracts.models import Declarations
from hubgen.contracts.names import check_names
from hubgen.contracts.report import Report
from hubgen.contracts.source import SourceIndex
from hubgen.ir import Contract, NamingDecl
from hubgen.naming import FieldNaming, MethodNaming

__all__ = ["analyze"]


def analyze(
    modules: Sequence[str],
    *,
    root: Path,
    python_path: Sequence[Path] = (),
    naming: NamingDecl = NamingDecl(),  # noqa: B008 - immutable (frozen) model
) -> Contract:
    """Import ``modules`` and describe every ``@hubgen.hub`` Protocol they define.

    ``python_path`` entries (relative ones are taken relative to ``root``) are
    put in front of ``sys.path`` while importing. Source locations in the
    result and in errors are relative to ``root``. The result lists each hub
    with its client, and every model and enum reachable from their signatures
    once, sorted by name.

    Raises :class:`~hubgen.contracts.ContractErrors` with every problem found.
    """
    root = root.resolve()
    search = [entry if entry.is_absolute() else root / entry for entry in python_path]
    names = list(dict.fromkeys(modules))
    report = Report()
    sources = SourceIndex(root)
    declarations = Declarations(report, sources, FieldNaming(naming.fields))
    methods = MethodAnalyzer(report, sources, declarations, MethodNaming(naming.methods))
    hubs = HubAnalyzer(report, sources, methods)

    loaded = import_modules(names, search, root, report)
    classes = [cls for module in loaded for cls in hubs.discover(module)]
    if not classes and len(loaded) == len(names):
        report.error(
            ErrorCode.NO_HUBS,
            f"no @hubgen.hub Protocol is defined in {', '.join(repr(n) for n in names)}",
            None,
        )
    contract = Contract(
        modules=names,
        naming=naming,
        hubs=hubs.hubs(classes),
        models=declarations.models(),
        enums=declarations.enums(),
    )
    check_names(contract, report)
    report.raise_if_any()
    return contract
