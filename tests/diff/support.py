"""Pairs of small contracts for the diff tests, analyzed for real.

Each version is written as a module of its own, under a name no other test
uses (analysis imports it, and Python caches modules by name).
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

from hubgen.compat import Change, Protocol, Scenario, diff
from hubgen.contracts import analyze
from hubgen.ir import Contract, NamingDecl

#: What every contract of the tests starts with.
PRELUDE = """\
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Generic, Literal, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

import hubgen
"""

#: A hub with no methods and its client, for contracts that only need one side.
EMPTY_CLIENT = """
class Client(Protocol):
    async def ping(self) -> None: ...
"""


def contract(source: str, folder: Path, naming: NamingDecl | None = None) -> Contract:
    """Analyze ``source`` (after the prelude) as a contract module."""
    name = f"diffcase_{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(PRELUDE + textwrap.dedent(source), encoding="utf-8")
    return analyze([name], root=folder, python_path=[folder], naming=naming or NamingDecl())


def changes(
    old: str,
    new: str,
    folder: Path,
    *,
    old_naming: NamingDecl | None = None,
    new_naming: NamingDecl | None = None,
) -> list[Change]:
    return diff(
        contract(old, folder / "old", old_naming), contract(new, folder / "new", new_naming)
    )


def verdicts(change: Change) -> dict[str, dict[str, bool]]:
    """``{scenario: {protocol: breaking}}``, for comparing with a literal."""
    return {
        scenario.value: {
            protocol.value: change.verdicts[scenario][protocol].breaking for protocol in Protocol
        }
        for scenario in Scenario
    }
