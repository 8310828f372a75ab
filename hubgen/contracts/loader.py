"""Importing contract modules, turning every failure into a positioned error.

The ``python_path`` entries are put in front of ``sys.path`` for the imports
only; ``sys.path`` is restored afterwards. A syntax error points at its own
``file:line:col``; an exception raised while importing points at the deepest
line of the project's own code in its traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from hubgen.contracts.errors import ErrorCode
from hubgen.contracts.report import Report
from hubgen.contracts.source import display_path
from hubgen.ir import SourceLocation

__all__ = ["import_modules", "prepended_sys_path"]


@contextmanager
def prepended_sys_path(entries: Sequence[Path]) -> Iterator[None]:
    """Put ``entries`` in front of ``sys.path``; restore it on exit."""
    saved = list(sys.path)
    sys.path[:0] = [str(entry) for entry in entries]
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path[:] = saved


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_project_file(path: Path, folders: Sequence[Path]) -> bool:
    """Under one of ``folders`` but not an installed package (a virtualenv
    inside the project is not the project's code)."""
    resolved = path.resolve()
    if {"site-packages", "dist-packages"} & set(resolved.parts):
        return False
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    if any(resolved.is_relative_to(prefix) for prefix in prefixes):
        return False
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def _raise_site(exc: BaseException, folders: Sequence[Path], root: Path) -> SourceLocation | None:
    """The deepest traceback frame in the project's files (under ``folders``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename)
        if frame.filename.startswith("<") or not path.is_file():
            continue
        if not _is_project_file(path, folders):
            continue
        return SourceLocation(
            file=display_path(path, root),
            line=frame.lineno or 1,
            column=(frame.colno or 0) + 1,
        )
    return None


def _missing_is_contract(name: str, exc: ModuleNotFoundError) -> bool:
    missing = exc.name or ""
    return bool(missing) and (name == missing or name.startswith(f"{missing}."))


def import_modules(
    names: Sequence[str], python_path: Sequence[Path], root: Path, report: Report
) -> list[ModuleType]:
    """Import the contract modules; failures are reported and skipped."""
    folders = [root, *python_path]
    modules: list[ModuleType] = []
    with prepended_sys_path(python_path):
        for name in names:
            try:
                modules.append(importlib.import_module(name))
            except SyntaxError as exc:
                location = None
                if exc.filename and Path(exc.filename).is_file():
                    location = SourceLocation(
                        file=display_path(Path(exc.filename), root),
                        line=exc.lineno or 1,
                        column=exc.offset or 1,
                    )
                report.error(
                    ErrorCode.SYNTAX_ERROR,
                    f"cannot import {name!r}: {type(exc).__name__}: {exc.msg}",
                    location,
                )
            except ModuleNotFoundError as exc:
                if _missing_is_contract(name, exc):
                    searched = ", ".join(str(p) for p in python_path) or "(nothing added)"
                    report.error(
                        ErrorCode.MODULE_NOT_FOUND,
                        f"cannot find contract module {name!r} (python-path: {searched})",
                        None,
                    )
                else:
                    report.error(
                        ErrorCode.IMPORT_FAILED,
                        f"importing {name!r} failed: ModuleNotFoundError: {_first_line(exc)}",
                        _raise_site(exc, folders, root),
                    )
            except (Exception, SystemExit) as exc:
                report.error(
                    ErrorCode.IMPORT_FAILED,
                    f"importing {name!r} failed: {type(exc).__name__}: {_first_line(exc)}",
                    _raise_site(exc, folders, root),
                )
    return modules
