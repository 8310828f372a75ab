"""Validating AsyncAPI documents against the official schema, and messages
against a document's payload schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPEC = Path(__file__).resolve().parent / "spec" / "asyncapi-3.0.0.schema.json"


@cache
def _spec_validator() -> Draft7Validator:
    schema = json.loads(SPEC.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def spec_errors(document: dict[str, Any]) -> list[str]:
    """What the official AsyncAPI 3.0.0 schema finds wrong in ``document``."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message[:300]}"
        for error in sorted(_spec_validator().iter_errors(document), key=str)
    ]


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local ``$ref`` (``#/a/b``) in ``document``."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def reference_errors(document: dict[str, Any]) -> list[str]:
    """What the schema cannot check: every ``$ref`` resolves, and each
    operation's messages (and its reply's) are messages of its channel."""
    problems = []
    for where, ref in _refs(document):
        try:
            resolve(document, ref)
        except (KeyError, IndexError, AssertionError):
            problems.append(f"{where}: {ref} does not resolve")
    for name, operation in document.get("operations", {}).items():
        channel = operation["channel"]["$ref"]
        for part in (operation, operation.get("reply", {})):
            if "channel" in part and part["channel"]["$ref"] != channel:
                problems.append(f"{name}: the reply is on another channel")
            for message in part.get("messages", []):
                if not message["$ref"].startswith(f"{channel}/messages/"):
                    problems.append(f"{name}: {message['$ref']} is not a message of {channel}")
    return problems


def payload_validator(document: dict[str, Any], channel: str, message: str) -> Draft7Validator:
    """A validator for the payload of ``message`` in ``channel``; its refs
    (to ``#/components/schemas``) resolve in ``document``."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:asyncapi", Resource.from_contents(document, default_specification=DRAFT7)
    )
    pointer = f"/channels/{channel}/messages/{message.replace('~', '~0').replace('/', '~1')}"
    return Draft7Validator({"$ref": f"urn:asyncapi#{pointer}/payload"}, registry=registry)
