"""Generated files on disk: atomic writes, ``--check``, removal of stale files.

A generated file is recognised by its first line, the hubgen header (in a
``package.json``, which cannot hold a comment, by its ``"//"`` key on the
second line); files without it are never touched. :func:`write` is
all-or-nothing: every new content goes to a temporary file next to its target
first, and only when all of them are written are they moved into place with
:func:`os.replace`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from hubgen.codegen._templates import HEADER

__all__ = ["Change", "ChangeKind", "GeneratedFile", "is_generated", "write"]

_HEADERS = (f"# {HEADER}", f"// {HEADER}", f"<!-- {HEADER} -->")
_JSON_HEADER = f'"//": "{HEADER}",'
_SUFFIXES = frozenset({".py", ".ts", ".json", ".md"})


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """One generated file: where it goes and its full text."""

    path: Path
    text: str


class ChangeKind(StrEnum):
    """How a file differs: its value says so before writing (``--check``),
    :attr:`done` what :func:`write` did about it."""

    MISSING = "missing"  #: to be created
    STALE = "stale"  #: exists with other content
    EXTRA = "extra"  #: generated earlier, no longer produced: to be removed

    @property
    def done(self) -> str:
        """``created``, ``updated`` or ``removed``."""
        return _DONE[self]


_DONE = {ChangeKind.MISSING: "created", ChangeKind.STALE: "updated", ChangeKind.EXTRA: "removed"}


@dataclass(frozen=True, slots=True)
class Change:
    """A difference between the generated files and the disk."""

    path: Path
    kind: ChangeKind

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.path}"


def is_generated(path: Path) -> bool:
    """True if ``path`` is a file hubgen wrote (it starts with the header)."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline().rstrip("\r\n")
            second = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return False
    return first in _HEADERS or (first == "{" and second == _JSON_HEADER)


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (IsADirectoryError, UnicodeDecodeError):
        return ""


def _extras(directories: Iterable[Path], produced: set[Path]) -> list[Path]:
    extras: list[Path] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if (
                path.suffix in _SUFFIXES
                and path.is_file()
                and path.resolve() not in produced
                and is_generated(path)
            ):
                extras.append(path)
    return extras


def changes(files: Sequence[GeneratedFile], *, owned: Iterable[Path] = ()) -> list[Change]:
    """What :func:`write` would change, in a stable order.

    Stale generated files are looked for in the folders of ``files`` and in
    the ``owned`` folders (a TypeScript output folder and its ``src``, so that
    switching between sources and a package leaves nothing behind).
    """
    out: list[Change] = []
    for file in files:
        current = _read(file.path)
        if current is None:
            out.append(Change(file.path, ChangeKind.MISSING))
        elif current != file.text:
            out.append(Change(file.path, ChangeKind.STALE))
    produced = {file.path.resolve() for file in files}
    directories = sorted({file.path.parent for file in files} | {Path(d) for d in owned})
    out += [Change(path, ChangeKind.EXTRA) for path in _extras(directories, produced)]
    return out


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.hubgen-tmp")


def write(
    files: Sequence[GeneratedFile], *, check: bool, owned: Iterable[Path] = ()
) -> list[Change]:
    """Bring the disk in line with ``files``; return what differed.

    Generated files in the files' directories (and the ``owned`` ones, see
    :func:`changes`) that are no longer produced are removed. With ``check``
    nothing is written. Either every change is made or, if one fails, none is
    (the error is raised).
    """
    pending = changes(files, owned=owned)
    if check or not pending:
        return pending
    texts = {file.path: file.text for file in files}
    created_dirs: list[Path] = []
    temporaries: list[tuple[Path, Path]] = []
    try:
        for change in pending:
            if change.kind is ChangeKind.EXTRA:
                continue
            parent = change.path.parent
            missing = [p for p in (parent, *parent.parents) if not p.exists()]
            for directory in reversed(missing):
                directory.mkdir()
                created_dirs.append(directory)
            temporary = _temporary(change.path)
            temporary.write_bytes(texts[change.path].encode("utf-8"))
            temporaries.append((temporary, change.path))
    except BaseException:
        for temporary, _ in temporaries:
            temporary.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            directory.rmdir()
        raise
    for temporary, target in temporaries:
        os.replace(temporary, target)
    for change in pending:
        if change.kind is ChangeKind.EXTRA:
            change.path.unlink(missing_ok=True)
    return pending
