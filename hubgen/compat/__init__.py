"""Compatibility between two versions of a contract: ``hubgen diff``.

:func:`diff` compares two :class:`hubgen.ir.Contract` values and returns every
:class:`Change`, each with a :class:`Verdict` per :class:`Scenario` (which
version runs on which end) and :class:`Protocol`. The rules are listed in
:data:`RULES` and explained in ``docs/diff.md``.
"""

from __future__ import annotations

from hubgen.compat.diff import Change, Flow, Scenario, Verdict, diff
from hubgen.compat.fit import Fit, Protocol, Role
from hubgen.compat.rules import RULES, Rule

__all__ = [
    "RULES",
    "Change",
    "Fit",
    "Flow",
    "Protocol",
    "Role",
    "Rule",
    "Scenario",
    "Verdict",
    "diff",
]
