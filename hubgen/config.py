"""``[tool.hubgen]``: where contracts are and where generated code goes.

Read from the nearest ``pyproject.toml`` (walking up from the current
directory) that has a ``[tool.hubgen]`` table, or from an explicit file: a
``pyproject.toml``, or any TOML file holding either a ``[tool.hubgen]`` table
or the same keys at its top level (``hubgen.toml``). Paths are relative to the
file that declares them.

```toml
[tool.hubgen]
contracts = ["chat.contract"]
python-path = ["."]

[tool.hubgen.naming]
methods = "pascal"   # or "preserve"
fields = "camel"     # or "pascal", "preserve"

[tool.hubgen.python]
out = "chat/generated"

[tool.hubgen.typescript]
out = "web/chat-client"             # sources only, or with `package`: an npm package
package = "@acme/chat-client"       # npm name; turns the folder into a package
version = "1.2.0"                   # default: [project] version, else 0.0.0
protocols = ["json", "messagepack"] # hub protocols the client is typed for
module = "esm"                      # the module format (ESM is the only one)
```
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hubgen import ir
from hubgen.codegen.typescript import HubProtocolName, NpmPackage, TypeScriptOptions

__all__ = [
    "Config",
    "ConfigError",
    "NamingConfig",
    "OutputConfig",
    "TypeScriptConfig",
    "find_config",
    "load_config",
]

#: npm's rules for package names (validate-npm-package-name): lowercase,
#: URL-safe, optionally scoped, at most 214 characters.
_NPM_NAME = re.compile(r"^(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$")
#: A semantic version (semver.org 2.0.0), as npm requires.
_PRERELEASE = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    rf"(?:-{_PRERELEASE}(?:\.{_PRERELEASE})*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)


class ConfigError(Exception):
    """The configuration is missing or invalid; the message names the file and key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NamingConfig(_Section):
    """``[tool.hubgen.naming]``: wire naming policies."""

    methods: Literal["pascal", "preserve"] = "pascal"
    fields: Literal["camel", "pascal", "preserve"] = "camel"

    def to_ir(self) -> ir.NamingDecl:
        return ir.NamingDecl(methods=self.methods, fields=self.fields)


class OutputConfig(_Section):
    """``[tool.hubgen.python]`` / ``[tool.hubgen.typescript]``: an output directory."""

    out: Path


class TypeScriptConfig(_Section):
    """``[tool.hubgen.typescript]``: the TypeScript client.

    ``out`` alone writes the TypeScript sources into that folder, to be
    compiled as part of an application. With ``package`` the folder becomes a
    complete npm package: ``package.json``, ``tsconfig.json``, ``README.md``
    and the sources under ``src/``.
    """

    out: Path
    #: The npm package name; setting it makes ``out`` a package.
    package: str | None = None
    #: The package version; by default the ``[project]`` version of the
    #: pyproject.toml holding this table, else ``0.0.0``.
    version: str | None = None
    #: The hub protocols the client is typed for and can be built with.
    protocols: list[HubProtocolName] = Field(
        default_factory=lambda: list[HubProtocolName](["json"]), min_length=1
    )
    #: The module format of the package: ES modules, the only one offered.
    module: str = "esm"

    @field_validator("package")
    @classmethod
    def _npm_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 214 or not _NPM_NAME.match(value)):
            raise ValueError(
                f"{value!r} is not a valid npm package name (lowercase letters, digits, "
                "'-', '.', '_', '~', optionally scoped: '@acme/chat-client')"
            )
        return value

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str | None) -> str | None:
        if value is not None and not _SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version like '1.2.0'")
        return value

    @field_validator("protocols")
    @classmethod
    def _unique(cls, value: list[HubProtocolName]) -> list[HubProtocolName]:
        if len(set(value)) != len(value):
            raise ValueError("each protocol may be listed once")
        return value

    @field_validator("module")
    @classmethod
    def _esm(cls, value: str) -> str:
        if value != "esm":
            raise ValueError(
                f"{value!r} is not offered: the client is ES modules ('esm'), as "
                "@microsoft/signalr's own 'module' build; CommonJS code loads it with "
                "require() on Node.js >= 20.19 or through a bundler"
            )
        return value

    @model_validator(mode="after")
    def _version_needs_package(self) -> TypeScriptConfig:
        if self.version is not None and self.package is None:
            raise ValueError("version is only used with package (the npm package name)")
        return self

    def options(self, project_version: str | None = None) -> TypeScriptOptions:
        """What the generator needs: protocols, and the package if there is one."""
        package = None
        if self.package is not None:
            version = self.version or project_version
            if version is None or not _SEMVER.match(version):
                version = "0.0.0"
            package = NpmPackage(name=self.package, version=version)
        return TypeScriptOptions(protocols=tuple(self.protocols), package=package)


class Config(_Section):
    """A validated ``[tool.hubgen]`` table; paths are absolute."""

    contracts: list[str] = Field(min_length=1)
    python_path: list[Path] = Field(default_factory=lambda: [Path(".")], alias="python-path")
    naming: NamingConfig = Field(default_factory=NamingConfig)
    python: OutputConfig | None = None
    typescript: TypeScriptConfig | None = None
    #: The directory of the configuration file: the project root.
    root: Path = Field(default=Path("."), exclude=True)
    #: The file the configuration came from.
    source: Path | None = Field(default=None, exclude=True)
    #: ``[project] version`` of that file, when it is a pyproject.toml.
    project_version: str | None = Field(default=None, exclude=True)

    @field_validator("contracts")
    @classmethod
    def _module_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not all(part.isidentifier() for part in name.split(".")):
                raise ValueError(
                    f"{name!r} is not an importable module name (like 'chat.contract')"
                )
        return value

    @property
    def python_out(self) -> Path | None:
        return self.root / self.python.out if self.python else None

    @property
    def typescript_out(self) -> Path | None:
        return self.root / self.typescript.out if self.typescript else None

    @property
    def typescript_options(self) -> TypeScriptOptions | None:
        """The TypeScript generator's options (package, protocols), if any."""
        if self.typescript is None:
            return None
        return self.typescript.options(self.project_version)

    @property
    def search_path(self) -> list[Path]:
        """``python-path`` entries as absolute directories."""
        return [(self.root / p).resolve() for p in self.python_path]


def _table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    tool = data.get("tool")
    if isinstance(tool, dict) and "hubgen" in tool:
        table = tool["hubgen"]
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.hubgen] must be a table")
        return table
    if path.name != "pyproject.toml" and "contracts" in data:
        return data
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` with ``[tool.hubgen]``."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _table(_read(candidate), candidate) is not None:
            return candidate
    return None


def _location(path: Path, data: dict[str, Any]) -> str:
    return "[tool.hubgen]" if "tool" in data or path.name == "pyproject.toml" else path.name


def _key(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) if isinstance(part, str) else f"[{part}]" for part in loc).replace(
        ".[", "["
    )


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load and validate the configuration.

    ``path`` is an explicit file (``--config``); without it the nearest
    ``pyproject.toml`` with ``[tool.hubgen]`` above ``cwd`` is used.
    """
    if path is None:
        start = cwd or Path.cwd()
        path = find_config(start)
        if path is None:
            raise ConfigError(
                f"no pyproject.toml with a [tool.hubgen] table in {start.resolve()} or above; "
                "add one or pass --config PATH"
            )
    path = path.resolve()
    data = _read(path)
    table = _table(data, path)
    if table is None:
        raise ConfigError(f"{path}: no [tool.hubgen] table")
    where = _location(path, data)
    try:
        config = Config.model_validate(table)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = _key(err["loc"])
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            message = message.removeprefix("Value error, ")
            problems.append(f"{path}: {where} {key}: {message}")
        raise ConfigError("\n".join(problems)) from None
    project = data.get("project")
    version = project.get("version") if isinstance(project, dict) else None
    return config.model_copy(
        update={
            "root": path.parent,
            "source": path,
            "project_version": version if isinstance(version, str) else None,
        }
    )
