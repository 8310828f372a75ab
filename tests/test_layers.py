"""The layers of docs/architecture.md, checked by importing each in a fresh
interpreter: arrows only point down (the protocol imports no I/O and no
pydantic; codegen and analysis never load the runtime)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: module imported → packages it must not load.
FORBIDDEN = {
    "hubgen.protocol": [
        "pydantic",
        "starlette",
        "httpx",
        "websockets",
        "hubgen.codec",
        "hubgen.spec",
        "hubgen.server",
        "hubgen.client",
        "hubgen.contracts",
        "hubgen.codegen",
    ],
    "hubgen.wire": ["hubgen.protocol", "hubgen.codec", "pydantic"],
    "hubgen.members": ["hubgen.codec", "hubgen.spec", "hubgen.contracts", "pydantic"],
    "hubgen.artifacts": [
        "hubgen.contracts",
        "hubgen.codegen",
        "hubgen.server",
        "hubgen.client",
        "hubgen.spec",
        "jinja2",
        "libcst",
    ],
    "hubgen.codegen": [
        "starlette",
        "hubgen.server",
        "hubgen.client",
        "hubgen.protocol",
        "hubgen.contracts",
    ],
    "hubgen.contracts": [
        "starlette",
        "hubgen.server",
        "hubgen.client",
        "hubgen.protocol",
        "hubgen.codegen",
    ],
    # hubgen diff works on the IR alone (a git ref is analyzed in a child process)
    "hubgen.compat": [
        "starlette",
        "hubgen.server",
        "hubgen.client",
        "hubgen.codegen",
        "hubgen.protocol",
        "hubgen.contracts",
        "hubgen.codec",
        "hubgen.spec",
    ],
    "hubgen.asyncapi": [
        "starlette",
        "hubgen.server",
        "hubgen.client",
        "hubgen.codegen",
        "hubgen.protocol",
    ],
    "hubgen.client": ["starlette", "hubgen.server", "hubgen.codegen", "hubgen.contracts"],
    "hubgen.client.asgi": ["starlette", "hubgen.server", "hubgen.codegen", "hubgen.contracts"],
    # the test kit sits on the client and the server, and needs nothing of codegen
    "hubgen.testing": ["hubgen.codegen", "hubgen.contracts", "jinja2", "libcst"],
    "hubgen.server": ["hubgen.client", "hubgen.codegen", "hubgen.contracts"],
}


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_a_layer_loads_nothing_above_it(module: str) -> None:
    script = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    wrong = [
        name
        for name in loaded
        for package in FORBIDDEN[module]
        if name == package or name.startswith(package + ".")
    ]
    assert wrong == [], f"importing {module} loads {wrong}"
