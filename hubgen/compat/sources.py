"""Where the two versions of ``hubgen diff`` come from: an IR file or a git ref.

* An **IR file** is what ``hubgen inspect`` printed: read as it is.
* A **git ref** (a branch, tag or commit) is read from git without touching
  the work tree or the repository: ``git archive`` extracts that commit into
  a temporary folder, and the contract there is analyzed with *that commit's*
  configuration, found at the same path as the configuration in use now. The
  analysis runs in a child process (``python -P -m hubgen inspect``): two
  versions of the same contract modules cannot be imported into one process.
  It imports the contract with the hubgen that runs the command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from hubgen import ir

__all__ = ["SourceError", "Version", "from_file", "from_ref"]


class SourceError(Exception):
    """A version cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class Version:
    """One side of a diff: its contract and how to name it in reports."""

    contract: ir.Contract
    label: str


def from_file(path: Path) -> Version:
    """An IR file written by ``hubgen inspect``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    try:
        contract = ir.Contract.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SourceError(
            f"{path}: not an IR file as `hubgen inspect` writes it ({exc.error_count()} "
            f"problem(s), the first at {where or 'the top'}: {first['msg']})"
        ) from None
    return Version(contract, str(path))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed: pass IR files from `hubgen inspect`") from None


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


def from_ref(ref: str, config: Path) -> Version:
    """The contract at git ``ref``, analyzed with the configuration found at
    ``config``'s path (relative to the repository's top) in that commit."""
    config = config.resolve()
    found = _git(["rev-parse", "--show-toplevel"], config.parent)
    if found.returncode != 0:
        raise SourceError(
            f"{config.parent} is not in a git repository, so {ref!r} is neither an IR file "
            "nor a git ref here"
        )
    top = Path(_text(found.stdout)).resolve()
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    if commit.returncode != 0:
        raise SourceError(f"{ref!r} is neither a file nor a git ref (branch, tag or commit)")
    sha = _text(commit.stdout)
    label = f"{ref} ({sha[:12]})" if not sha.startswith(ref) else sha[:12]
    try:
        relative = config.relative_to(top)
    except ValueError:
        raise SourceError(
            f"{config} is outside the git repository at {top}, so it cannot be looked up at {ref!r}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="hubgen-diff-") as folder:
        tree = Path(folder)
        _extract(top, sha, tree)
        at_ref = tree / relative
        if not at_ref.is_file():
            raise SourceError(
                f"{label}: there is no {relative.as_posix()} (the configuration was added or "
                f"moved since): run `hubgen inspect > old.json` in a checkout of {ref} and "
                "compare with that file"
            )
        result = subprocess.run(
            [sys.executable, "-P", "-m", "hubgen", "inspect", "--config", str(at_ref)],
            cwd=at_ref.parent,
            capture_output=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
        if result.returncode != 0:
            detail = _text(result.stderr).replace(str(tree) + os.sep, "").replace(str(tree), ".")
            raise SourceError(f"{label}: the contract there cannot be analyzed:\n{detail}")
    try:
        contract = ir.Contract.model_validate_json(result.stdout)
    except ValidationError as exc:  # pragma: no cover - inspect writes valid IR
        raise SourceError(f"{label}: `hubgen inspect` wrote no valid IR: {exc}") from None
    return Version(contract, label)


def _extract(top: Path, sha: str, into: Path) -> None:
    """``git archive`` of ``sha`` unpacked into ``into``."""
    with subprocess.Popen(
        ["git", "archive", "--format=tar", sha],
        cwd=top,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                archive.extractall(into, filter="data")
            else:  # pragma: no cover - git's own archive of its own commit
                archive.extractall(into)
        error = process.stderr.read() if process.stderr is not None else b""
    if process.returncode != 0:
        raise SourceError(f"git archive {sha[:12]} failed: {_text(error)}")
