"""[tool.hubgen.typescript]: sources or a package, its name, version and protocols;
and what ``hubgen generate`` writes for each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubgen.cli import main
from hubgen.codegen import is_generated
from hubgen.codegen.typescript import NpmPackage, TypeScriptOptions
from hubgen.config import ConfigError, load_config

from .goldens import CASES

CONTRACT = (CASES / "minimal" / "minimal" / "contract.py").read_text(encoding="utf-8")


def pyproject(tmp_path: Path, typescript: str, project: str = "") -> Path:
    (tmp_path / "minimal").mkdir(exist_ok=True)
    (tmp_path / "minimal" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "minimal" / "contract.py").write_text(CONTRACT, encoding="utf-8")
    path = tmp_path / "pyproject.toml"
    path.write_text(
        f'{project}\n[tool.hubgen]\ncontracts = ["minimal.contract"]\n\n'
        f"[tool.hubgen.typescript]\n{typescript}\n",
        encoding="utf-8",
    )
    return path


def test_out_alone_is_sources_for_json(tmp_path: Path) -> None:
    config = load_config(pyproject(tmp_path, 'out = "web/generated"'))
    assert config.typescript_options == TypeScriptOptions(protocols=("json",), package=None)


def test_package_version_defaults_to_the_project_version(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        'out = "web/client"\npackage = "@acme/echo-client"\nprotocols = ["messagepack", "json"]',
        project='[project]\nname = "echo"\nversion = "2.3.4rc1"',
    )
    assert load_config(path).typescript_options == TypeScriptOptions(
        protocols=("messagepack", "json"), package=NpmPackage("@acme/echo-client", "0.0.0")
    ), "a PEP 440 version that is not semver falls back to 0.0.0"
    path.write_text(path.read_text().replace("2.3.4rc1", "2.3.4"), encoding="utf-8")
    options = load_config(path).typescript_options
    assert options is not None
    assert options.package == NpmPackage("@acme/echo-client", "2.3.4")
    path.write_text(
        path.read_text().replace(
            'package = "@acme/echo-client"', 'package = "echo"\nversion = "1.0.0-beta.2"'
        ),
        encoding="utf-8",
    )
    options = load_config(path).typescript_options
    assert options is not None
    assert options.package == NpmPackage("echo", "1.0.0-beta.2")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('out = "w"\npackage = "Acme"', r"typescript\.package: 'Acme' is not a valid npm package"),
        ('out = "w"\npackage = "@acme/"', r"is not a valid npm package name"),
        (
            'out = "w"\npackage = "a"\nversion = "1.0"',
            r"typescript\.version: '1\.0' is not a semantic",
        ),
        ('out = "w"\nversion = "1.0.0"', r"version is only used with package"),
        ('out = "w"\nprotocols = []', r"typescript\.protocols: List should have at least 1 item"),
        ('out = "w"\nprotocols = ["json", "json"]', r"each protocol may be listed once"),
        (
            'out = "w"\nprotocols = ["xml"]',
            r"typescript\.protocols\[0\]: Input should be 'json' or",
        ),
        ('out = "w"\nmodule = "commonjs"', r"'commonjs' is not offered: the client is ES modules"),
        ('out = "w"\nformat = "esm"', r"typescript\.format: unknown key"),
    ],
)
def test_invalid_typescript_table_names_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(pyproject(tmp_path, table))


def test_generate_writes_a_package_and_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject(
        tmp_path,
        'out = "web/echo-client"\npackage = "echo-client"',
        project='[project]\nname = "echo"\nversion = "0.4.0"',
    )
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 0
    out = tmp_path / "web" / "echo-client"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md",
        "package.json",
        "src/echoHub.ts",
        "src/index.ts",
        "src/models.ts",
        "src/runtime.ts",
        "tsconfig.json",
    ]
    assert all(is_generated(p) for p in out.rglob("*") if p.is_file())
    manifest = json.loads((out / "package.json").read_text(encoding="utf-8"))
    assert (manifest["name"], manifest["version"]) == ("echo-client", "0.4.0")
    assert main(["generate", "--check"]) == 0

    # switching back to sources in the same folder removes every generated
    # file of the package that is no longer produced, and nothing else
    (out / "notes.md").write_text("mine\n", encoding="utf-8")
    (out / "src" / "mine.ts").write_text("export const mine = 1;\n", encoding="utf-8")
    pyproject(tmp_path, 'out = "web/echo-client"')
    capsys.readouterr()
    assert main(["generate"]) == 0
    removed = sorted(
        line.split(": ", 1)[1]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("removed: ")
    )
    assert removed == [
        "web/echo-client/README.md",
        "web/echo-client/package.json",
        "web/echo-client/src/echoHub.ts",
        "web/echo-client/src/index.ts",
        "web/echo-client/src/models.ts",
        "web/echo-client/src/runtime.ts",
        "web/echo-client/tsconfig.json",
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "echoHub.ts",
        "index.ts",
        "models.ts",
        "notes.md",
        "runtime.ts",
        "src/mine.ts",
    ]
    assert main(["generate", "--check"]) == 0


def test_generate_refuses_to_overwrite_a_foreign_package_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject(tmp_path, 'out = "web"\npackage = "echo-client"')
    (tmp_path / "web").mkdir()
    mine = '{\n  "name": "my-app"\n}\n'
    (tmp_path / "web" / "package.json").write_text(mine, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 1
    assert "was not written by hubgen" in capsys.readouterr().err
    assert (tmp_path / "web" / "package.json").read_text(encoding="utf-8") == mine
    assert not (tmp_path / "web" / "src").exists()
