"""The codegen benchmark: ``hubgen generate`` on synthetic contracts.

``write_project(root, hubs)`` writes a contract module with ``hubs`` hubs of
``METHODS`` methods each (a mix of invocations, models, streams both ways and
a client with a client result), and the ``hubgen.toml`` that generates Python
and TypeScript for all of them. One module, not one per hub: hubgen 0.1.0
fails on configs listing more than a few modules (the ``# source:`` line it
writes atop the generated ``__init__.py`` outgrows its 88-column check).
``time_generate`` runs the CLI in a fresh process, as a user would, and
returns its wall time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

METHODS = 20

_IMPORTS = '''"""Synthetic contract for the codegen benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from pydantic import BaseModel

import hubgen
'''

_HUB = '''

class Item{k}(BaseModel):
    """One item."""

    id: UUID
    name: str
    tags: list[str]
    created_at: datetime
    score: float | None = None


class Page{k}(BaseModel):
    """A page of items."""

    items: list[Item{k}]
    total: int
    kind: Literal["full", "partial"]


class Client{k}(Protocol):
    """What the server calls on clients."""

    async def item_changed(self, item: Item{k}) -> None: ...
    async def confirm(self, question: str) -> bool: ...


@hubgen.hub(client=Client{k})
class Hub{k}(Protocol):
    """Synthetic hub {k}."""
'''

_METHODS = (
    "    async def get_{i}(self, id: UUID) -> Item{k}: ...",
    "    async def list_{i}(self, offset: int, limit: int = 50) -> Page{k}: ...",
    "    async def put_{i}(self, item: Item{k}, tags: dict[str, str]) -> None: ...",
    "    def watch_{i}(self, names: list[str]) -> AsyncIterator[Item{k}]: ...",
    "    async def upload_{i}(self, lines: AsyncIterator[str]) -> int: ...",
)


def contract_source(hubs: int) -> str:
    lines = [_IMPORTS]
    for k in range(hubs):
        lines.append(_HUB.format(k=k))
        for i in range(METHODS):
            lines.append(_METHODS[i % len(_METHODS)].format(i=i, k=k))
    return "\n".join(lines) + "\n"


def write_project(root: Path, hubs: int) -> Path:
    """Write the contract and its config under ``root``; return the config."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "synthetic_contract.py").write_text(contract_source(hubs))
    config = root / "hubgen.toml"
    config.write_text(
        'contracts = ["synthetic_contract"]\npython-path = ["."]\n\n'
        '[python]\nout = "generated"\n\n[typescript]\nout = "ts"\n'
    )
    return config


def time_generate(config: Path, *, timeout: float = 300) -> float:
    """Wall time of ``hubgen generate`` in a fresh interpreter, in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hubgen.cli", "generate", "--config", str(config)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"hubgen generate failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed
