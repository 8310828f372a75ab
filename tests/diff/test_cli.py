"""``hubgen diff`` as CI runs it: git refs, IR files, the work tree, exit codes.

Each test builds a small git repository with a contract, commits versions of
it and runs the real command in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONTRACT = """
from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

import hubgen


class Message(BaseModel):
    text: str


class ChatClient(Protocol):
    async def received(self, message: Message) -> None: ...


@hubgen.hub(client=ChatClient)
class ChatHub(Protocol):
    async def send(self, room: str, text: str) -> Message: ...
    async def history(self, room: str) -> list[Message]: ...
"""

CONFIG = """
[tool.hubgen]
contracts = ["chat.contract"]
python-path = ["."]
"""


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    _write(repo, files)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _hubgen(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "hubgen", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(
        repo,
        {"pyproject.toml": CONFIG, "chat/__init__.py": "", "chat/contract.py": CONTRACT},
        "v1",
    )
    _git(repo, "tag", "v1")
    return repo


HISTORY_WITH_LIMIT = CONTRACT.replace(
    "async def history(self, room: str)", "async def history(self, room: str, limit: int = 50)"
)


def test_a_ref_against_the_work_tree(repo: Path) -> None:
    _write(repo, {"chat/contract.py": HISTORY_WITH_LIMIT})
    status_before = _git(repo, "status", "--porcelain")
    result = _hubgen(repo, "diff", "main")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith("hubgen diff: main (")
    assert result.stdout.splitlines()[0].endswith(") → the working tree")
    assert "ChatHub.history(limit): parameter 2 'limit': int added, with a default" in result.stdout
    assert "[parameter-added]" in result.stdout
    assert "  old clients → new server: safe: old clients do not send it" in result.stdout
    assert "  new clients → old server: BREAKING: new clients send 2 argument(s)" in result.stdout
    assert result.stdout.rstrip().endswith(
        "hubgen: 1 change(s); breaking: 0 for old clients → new server, "
        "1 for new clients → old server"
    )
    # nothing written into the repository or the work tree
    assert _git(repo, "status", "--porcelain") == status_before
    assert len(_git(repo, "worktree", "list").splitlines()) == 1


def test_the_gate_chooses_the_direction(repo: Path) -> None:
    _write(repo, {"chat/contract.py": HISTORY_WITH_LIMIT})
    assert _hubgen(repo, "diff", "main", "--gate", "old-clients").returncode == 0
    assert _hubgen(repo, "diff", "main", "--gate", "old-server").returncode == 1
    assert _hubgen(repo, "diff", "main", "--gate", "none").returncode == 0


def test_protocol_narrows_the_judgement(repo: Path) -> None:
    # the old server's datetime reaches new clients expecting a str: a string
    # in JSON, a timestamp extension in MessagePack
    old = CONTRACT.replace(
        "from typing import Protocol", "from datetime import datetime\nfrom typing import Protocol"
    ).replace("    text: str\n", "    text: str\n    at: datetime\n", 1)
    _commit(repo, {"chat/contract.py": old}, "v2")
    _write(repo, {"chat/contract.py": old.replace("    at: datetime", "    at: str")})
    both = _hubgen(repo, "diff", "HEAD", "--gate", "old-server")
    assert both.returncode == 1, both.stdout + both.stderr
    assert "  new clients → old server: safe over JSON: every datetime fits str\n" in both.stdout
    assert (
        "                            BREAKING over MessagePack: datetime travels as a timestamp "
        "extension in MessagePack, where str expects a string\n"
    ) in both.stdout
    json_only = _hubgen(repo, "diff", "HEAD", "--gate", "old-server", "--protocol", "json")
    assert json_only.returncode == 0, json_only.stdout
    assert "over MessagePack" not in json_only.stdout


def test_two_refs_and_json_output(repo: Path) -> None:
    _commit(repo, {"chat/contract.py": HISTORY_WITH_LIMIT}, "v2")
    result = _hubgen(repo, "diff", "v1", "HEAD", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["old"].startswith("v1 (")
    assert report["new"].startswith("HEAD (")
    assert report["protocols"] == ["json", "messagepack"]
    assert report["breaking"] == {"old-clients": 0, "old-server": 1}
    [change] = report["changes"]
    assert change["rule"] == "parameter-added"
    assert change["subject"] == "ChatHub.history(limit)"
    assert change["breaking"] == {"old-clients": False, "old-server": True}
    assert change["verdicts"]["old-server"]["messagepack"]["breaking"] is True
    assert "takes at most 1" in change["verdicts"]["old-server"]["json"]["why"]


def test_no_changes(repo: Path) -> None:
    result = _hubgen(repo, "diff", "v1", "HEAD")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "hubgen: no changes"


def test_an_ir_file_from_inspect(repo: Path, tmp_path: Path) -> None:
    inspected = _hubgen(repo, "inspect")
    assert inspected.returncode == 0, inspected.stderr
    old = tmp_path / "old.json"
    old.write_text(inspected.stdout, encoding="utf-8")
    _write(
        repo,
        {
            "chat/contract.py": CONTRACT.replace(
                "    text: str\n", "    text: str\n    pinned: bool\n", 1
            )
        },
    )
    result = _hubgen(repo, "diff", str(old))
    assert result.returncode == 1, result.stderr
    assert f"hubgen diff: {old} → the working tree" in result.stdout
    assert "Message.pinned: field 'pinned': bool added, without a default  [field-added]" in (
        result.stdout
    )


def test_the_contract_moved_between_refs(repo: Path) -> None:
    """Each ref is analyzed with its own configuration: a contract module
    renamed (and the configuration with it) is still compared."""
    _git(repo, "mv", "chat/contract.py", "chat/api.py")
    _commit(
        repo,
        {
            "pyproject.toml": CONFIG.replace("chat.contract", "chat.api"),
            "chat/api.py": HISTORY_WITH_LIMIT,
        },
        "moved",
    )
    result = _hubgen(repo, "diff", "v1", "HEAD")
    assert result.returncode == 1, result.stderr
    assert "[parameter-added]" in result.stdout


def test_the_configuration_moved_since_the_ref(repo: Path) -> None:
    _git(repo, "mv", "pyproject.toml", "api.toml")
    _commit(repo, {}, "config moved")
    result = _hubgen(repo, "diff", "v1", "--config", "api.toml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("hubgen: v1 (")
    assert "there is no api.toml (the configuration was added or moved since)" in result.stderr
    assert "`hubgen inspect > old.json` in a checkout of v1" in result.stderr


def test_a_contract_with_errors_at_the_ref(repo: Path) -> None:
    broken = CONTRACT.replace("async def history(self, room: str)", "async def history(self, room)")
    _commit(repo, {"chat/contract.py": broken}, "broken")
    result = _hubgen(repo, "diff", "HEAD", "v1")
    assert result.returncode == 2
    assert "the contract there cannot be analyzed:" in result.stderr
    assert "chat/contract.py:" in result.stderr
    assert "hubgen-diff-" not in result.stderr  # the temporary folder is not shown


def test_not_a_ref(repo: Path) -> None:
    result = _hubgen(repo, "diff", "no-such-branch")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hubgen: 'no-such-branch' is neither a file nor a git ref (branch, tag or commit)"
    )


def test_not_an_ir_file(repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "old.json"
    bad.write_text('{"hubs": 3}', encoding="utf-8")
    result = _hubgen(repo, "diff", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"hubgen: {bad}: not an IR file as `hubgen inspect` writes it")


def test_outside_a_git_repository(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    _write(
        project, {"pyproject.toml": CONFIG, "chat/__init__.py": "", "chat/contract.py": CONTRACT}
    )
    result = _hubgen(project, "diff", "main")
    assert result.returncode == 2
    assert "is not in a git repository, so 'main' is neither an IR file nor a git ref" in (
        result.stderr
    )
