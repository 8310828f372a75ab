"""Code generation: a contract's IR → Python and TypeScript sources.

    files = generate(contract, root=root, python_out=..., typescript_out=...)
    write(files, check=False)

Everything is rendered in memory first (Python built in code, TypeScript from
``templates/typescript``); :func:`write` then applies it atomically (or, with
``check``, only reports what differs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubgen import ir
from hubgen.codegen.errors import CodegenError
from hubgen.codegen.files import Change, ChangeKind, GeneratedFile, is_generated, write
from hubgen.codegen.python import package_name, python_files
from hubgen.codegen.typescript import TypeScriptOptions, typescript_files

__all__ = [
    "Change",
    "ChangeKind",
    "CodegenError",
    "GeneratedFile",
    "TypeScriptOptions",
    "generate",
    "is_generated",
    "write",
]


def generate(
    contract: ir.Contract,
    *,
    root: Path,
    python_out: Path | None,
    typescript_out: Path | None,
    python_path: Sequence[Path] = (),
    typescript: TypeScriptOptions | None = None,
) -> list[GeneratedFile]:
    """Render every file for ``contract``; nothing touches the disk.

    ``contract`` is what :func:`hubgen.contracts.analyze` returned: analysis
    has refused every name that generated code would use twice or that it
    reserves (:mod:`hubgen.artifacts`), so rendering does not check names again.

    ``python_out`` is the output package directory; its dotted name (for
    relative imports of the contract) is found from ``python_path`` entries
    and ``root``. Relative paths are taken relative to ``root``. ``typescript``
    chooses the hub protocols and whether ``typescript_out`` becomes an npm
    package. Raises :class:`CodegenError` when the contract cannot be rendered,
    or when a package would overwrite a ``package.json`` hubgen did not write.
    """
    root = root.resolve()
    files: list[GeneratedFile] = []
    if python_out is not None:
        out = (root / python_out).resolve()
        bases = [(root / p).resolve() for p in python_path] + [root]
        package = package_name(out, bases)
        for module in python_files(contract, package=package):
            files.append(GeneratedFile(out / module.filename, module.text))
    if typescript_out is not None:
        out = (root / typescript_out).resolve()
        manifest = out / "package.json"
        if typescript and typescript.package and manifest.exists() and not is_generated(manifest):
            raise CodegenError(
                f"{manifest} exists and was not written by hubgen; the TypeScript package "
                "folder belongs to hubgen: point [tool.hubgen.typescript] out elsewhere"
            )
        for ts in typescript_files(contract, typescript):
            files.append(GeneratedFile(out / ts.filename, ts.text))
    return files
