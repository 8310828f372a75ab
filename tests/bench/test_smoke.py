"""The benchmark suite runs (a few seconds of it), so it never rots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.run import main

pytestmark = [pytest.mark.node, pytest.mark.slow]


def test_quick_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "echo-quick.json").read_text())
    names = [r["scenario"] for r in report["results"]]
    assert names == ["raw WebSocket echo", "python-socketio", "hubgen JSON", "hubgen MessagePack"]
    for result in report["results"]:
        assert result["rate"] > 0, result
        assert 0 < result["p50_ms"] <= result["p99_ms"], result
    table = (tmp_path / "echo-quick.md").read_text()
    assert "| hubgen JSON " in table
    assert report["settings"]["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
