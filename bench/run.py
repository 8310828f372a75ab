"""Run hubgen's benchmarks against its peers, side by side, and write the results.

    python -m bench.run                          # every scenario, 3 runs per row (medians)
    python -m bench.run --scenario echo stream   # some scenarios
    python -m bench.run --peer hubgen --peer raw # rows of some servers only
    python -m bench.run --quick                  # a smoke run of every scenario (CI)

Scenarios: echo, broadcast (200 and 1,000 connections), broadcast-redis (1,000
connections on hubgen in one process, in memory, against two hubgen processes on
one redis-server), group, stream, idle (memory per idle connection) and codegen.
Servers: a raw WebSocket baseline, python-socketio, aiosignalr (patched, see
bench/apps/aiosignalr_app.py) and hubgen, each under the same uvicorn, pinned to
CPU 0 (a cluster's two uvicorn processes and its redis-server all on CPU 0);
the Node load generator (bench/load) is pinned to CPU 1. Both sides' CPU time
is recorded and rows where the load generator used a whole core are flagged.
Only loopback is used; every process is stopped by its own PID. Results:
bench/results/benchmarks.{md,json,png} and docs/benchmarks.md (``--quick``
writes quick.* and leaves docs alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import report
from .harness import (
    LOAD_CPU,
    ROOT,
    SERVER_CPU,
    Cluster,
    Served,
    Server,
    raise_open_files_limit,
    redis_server_version,
)
from .scenarios import (
    HUBGEN,
    HUBGEN_REDIS,
    PEERS,
    SCENARIOS,
    Measurement,
    Peer,
    Row,
    Settings,
    measure_codegen,
    measure_idle,
    measure_load,
    rows_for,
)

BENCH = ROOT / "bench"
DOCS = ROOT / "docs" / "benchmarks.md"

QUICK = Settings(
    duration=0.3,
    warmup=0.15,
    echo_connections=4,
    broadcast_receivers=(20,),
    group_connections=20,
    group_size=5,
    window=2,
    group_window=2,
    redis_receivers=20,
    idle_connections=100,
    codegen_hubs=(1, 2),
    settle=0.2,
)


def quick_rows(scenario: str, rows: list[Row]) -> list[Row]:
    """A few rows of a scenario for the smoke run: every server once, cycling
    through client kinds and protocols so that every code path runs somewhere."""
    shift = SCENARIOS.index(scenario)
    # hubgen on Redis picks what hubgen picks: the row it is compared with
    offsets = {peer: i for i, peer in enumerate(PEERS)} | {HUBGEN_REDIS: PEERS.index(HUBGEN)}
    picked: list[Row] = []
    for peer, offset in offsets.items():
        options = [r for r in rows if r.peer is peer and r.transport == "WebSockets"]
        if options:
            picked.append(options[(shift + offset) % len(options)])
    picked += [r for r in rows if r.transport != "WebSockets"]
    return picked


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    return f"{model or platform.machine()}, {os.cpu_count()} CPUs, {system}"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in (
        "hubgen",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "websockets",
        "pydantic",
        "pydantic-core",
        "msgpack",
        "redis",
        "python-socketio",
        "aiosignalr",
    ):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    found["redis-server"] = redis_server_version() or "not installed"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found["node"] = node.stdout.strip()
    lock = json.loads((BENCH / "package-lock.json").read_text())["packages"]
    for name in ("@microsoft/signalr", "socket.io-client", "ws"):
        found[name] = lock.get(f"node_modules/{name}", {}).get("version", "?")
    return found


class Servers:
    """Starts servers: a fresh one (or cluster: processes on a fresh redis-server)
    for every run, or (``shared``) one per peer for the whole session, as the
    smoke run does to stay within seconds."""

    def __init__(self, extra_args: tuple[str, ...], shared: bool) -> None:
        self.extra_args = extra_args
        self.shared = shared
        self._running: dict[Peer, Server | Cluster] = {}

    def _start(self, peer: Peer) -> Server | Cluster:
        args = (*self.extra_args, *peer.server_args)
        if peer.processes > 1:
            return Cluster(peer.app, peer.processes, args)
        return Server(peer.app, args)

    @contextlib.contextmanager
    def get(self, peer: Peer, *, fresh: bool = False) -> Iterator[Served]:
        if self.shared and not fresh:
            if peer not in self._running:
                self._running[peer] = self._start(peer)
            yield self._running[peer]
            return
        server = self._start(peer)
        try:
            yield server
        finally:
            server.close()

    def close(self) -> None:
        for server in self._running.values():
            server.close()
        self._running.clear()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_suite(
    scenarios: list[str],
    settings: Settings,
    *,
    runs: int,
    quick: bool,
    peers: list[str],
    ws_deflate: bool,
    note: str = "",
) -> report.Report:
    limit = raise_open_files_limit()
    if settings.idle_connections + 200 > limit:
        _log(f"open-files limit {limit}: idle density with {limit - 200} connections")
        settings = replace(settings, idle_connections=max(100, limit - 200))
    extra_args = () if ws_deflate else ("--ws-per-message-deflate", "false")
    servers = Servers(extra_args, shared=quick)
    results: list[Measurement] = []
    failures: list[str] = []
    try:
        for scenario in scenarios:
            if scenario == "codegen":
                for hubs in settings.codegen_hubs:
                    try:
                        measured = report.median([measure_codegen(hubs) for _ in range(runs)])
                    except Exception as error:  # reported, the suite goes on
                        failures.append(f"codegen · {hubs} hubs: {error}")
                        _log(f"FAILED codegen {hubs} hubs: {error}")
                        continue
                    _log(f"codegen {hubs} hubs: {measured.rate:.2f} s")
                    results.append(measured)
                continue
            rows = rows_for(scenario, settings)
            if quick:
                rows = quick_rows(scenario, rows)
            rows = [
                r for r in rows if not peers or any(p.lower() in r.peer.name.lower() for p in peers)
            ]
            failed: set[str] = set()
            # Rounds, not rows, on the outside: every row is measured once per
            # round, so a slow drift of the machine (a noisy neighbour for a
            # minute) lands on every row of a comparison alike instead of on
            # the runs of one row.
            samples: dict[Row, list[Measurement]] = {row: [] for row in rows}
            measure: Callable[[Row, Served, Settings], Measurement]
            measure = measure_idle if scenario == "idle" else measure_load
            started = time.monotonic()
            for round_number in range(1, runs + 1):
                for row in rows:
                    if row.label in failed:
                        continue
                    try:
                        with servers.get(
                            row.peer, fresh=scenario == "idle" and not quick
                        ) as server:
                            sample = measure(row, server, settings)
                    except Exception as error:  # a failed row is reported, the suite goes on
                        failed.add(row.label)
                        reason = str(error).strip()[:2000]
                        failures.append(f"{row.scenario} · {row.label}: {reason}")
                        _log(f"FAILED {row.scenario} {row.label}: {error}")
                        continue
                    samples[row].append(sample)
                    if runs > 1:
                        _log(f"  round {round_number}/{runs} {row.label:<48} {sample.rate:>12,.0f}")
            for row in rows:
                if row.label in failed or not samples[row]:
                    continue
                measured = report.median(samples[row])
                results.append(measured)
                _log(
                    f"{row.scenario:<15} {row.label:<48} {measured.rate:>12,.0f}  "
                    f"cpu {measured.server_cpu or 0:.0%}/{measured.load_cpu or 0:.0%}"
                    f"{'  ⚠ load-bound' if measured.load_bound else ''}"
                )
            _log(f"{scenario}: {time.monotonic() - started:.1f} s")
    finally:
        servers.close()
    report_settings: dict[str, Any] = {
        **asdict(settings),
        "runs": runs,
        "mode": "quick smoke run (not a measurement)" if quick else "full run",
        "note": note,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "server_cpu": SERVER_CPU,
        "load_cpu": LOAD_CPU,
        "ws_deflate": "on (uvicorn's default)"
        if ws_deflate
        else "off (uvicorn --ws-per-message-deflate false)",
        "versions": _versions(),
    }
    return report.Report(report_settings, results, failures)


def load(path: Path) -> report.Report:
    """A report as ``write`` saved it."""
    saved = json.loads(path.read_text())
    return report.Report(
        saved["settings"], [Measurement(**r) for r in saved["results"]], saved["failures"]
    )


def merge(old: report.Report, new: report.Report, scenarios: list[str]) -> report.Report:
    """``old`` with the rows of ``scenarios`` replaced by ``new``'s (``--update``):
    the other rows, and the settings they were measured with, stay; the
    update is recorded in ``settings["updates"]``, with its date, settings
    and versions, and the page says which scenarios were measured when."""
    measured = set(scenarios)
    kept = [r for r in old.results if report.scenario_family(r.scenario) not in measured]
    failures = [
        f for f in old.failures if report.scenario_family(f.split(" · ", 1)[0]) not in measured
    ]
    order = {scenario: i for i, scenario in enumerate(SCENARIOS)}
    results = sorted(
        kept + new.results, key=lambda r: order.get(report.scenario_family(r.scenario), len(order))
    )
    n = new.settings
    update = {
        "date": n["date"],
        "scenarios": [s for s in SCENARIOS if s in measured],
        "runs": n["runs"],
        "duration": n["duration"],
        "warmup": n["warmup"],
        "note": n.get("note", ""),
        "versions": n["versions"],
    }
    # what the new rows need to be rendered (a new scenario's settings)
    settings = {**{k: v for k, v in n.items() if k not in old.settings}, **old.settings}
    settings["updates"] = [
        *(u for u in old.settings.get("updates", []) if set(u["scenarios"]) - measured),
        update,
    ]
    return report.Report(settings, results, failures + new.failures)


def write(result: report.Report, out: Path, name: str, *, docs: Path | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{name}.png"
    report.chart(result, png)
    (out / f"{name}.md").write_text(report.markdown(result, chart=png.name))
    (out / f"{name}.json").write_text(
        json.dumps(
            {
                "settings": result.settings,
                "results": [asdict(r) for r in result.results],
                "failures": result.failures,
            },
            indent=2,
        )
        + "\n"
    )
    if docs is not None:
        chart_link = os.path.relpath(png, docs.parent)
        docs.write_text(
            report.markdown(result, chart=chart_link).replace("# hubgen benchmarks", DOCS_HEAD, 1)
        )
    return out / f"{name}.md"


DOCS_HEAD = """# Benchmarks

hubgen measured side by side with what Python users would otherwise pick, on the
same machine in the same run. This page and `bench/results/benchmarks.*` are
written by the suite; numbers from a shared or busy machine are noise, so compare
ratios within one run, not numbers across machines.

## Running it

```sh
scripts/bootstrap dev                              # pinned Python and Node packages
.venv/bin/python -m bench.run                      # everything, 3 runs per row (~30 min)
.venv/bin/python -m bench.run --scenario echo --peer hubgen --peer socketio --runs 5
.venv/bin/python -m bench.run --quick --out /tmp/b # the smoke run CI does (tests/bench)
.venv/bin/python -m bench.run --render bench/results/benchmarks.json  # re-render only
.venv/bin/python -m bench.run --scenario broadcast-redis --update     # measure one scenario again
```

`--update` replaces only the measured scenarios' rows in
`bench/results/benchmarks.json` and says below which were measured when.

Scenarios (modeled on the SignalR team's): **echo** (50 connections calling
`Echo(payload)` in a closed loop; also over SSE and Long Polling), **broadcast**
(one sender, every one of 200 / 1,000 connections receives), **broadcast-redis**
(the same to 1,000 connections: hubgen in one process in memory against two hubgen
processes with `RedisLifetimeManager` on one redis-server, the receivers split
between them), **group** (groups of 10, one sender each), **stream** (one
server-to-client stream of integers), **idle** (memory per idle connection, 5,000
connections) and **codegen** (`hubgen generate` for 10 and 100 synthetic hubs of
20 methods). Servers: a raw Starlette WebSocket endpoint (the limit of the stack),
python-socketio, aiosignalr and hubgen, all under the same uvicorn; see
`bench/apps/`. Load generators are in `bench/load/`; `bench/load/clients.mjs`
holds the one connection interface over the official clients and the lean ones.
Each run starts a fresh server process (for broadcast-redis: a fresh redis-server
on a free loopback port and two server processes on it); every process is
stopped by its own PID; only loopback is used.

**Pinning.** The server is pinned to CPU 0 and the load generator to CPU 1. In
broadcast-redis, both server processes and redis-server are pinned to CPU 0
too: on a 2-core machine the load generator needs the other core, and with the
same one core on both sides the comparison measures what going through Redis
costs per delivery (the table's *server CPU µs per delivery*, summed over the
three processes), not what a second core would add.

Where the server's time goes, measured in instructions per call rather than
wall-clock time (`python -m bench.instructions`), and what was optimized with
the numbers before and after: [performance.md](performance.md). Scale-out over
Redis, counted the same way (`python -m bench.scale_out`): [performance.md,
*Scale-out over Redis*](performance.md#scale-out-over-redis).

## Latest run"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--peer", action="append", default=[], help="only rows of servers whose name contains this"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of every scenario, in seconds"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per row (the median is reported)")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per run (default 1)")
    parser.add_argument(
        "--idle-connections", type=int, help="idle density connections (default 5000)"
    )
    parser.add_argument(
        "--ws-deflate", action="store_true", help="leave uvicorn's permessage-deflate on"
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--window", type=int, help="broadcasts in flight (default 16)")
    parser.add_argument(
        "--render", type=Path, help="rewrite the Markdown, chart and docs from a results JSON"
    )
    parser.add_argument("--note", default="", help="a sentence for the report's header")
    parser.add_argument(
        "--no-docs", action="store_true", help=f"don't rewrite {DOCS.relative_to(ROOT)}"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="replace only the measured scenarios' rows in OUT/benchmarks.json "
        "(keeping the others, and saying which were measured when) and rewrite from there",
    )
    args = parser.parse_args(argv)
    if args.update and (args.quick or args.render):
        parser.error("--update goes with a measured run, not --quick or --render")
    if args.update and not (args.out / "benchmarks.json").exists():
        parser.error(f"--update needs {args.out / 'benchmarks.json'} from an earlier run")

    if args.render is not None:
        result = load(args.render)
        name = args.render.stem
        written = write(result, args.render.parent, name, docs=None if args.no_docs else DOCS)
        print(f"wrote {written}")
        return 0
    settings = QUICK if args.quick else Settings()
    runs = 1 if args.quick else args.runs
    overrides: dict[str, Any] = {}
    if args.duration is not None:
        overrides["duration"] = args.duration
    if args.warmup is not None:
        overrides["warmup"] = args.warmup
    if args.idle_connections is not None:
        overrides["idle_connections"] = args.idle_connections
    if args.window is not None:
        overrides["window"] = args.window
    settings = replace(settings, **overrides)
    if not (BENCH / "node_modules").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True
        )

    result = run_suite(
        args.scenario,
        settings,
        runs=runs,
        quick=args.quick,
        peers=args.peer,
        ws_deflate=args.ws_deflate,
        note=args.note,
    )
    if args.update:
        result = merge(load(args.out / "benchmarks.json"), result, args.scenario)
    docs = None if args.quick or args.no_docs else DOCS
    written = write(result, args.out, "quick" if args.quick else "benchmarks", docs=docs)
    print(f"wrote {written}" + (f" and {docs.relative_to(ROOT)}" if docs else ""))
    return 1 if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
