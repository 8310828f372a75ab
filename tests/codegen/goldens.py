"""Golden cases: each folder of tests/cases holds a contract, its config and the
full generated tree under ``expected/``. Shared by the golden tests and
``scripts/update-goldens``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from hubgen.codegen import is_generated

CASES = Path(__file__).resolve().parents[1] / "cases"
EXPECTED = "expected"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "hubgen.toml").is_file())


def prepare(case: str, workdir: Path) -> Path:
    """A copy of the case's inputs (not ``expected/``) under ``workdir``."""
    target = workdir / case
    shutil.copytree(
        CASES / case,
        target,
        ignore=shutil.ignore_patterns(EXPECTED, "__pycache__", "node_modules"),
    )
    return target


def hubgen(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m hubgen ARGS --config hubgen.toml`` in ``root``: a fresh
    interpreter, so that each run imports the contract anew."""
    return subprocess.run(
        [sys.executable, "-m", "hubgen", *args, "--config", "hubgen.toml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def generated_tree(root: Path) -> dict[str, str]:
    """Every generated file under ``root`` (recognised by its header), by
    POSIX path relative to ``root``."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if "node_modules" in path.parts or not path.is_file():
            continue
        if path.suffix in {".py", ".ts", ".json", ".md"} and is_generated(path):
            found[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    return found


def expected_tree(case: str) -> dict[str, str]:
    base = CASES / case / EXPECTED
    return {
        path.relative_to(base).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(base.rglob("*"))
        if path.is_file()
    }


def generate_case(case: str, workdir: Path) -> tuple[Path, dict[str, str]]:
    """Generate ``case`` in a copy under ``workdir``: (its root, the tree)."""
    root = prepare(case, workdir)
    result = hubgen(root, "generate")
    if result.returncode != 0:
        raise AssertionError(
            f"hubgen generate failed for case {case!r}:\n{result.stdout}{result.stderr}"
        )
    return root, generated_tree(root)
