"""Generated Python details the golden cases do not pin down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hubgen import ir
from hubgen.codegen.python import package_name, python_files

from .goldens import case_names, expected_tree
from .handmade import chat_contract


def _renamed_model(contract: ir.Contract, name: str) -> ir.Contract:
    data = contract.model_dump_json().replace('"ChatMessage"', f'"{name}"')
    return ir.Contract.model_validate_json(data)


def test_runtime_names_are_aliased_when_the_contract_uses_them() -> None:
    contract = _renamed_model(chat_contract(), "Method")
    server = {f.filename: f.text for f in python_files(contract, package="chat.generated")}
    text = server["chat_hub_server.py"]
    assert "from hubgen.spec import HubSpec\nfrom hubgen.spec import Method as _Method" not in text
    assert "from hubgen.spec import HubSpec, Method as _Method" in text
    assert "from ..contract import Method\n" in text
    assert "_MESSAGE_RECEIVED: Final[_Method[None]]" in text
    assert "async def message_received(self, message: Method) -> None:" in text


def test_contract_is_imported_relatively_only_within_its_top_level_package() -> None:
    contract = chat_contract()
    relative = python_files(contract, package="chat.generated")[1].text
    assert "from ..contract import ChatClient, ChatHub\n" in relative
    nested = python_files(contract, package="chat.api.generated")[1].text
    assert "from ...contract import ChatClient, ChatHub\n" in nested
    elsewhere = python_files(contract, package="generated")[1].text
    assert "from chat.contract import ChatClient, ChatHub\n" in elsewhere
    unknown = python_files(contract, package=None)[1].text
    assert "from chat.contract import ChatClient, ChatHub\n" in unknown


def test_package_name_follows_search_path_order(tmp_path: Path) -> None:
    out = tmp_path / "src" / "chat" / "generated"
    # as sys.path does: the first entry that contains the directory wins
    assert package_name(out, [tmp_path / "src", tmp_path]) == "chat.generated"
    assert package_name(out, [tmp_path, tmp_path / "src"]) == "src.chat.generated"
    assert package_name(out, [tmp_path]) == "src.chat.generated"
    assert package_name(tmp_path / "not-a-package" / "x", [tmp_path]) is None
    assert package_name(out, [tmp_path / "elsewhere"]) is None


def _names(text: str) -> tuple[set[str], set[str]]:
    """The names a module imports and the names it defines."""
    imported: set[str] = set()
    defined: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            imported |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)
    return imported, defined


def test_a_client_named_like_a_runtime_base_does_not_shadow_it() -> None:
    # A client Protocol named Client gets the proxy ClientProxy: the runtime's
    # ClientProxy, its base, is imported under an alias.
    data = chat_contract().model_dump_json().replace('"ChatClient"', '"Client"')
    contract = ir.Contract.model_validate_json(data)
    files = {f.filename: f.text for f in python_files(contract, package="chat.generated")}
    server = files["chat_hub_server.py"]
    assert "from hubgen.server import ClientProxy as _ClientProxy, Hub, SingleClientProxy" in server
    assert "class ClientProxy(_ClientProxy):" in server
    assert "class ClientSingleProxy(SingleClientProxy, ClientProxy):" in server
    assert "client_proxy: ClassVar[type[_ClientProxy]] = ClientProxy" in server
    for module in files.values():
        imported, defined = _names(module)
        assert not imported & defined


@pytest.mark.parametrize("case", case_names())
def test_no_generated_module_defines_a_name_it_imports(case: str) -> None:
    for path, text in expected_tree(case).items():
        if path.endswith(".py"):
            imported, defined = _names(text)
            assert not imported & defined, path
