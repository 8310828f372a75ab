"""Errors code generation reports to the user."""

from __future__ import annotations

__all__ = ["CodegenError"]


class CodegenError(Exception):
    """The contract cannot be rendered as asked (a name clash, an output path
    outside the project, ...). The message says what and how to fix it."""
