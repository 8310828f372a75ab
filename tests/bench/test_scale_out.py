"""bench.scale_out judges issue #15's instruction-count targets from the
counts of bench.instructions (synthetic counts here: the counting itself is
tests/bench/test_instructions.py's), and re-renders a saved run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from bench.scale_out import Count, Plan, main, markdown, targets

PLAN = Plan(("json",), (100, 1000), 50, 2000, 10)


def traffic(processes: int, sent: int = 198, received: int = 202) -> dict[str, dict[str, Any]]:
    """Totals over 50 broadcasts: the first process publishes each once."""
    found = {
        "process 1": {"sent": sent * 50, "received": received * 50, "commands": {"PUBLISH": 50}}
    }
    if processes == 2:
        found["process 2"] = {"sent": 0, "received": 198 * 50, "commands": {}}
    return found


def counts(redis_1000: float = 52_400.0, echo_redis: float = 150_000.0) -> list[Count]:
    found = [
        Count("echo", "json", "memory", 1, 0, 146_000.0, 2000, 2000),
        Count("echo", "json", "redis", 1, 0, echo_redis, 2000, 2000),
    ]
    for receivers, memory in ((100, 42_500.0), (1000, 51_000.0)):
        redis = 49_000.0 if receivers == 100 else redis_1000
        units = receivers * 50
        found += [
            Count("broadcast", "json", "memory", 1, receivers, memory, units, 50),
            Count("broadcast", "json", "redis", 1, receivers, redis, units, 50, traffic(1)),
            Count("broadcast", "json", "redis", 2, receivers, redis, units, 50, traffic(2)),
        ]
    return found


def test_targets_met() -> None:
    checks = targets(counts(), PLAN)
    assert [(target, measured[:5], met) for target, _, measured, met in checks] == [
        ("at 1,000 receivers the Redis path adds ≤ 15% per delivery", "1.03×", True),
        ("at 1,000 receivers the Redis path adds ≤ 15% per delivery", "1.03×", True),
        ("a process does the same Redis work per broadcast at any receiver count", "ident", True),
        ("a process does the same Redis work per broadcast at any receiver count", "ident", True),
        ("echo costs ≤ 5% more with the Redis manager on", "1.027", True),
    ]


def test_targets_missed() -> None:
    found = counts(redis_1000=62_000.0, echo_redis=155_000.0)
    # more bytes per broadcast at 1,000 receivers than at 100
    found[-1] = Count("broadcast", "json", "redis", 2, 1000, 62_000.0, 50_000, 50, traffic(2, 250))
    checks = {
        (target, compared.split(":")[0]): met for target, compared, _, met in targets(found, PLAN)
    }
    assert not checks[
        (
            "at 1,000 receivers the Redis path adds ≤ 15% per delivery",
            "JSON, Redis (2 processes) / memory, instructions per delivered message",
        )
    ]
    assert not checks[
        (
            "a process does the same Redis work per broadcast at any receiver count",
            "JSON, 2 processes",
        )
    ]
    assert checks[
        (
            "a process does the same Redis work per broadcast at any receiver count",
            "JSON, 1 process",
        )
    ]
    assert not checks[
        (
            "echo costs ≤ 5% more with the Redis manager on",
            "JSON, Redis / memory, instructions per call",
        )
    ]


def test_the_page_has_every_table(tmp_path: Path) -> None:
    settings = {"date": "2026-12-07 04:00 UTC", "mode": "full run", "versions": {"redis": "8.2.0"}}
    text = markdown(counts(), PLAN, settings)
    assert "| JSON | 146,000 | 150,000 | 1.027 |" in text
    assert "| JSON | 100 | 42,500 | 49,000 | 1.15 | 49,000 | 1.15 |" in text
    # (Redis - memory) x receivers: 650k at 100, 1,400k at 1,000: 833 a delivery more
    assert "JSON 567k instructions per broadcast + 833 per delivery" in text
    assert "| JSON | 2 | 1,000 | process 2 | none | 0.0 | 198.0 |" in text
    assert "| JSON | 2 | 1,000 | process 1 | PUBLISH 1.00 | 198.0 | 202.0 |" in text

    saved = tmp_path / "scale-out.json"
    saved.write_text(
        json.dumps(
            {"settings": settings, "plan": asdict(PLAN), "counts": [asdict(c) for c in counts()]}
        )
    )
    assert main(["--render", str(saved)]) == 0
    assert (tmp_path / "scale-out.md").read_text() == text


def test_refuses_an_unknown_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--protocol", "xml"])
    assert "invalid choice: 'xml'" in capsys.readouterr().err
