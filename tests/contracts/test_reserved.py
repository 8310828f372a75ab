"""The reserved names of :mod:`hubgen.artifacts`, pinned to what they protect.

Code generation never imports the runtime, so the members of the runtime
classes generated code subclasses, and the names the generated TypeScript
runtime exports, are lists in ``hubgen/artifacts.py``. These tests read the
runtime classes and the rendered runtime: adding a member to ``Hub``,
``HubProxy`` or the client proxies, or an export to ``runtime.ts``, without
reserving it fails here. Then each reserved name is tried in a contract,
which analysis must refuse with its code.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import uuid
from pathlib import Path

import pytest

from hubgen import artifacts
from hubgen.client import HubProxy
from hubgen.codegen.python import python_files
from hubgen.codegen.typescript import TypeScriptOptions, typescript_files
from hubgen.contracts import ContractErrors, ErrorCode, analyze
from hubgen.server import ClientProxy, Hub, SingleClientProxy

from ..codegen.goldens import CASES
from ..codegen.handmade import chat_contract


def _public_members(cls: type) -> set[str]:
    """Public names of ``cls`` and its bases: attributes, annotated names and
    what its methods assign to ``self``."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins", "typing"):
            continue
        found |= {name for name in vars(klass) if not name.startswith("_")}
        found |= {
            name for name in vars(klass).get("__annotations__", {}) if not name.startswith("_")
        }
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and not node.attr.startswith("_")
            ):
                found.add(node.attr)
    return found


def test_hub_base_members_are_those_of_the_server_hub() -> None:
    assert _public_members(Hub) == artifacts.HUB_BASE_MEMBERS


def test_hub_client_members_are_those_of_the_client_proxy_base() -> None:
    assert _public_members(HubProxy) == artifacts.HUB_PROXY_MEMBERS
    assert artifacts.HUB_PROXY_MEMBERS | {"register"} == artifacts.PYTHON_HUB_CLIENT_MEMBERS


def test_client_proxy_members_are_those_of_the_server_client_proxies() -> None:
    members = _public_members(ClientProxy) | _public_members(SingleClientProxy)
    assert members == artifacts.CLIENT_PROXY_MEMBERS


def test_generated_python_modules_define_only_the_reserved_names() -> None:
    """Besides imports, handles (``_SEND``) and the classes of
    :func:`hub_names`, generated modules define :data:`PYTHON_MODULE_NAMES`."""
    expected = CASES / "chat" / "expected"
    defined: set[str] = set()
    for path in expected.rglob("chat_hub_*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined |= {t.id for t in targets if isinstance(t, ast.Name)}
    assert {name for name in defined if not name.startswith("_")} == artifacts.PYTHON_MODULE_NAMES


def test_generated_hub_clients_have_the_reserved_members() -> None:
    """The members of a generated ``<Hub>Client`` and of a TypeScript hub
    object besides the hub methods are the reserved ones."""
    contract = chat_contract()
    hub = contract.hubs[0]
    names = artifacts.hub_names(hub)
    python = {f.filename: f.text for f in python_files(contract, package="chat.generated")}
    tree = ast.parse(python[f"{names.client_module}.py"])
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == names.hub_client]
    members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    members |= {
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    registrations = {artifacts.python_registration(m.name) for m in hub.client.methods}
    generated = members - {m.name for m in hub.methods} - registrations
    assert generated == {"spec", "register"}
    assert generated <= artifacts.PYTHON_HUB_CLIENT_MEMBERS
    typescript = {f.filename: f.text for f in typescript_files(contract)}
    interface = typescript[f"{names.module}.ts"].split(f"export interface {names.interface} {{")[1]
    interface = interface.split("\n}\n")[0]
    members = set(re.findall(r"^  (?:readonly )?(\w+)[<(:]", interface, re.M))
    assert members == {
        *artifacts.TYPESCRIPT_HUB_MEMBERS,
        *(artifacts.typescript_member(m.name) for m in hub.methods),
        *(artifacts.typescript_registration(m.name) for m in hub.client.methods),
    }


def _exports(text: str) -> set[str]:
    return set(re.findall(r"^export (?:interface|type|function|const) (\w+)", text, re.M))


def test_typescript_runtime_names_are_what_the_runtime_exports() -> None:
    options = TypeScriptOptions(protocols=("json", "messagepack"))
    files = {f.filename: f.text for f in typescript_files(chat_contract(), options)}
    assert _exports(files["runtime.ts"]) == {
        *artifacts.TYPESCRIPT_RUNTIME_TYPES,
        *artifacts.TYPESCRIPT_WIRE_TYPES,
        *artifacts.TYPESCRIPT_RUNTIME_HELPERS,
        "json",
    }
    assert _exports(files["messagepack.ts"]) == {"messagePack"}
    assert set(artifacts.TYPESCRIPT_PROTOCOL_VALUES) == {"json", "messagePack"}
    imported = re.findall(
        r'^import type \{ (.+) \} from "@microsoft/signalr";', files["chatHub.ts"], re.M
    )
    assert set(imported) == set(artifacts.TYPESCRIPT_SIGNALR_TYPES)
    modules = {Path(name).stem for name in files} - {"chatHub"}
    assert modules == artifacts.TYPESCRIPT_MODULES


# --------------------------------------------------------------------------- refused


def _codes(tmp_path: Path, source: str) -> list[tuple[ErrorCode, str]]:
    """The errors of a contract module with ``source``, as (code, message)."""
    package = f"hubgen_reserved_{uuid.uuid4().hex[:12]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    header = (
        "from __future__ import annotations\n"
        "from typing import Protocol\n"
        "from pydantic import BaseModel\n"
        "import hubgen\n\n"
    )
    (tmp_path / package / "contract.py").write_text(header + source, encoding="utf-8")
    with pytest.raises(ContractErrors) as caught:
        analyze([f"{package}.contract"], root=tmp_path, python_path=[tmp_path])
    return [(error.code, error.message) for error in caught.value.errors]


def _hub(method: str = "async def ping(self) -> None: ...", client: str = "") -> str:
    client = client or "async def pong(self) -> None: ..."
    return (
        f"class Receiver(Protocol):\n    {client}\n\n"
        f"@hubgen.hub(client=Receiver)\nclass Store(Protocol):\n    {method}\n"
    )


@pytest.mark.parametrize(
    "name",
    sorted(artifacts.HUB_BASE_MEMBERS | artifacts.PYTHON_HUB_CLIENT_MEMBERS),
)
def test_hub_methods_named_like_a_generated_member_are_refused(tmp_path: Path, name: str) -> None:
    errors = _codes(tmp_path, _hub(f"async def {name}(self) -> None: ..."))
    assert [code for code, _ in errors] == [ErrorCode.RESERVED_METHOD_NAME]
    assert f"hub method name {name!r} is reserved" in errors[0][1]


@pytest.mark.parametrize("name", sorted(artifacts.TYPESCRIPT_HUB_MEMBERS))
def test_hub_methods_named_like_a_typescript_hub_member_are_refused(
    tmp_path: Path, name: str
) -> None:
    pascal = name[:1].upper() + name[1:]
    errors = _codes(tmp_path, _hub(f"async def {pascal}(self) -> None: ..."))
    assert [code for code, _ in errors] == [ErrorCode.RESERVED_METHOD_NAME]
    assert f"its TypeScript name {name!r} is a member of the generated hub object" in errors[0][1]


@pytest.mark.parametrize(
    "name",
    sorted(
        {
            *artifacts.PYTHON_MODULE_NAMES,
            *artifacts.TYPESCRIPT_RUNTIME_TYPES,
            *artifacts.TYPESCRIPT_WIRE_TYPES,
            *artifacts.TYPESCRIPT_PROTOCOL_VALUES,
            *artifacts.TYPESCRIPT_RUNTIME_HELPERS,
            *artifacts.TYPESCRIPT_SIGNALR_TYPES,
            *artifacts.TYPESCRIPT_GLOBALS,
            artifacts.TYPESCRIPT_WIRE_PARAMETER,
            "default",
            "string",
        }
    ),
)
def test_models_named_like_a_reserved_name_are_refused(tmp_path: Path, name: str) -> None:
    source = f"class {name}(BaseModel):\n    id: int\n\n" + _hub(
        f"async def ping(self, value: {name}) -> None: ..."
    )
    errors = _codes(tmp_path, source)
    assert [code for code, _ in errors] == [ErrorCode.RESERVED_NAME]
    assert f"would be generated as {name!r}, which is" in errors[0][1]
