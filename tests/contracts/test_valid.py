"""Valid contracts and the IR analysis gives for them.

The fixtures under ``fixtures/valid/`` cover every supported construct. Their
full IR is pinned in ``expected/*.json``; the tests below also spell out the
parts that matter most as explicit objects, so that a wrong expected file
cannot go unnoticed.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from hubgen.codec import Codec, WireFormat
from hubgen.contracts import analyze
from hubgen.ir import (
    Contract,
    DefaultValue,
    DictType,
    EnumRef,
    ListType,
    LiteralType,
    MethodDecl,
    MethodKind,
    ModelRef,
    NamingDecl,
    NullableType,
    PrimitiveType,
    PythonRef,
    SourceLocation,
    TupleType,
    TypeVarRef,
    UnionType,
)
from hubgen.naming import FieldNaming
from hubgen.spec import HubSpec, MethodSpec
from tests.contracts.fixtures.valid import models as models_fixture

REPO = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent / "expected"
PACKAGE = "tests.contracts.fixtures.valid"
VALID = "tests/contracts/fixtures/valid"
UPDATE = os.environ.get("HUBGEN_UPDATE_EXPECTED") == "1"

STR = PrimitiveType(name="str")
INT = PrimitiveType(name="int")
FLOAT = PrimitiveType(name="float")
BOOL = PrimitiveType(name="bool")
NONE = PrimitiveType(name="none")


def _analyze(*modules: str, naming: NamingDecl | None = None) -> Contract:
    return analyze(
        [f"{PACKAGE}.{m}" for m in modules],
        root=REPO,
        python_path=[REPO],
        naming=naming or NamingDecl(),
    )


def _method(methods: list[MethodDecl], name: str) -> MethodDecl:
    return next(m for m in methods if m.name == name)


def _at(module: str, line: int, column: int) -> SourceLocation:
    return SourceLocation(file=f"{VALID}/{module}.py", line=line, column=column)


# --------------------------------------------------------------------------- expected IR


@pytest.mark.parametrize("module", ["chat", "types", "models"])
def test_ir_matches_expected_json(module: str) -> None:
    found = _analyze(module).model_dump(mode="json")
    path = EXPECTED / f"{module}.json"
    if UPDATE:
        path.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert found == expected, (
        f"{path.name} differs; if the change is intended, review and rewrite it with: "
        "HUBGEN_UPDATE_EXPECTED=1 .venv/bin/pytest tests/contracts/test_valid.py"
    )


def test_expected_json_is_valid_ir() -> None:
    for path in sorted(EXPECTED.glob("*.json")):
        contract = Contract.model_validate_json(path.read_text(encoding="utf-8"))
        assert contract.hubs, path.name


# --------------------------------------------------------------------------- chat


def test_chat_contract() -> None:
    contract = _analyze("chat")
    assert contract.modules == [f"{PACKAGE}.chat"]
    (hub,) = contract.hubs
    assert (hub.name, hub.python.qualname, hub.doc) == (
        "ChatHub",
        "ChatHub",
        "What clients may call on the server.",
    )
    assert hub.location == _at("chat", 34, 7)
    assert [(m.name, m.wire_name, m.kind) for m in hub.methods] == [
        ("send", "Send", MethodKind.INVOKE),
        ("history", "History", MethodKind.INVOKE),
        ("ticker", "Ticker", MethodKind.STREAM),
        ("upload", "Upload", MethodKind.INVOKE),
    ]
    send, history, ticker, upload = hub.methods
    assert send.returns == NONE
    assert send.location == _at("chat", 37, 15)
    assert send.parameters[0].location == _at("chat", 37, 26)
    assert history.returns == ListType(item=ModelRef(name="ChatMessage"))
    assert history.parameters[0].default == DefaultValue(json_value=50, python="50")
    assert ticker.returns == FLOAT
    assert upload.returns == INT
    assert (upload.parameters[0].stream, upload.parameters[0].type) == (True, STR)

    client = hub.client
    assert client.name == "ChatClient"
    message_received, confirm = client.methods
    assert message_received.returns == NONE
    assert (confirm.returns, confirm.doc) == (
        BOOL,
        "Ask the user; the server awaits the answer (a client result).",
    )

    (message,) = contract.models
    assert message.doc == "One message in a room."
    assert [(f.name, f.wire_name, f.type, f.doc) for f in message.fields] == [
        ("author", "author", STR, None),
        ("text", "text", STR, None),
        ("sent_at", "sentAt", PrimitiveType(name="datetime"), "When the server received it."),
    ]
    assert contract.enums == []


# --------------------------------------------------------------------------- types


def test_types() -> None:
    (hub,) = _analyze("types").hubs
    methods = hub.methods

    primitives = _method(methods, "primitives")
    assert [p.type for p in primitives.parameters] == [
        PrimitiveType(name=n)
        for n in (
            "str",
            "int",
            "float",
            "bool",
            "bytes",
            "datetime",
            "date",
            "time",
            "timedelta",
            "uuid",
            "decimal",
        )
    ]

    containers = _method(methods, "containers")
    assert [p.type for p in containers.parameters] == [
        ListType(item=INT),
        TupleType(items=[INT, STR, BOOL]),
        ListType(item=FLOAT, container="tuple"),
        ListType(item=STR, container="set"),
        ListType(item=INT, container="frozenset"),
        DictType(key=STR, value=ListType(item=INT)),
        DictType(key=EnumRef(name="Color"), value=INT),
        DictType(key=LiteralType(values=["a", "b"]), value=INT),
    ]
    assert containers.returns == DictType(key=STR, value=DictType(key=STR, value=FLOAT))

    unions = _method(methods, "unions")
    assert [p.type for p in unions.parameters] == [
        NullableType(inner=INT),
        NullableType(inner=STR),
        UnionType(members=[INT, STR]),
        NullableType(inner=UnionType(members=[INT, STR])),
    ]
    assert unions.returns == NullableType(inner=PrimitiveType(name="bytes"))

    literals = _method(methods, "literals")
    assert [p.type for p in literals.parameters] == [
        LiteralType(values=["fast", "slow"]),
        LiteralType(values=[1, 2, 3]),
        LiteralType(values=[True]),
        NullableType(inner=LiteralType(values=["on"])),
    ]

    wrappers = _method(methods, "wrappers")
    assert [p.type for p in wrappers.parameters] == [
        STR,  # NewType of str
        STR,  # NewType of a NewType
        ListType(item=STR),  # TypeAlias
        ListType(item=ListType(item=FLOAT)),  # TypeAliasType
        INT,  # Annotated constraints are the runtime's business
        ListType(item=STR),  # a quoted annotation
    ]
    assert wrappers.returns == STR


def test_defaults_keyword_only_and_wire_names() -> None:
    (hub,) = _analyze("types").hubs
    defaults = _method(hub.methods, "defaults")
    assert [(p.name, p.default) for p in defaults.parameters] == [
        ("limit", DefaultValue(json_value=50, python="50")),
        ("ratio", DefaultValue(json_value=0.5, python="0.5")),
        ("name", DefaultValue(json_value="anon", python="'anon'")),
        ("enabled", DefaultValue(json_value=True, python="True")),
        ("nothing", DefaultValue(json_value=None, python="None")),
        ("color", DefaultValue(json_value="red", python="Color.RED")),
        ("priority", DefaultValue(json_value=2, python="Priority.HIGH")),
    ]
    mixed = _method(hub.methods, "positional_and_keyword")
    assert [(p.name, p.keyword_only, p.default) for p in mixed.parameters] == [
        ("first", False, None),
        ("second", False, None),
        ("third", True, DefaultValue(json_value=False, python="False")),
    ]
    renamed = _method(hub.methods, "renamed")
    assert (renamed.wire_name, renamed.doc) == (
        "custom_wire_name",
        "Its wire name comes from @hubgen.method.",
    )


def test_streams() -> None:
    (hub,) = _analyze("types").hubs
    counter = _method(hub.methods, "counter")
    assert (counter.kind, counter.returns) == (MethodKind.STREAM, INT)
    assert [p.stream for p in counter.parameters] == [False, False]

    merge = _method(hub.methods, "merge")
    assert merge.kind == MethodKind.INVOKE
    assert [(p.name, p.stream, p.type) for p in merge.parameters] == [
        ("left", True, INT),
        ("right", True, STR),
        ("label", False, STR),
    ]

    echo = _method(hub.methods, "echo")
    assert (echo.kind, echo.returns) == (MethodKind.STREAM, EnumRef(name="Color"))
    assert [(p.stream, p.type) for p in echo.parameters] == [(True, EnumRef(name="Color"))]


def test_enums() -> None:
    contract = _analyze("types")
    assert [e.name for e in contract.enums] == ["Color", "Priority"]
    color, priority = contract.enums
    assert (color.value_type, color.doc) == ("str", "Colors travel as their names.")
    assert [(m.name, m.value, m.doc) for m in color.members] == [
        ("RED", "red", "The color of stop signs."),
        ("GREEN", "green", None),
    ]
    assert priority.value_type == "int"
    assert [(m.name, m.value) for m in priority.members] == [("LOW", 1), ("HIGH", 2)]


# --------------------------------------------------------------------------- models


def test_hubs_with_names_inheritance_and_a_shared_client() -> None:
    contract = _analyze("models")
    shop, admin = contract.hubs
    assert (shop.name, shop.python.qualname) == ("Shop", "CatalogHub")
    assert (admin.name, admin.python.qualname) == ("AdminHub", "AdminHub")
    # Methods of Protocol bases come first, as hubgen.spec reads them.
    assert [m.name for m in shop.methods] == [
        "get",
        "page",
        "categories",
        "pairs",
        "grouped",
        "adopt",
        "snake",
        "adopt_all",
        "graph",
        "watch",
    ]
    assert [m.name for m in admin.methods] == ["get", "put"]
    assert shop.client == admin.client
    choose = _method(shop.client.methods, "choose")
    assert choose.returns == NullableType(inner=ModelRef(name="Item"))


def test_models_are_declared_once_sorted_and_only_when_reachable() -> None:
    contract = _analyze("models")
    assert [m.name for m in contract.models] == [
        "Cat",
        "Category",
        "Dimensions",
        "Dog",
        "Edge",
        "Grouped",
        "Inner",
        "Item",
        "Node",
        "Outer",
        "Owner",
        "Page",
        "Pair",
        "SnakeCase",
    ]
    assert [e.name for e in contract.enums] == ["Level", "Unit"]
    assert [(e.name, e.value_type) for e in contract.enums] == [("Level", "int"), ("Unit", "str")]
    inner = contract.model("Inner")
    assert (inner.python.module, inner.python.qualname) == (f"{PACKAGE}.models", "Outer.Inner")


def test_generic_models() -> None:
    contract = _analyze("models")
    page = contract.model("Page")
    assert page.python.module == f"{PACKAGE}.shared"
    assert page.type_parameters == ["T"]
    assert [(f.name, f.type) for f in page.fields] == [
        ("items", ListType(item=TypeVarRef(name="T"))),
        ("total", INT),
        ("next", NullableType(inner=ModelRef(name="Page", args=[TypeVarRef(name="T")]))),
    ]
    grouped = contract.model("Grouped")
    assert grouped.type_parameters == ["V"]
    assert [f.type for f in grouped.fields] == [
        DictType(key=STR, value=ModelRef(name="Page", args=[TypeVarRef(name="V")])),
        NullableType(inner=ModelRef(name="Pair", args=[STR, TypeVarRef(name="V")])),
    ]
    assert contract.model("Pair").type_parameters == ["K", "V"]

    shop = contract.hubs[0]
    assert _method(shop.methods, "page").returns == ModelRef(
        name="Page", args=[ModelRef(name="Item")]
    )
    assert _method(shop.methods, "pairs").returns == ListType(
        item=ModelRef(name="Pair", args=[STR, ModelRef(name="Page", args=[INT])])
    )
    assert _method(shop.methods, "grouped").returns == ModelRef(
        name="Grouped", args=[ModelRef(name="Item")]
    )


def test_fields_wire_names_defaults_and_docs() -> None:
    item = _analyze("models").model("Item")
    assert item.doc == "A catalog item; inherits 'created_by' from Audited."
    rows = [(f.name, f.wire_name, f.has_default, f.default, f.doc) for f in item.fields]
    assert rows == [
        ("created_by", "createdBy", False, None, "Who created it."),
        ("sku", "SKU", False, None, None),
        ("display_name", "title", False, None, None),
        ("unit", "unit", True, DefaultValue(json_value="pc", python="Unit.PIECE"), None),
        ("level", "level", True, DefaultValue(json_value=1, python="Level.ONE"), None),
        ("price_cents", "priceCents", True, DefaultValue(json_value=0, python="0"), None),
        ("dimensions", "dimensions", True, DefaultValue(json_value=None, python="None"), None),
        ("tags", "tags", True, None, "Free-form labels."),
        (
            "legacy_code",
            "legacyCode",
            True,
            DefaultValue(json_value="", python="''"),
            "Sent under the field naming policy's name, which it accepts; also accepted as 'code'.",
        ),
    ]
    # An inherited field points at the base class that declares it.
    assert item.fields[0].location == SourceLocation(file=f"{VALID}/shared.py", line=22, column=5)
    assert item.fields[1].location == _at("models", 42, 5)


def test_recursive_and_discriminated_models() -> None:
    contract = _analyze("models")
    category = contract.model("Category")
    assert [f.type for f in category.fields] == [
        STR,
        ListType(item=ModelRef(name="Category")),
        NullableType(inner=ModelRef(name="Category")),
    ]
    pets = UnionType(members=[ModelRef(name="Cat"), ModelRef(name="Dog")], discriminator="kind")
    assert [f.type for f in contract.model("Owner").fields] == [
        pets,
        ListType(item=pets),
        NullableType(inner=pets),  # Field(discriminator=Discriminator("kind"))
    ]
    adopt = _method(contract.hubs[0].methods, "adopt")
    assert adopt.parameters[0].type == pets
    adopt_all = _method(contract.hubs[0].methods, "adopt_all")  # Annotated[..., Discriminator]
    assert adopt_all.parameters[0].type == ListType(item=pets)
    assert contract.model("SnakeCase").fields[0].wire_name == "first_name"
    # Node refers to Edge before Edge exists; analysis completes the model.
    assert contract.model("Node").fields[0].type == ListType(item=ModelRef(name="Edge"))
    assert contract.model("Edge").fields[0].type == NullableType(inner=ModelRef(name="Node"))


def test_naming_policies() -> None:
    preserve = NamingDecl(methods="preserve", fields="preserve")
    contract = _analyze("models", naming=preserve)
    assert contract.naming == preserve
    assert [m.wire_name for m in contract.hubs[1].methods] == ["get", "put"]
    assert [m.wire_name for m in contract.hubs[0].client.methods] == ["item_changed", "choose"]
    wire_names = [f.wire_name for f in contract.model("Item").fields]
    # Aliases win over either policy.
    assert wire_names == [
        "created_by",
        "SKU",
        "title",
        "unit",
        "level",
        "price_cents",
        "dimensions",
        "tags",
        "legacy_code",
    ]


def test_pascal_field_naming() -> None:
    """What .NET services often send: every field in PascalCase but the aliased ones."""
    pascal = NamingDecl(fields="pascal")
    contract = _analyze("models", naming=pascal)
    assert contract.naming == pascal
    assert [m.wire_name for m in contract.hubs[1].methods] == ["Get", "Put"]
    assert [f.wire_name for f in contract.model("Item").fields] == [
        "CreatedBy",
        "SKU",
        "title",
        "Unit",
        "Level",
        "PriceCents",
        "Dimensions",
        "Tags",
        "LegacyCode",
    ]
    # a discriminated union reads its tag under its wire name
    owner = contract.model("Owner")
    assert [f.wire_name for f in owner.fields] == ["Pet", "Pets", "Favorite"]
    assert owner.fields[0].type == UnionType(
        members=[ModelRef(name="Cat"), ModelRef(name="Dog")], discriminator="Kind"
    )
    # an alias_generator's names are aliases: they win too
    assert [f.wire_name for f in contract.model("SnakeCase").fields] == ["first_name"]


# --------------------------------------------------------------------------- runtime agreement


@pytest.mark.parametrize("naming", list(FieldNaming))
def test_wire_names_are_what_the_codecs_send(naming: FieldNaming) -> None:
    contract = _analyze("models", naming=NamingDecl(fields=naming.value))
    m = models_fixture
    samples: list[Any] = [
        m.Item(
            created_by="ann",
            SKU="A-1",
            title="Lamp",
            dimensions=m.Dimensions(width_mm=1, height_mm=2),
        ),
        m.Dimensions(width_mm=1, height_mm=2),
        m.SnakeCase(firstName="Ann"),
        m.Owner(pet=m.Cat()),
        m.Outer(inner=m.Outer.Inner(value=1)),
    ]
    for sample in samples:
        codec: Codec[Any] = Codec(type(sample), field_naming=naming)
        wire = codec.encode(sample)
        declared = [f.wire_name for f in contract.model(type(sample).__name__).fields]
        assert list(wire) == declared
        assert codec.decode(wire) == sample


def _import(ref: PythonRef) -> Any:
    target: Any = importlib.import_module(ref.module)
    for part in ref.qualname.split("."):
        target = getattr(target, part)
    return target


def _specs(methods: list[MethodDecl]) -> tuple[MethodSpec, ...]:
    return tuple(MethodSpec(m.name, m.wire_name, m.kind is MethodKind.STREAM) for m in methods)


@pytest.mark.parametrize("module", ["chat", "types", "models"])
def test_runtime_specs_accept_the_ir(module: str) -> None:
    """What generated code will declare from the IR resolves against the
    contract at runtime, and codecs build for every method and wire format."""
    contract = _analyze(module)
    for hub in contract.hubs:
        spec = HubSpec(
            name=hub.name,
            contract=_import(hub.python),
            client=_import(hub.client.python),
            methods=_specs(hub.methods),
            client_methods=_specs(hub.client.methods),
            field_naming=FieldNaming(contract.naming.fields),
        )
        for wire in WireFormat:
            spec.warm(wire)
        for decl in hub.methods:
            method = spec.method(decl.name)
            assert [p.name for p in method.parameters] == [p.name for p in decl.parameters]
            assert [p.stream for p in method.parameters] == [p.stream for p in decl.parameters]
            assert spec.find(decl.wire_name.upper()) is method


# --------------------------------------------------------------------------- determinism


def test_analysis_is_deterministic_across_runs_and_hash_seeds() -> None:
    first = _analyze("chat", "types", "models").model_dump_json()
    assert _analyze("chat", "types", "models").model_dump_json() == first
    script = (
        "from pathlib import Path; from hubgen.contracts import analyze; "
        f"print(analyze([{', '.join(repr(f'{PACKAGE}.{m}') for m in ('chat', 'types', 'models'))}],"
        f" root=Path({str(REPO)!r}), python_path=[Path({str(REPO)!r})]).model_dump_json())"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
        )
        assert result.stdout.strip() == first


def test_a_module_listed_twice_is_analyzed_once() -> None:
    contract = _analyze("chat", "chat")
    assert contract.modules == [f"{PACKAGE}.chat"]
    assert len(contract.hubs) == 1


# --------------------------------------------------------------------------- python path and root


CONTRACT = """\
from __future__ import annotations

from typing import Protocol

import hubgen


class Client(Protocol):
    async def ping(self) -> None: ...


@hubgen.hub(client=Client)
class PingHub(Protocol):
    async def ping(self, text: str) -> str: ...
"""


def test_python_path_is_used_for_the_import_and_restored(tmp_path: Path) -> None:
    package = f"hubgen_test_{uuid.uuid4().hex[:12]}"
    (tmp_path / "src" / package).mkdir(parents=True)
    (tmp_path / "src" / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "src" / package / "contract.py").write_text(CONTRACT, encoding="utf-8")
    before = list(sys.path)
    # A relative python-path entry is taken relative to root.
    contract = analyze([f"{package}.contract"], root=tmp_path, python_path=[Path("src")])
    assert sys.path == before
    (hub,) = contract.hubs
    assert hub.location == SourceLocation(file=f"src/{package}/contract.py", line=13, column=7)
    assert hub.methods[0].parameters[0].location.file == f"src/{package}/contract.py"


def test_locations_outside_root_are_absolute(tmp_path: Path) -> None:
    package = f"hubgen_test_{uuid.uuid4().hex[:12]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / package / "contract.py").write_text(CONTRACT, encoding="utf-8")
    root = tmp_path / "elsewhere"
    root.mkdir()
    contract = analyze([f"{package}.contract"], root=root, python_path=[tmp_path])
    expected = (tmp_path / package / "contract.py").resolve().as_posix()
    assert contract.hubs[0].location.file == expected
