"""A document's project, built from its blocks: the files its blocks name on
their first line, and its configuration fragments.

A TOML block without a file name whose tables are all ``[tool.hubgen.*]``
sub-tables (the README's TypeScript package settings) refines the project's
``pyproject.toml``: its tables replace the ones of the same name.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tests.docs.snippets import Snippet, parse, project_files

_TABLE = re.compile(r"^\s*\[(?P<name>[^\[\]]+)\]\s*(?:#.*)?$")


def hubgen_table(data: dict[str, Any]) -> dict[str, Any] | None:
    tool = data.get("tool")
    return tool.get("hubgen") if isinstance(tool, dict) else None


def is_config_fragment(snippet: Snippet) -> bool:
    """A TOML block of ``[tool.hubgen.*]`` sub-tables only, in no named file."""
    if snippet.kind != "toml" or snippet.file is not None or snippet.unchecked is not None:
        return False
    table = hubgen_table(tomllib.loads(snippet.text))
    return table is not None and "contracts" not in table


def replace_tables(base: str, fragment: str) -> str:
    """``base`` TOML text with the tables ``fragment`` declares replaced by its own."""
    names = {m["name"].strip() for line in fragment.splitlines() if (m := _TABLE.match(line))}
    kept: list[str] = []
    dropping = False
    for line in base.splitlines():
        if (match := _TABLE.match(line)) is not None:
            dropping = match["name"].strip() in names
        if not dropping:
            kept.append(line)
    return "\n".join(kept) + "\n\n" + fragment


def build(document: Path, destination: Path) -> Path:
    """Write the document's project into ``destination``; every folder holding
    Python files becomes a package."""
    files = project_files(document)
    assert files, f"{document.name} names no files"
    pyproject = files.get("pyproject.toml", "")
    for snippet in parse(document)[0]:
        if is_config_fragment(snippet):
            pyproject = replace_tables(pyproject, snippet.text)
    if pyproject:
        files["pyproject.toml"] = pyproject
        tomllib.loads(pyproject)  # still TOML
    for name, text in files.items():
        path = destination / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if path.suffix == ".py" and path.parent != destination:
            (path.parent / "__init__.py").touch()
    return destination
