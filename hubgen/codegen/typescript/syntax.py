"""TypeScript source text: literals, JSDoc comments, types, signatures and
imports, printed as prettier prints them (one parameter or name a line once a
line would pass 100 columns)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

__all__ = [
    "generic",
    "import_statement",
    "jsdoc",
    "literal",
    "mixed_import",
    "property_name",
    "signature",
    "wrap",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def jsdoc(text: str | None, indent: str) -> list[str]:
    """``text`` as a JSDoc comment (none for no text), on one line when it is one."""
    if not text:
        return []
    lines = [line.rstrip().replace("*/", "*\\/") for line in text.strip().splitlines()]
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


def literal(value: object) -> str:
    """A string, number or boolean literal (JSON is valid TypeScript)."""
    return json.dumps(value, ensure_ascii=False)


def property_name(name: str) -> str:
    """A property key: as is when it is an identifier, else quoted."""
    return name if _IDENTIFIER.match(name) else literal(name)


def wrap(text: str) -> str:
    """Parenthesise a union or function type used as an array item."""
    return f"({text})" if " | " in text or "=>" in text else text


def generic(name: str, args: Sequence[str]) -> str:
    """``Name<A, B>``, or ``Name`` without arguments."""
    return f"{name}<{', '.join(args)}>" if args else name


def import_statement(names: Sequence[str], module: str, *, type_only: bool = False) -> str:
    """``import { a, b } from "module";``, one name a line when it gets long."""
    keyword = "import type" if type_only else "import"
    line = f'{keyword} {{ {", ".join(names)} }} from "{module}";'
    if len(line) <= 100:
        return line
    inner = "".join(f"  {name},\n" for name in names)
    return f'{keyword} {{\n{inner}}} from "{module}";'


def mixed_import(values: Iterable[str], types: Iterable[str], module: str) -> str | None:
    """One import of values and types (``type``-marked) from ``module``."""
    values, types = sorted(set(values)), sorted(set(types))
    if not values and not types:
        return None
    if not values:
        return import_statement(types, module, type_only=True)
    names = sorted([*values, *(f"type {t}" for t in types)], key=lambda n: n.removeprefix("type "))
    return import_statement(names, module)


def signature(head: str, params: Sequence[str], tail: str, indent: str = "") -> list[str]:
    """``head(a, b)tail`` indented by ``indent``, on one line when it fits in
    100 columns, else one parameter a line (as prettier prints it)."""
    line = f"{indent}{head}({', '.join(params)}){tail}"
    if len(line) <= 100:
        return [line]
    return [f"{indent}{head}(", *(f"{indent}  {p}," for p in params), f"{indent}){tail}"]
