"""docs/testing.md's project, built from its blocks: the poll application
and its tests on hubgen.testing. Built as written, it generates, type-checks
under mypy --strict (tests included), and its tests pass under pytest — every
test the page shows, in the page's order."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.project import build
from tests.docs.snippets import ROOT, project_files

DOCUMENT = ROOT / "docs" / "testing.md"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build(DOCUMENT, tmp_path_factory.mktemp("testing") / "project")
    result = _run([str(BIN / "hubgen"), "generate"], root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_the_project_is_the_page_s_files(project: Path) -> None:
    files = {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and "generated" not in path.parts and "__pycache__" not in path.parts
    }
    assert files == {
        "pyproject.toml",
        "poll/__init__.py",
        "poll/contract.py",
        "poll/hub.py",
        "poll/app.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/test_poll.py",
    }


def test_the_project_type_checks(project: Path) -> None:
    (project / "mypy.ini").write_text("[mypy]\nstrict = true\nplugins = pydantic.mypy\n")
    result = _run([sys.executable, "-m", "mypy", "--no-incremental", "poll", "tests"], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_page_s_tests_pass(project: Path) -> None:
    shown = re.findall(
        r"^async def (test_\w+)", project_files(DOCUMENT)["tests/test_poll.py"], re.M
    )
    assert shown, "the page shows no tests"
    result = _run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"], project)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.findall(r"tests/test_poll\.py::(test_\w+) PASSED", output)
    assert passed == shown, output
    assert f"{len(shown)} passed" in output
