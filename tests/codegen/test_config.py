"""[tool.hubgen] loading and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubgen import ir
from hubgen.config import ConfigError, find_config, load_config

PYPROJECT = """
[project]
name = "demo"

[tool.hubgen]
contracts = ["chat.contract"]
python-path = ["src"]

[tool.hubgen.naming]
methods = "preserve"

[tool.hubgen.python]
out = "src/chat/generated"

[tool.hubgen.typescript]
out = "web/generated"
"""


def test_loads_nearest_pyproject_with_tool_hubgen(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    nested = tmp_path / "pkg" / "deeper"
    nested.mkdir(parents=True)
    (tmp_path / "pkg" / "pyproject.toml").write_text("[project]\nname='x'\n", encoding="utf-8")
    config = load_config(cwd=nested)
    assert config.source == (tmp_path / "pyproject.toml").resolve()
    assert config.root == tmp_path.resolve()
    assert config.contracts == ["chat.contract"]
    assert config.search_path == [(tmp_path / "src").resolve()]
    assert config.python_out == tmp_path.resolve() / "src/chat/generated"
    assert config.typescript_out == tmp_path.resolve() / "web/generated"
    assert config.naming.to_ir() == ir.NamingDecl(methods="preserve", fields="camel")
    assert find_config(nested) == (tmp_path / "pyproject.toml").resolve()


def test_field_naming_policies(tmp_path: Path) -> None:
    path = tmp_path / "hubgen.toml"
    for fields in ("camel", "pascal", "preserve"):
        path.write_text(f'contracts = ["a"]\n[naming]\nfields = "{fields}"\n', encoding="utf-8")
        assert load_config(path).naming.to_ir() == ir.NamingDecl(fields=fields)


def test_explicit_hubgen_toml_with_top_level_keys(tmp_path: Path) -> None:
    path = tmp_path / "hubgen.toml"
    path.write_text('contracts = ["a.b"]\n[python]\nout = "gen"\n', encoding="utf-8")
    config = load_config(path)
    assert config.python_out == tmp_path.resolve() / "gen"
    assert config.typescript is None
    assert config.python_path == [Path(".")]


def test_missing_config_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no pyproject\.toml with a \[tool\.hubgen\] table"):
        load_config(cwd=tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('contract = ["a"]', r"\[tool\.hubgen\] contracts: Field required"),
        ('contracts = ["a"]\ncontract = 1', r"\[tool\.hubgen\] contract: unknown key"),
        ("contracts = []", r"contracts: List should have at least 1 item"),
        ('contracts = ["a-b"]', r"contracts: 'a-b' is not an importable module name"),
        (
            'contracts = ["a"]\n[tool.hubgen.naming]\nfields = "snake"',
            r"naming\.fields: Input should be 'camel', 'pascal' or 'preserve'",
        ),
        ('contracts = ["a"]\n[tool.hubgen.python]\ndir = "x"', r"python\.out: Field required"),
        ('contracts = ["a"]\npython-path = "src"', r"python-path: Input should be a valid list"),
    ],
)
def test_invalid_config_names_the_key(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.hubgen]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path.resolve()))


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.hubgen\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)
