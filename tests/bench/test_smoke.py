"""The benchmark suite runs (seconds of every scenario), so it never rots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.report import scenario_family
from bench.run import main
from bench.scenarios import SCENARIOS

pytestmark = [pytest.mark.node, pytest.mark.slow]


def test_quick_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "quick.json").read_text())
    assert report["failures"] == []
    results = report["results"]
    families = {scenario_family(r["scenario"]) for r in results}
    assert families == set(SCENARIOS)
    peers = {r["peer"] for r in results if r["scenario"] == "echo"}
    assert peers == {"raw WebSocket", "python-socketio", "aiosignalr", "hubgen via ASGI", "hubgen"}
    transports = {r["transport"] for r in results if r["peer"] == "hubgen"}
    assert {"WebSockets", "ServerSentEvents", "LongPolling"} <= transports
    for result in results:
        if result["scenario"] == "idle":
            assert result["extra"]["connections"] > 0, result
            continue
        assert result["rate"] > 0, result
        if result["scenario"] in ("echo", "group") or result["scenario"].startswith("broadcast"):
            assert 0 < result["p50_ms"] <= result["p99_ms"], result
            assert result["server_cpu"] is not None
            assert result["load_cpu"] is not None
    # two hubgen processes on a redis-server, against one in memory, same client
    scale_out = [r for r in results if r["scenario"] == "broadcast-redis"]
    assert [r["peer"] for r in scale_out] == ["hubgen", "hubgen on Redis"]
    assert {(r["client"], r["protocol"]) for r in scale_out} == {
        (scale_out[0]["client"], scale_out[0]["protocol"])
    }
    # (their rates are checked below: a message counts once every receiver,
    # on either process, has it, so a process that delivered nothing stalls
    # the sender at its window and the rate is 0)
    by_process = scale_out[1]["extra"]["cpu_by_process"]
    assert list(by_process) == ["uvicorn 1", "uvicorn 2", "redis-server"]
    assert all(r["extra"]["writes_per_message"] > 0 for r in scale_out)
    table = (tmp_path / "quick.md").read_text()
    assert "| hubgen " in table
    assert "(patched)" in table
    assert "| hubgen on Redis (2 processes) " in table
    assert "## Issue #15's targets (scale-out over Redis)" in table
    assert (tmp_path / "quick.png").read_bytes().startswith(b"\x89PNG")
    assert report["settings"]["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
