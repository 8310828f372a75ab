"""Helpers for codegen tests: the real tools (ruff, mypy, tsc) on generated code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hubgen.codegen import GeneratedFile

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "cases"
NODE = REPO / "tests" / "node"
BIN = Path(sys.executable).parent

#: The lint rules this repository selects (pyproject.toml), on top of ruff's defaults.
REPO_RULES = "E,F,W,I,UP,B,SIM,RUF,ASYNC,PT,C4,PIE,RET,FA"
REPO_IGNORE = "RUF001,RUF002,RUF003"

#: The compiler options of the TypeScript checks: the strictest flags, and no
#: lib beyond ES2022 (no DOM, no esnext.disposable) unless a check asks for one.
TSC_OPTIONS: dict[str, object] = {
    "strict": True,
    "noEmit": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "noImplicitReturns": True,
    "noImplicitOverride": True,
    "noFallthroughCasesInSwitch": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "verbatimModuleSyntax": True,
    "isolatedModules": True,
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2022",
    "lib": ["es2022"],
    "types": [],
    "skipLibCheck": True,
}


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def write_files(files: list[GeneratedFile]) -> None:
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        file.path.write_text(file.text, encoding="utf-8")


def ruff_problems(root: Path, targets: list[str]) -> list[str]:
    """Every complaint of ruff (default rules, this repo's rules, formatter) on
    ``targets``, run from ``root`` so that first-party imports are recognised."""
    ruff = str(BIN / "ruff")
    problems = []
    for args in (
        [ruff, "check", "--isolated", "--line-length", "88", "--output-format", "concise"],
        [
            ruff,
            "check",
            "--isolated",
            "--line-length",
            "88",
            "--select",
            REPO_RULES,
            "--ignore",
            REPO_IGNORE,
            "--output-format",
            "concise",
        ],
        [ruff, "format", "--isolated", "--check", "--diff"],
    ):
        result = run([*args, *targets], root)
        if result.returncode != 0:
            problems.append(f"$ {' '.join(args[1:])}\n{result.stdout}{result.stderr}")
    return problems


def mypy_problems(root: Path, targets: list[str]) -> str | None:
    """``mypy --strict`` (with warn_unreachable and the pydantic plugin) on targets."""
    config = root / "mypy-hubgen-test.ini"
    config.write_text(
        "[mypy]\nstrict = True\nwarn_unreachable = True\nplugins = pydantic.mypy\n"
        "incremental = False\n",
        encoding="utf-8",
    )
    result = run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), *targets], root, timeout=600
    )
    return None if result.returncode == 0 else result.stdout + result.stderr


def node_modules() -> Path:
    """tests/node/node_modules, installed with ``npm ci`` when missing."""
    modules = NODE / "node_modules"
    if not (modules / "typescript" / "package.json").exists():
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed for the TypeScript checks"
        result = run([npm, "ci", "--no-audit", "--no-fund"], NODE, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    return modules


def tsc_problems(directory: Path, lib: Sequence[str] = ("es2022",)) -> str | None:
    """``tsc --strict --noEmit`` with the strictest flags on every .ts file under
    ``directory`` (given its own tsconfig and a link to tests/node's packages),
    with the TypeScript libs ``lib``."""
    modules = node_modules()
    link = directory / "node_modules"
    if not link.exists():
        link.symlink_to(modules, target_is_directory=True)
    (directory / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    config = {
        "compilerOptions": {**TSC_OPTIONS, "lib": list(lib)},
        "include": ["**/*.ts"],
        "exclude": ["node_modules"],
    }
    (directory / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    node = shutil.which("node")
    assert node is not None, "node is needed for the TypeScript checks"
    tsc = modules / "typescript" / "bin" / "tsc"
    result = run([node, str(tsc), "-p", str(directory)], directory, timeout=600)
    return None if result.returncode == 0 else result.stdout + result.stderr
