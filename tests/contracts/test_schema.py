"""schemas/ir.schema.json must match hubgen.ir."""

from __future__ import annotations

import json
from pathlib import Path

from hubgen.ir import json_schema, json_schema_text

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "ir.schema.json"


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == json_schema_text(), (
        "schemas/ir.schema.json is stale; regenerate it with: "
        ".venv/bin/python -m hubgen.ir > schemas/ir.schema.json"
    )


def test_schema_text_is_sorted_indented_json_with_a_trailing_newline() -> None:
    text = json_schema_text()
    assert text.endswith("}\n")
    assert json.loads(text) == json_schema()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_schema_describes_a_contract() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Contract"
    assert set(schema["required"]) == {"modules", "hubs"}
    tagged = [
        definition
        for definition in schema["$defs"].values()
        if "const" in definition.get("properties", {}).get("kind", {})
    ]
    assert all("kind" in definition["required"] for definition in tagged)
    kinds = {definition["properties"]["kind"]["const"] for definition in tagged}
    assert kinds == {
        "primitive",
        "list",
        "tuple",
        "dict",
        "nullable",
        "union",
        "literal",
        "enum",
        "model",
        "typevar",
    }
