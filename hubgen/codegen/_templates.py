"""The jinja2 environment over hubgen's templates (the TypeScript client's).

Templates live at the top of the repository in ``templates/``; the wheel ships
them as ``hubgen/templates``. Generated Python is built as lines in code
(:mod:`hubgen.codegen.python` says why). An installed package finds them through
:mod:`importlib.resources`; an editable install falls back to the repository.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from hubgen.codegen.files import HEADER

__all__ = ["HEADER", "render", "templates_dir"]


def templates_dir() -> Path:
    """The directory holding hubgen's templates."""
    shipped = resources.files("hubgen").joinpath("templates")
    if shipped.is_dir():
        return Path(str(shipped))
    repo = Path(__file__).resolve().parents[2] / "templates"
    if repo.is_dir():
        return repo
    raise RuntimeError(
        "hubgen's templates are missing: neither hubgen/templates (installed) nor "
        f"{repo} (source checkout) exists; reinstall hubgen"
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name: str, **context: Any) -> str:
    """Render template ``name`` (a path under ``templates/``)."""
    return _environment().get_template(name).render(header=HEADER, **context)
