"""The ``hubgen`` command: ``generate``, ``inspect``, ``scaffold``, ``diff``,
``export``.

Exit codes: 0 success; 1 the contract has errors, ``generate --check`` found
generated files out of date, or ``diff`` found a breaking change; 2 bad usage
or configuration (for ``diff`` also: a version that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from hubgen import __version__, ir
from hubgen.codegen import Change, ChangeKind, CodegenError, generate, write
from hubgen.codegen.python import package_name
from hubgen.codegen.scaffold import scaffold
from hubgen.compat import Protocol, Scenario, diff
from hubgen.compat.report import render_json, render_text
from hubgen.compat.sources import SourceError, Version, from_file, from_ref
from hubgen.config import Config, ConfigError, find_config, load_config

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Failure(Exception):
    """Ends the command: ``message`` (one or more lines) goes to stderr."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _analyze(config: Config) -> ir.Contract:
    from hubgen.contracts import ContractErrors, analyze

    try:
        return analyze(
            config.contracts,
            root=config.root,
            python_path=config.search_path,
            naming=config.naming.to_ir(),
        )
    except ContractErrors as exc:
        count = len(exc.errors)
        lines = [str(error) for error in exc.errors]
        lines.append(f"hubgen: {count} error{'s' if count != 1 else ''} in the contract")
        raise _Failure("\n".join(lines), EXIT_FAILED) from None


def _load(args: argparse.Namespace) -> Config:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise _Failure(f"hubgen: {exc}", EXIT_USAGE) from None


def _summary(changes: Sequence[Change]) -> str:
    counts = [
        f"{sum(1 for c in changes if c.kind is kind)} {kind.done}"
        for kind in ChangeKind
        if any(c.kind is kind for c in changes)
    ]
    return ", ".join(counts)


def _generate(args: argparse.Namespace, out: TextIO) -> int:
    config = _load(args)
    if config.python is None and config.typescript is None:
        raise _Failure(
            f"hubgen: {config.source}: nothing to generate; set [tool.hubgen.python] out "
            "and/or [tool.hubgen.typescript] out",
            EXIT_USAGE,
        )
    contract = _analyze(config)
    try:
        files = generate(
            contract,
            root=config.root,
            python_out=config.python_out,
            typescript_out=config.typescript_out,
            python_path=config.search_path,
            typescript=config.typescript_options,
        )
    except CodegenError as exc:
        raise _Failure(f"hubgen: {exc}", EXIT_FAILED) from None
    typescript_out = config.typescript_out
    owned = [] if typescript_out is None else [typescript_out, typescript_out / "src"]
    try:
        changes = write(files, check=args.check, owned=owned)
    except OSError as exc:
        raise _Failure(f"hubgen: nothing written: {exc}", EXIT_FAILED) from None
    if args.check:
        if changes:
            lines = [f"  {change.kind.value}: {_display(change.path)}" for change in changes]
            raise _Failure(
                "\n".join(
                    [
                        "hubgen: generated code is out of date:",
                        *lines,
                        "run `hubgen generate` to update it",
                    ]
                ),
                EXIT_FAILED,
            )
        print(f"hubgen: {len(files)} generated files are up to date", file=out)
        return EXIT_OK
    for change in changes:
        print(f"{change.kind.done}: {_display(change.path)}", file=out)
    if changes:
        print(f"hubgen: {_summary(changes)}", file=out)
    else:
        print(f"hubgen: {len(files)} generated files already up to date", file=out)
    return EXIT_OK


def _inspect(args: argparse.Namespace, out: TextIO) -> int:
    contract = _analyze(_load(args))
    print(contract.model_dump_json(indent=2), file=out)
    return EXIT_OK


def _scaffold(args: argparse.Namespace, out: TextIO) -> int:
    config = _load(args)
    if config.python_out is None:
        raise _Failure(
            f"hubgen: {config.source}: scaffold needs [tool.hubgen.python] out (the "
            "implementation subclasses the generated hub base)",
            EXIT_USAGE,
        )
    package = package_name(config.python_out, [*config.search_path, config.root])
    if package is None:
        raise _Failure(
            f"hubgen: {config.python_out} is not an importable package under the "
            "python-path entries; scaffold cannot import the generated hub base from it",
            EXIT_USAGE,
        )
    contract = _analyze(config)
    try:
        result = scaffold(contract, args.hub, Path(args.path), generated_package=package)
    except CodegenError as exc:
        raise _Failure(f"hubgen: {exc}", EXIT_FAILED) from None
    where = _display(result.path)
    if result.created:
        print(f"hubgen: created {where} with {len(result.added)} method stubs", file=out)
    elif result.added:
        print(f"hubgen: added to {where}: {', '.join(result.added)}", file=out)
    else:
        print(f"hubgen: {where} already has every method of {args.hub}", file=out)
    return EXIT_OK


def _diff_config(args: argparse.Namespace) -> Path:
    """The configuration file whose path is looked up at git refs."""
    if args.config is not None:
        return Path(args.config).resolve()
    found = find_config(Path.cwd())
    if found is None:
        raise _Failure(
            "hubgen: no pyproject.toml with a [tool.hubgen] table here or above: pass "
            "--config PATH (its path is looked up at each git ref)",
            EXIT_USAGE,
        )
    return found


def _version(spec: str, args: argparse.Namespace) -> Version:
    try:
        if Path(spec).is_file():
            return from_file(Path(spec))
        return from_ref(spec, _diff_config(args))
    except SourceError as exc:
        raise _Failure(f"hubgen: {exc}", EXIT_USAGE) from None


def _diff(args: argparse.Namespace, out: TextIO) -> int:
    old = _version(args.old, args)
    if args.new is None:
        new = Version(_analyze(_load(args)), "the working tree")
    else:
        new = _version(args.new, args)
    protocols = [Protocol(name) for name in args.protocol] or list(Protocol)
    changes = diff(old.contract, new.contract)
    if args.format == "json":
        print(render_json(changes, old.label, new.label, protocols), file=out)
    else:
        print(render_text(changes, old.label, new.label, protocols), file=out)
    gated = {
        "both": list(Scenario),
        "old-clients": [Scenario.OLD_CLIENTS],
        "old-server": [Scenario.OLD_SERVER],
        "none": [],
    }[args.gate]
    breaking = any(change.breaking(gated, protocols) for change in changes)
    return EXIT_FAILED if breaking else EXIT_OK


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from hubgen.asyncapi import AsyncApiError, asyncapi

    config = _load(args)
    paths: dict[str, str] = {}
    for item in args.path:
        hub, sep, path = item.partition("=")
        if not sep or not hub:
            raise _Failure(
                f"hubgen: --path {item!r}: write HUB=PATH, e.g. ChatHub=/chat", EXIT_USAGE
            )
        paths[hub] = path
    contract = _analyze(config)
    try:
        document = asyncapi(
            contract,
            python_path=config.search_path,
            url=args.url,
            paths=paths,
            version=config.project_version or "0.0.0",
        )
    except AsyncApiError as exc:
        raise _Failure(f"hubgen: {exc}", EXIT_USAGE) from None
    print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubgen",
        description="Contract-first, typed SignalR hubs: generate Python and TypeScript "
        "code from hub contracts.",
    )
    parser.add_argument("--version", action="version", version=f"hubgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--config",
            type=Path,
            metavar="PATH",
            help="a pyproject.toml or hubgen.toml (default: the nearest pyproject.toml "
            "with [tool.hubgen])",
        )
        return sub

    gen = command("generate", "Write the generated Python and TypeScript code.")
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any generated file is missing, stale or extra",
    )
    gen.set_defaults(run=_generate)
    command("inspect", "Print the contract's IR as JSON.").set_defaults(run=_inspect)
    scaff = command(
        "scaffold",
        "Write an implementation skeleton for a hub, or add the methods it lacks.",
    )
    scaff.add_argument("hub", metavar="HUB", help="the hub's name, e.g. ChatHub")
    scaff.add_argument("path", metavar="PATH", help="the implementation module, e.g. app/hub.py")
    scaff.set_defaults(run=_scaffold)
    differ = command(
        "diff",
        "Classify every change between two versions of the contract as safe or breaking, "
        "for old clients against a new server and new clients against an old server; "
        "exit 1 on a breaking change.",
    )
    differ.add_argument(
        "old",
        metavar="OLD",
        help="the old version: an IR file from `hubgen inspect`, or a git ref (main, v1.2.0)",
    )
    differ.add_argument(
        "new",
        metavar="NEW",
        nargs="?",
        help="the new version, likewise (default: the contract in the working tree)",
    )
    differ.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="a report to read (default), or JSON for tools",
    )
    differ.add_argument(
        "--gate",
        choices=["both", "old-clients", "old-server", "none"],
        default="both",
        help="which breaking changes make the exit status 1: for old clients against the "
        "new server, for new clients against the old server, both (default), or none",
    )
    differ.add_argument(
        "--protocol",
        choices=[protocol.value for protocol in Protocol],
        action="append",
        default=[],
        help="judge over this hub protocol only (repeatable; default: json and messagepack)",
    )
    differ.set_defaults(run=_diff)
    export = command(
        "export",
        "Print a description of the hubs in another format: an AsyncAPI 3.0 document (JSON).",
    )
    export.add_argument("format", choices=["asyncapi"], help="the format: asyncapi")
    export.add_argument(
        "--url",
        default="ws://localhost:8000",
        help="the server's URL (ws://, wss://, http:// or https://; default ws://localhost:8000)",
    )
    export.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="HUB=PATH",
        help="the URL path a hub is mapped at, e.g. ChatHub=/chat (repeatable; default /HUB)",
    )
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hubgen`` command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args, sys.stdout)
    except _Failure as failure:
        print(str(failure), file=sys.stderr)
        return failure.code
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
