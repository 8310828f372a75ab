"""The benchmark report: the broadcast-redis table and issue #15's targets,
medians of per-process CPU, and ``bench.run --update`` merging a new
measurement of some scenarios into an earlier run."""

from __future__ import annotations

from typing import Any

from bench import report
from bench.run import merge
from bench.scenarios import Measurement


def row(
    scenario: str,
    peer: str,
    rate: float,
    server_cpu: float = 0.9,
    *,
    client: str = "lean",
    protocol: str = "json",
    extra: dict[str, Any] | None = None,
) -> Measurement:
    label = f"{peer} {protocol} · {client} client"
    return Measurement(
        scenario,
        label,
        peer,
        client,
        protocol,
        "WebSockets",
        rate,
        1.0,
        2.0,
        server_cpu,
        0.5,
        extra or {},
    )


def settings(**more: Any) -> dict[str, Any]:
    return {
        "date": "2026-12-06 19:08 UTC",
        "machine": "test machine",
        "mode": "full run",
        "runs": 3,
        "duration": 5.0,
        "warmup": 1.0,
        "server_cpu": 0,
        "load_cpu": 1,
        "ws_deflate": "off",
        "payload": 32,
        "window": 16,
        "group_size": 10,
        "group_window": 8,
        "group_connections": 200,
        "versions": {"python": "3.11.7"},
        **more,
    }


def scale_out_rows(redis_rate: float, redis_cpu: float) -> list[Measurement]:
    by_process = {"uvicorn 1": 0.5, "uvicorn 2": 0.4, "redis-server": 0.05}
    return [
        row("broadcast-redis", "hubgen", 100_000, 0.9),
        row(
            "broadcast-redis",
            "hubgen on Redis",
            redis_rate,
            redis_cpu,
            extra={"cpu_by_process": by_process, "writes_per_message": 0.97},
        ),
        row("broadcast-redis", "hubgen", 120_000, 0.9, protocol="messagepack"),
    ]


def test_the_targets_compare_each_redis_row_with_its_in_memory_row() -> None:
    # 0.90 of the rate, 1.10 the CPU per delivery: both within 15%
    lines = report.scale_out_targets(scale_out_rows(90_000, 0.891))
    assert len(lines) == 4, lines
    assert lines[2].startswith("| rate ≥ 0.87× in memory | hubgen on Redis json")
    assert lines[2].endswith("| 0.90 | ✓ |")
    assert lines[3].startswith("| server CPU per delivery ≤ 1.15× in memory |")
    assert lines[3].endswith("| 1.10 | ✓ |")
    # the MessagePack memory row has no Redis row: nothing to compare


def test_a_redis_row_past_15_percent_misses_the_targets() -> None:
    lines = report.scale_out_targets(scale_out_rows(30_000, 0.95))
    assert lines[2].endswith("| 0.30 | ✗ |"), lines
    assert lines[3].endswith("| 3.52 | ✗ |"), lines


def test_the_table_shows_cost_per_delivery_and_each_process() -> None:
    text = report.markdown(
        report.Report(settings(redis_receivers=1000), scale_out_rows(90_000, 0.891))
    )
    assert "## Broadcast over Redis — 1 sender, 1,000 connections" in text
    redis_line = next(line for line in text.splitlines() if line.startswith("| hubgen on Redis"))
    cells = [cell.strip() for cell in redis_line.strip("|").split("|")]
    # µs per delivery, × in memory (rate, CPU per delivery), CPU by process
    assert cells[6:] == [
        "9.90",
        "0.90",
        "1.10",
        "0.97",
        "uvicorn 1 50% · uvicorn 2 40% · redis-server 5%",
    ]
    assert "## Issue #15's targets (scale-out over Redis)" in text


def test_the_median_of_runs_takes_each_process_s_median() -> None:
    runs = [
        row(
            "broadcast-redis",
            "hubgen on Redis",
            rate,
            extra={"cpu_by_process": {"a": a, "b": b}, "writes_per_message": rate / 4},
        )
        for rate, a, b in ((1.0, 0.1, 0.9), (3.0, 0.3, 0.5), (2.0, 0.2, 0.7))
    ]
    median = report.median(runs)
    assert median.rate == 2.0
    assert median.extra["cpu_by_process"] == {"a": 0.2, "b": 0.7}
    assert median.extra["writes_per_message"] == 0.5
    assert median.extra["rates"] == [1.0, 3.0, 2.0]


def test_update_replaces_only_the_measured_scenarios() -> None:
    old = report.Report(
        settings(),
        [
            row("echo", "hubgen", 30_000),
            row("broadcast-200", "hubgen", 250_000),
            row("group", "hubgen", 110_000),
        ],
        ["group · old failure: timed out"],
    )
    new = report.Report(
        settings(
            date="2026-12-07 04:00 UTC", runs=1, redis_receivers=1000, versions={"redis": "8.2.0"}
        ),
        [*scale_out_rows(90_000, 0.891), row("group", "hubgen", 120_000)],
    )
    merged = merge(old, new, ["broadcast-redis", "group"])
    assert [(r.scenario, r.rate) for r in merged.results] == [
        ("echo", 30_000),
        ("broadcast-200", 250_000),
        ("broadcast-redis", 100_000),
        ("broadcast-redis", 90_000),
        ("broadcast-redis", 120_000),
        ("group", 120_000),
    ]
    assert merged.failures == []  # the group row measured again
    # the earlier run's settings stay; what only the new rows need is added
    assert merged.settings["date"] == "2026-12-06 19:08 UTC"
    assert merged.settings["runs"] == 3
    assert merged.settings["redis_receivers"] == 1000
    (update,) = merged.settings["updates"]
    assert update["date"] == "2026-12-07 04:00 UTC"
    assert update["scenarios"] == ["broadcast-redis", "group"]
    assert update["runs"] == 1
    text = report.markdown(merged)
    assert (
        "**Updated 2026-12-07 04:00 UTC: broadcast-redis, group measured again** (1 run(s)" in text
    )
    assert "versions: redis 8.2.0" in text

    # measured again later: the newer update replaces the one it covers
    again = merge(merged, new, ["broadcast-redis", "group"])
    assert len(again.settings["updates"]) == 1
    partly = merge(merged, report.Report(new.settings, [row("group", "hubgen", 1.0)]), ["group"])
    assert [u["scenarios"] for u in partly.settings["updates"]] == [
        ["broadcast-redis", "group"],
        ["group"],
    ]
