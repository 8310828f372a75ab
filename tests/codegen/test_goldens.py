"""Golden cases: the generated tree of each case under tests/cases, compared file
by file with ``expected/``, then checked with the real tools: ruff, mypy
--strict, tsc --strict, and an import of the generated modules."""

from __future__ import annotations

import difflib
import importlib
import re
import shutil
import sys
from pathlib import Path

import pytest

from hubgen.config import load_config

from .goldens import case_names, expected_tree, generate_case
from .support import mypy_problems, ruff_problems, run, tsc_problems

CASE_NAMES = case_names()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("cases")
    return {name: generate_case(name, workdir) for name in CASE_NAMES}


def _python_out(root: Path) -> Path:
    config = load_config(root / "hubgen.toml")
    assert config.python_out is not None
    return config.python_out


def _client_runtime_ready() -> bool:
    """The generated client modules import hubgen.client's HubProxy, HubStream
    and Registration; they are type-checked once that runtime exists."""
    try:
        client = importlib.import_module("hubgen.client")
    except ImportError:
        return False
    return all(hasattr(client, name) for name in ("HubProxy", "HubStream", "Registration"))


def test_there_are_cases() -> None:
    assert {
        "minimal",
        "chat",
        "alltypes",
        "palette",
        "shapes",
        "pets",
        "naming",
        "shared",
        "pascal",
    } <= set(CASE_NAMES)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_generated_tree_matches_expected(
    case: str, generated: dict[str, tuple[Path, dict[str, str]]]
) -> None:
    _, actual = generated[case]
    expected = expected_tree(case)
    assert sorted(actual) == sorted(expected), (
        f"case {case!r}: generated files differ from expected/ "
        "(run scripts/update-goldens if the change is intended)"
    )
    for name, text in expected.items():
        if actual[name] != text:
            diff = "".join(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    actual[name].splitlines(keepends=True),
                    f"expected/{name}",
                    f"generated/{name}",
                )
            )
            pytest.fail(
                f"case {case!r}: {name} differs from expected/ "
                f"(run scripts/update-goldens if intended):\n{diff}"
            )


@pytest.mark.parametrize("case", CASE_NAMES)
def test_generation_is_deterministic(
    case: str, generated: dict[str, tuple[Path, dict[str, str]]], tmp_path: Path
) -> None:
    _, first = generated[case]
    _, second = generate_case(case, tmp_path)
    assert first == second


@pytest.mark.parametrize("case", CASE_NAMES)
def test_generated_python_is_ruff_clean(
    case: str, generated: dict[str, tuple[Path, dict[str, str]]]
) -> None:
    root, _ = generated[case]
    out = _python_out(root).relative_to(root.resolve())
    assert ruff_problems(root, [out.as_posix()]) == []
    long_lines = [
        f"{name}:{number}"
        for name, text in generated[case][1].items()
        if name.endswith(".py")
        for number, line in enumerate(text.splitlines(), 1)
        if len(line) > 88
    ]
    assert long_lines == []


def test_generated_python_passes_mypy_strict(
    generated: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    targets: list[str] = []
    with_client = _client_runtime_ready()
    for root, _ in generated.values():
        for path in sorted(_python_out(root).glob("*.py")):
            if with_client or not path.name.endswith("_client.py"):
                targets.append(str(path))
        targets += [str(p) for p in sorted(root.rglob("contract.py"))]
    workdir = next(iter(generated.values()))[0].parent
    assert mypy_problems(workdir, targets) is None, mypy_problems(workdir, targets)


def test_generated_typescript_passes_tsc_strict(
    generated: dict[str, tuple[Path, dict[str, str]]], tmp_path: Path
) -> None:
    for case, (root, _) in generated.items():
        config = load_config(root / "hubgen.toml")
        assert config.typescript_out is not None
        shutil.copytree(config.typescript_out, tmp_path / case)
    problems = tsc_problems(tmp_path)
    assert problems is None, problems


#: A relative import: ``from "./x.js"`` (Node's ES module resolution needs the extension).
_RELATIVE_IMPORT = re.compile(r'from "(\.{1,2}/[^"]*)"')


@pytest.mark.parametrize("case", CASE_NAMES)
def test_generated_typescript_keeps_to_the_rules(
    case: str, generated: dict[str, tuple[Path, dict[str, str]]]
) -> None:
    """No checks switched off, no ``any``, relative imports with ``.js``; type-only
    imports as ``import type`` are enforced by tsc (verbatimModuleSyntax)."""
    _, tree = generated[case]
    sources = {name: text for name, text in tree.items() if name.endswith(".ts")}
    assert sources
    for name, text in sources.items():
        for banned in ("@ts-nocheck", "@ts-ignore", "@ts-expect-error", "eslint-disable"):
            assert banned not in text, f"{name}: {banned}"
        assert not re.search(r"\bany\b", _code(text)), f"{name}: uses any"
        for target in _RELATIVE_IMPORT.findall(text):
            assert target.endswith(".js"), f"{name}: import from {target!r}"


def _code(text: str) -> str:
    """TypeScript without its comments and string literals."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.DOTALL)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_generated_python_imports_and_matches_the_contract(
    case: str, generated: dict[str, tuple[Path, dict[str, str]]]
) -> None:
    """Importing the binders and server modules builds each HubSpec against the
    contract: a stale or mismatched spec raises StaleSpecError."""
    root, _ = generated[case]
    config = load_config(root / "hubgen.toml")
    out = _python_out(root)
    base = next(p for p in [*config.search_path, config.root] if out.is_relative_to(p))
    package = ".".join(out.relative_to(base).parts)
    modules = sorted(
        f"{package}.{p.stem}"
        for p in out.glob("*.py")
        if p.stem.endswith(("_binders", "_server"))
        or (p.stem.endswith("_client") and _client_runtime_ready())
    )
    script = (
        "import importlib, sys\n"
        "from hubgen.codec import WireFormat\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    if hasattr(module, 'HUB'):\n"
        "        module.HUB.warm(WireFormat.JSON)\n"
        "        print(module.HUB.name, sorted(module.HUB.methods))\n"
    )
    path = [str(p) for p in config.search_path]
    result = run([sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}\n" + script], root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
