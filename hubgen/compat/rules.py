"""The rules of ``hubgen diff``: every kind of change it reports.

Each rule has a name (what reports and ``--format json`` carry) and a
one-line description; ``docs/diff.md`` explains each under a heading of its
name, and ``tests/diff`` holds a pair of contracts for each.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "Rule"]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        # hubs
        Rule("hub-added", "a hub is new"),
        Rule("hub-removed", "a hub is gone"),
        # methods
        Rule("method-added", "a hub method (client → server) is new"),
        Rule("method-removed", "a hub method is gone"),
        Rule("method-renamed", "a hub or client method's wire name changed"),
        Rule("method-wire-case-changed", "a method's wire name changed in letter case only"),
        Rule("method-kind-changed", "a hub method turned from an invocation into a stream or back"),
        Rule("client-method-added", "a client method (server → client) is new"),
        Rule("client-method-removed", "a client method is gone"),
        Rule("client-result-added", "a client method now returns a result the server awaits"),
        Rule("client-result-removed", "a client method no longer returns a result"),
        # parameters and results
        Rule("parameter-added", "a method has a new parameter"),
        Rule("parameter-removed", "a method lost a parameter"),
        Rule("parameter-moved", "a parameter is at another position"),
        Rule("parameter-renamed", "a parameter has another name at the same position"),
        Rule("parameter-type-changed", "a parameter's type changed"),
        Rule("parameter-default-added", "a required parameter got a default"),
        Rule("parameter-default-removed", "a parameter with a default became required"),
        Rule("default-changed", "a parameter's or field's default value changed"),
        Rule("stream-parameter-added", "a hub method has a new client-to-server stream"),
        Rule("stream-parameter-removed", "a hub method lost a client-to-server stream"),
        Rule("stream-parameter-type-changed", "the item type of a client-to-server stream changed"),
        Rule("result-type-changed", "a result's type, or a stream's item type, changed"),
        # models
        Rule("field-added", "a model has a new field"),
        Rule("field-removed", "a model lost a field"),
        Rule("field-renamed", "a field's wire name changed"),
        Rule("field-renamed-in-python", "a field's Python name changed, its wire name kept"),
        Rule("field-type-changed", "a field's type changed"),
        Rule("field-default-added", "a required field got a default"),
        Rule("field-default-removed", "a field with a default became required"),
        Rule("model-extra-changed", "a model now forbids or ignores fields it does not declare"),
        # enums
        Rule("enum-value-added", "an enum has a new value"),
        Rule("enum-value-removed", "an enum lost a value"),
        Rule("enum-member-renamed", "an enum member has another name for the same value"),
    )
}
