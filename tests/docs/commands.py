"""Check shell commands from the docs against what exists: scripts and folders
are there, hubgen's subcommands and flags parse, other programs' flags are in
their ``--help``, npm scripts are in package.json, and ``pip install`` names a
checkout with the extras asked for. Nothing is run for real."""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

from tests.docs.snippets import ROOT, shell_commands, unquoted_patterns

#: Where a relative path in the docs may start: the checkout, or the chat
#: example, whose layout the README's examples follow (``cd web/chat-client``).
BASES = (ROOT, ROOT / "examples" / "chat")
PYTHONS = {"python", "python3"}


def check_shell(text: str, cwd: Path = ROOT) -> list[str]:
    """What is wrong with the commands of ``text``, run one after another."""
    problems = [f"{pattern}: quote the word (zsh)" for pattern in unquoted_patterns(text)]
    for argv in shell_commands(text):
        found, cwd = _check(argv, cwd)
        problems += [f"`{' '.join(argv)}`: {problem}" for problem in found]
    return problems


def _resolve(cwd: Path, path: str) -> Path | None:
    """``path`` from ``cwd``, else from one of BASES when ``cwd`` is the checkout."""
    bases: tuple[Path, ...] = (cwd, *BASES) if cwd == ROOT else (cwd,)
    for base in bases:
        candidate = (base / path).resolve()
        if candidate.exists():
            return candidate
    return None


def _check(argv: list[str], cwd: Path) -> tuple[list[str], Path]:
    while argv and "=" in argv[0] and not argv[0].startswith("-"):
        argv = argv[1:]  # VAR=value before the command
    if not argv:
        return [], cwd
    program, args = argv[0], argv[1:]
    if program == "cd":
        target = _resolve(cwd, args[0]) if len(args) == 1 else None
        if target is None or not target.is_dir():
            return [f"no folder {args!r} from {cwd}"], cwd
        return [], target
    if "/" in program:
        path = _resolve(cwd, program)
        if path is None or not path.is_file() or not os.access(path, os.X_OK):
            return [f"{program} is not an executable file (from {cwd})"], cwd
        if Path(program).name not in PYTHONS:
            return [], cwd
        program = "python"
    if program in PYTHONS:
        return _python(args, cwd), cwd
    if program == "hubgen":
        return _hubgen(args), cwd
    if program == "uvicorn":
        return _uvicorn(args), cwd
    if program == "pip":
        return _pip(args, cwd), cwd
    if program == "npm":
        return _npm(args, cwd), cwd
    return [
        f"tests/docs cannot check {program!r}: teach tests/docs/commands.py, or mark the "
        "snippet <!-- snippet: unchecked: REASON -->"
    ], cwd


def _flags(args: list[str]) -> list[str]:
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]


@cache
def _help(argv: tuple[str, ...], cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    result = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout + result.stderr


def _missing_flags(args: list[str], argv: tuple[str, ...], cwd: Path) -> list[str]:
    code, text = _help(argv, cwd)
    if code != 0:
        return [f"`{' '.join(argv)}` failed:\n{text}"]
    return [
        f"no option {flag} in `{' '.join(argv)}`"
        for flag in _flags(args)
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
    ]


def _python(args: list[str], cwd: Path) -> list[str]:
    if len(args) < 2 or args[0] != "-m":
        return ["only `python -m MODULE ...` is checked"]
    module, rest = args[1], args[2:]
    return _missing_flags(rest, (sys.executable, "-m", module, "--help"), cwd)


def _hubgen(args: list[str]) -> list[str]:
    from hubgen.cli import _parser

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(args)
    except SystemExit as stop:
        if stop.code not in (0, None):
            return [errors.getvalue().strip()]
    return []


def _uvicorn(args: list[str]) -> list[str]:
    positional = [arg for arg in args if not arg.startswith("-")]
    problems = _missing_flags(args, (sys.executable, "-m", "uvicorn", "--help"), ROOT)
    apps = [arg for arg in positional if ":" in arg]
    if apps and not all(part.isidentifier() for part in apps[0].replace(":", ".").split(".")):
        problems.append(f"{apps[0]!r} is not a MODULE:ATTRIBUTE app")
    values = [value for flag, value in itertools.pairwise(args) if flag == "--ws"]
    values += [arg.removeprefix("--ws=") for arg in args if arg.startswith("--ws=")]
    for value in values:
        if ":" in value:
            problems += _importable_class(value)
    return problems


def _importable_class(spec: str) -> list[str]:
    """``MODULE:CLASS`` (uvicorn's ``--ws`` taking a protocol class) names a
    class that imports."""
    module, _, name = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return [f"--ws {spec!r} does not import: {exc}"]
    return [] if isinstance(found, type) else [f"--ws {spec!r} is not a class"]


def _pip(args: list[str], cwd: Path) -> list[str]:
    if not args or args[0] != "install":
        return ["only `pip install` is checked"]
    problems: list[str] = []
    for requirement in args[1:]:
        if requirement.startswith("-"):
            continue
        name, _, extras = requirement.partition("[")
        if "/" not in name and not name.startswith("."):
            problems.append(
                f"{requirement!r} is a name on the package index, where hubgen is not yet: "
                "install from a checkout ('.[server]')"
            )
            continue
        folder = _resolve(cwd, name)
        pyproject = None if folder is None else folder / "pyproject.toml"
        if pyproject is None or not pyproject.is_file():
            problems.append(f"{name!r} is not a Python project (from {cwd})")
            continue
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        offered = project.get("optional-dependencies", {})
        for extra in filter(None, extras.rstrip("]").split(",")):
            if extra.strip() not in offered:
                problems.append(f"{project['name']} has no extra {extra.strip()!r}")
    return problems


def _npm(args: list[str], cwd: Path) -> list[str]:
    package = cwd / "package.json"
    if not package.is_file():
        return [f"no package.json in {cwd}"]
    command = args[0] if args else ""
    if command == "ci" and not (cwd / "package-lock.json").is_file():
        return [f"npm ci needs a package-lock.json in {cwd}"]
    if command == "run":
        scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts", {})
        script = next((arg for arg in args[1:] if not arg.startswith("-")), "")
        if script not in scripts:
            return [f"no script {script!r} in {package}"]
        return []
    if command not in {"ci", "install", "pack", "publish"}:
        return [f"npm {command} is not checked"]
    return []
