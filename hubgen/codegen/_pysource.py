"""Python source primitives: literals, docstrings, imports and black-style layout.

Generated Python is formatted here, not by the user's formatter: every helper
produces text that ``ruff format`` leaves unchanged (double quotes, magic
trailing commas when a construct is split, lines of at most :data:`WIDTH`).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "INDENT",
    "WIDTH",
    "ImportSet",
    "bracketed",
    "docstring",
    "expression",
    "mutable_default_rule",
    "string_literal",
]

#: Maximum line length of generated Python (ruff format's default).
WIDTH = 88
INDENT = "    "


def string_literal(value: str, *, prefix: str = "") -> str:
    """A Python string literal in ruff format's preferred quotes.

    Double quotes, unless the text holds more double than single quotes.
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    out: list[str] = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return f"{prefix}{quote}{''.join(out)}{quote}"


def _bytes_literal(value: bytes) -> str:
    if value.isascii():
        return string_literal(value.decode("ascii"), prefix="b")
    return repr(value)


def expression(source: str) -> str:
    """``source`` (a Python expression) re-spelled the way ruff format would.

    Literals, names, attributes, calls and displays are normalised (quotes,
    spacing); anything else is kept as :func:`ast.unparse` writes it.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a Python expression: {source!r}") from exc
    return _expr(tree.body)


def _expr(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return string_literal(value)
        if isinstance(value, bytes):
            return _bytes_literal(value)
        if value is Ellipsis:
            return "..."
        return repr(value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_expr(node.value)}.{node.attr}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        return f"{sign}{_expr(node.operand)}"
    if isinstance(node, ast.Call):
        args = [_expr(a) for a in node.args]
        args += [
            f"{kw.arg}={_expr(kw.value)}" if kw.arg else f"**{_expr(kw.value)}"
            for kw in node.keywords
        ]
        return f"{_expr(node.func)}({', '.join(args)})"
    if isinstance(node, ast.List):
        return f"[{', '.join(_expr(e) for e in node.elts)}]"
    if isinstance(node, ast.Set):
        return f"{{{', '.join(_expr(e) for e in node.elts)}}}"
    if isinstance(node, ast.Tuple):
        items = [_expr(e) for e in node.elts]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(node, ast.Dict):
        pairs = [
            f"{_expr(k)}: {_expr(v)}" if k is not None else f"**{_expr(v)}"
            for k, v in zip(node.keys, node.values, strict=True)
        ]
        return f"{{{', '.join(pairs)}}}"
    return ast.unparse(node)


#: Calls that ruff's flake8-bugbear rules accept in argument defaults (B008).
_IMMUTABLE_CALLS = frozenset(
    {
        "tuple",
        "frozenset",
        "int",
        "float",
        "complex",
        "bool",
        "str",
        "bytes",
        "Decimal",
        "Fraction",
        "date",
        "datetime",
        "time",
        "timedelta",
    }
)
_MUTABLE_CALLS = frozenset({"list", "dict", "set", "bytearray"})


def mutable_default_rule(source: str) -> str | None:
    """The bugbear rule (``B006``/``B008``) ruff reports for a default, if any."""
    node = ast.parse(source.strip(), mode="eval").body
    if isinstance(node, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return "B006"
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in _MUTABLE_CALLS:
            return "B006"
        if name not in _IMMUTABLE_CALLS:
            return "B008"
    return None


def _escape_docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


def _wrap_line(line: str, width: int) -> list[str]:
    if len(line) <= width or not line.strip():
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    wrapped = textwrap.wrap(
        line.strip(),
        width=max(width - len(lead), 20),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [lead + part for part in wrapped] or [line]


def docstring(text: str, indent: str) -> list[str]:
    """A docstring as lines (without newlines) at ``indent``.

    Backslashes and triple quotes are escaped, trailing whitespace dropped,
    and lines longer than :data:`WIDTH` re-wrapped at word boundaries.
    """
    lines = [line.rstrip() for line in textwrap.dedent(text.strip("\n")).strip().splitlines()]
    body = _escape_docstring("\n".join(lines)).splitlines()
    if len(body) == 1:
        if len(indent) + len(body[0]) + 6 <= WIDTH:
            return [f'{indent}"""{body[0]}"""']
        # a single line that is too long must become several, or ruff format
        # joins the closing quotes back onto it
        body = _wrap_line(body[0], WIDTH - len(indent) - 6)
        if len(body) == 1:
            return [f'{indent}"""{body[0]}"""']
    out: list[str] = []
    for index, line in enumerate(body):
        budget = WIDTH - len(indent) - (3 if index == 0 else 0)
        for part in _wrap_line(line, budget):
            out.append(f"{indent}{part}" if part else "")
    out[0] = f'{indent}"""{out[0][len(indent) :]}'
    out.append(f'{indent}"""')
    return out


def bracketed(
    head: str,
    items: Sequence[str],
    tail: str,
    indent: str,
    *,
    explode: bool = False,
    comments: Sequence[str | None] = (),
    open_: str = "(",
    close: str = ")",
) -> list[str]:
    """``head(item, item)tail`` on one line when it fits, else black-style with
    one item per line and a trailing comma. ``comments`` (one per item, or
    none) are appended to their item's line and force the split."""
    has_comments = any(comments)
    if not explode and not has_comments:
        inner = ", ".join(items)
        line = f"{indent}{head}{open_}{inner}{close}{tail}"
        if len(line) <= WIDTH:
            return [line]
    if not items:
        return [f"{indent}{head}{open_}{close}{tail}"]
    out = [f"{indent}{head}{open_}"]
    padded = list(comments) + [None] * (len(items) - len(comments))
    for item, comment in zip(items, padded, strict=True):
        out.append(f"{indent}{INDENT}{item},{f'  # {comment}' if comment else ''}")
    out.append(f"{indent}{close}{tail}")
    return out


# --------------------------------------------------------------------------- imports


@dataclass
class ImportSet:
    """The imports of one generated module, printed isort-style.

    Sections: standard library, third party (``hubgen``), first party (the
    contract, imported absolutely), local (relative imports).
    """

    _plain: dict[str, set[str]] = field(default_factory=dict)
    _from: dict[tuple[int, str], set[str]] = field(default_factory=dict)

    STDLIB = 0
    THIRD_PARTY = 1
    FIRST_PARTY = 2
    LOCAL = 3

    def add_module(self, module: str) -> None:
        self._plain.setdefault(module, set())

    def add(self, section: int, module: str, name: str) -> None:
        """``from module import name`` (``name`` may be ``"X as _X"``)."""
        self._from.setdefault((section, module), set()).add(name)

    def entries(self) -> list[tuple[str, str]]:
        """Every ``from module import name`` as ``(module, name)``, sorted."""
        return sorted((module, name) for (_, module), names in self._from.items() for name in names)

    def render(self) -> list[str]:
        sections: list[list[str]] = []
        for section in (self.STDLIB, self.THIRD_PARTY, self.FIRST_PARTY, self.LOCAL):
            lines: list[str] = []
            if section == self.STDLIB:
                lines += [f"import {m}" for m in sorted(self._plain, key=str.lower)]
            modules = sorted(
                (module for (sec, module) in self._from if sec == section),
                key=_module_key,
            )
            for module in modules:
                names = sorted(self._from[(section, module)], key=_member_key)
                line = f"from {module} import {', '.join(names)}"
                if len(line) <= WIDTH:
                    lines.append(line)
                else:
                    lines += [f"from {module} import (", *(f"{INDENT}{n}," for n in names), ")"]
            if lines:
                sections.append(lines)
        out: list[str] = []
        for lines in sections:
            if out:
                out.append("")
            out += lines
        return out


def _module_key(module: str) -> tuple[int, str]:
    # relative imports: furthest (most dots) first, as ruff's isort does
    dots = len(module) - len(module.lstrip("."))
    return (-dots, module.lstrip(".").lower())


def _member_key(name: str) -> tuple[int, str]:
    bare = name.split(" as ")[0]
    if len(bare) > 1 and bare.isupper():
        kind = 0
    elif bare[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, bare.lower())
