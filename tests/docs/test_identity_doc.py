"""docs/identity.md's application, built from its blocks: the notes hub's
contract, tokens, hub, filters, server and client (each block names its
file). Built as written, it generates, type-checks under mypy --strict, and
runs: uvicorn serves the server, the client prints what the page says it
prints, and a client without a token is refused."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs.project import build
from tests.docs.snippets import ROOT, parse

DOCUMENT = ROOT / "docs" / "identity.md"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build(DOCUMENT, tmp_path_factory.mktemp("identity") / "project")
    result = _run([str(BIN / "hubgen"), "generate"], root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_the_application_is_the_page_s_files(project: Path) -> None:
    files = {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and "generated" not in path.parts
    }
    assert files == {
        "pyproject.toml",
        "notes/__init__.py",
        "notes/contract.py",
        "notes/tokens.py",
        "notes/hub.py",
        "notes/filters.py",
        "notes/server.py",
        "notes/client.py",
    }


def test_the_application_type_checks(project: Path) -> None:
    (project / "mypy.ini").write_text("[mypy]\nstrict = true\nplugins = pydantic.mypy\n")
    result = _run([sys.executable, "-m", "mypy", "--no-incremental", "notes"], project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "notes.server:app", "--port", str(port)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/notes"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                httpx.post(f"{url}/negotiate?negotiateVersion=1", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
        # hubgen logs no token; the page's access-log filter hides them from uvicorn's
        assert "access_token=ey" not in output, output


def test_the_client_prints_what_the_page_says(project: Path, server: str) -> None:
    printed = [s for s in parse(DOCUMENT)[0] if s.kind == "output" and s.heading == "A client"]
    assert len(printed) == 1
    result = _run([sys.executable, "-m", "notes.client", server], project, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == printed[0].text


def test_without_a_token_negotiate_answers_401(server: str) -> None:
    response = httpx.post(f"{server}/negotiate?negotiateVersion=1")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_expired_token_is_refused(project: Path, server: str) -> None:
    result = _run(
        [sys.executable, "-c", "from notes.tokens import issue; print(issue('bob', seconds=-5))"],
        project,
    )
    token = result.stdout.strip()
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token), result.stderr
    response = httpx.post(f"{server}/negotiate?negotiateVersion=1&access_token={token}")
    assert response.status_code == 401
