"""Python source primitives produce what ruff format would write."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubgen.codegen._pysource import (
    WIDTH,
    ImportSet,
    bracketed,
    docstring,
    expression,
    mutable_default_rule,
    string_literal,
)

from .support import ruff_problems


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("plain", '"plain"'),
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
        ("naïve — ok", '"naïve — ok"'),
    ],
)
def test_string_literal_round_trips(value: str, spelled: str) -> None:
    assert string_literal(value) == spelled
    assert eval(spelled) == value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'abc'", '"abc"'),
        ("-1.5", "-1.5"),
        ("Color.RED", "Color.RED"),
        ("Outer.Color.RED", "Outer.Color.RED"),
        ("None", "None"),
        ("[1,2]", "[1, 2]"),
        ("{'a': (1,)}", '{"a": (1,)}'),
        ("b'\\x00a'", 'b"\\x00a"'),
        ("Decimal('1.5')", 'Decimal("1.5")'),
    ],
)
def test_expression_normalises_like_ruff(source: str, expected: str) -> None:
    assert expression(source) == expected


def test_expression_rejects_non_expressions() -> None:
    with pytest.raises(ValueError, match="not a Python expression"):
        expression("def f(): pass")


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("[]", "B006"),
        ("{}", "B006"),
        ("set()", "B006"),
        ("UUID('12345678-1234-5678-1234-567812345678')", "B008"),
        ("Decimal('1')", None),
        ("(1, 2)", None),
        ("Color.RED", None),
        ("'x'", None),
    ],
)
def test_mutable_default_rule(source: str, rule: str | None) -> None:
    assert mutable_default_rule(source) == rule


def test_docstring_escapes_and_wraps() -> None:
    text = 'Ends with a quote "x"\nHas \\ backslash and """ triple quotes.\n\n' + "word " * 30
    lines = docstring(text, "    ")
    assert all(len(line) <= WIDTH for line in lines)
    body = eval("\n".join(line.strip() for line in lines))
    assert body.startswith('Ends with a quote "x"\nHas \\ backslash and """ triple quotes.')
    assert docstring("One line.", "") == ['"""One line."""']


def test_bracketed_explodes_with_trailing_comma() -> None:
    assert bracketed("f", ["a", "b"], ":", "") == ["f(a, b):"]
    long = [f"argument_{i}: int" for i in range(10)]
    lines = bracketed("def f", long, " -> None:", "    ")
    assert lines[0] == "    def f("
    assert lines[-1] == "    ) -> None:"
    assert all(line.endswith(",") for line in lines[1:-1])
    assert bracketed("f", ["a"], "", "", comments=["noqa: B006"]) == [
        "f(",
        "    a,  # noqa: B006",
        ")",
    ]


def test_import_set_is_isort_clean(tmp_path: Path) -> None:
    imports = ImportSet()
    imports.add(ImportSet.STDLIB, "typing", "Final")
    imports.add(ImportSet.STDLIB, "collections.abc", "AsyncIterator")
    imports.add_module("abc")
    imports.add(ImportSet.THIRD_PARTY, "hubgen.spec", "Method")
    imports.add(ImportSet.THIRD_PARTY, "hubgen.spec", "HubSpec")
    imports.add(ImportSet.THIRD_PARTY, "hubgen.naming", "FieldNaming as _FieldNaming")
    for i in range(12):
        imports.add(ImportSet.LOCAL, "..contract", f"Model{i:02d}")
    imports.add(ImportSet.LOCAL, ".binders", "HUB")
    module = tmp_path / "pkg" / "sub" / "mod.py"
    module.parent.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    uses = "print(abc, AsyncIterator, Final, Method, HubSpec, _FieldNaming, HUB)\n"
    uses += "".join(f"print(Model{i:02d})\n" for i in range(12))
    module.write_text(
        '"""Doc."""\n\nfrom __future__ import annotations\n\n'
        + "\n".join(imports.render())
        + "\n\n"
        + uses
    )
    assert ruff_problems(tmp_path, ["pkg"]) == []
