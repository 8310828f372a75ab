"""mypy --strict accepts correct use of generated code and rejects misuse,
error by error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
MARK = re.compile(r"#\s*E:\s*(.+)$")

pytestmark = pytest.mark.slow


def run_mypy(path: Path) -> list[tuple[int, str]]:
    """(line, message) for every mypy error in ``path``."""
    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--python-executable",
            "",
            "--show-error-codes",
            "--no-pretty",
            "--no-error-summary",
            str(path),
        ]
    )
    assert not stderr, stderr
    errors = []
    for line in stdout.splitlines():
        match = re.match(r"^(.+?):(\d+): error: (.*)$", line)
        if match and Path(match.group(1)).resolve() == path.resolve():
            errors.append((int(match.group(2)), match.group(3)))
        else:
            assert ": note:" in line, f"unexpected mypy output: {line}"
    return errors


def expected_errors(path: Path) -> dict[int, str]:
    return {
        number: match.group(1).strip()
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if (match := MARK.search(text))
    }


@pytest.fixture(autouse=True)
def mypy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPYPATH", str(ROOT / "examples" / "chat"))


@pytest.mark.parametrize("name", ["server_ok.py", "client_ok.py", "models_ok.py"])
def test_correct_usage_type_checks(name: str) -> None:
    assert run_mypy(HERE / "cases" / name) == []


@pytest.mark.parametrize("name", ["server_misuse.py", "client_misuse.py", "models_misuse.py"])
def test_misuse_is_rejected_line_by_line(name: str) -> None:
    path = HERE / "cases" / name
    expected = expected_errors(path)
    assert expected, "a misuse file must mark its expected errors"
    actual: dict[int, list[str]] = {}
    for line, message in run_mypy(path):
        actual.setdefault(line, []).append(message)
    assert sorted(actual) == sorted(expected), (
        f"lines with errors {sorted(actual)} != marked lines {sorted(expected)}:\n"
        + "\n".join(f"{n}: {m}" for n, ms in sorted(actual.items()) for m in ms)
    )
    for line, fragment in expected.items():
        assert any(fragment in message for message in actual[line]), (line, actual[line])
