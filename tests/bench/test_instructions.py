"""bench.instructions counts the server's instructions per call under callgrind,
or profiles it with cProfile."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bench.instructions import SIMULATED, _package, main

pytestmark = pytest.mark.slow


OWNED = "\\(hubgen's WebSocket protocol\\)"
UVICORN = "\\(uvicorn's WebSocket protocol\\)"


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        ("--calls 100 --connections 2", f"echo json {OWNED}: ([\\d,]+) instructions per call"),
        (
            "--calls 100 --connections 2 --ws uvicorn",
            f"echo json {UVICORN}: ([\\d,]+) instructions per call",
        ),
        (
            "--scenario broadcast --protocol messagepack --receivers 5 --messages 5",
            f"broadcast messagepack {OWNED}: ([\\d,]+) instructions per delivered message",
        ),
    ],
)
def test_counts_instructions(argv: str, what: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(argv.split())
    line = capsys.readouterr().out.strip()
    found = re.fullmatch(f"hubgen {what}", line)
    assert found, line
    # a call takes tens of thousands of instructions at least, and far fewer than
    # the tens of millions that a miscount (startup included) would show
    assert 10_000 < int(found[1].replace(",", "")) < 5_000_000


def test_simulate_adds_misses_and_mispredictions(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--simulate", "--calls", "100", "--connections", "2"])
    lines = capsys.readouterr().out.strip().splitlines()
    found = re.fullmatch(f"hubgen echo json {OWNED}: ([\\d,]+) instructions per call", lines[0])
    assert found, lines
    instructions = int(found[1].replace(",", ""))
    counted = {
        label: int(value.replace(",", ""))
        for value, label in (line.split(maxsplit=1) for line in lines[1:])
    }
    assert set(counted) == set(SIMULATED.values()), lines
    # every call misses the L1 caches and mispredicts some branches, and far
    # fewer times than it executes instructions
    for label in ("L1 instruction misses", "mispredicted indirect branches"):
        assert 0 < counted[label] < instructions / 10, lines


def test_profile_splits_the_time_by_package(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--profile", "--calls", "200", "--connections", "2"])
    out = capsys.readouterr().out
    shares = {
        name: float(share)
        for share, name in re.findall(r"^\s+([\d.]+)%\s+(\w+)$", out, re.MULTILINE)
    }
    assert {"hubgen", "uvicorn"} <= shares.keys(), out
    assert 95 < sum(shares.values()) < 105, out
    assert "hubgen/server/dispatcher.py" in out


def test_profile_attributes_frames_by_module_wherever_the_checkout_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A clone in a folder named hubgen (what `git clone .../hubgen` makes)
    with its venv inside: uvicorn's and websockets' files live under
    ``hubgen/.venv``, and still are not hubgen's."""
    clone = Path("/home/ci/hubgen")
    site = clone / ".venv/lib/python3.11/site-packages"
    stdlib = Path("/usr/lib/python3.11")
    monkeypatch.setattr(sys, "path", [str(clone), str(stdlib), str(site)])
    assert _package(f"{site}/uvicorn/protocols/websockets/websockets_sansio_impl.py") == "uvicorn"
    assert _package(f"{site}/websockets/frames.py") == "websockets"
    assert _package(f"{site}/starlette/routing.py") == "starlette"
    assert _package(f"{site}/hubgen_plugin/hubgen/x.py") == "other"
    assert _package(f"{clone}/hubgen/server/dispatcher.py") == "hubgen"
    assert _package(f"{stdlib}/asyncio/events.py") == "asyncio"
    assert _package(f"{stdlib}/json/decoder.py") == "other"
    assert _package("~") == "builtins"
    assert _package("<frozen importlib._bootstrap>") == "other"
