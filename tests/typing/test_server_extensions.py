"""mypy --strict accepts correct use of authorization, authentication and hub
filters, and rejects a filter or a policy with the wrong signature."""

from __future__ import annotations

import pytest

from tests.typing.test_mypy import HERE, ROOT, expected_errors, run_mypy

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def mypy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPYPATH", str(ROOT / "examples" / "chat"))


def test_correct_usage_type_checks() -> None:
    assert run_mypy(HERE / "cases" / "auth_ok.py") == []


def test_misuse_is_rejected_line_by_line() -> None:
    path = HERE / "cases" / "auth_misuse.py"
    expected = expected_errors(path)
    actual: dict[int, list[str]] = {}
    for line, message in run_mypy(path):
        actual.setdefault(line, []).append(message)
    assert sorted(actual) == sorted(expected), "\n".join(
        f"{n}: {m}" for n, ms in sorted(actual.items()) for m in ms
    )
    for line, fragment in expected.items():
        assert any(fragment in message for message in actual[line]), (line, actual[line])
