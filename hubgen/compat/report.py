"""``hubgen diff``'s output: a report to read, or JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hubgen.compat.diff import Change, Scenario, Verdict
from hubgen.compat.fit import Protocol

__all__ = ["render_json", "render_text"]


def _verdict_lines(change: Change, scenario: Scenario, protocols: Sequence[Protocol]) -> list[str]:
    verdicts = [(protocol, change.verdicts[scenario][protocol]) for protocol in protocols]
    head = f"  {scenario.label}: "
    if len({(v.breaking, v.why) for _, v in verdicts}) == 1:
        return [head + _word(verdicts[0][1]) + verdicts[0][1].why]
    lines = []
    for index, (protocol, verdict) in enumerate(verdicts):
        lead = head if index == 0 else " " * len(head)
        word = "BREAKING" if verdict.breaking else "safe"
        lines.append(f"{lead}{word} over {protocol.label}: {verdict.why}")
    return lines


def _word(verdict: Verdict) -> str:
    return "BREAKING: " if verdict.breaking else "safe: "


def render_text(
    changes: Sequence[Change],
    old: str,
    new: str,
    protocols: Sequence[Protocol],
) -> str:
    """Each change, its rule, and its verdict per scenario (per protocol
    where they differ), then a count of the breaking ones."""
    lines = [f"hubgen diff: {old} → {new}"]
    for change in changes:
        lines.append(f"{change.subject}: {change.message}  [{change.rule}]")
        for scenario in Scenario:
            lines += _verdict_lines(change, scenario, protocols)
    if not changes:
        lines.append("hubgen: no changes")
        return "\n".join(lines)
    counts = [
        f"{sum(1 for c in changes if c.breaking([scenario], protocols))} for {scenario.label}"
        for scenario in Scenario
    ]
    lines.append(f"hubgen: {len(changes)} change(s); breaking: {', '.join(counts)}")
    return "\n".join(lines)


def render_json(
    changes: Sequence[Change],
    old: str,
    new: str,
    protocols: Sequence[Protocol],
) -> str:
    """The same as JSON: ``changes`` in order, each with ``breaking`` per
    scenario (over the chosen protocols) and every verdict."""
    document: dict[str, Any] = {
        "old": old,
        "new": new,
        "protocols": [protocol.value for protocol in protocols],
        "changes": [
            {
                "rule": change.rule,
                "subject": change.subject,
                "message": change.message,
                "breaking": {
                    scenario.value: change.breaking([scenario], protocols) for scenario in Scenario
                },
                "verdicts": {
                    scenario.value: {
                        protocol.value: {
                            "breaking": change.verdicts[scenario][protocol].breaking,
                            "why": change.verdicts[scenario][protocol].why,
                        }
                        for protocol in protocols
                    }
                    for scenario in Scenario
                },
            }
            for change in changes
        ],
        "breaking": {
            scenario.value: sum(1 for c in changes if c.breaking([scenario], protocols))
            for scenario in Scenario
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
