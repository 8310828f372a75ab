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


def test_counts_a_broadcast_over_two_processes_on_redis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two server processes on a redis-server of the tool's own: both counted,
    and each one's traffic with Redis per broadcast: the sender's process
    publishes once, the other only receives."""
    main(["--scenario", "broadcast", "--lifetime", "redis", "--receivers", "4", "--messages", "3"])
    lines = capsys.readouterr().out.strip().splitlines()
    found = re.fullmatch(
        r"hubgen broadcast json on Redis \(2 processes\) \(hubgen's WebSocket protocol\): "
        r"([\d,]+) instructions per "
        r"delivered message",
        lines[0],
    )
    assert found, lines
    assert 10_000 < int(found[1].replace(",", "")) < 5_000_000
    assert lines[1] == "  Redis traffic per broadcast, by process:", lines
    traffic = r"    process {}: {} commands{}, ([\d.,]+) bytes sent, ([\d.,]+) bytes received"
    first = re.fullmatch(traffic.format(1, "1.00", r" \(PUBLISH 1.00\)"), lines[2])
    second = re.fullmatch(traffic.format(2, "0.00", ""), lines[3])
    assert first, lines
    assert second, lines
    assert float(second[1]) == 0
    # each process gets the broadcast once from Redis (the sender's process
    # also the reply to its PUBLISH), whatever the number of its receivers
    assert 0 < float(second[2]) <= float(first[2]), lines
    assert len(lines) == 4, lines


def test_profile_adds_up_the_processes(capsys: pytest.CaptureFixture[str]) -> None:
    """Echo on Redis over two processes, each profiled: every call is
    dispatched once, on one process or the other (0.50 a call if one
    process's profile were left out)."""
    main(["--profile", "--lifetime", "redis", "--processes", "2", "--calls", "100"])
    out = capsys.readouterr().out
    assert re.search(
        r"^\s+[\d.]+%\s+1\.00\s+hubgen/server/dispatcher\.py:\d+ dispatch$", out, re.M
    ), out
    shares = [float(share) for share in re.findall(r"^\s+([\d.]+)%\s+\w+$", out, re.MULTILINE)]
    assert 95 < sum(shares) < 105, out


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        ("--processes 2", "more than one process needs --lifetime redis"),
        ("--lifetime redis --app raw", "--lifetime redis is hubgen's"),
        ("--lifetime redis --processes 0", "--processes must be at least 1"),
    ],
)
def test_refuses_what_it_cannot_count(
    argv: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(argv.split())
    assert error in capsys.readouterr().err
