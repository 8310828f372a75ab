"""Run hubgen's benchmarks against its peers, side by side, and write the results.

    python -m bench.run                  # every scenario, 3 runs each (medians)
    python -m bench.run --quick          # seconds, not minutes (what CI runs)

Each server runs under the same uvicorn, pinned to CPU 0; each load generator
(Node: the official SignalR client, socket.io-client, ws) to CPU 1. Both
sides' CPU use is recorded, and rows where the load generator, not the
server, was the bottleneck are flagged. Only loopback is used; every process
is stopped by its own PID. Results go to ``bench/results/`` as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    app: str
    kind: str
    path: str
    protocol: str = "json"
    transport: str = "WebSockets"

    def url(self, port: int) -> str:
        scheme = "ws" if self.kind == "ws" else "http"
        return f"{scheme}://127.0.0.1:{port}{self.path}"


ECHO = [
    Scenario("raw WebSocket echo", "bench.apps.raw_ws:app", "ws", "/ws"),
    Scenario("python-socketio", "bench.apps.socketio_app:app", "socketio", ""),
    Scenario("hubgen JSON", "bench.apps.hubgen_app:app", "signalr", "/hub", "json"),
    Scenario("hubgen MessagePack", "bench.apps.hubgen_app:app", "signalr", "/hub", "messagepack"),
]


@dataclass
class Result:
    scenario: str
    rate: float
    p50_ms: float
    p99_ms: float
    server_cpu: float
    client_cpu: float

    @property
    def load_bound(self) -> bool:
        return self.client_cpu > 0.9 and self.server_cpu < 0.9


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() else []


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port} within {timeout}s")


def run_once(scenario: Scenario, *, connections: int, duration: float, warmup: float) -> Result:
    port = _free_port()
    server = subprocess.Popen(
        [
            *_pinned(0),
            sys.executable,
            "-m",
            "uvicorn",
            scenario.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
    )
    try:
        _wait_listening(port, server)
        cpu_before = _cpu_seconds(server.pid)
        started = time.monotonic()
        load = subprocess.run(
            [
                *_pinned(1),
                "node",
                str(BENCH / "load" / "echo.mjs"),
                "--kind",
                scenario.kind,
                "--url",
                scenario.url(port),
                "--protocol",
                scenario.protocol,
                "--transport",
                scenario.transport,
                "--connections",
                str(connections),
                "--duration",
                str(duration),
                "--warmup",
                str(warmup),
            ],
            capture_output=True,
            text=True,
            timeout=warmup + duration + 120,
            check=False,
        )
        elapsed = time.monotonic() - started
        server_cpu = (_cpu_seconds(server.pid) - cpu_before) / elapsed
        if load.returncode != 0:
            raise RuntimeError(f"{scenario.name}: load generator failed:\n{load.stderr}")
        out: dict[str, Any] = json.loads(load.stdout.strip().splitlines()[-1])
        return Result(
            scenario.name,
            out["rate"],
            out["p50_ms"],
            out["p99_ms"],
            server_cpu,
            out["client_cpu"],
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def median_result(results: list[Result]) -> Result:
    return Result(
        results[0].scenario,
        statistics.median(r.rate for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        statistics.median(r.server_cpu for r in results),
        statistics.median(r.client_cpu for r in results),
    )


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["hubgen", "starlette", "uvicorn", "websockets", "pydantic", "python-socketio"]
    found = {name: version(name) for name in names}
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found["node"] = node.stdout.strip()
    found["python"] = platform.python_version()
    return found


def render(results: list[Result], settings: dict[str, Any]) -> str:
    by_name = {r.scenario: r for r in results}
    socketio = by_name.get("python-socketio")
    raw = by_name.get("raw WebSocket echo")
    lines = [
        "# Echo benchmark",
        "",
        f"{settings['connections']} connections, closed loop, {settings['duration']} s "
        f"after {settings['warmup']} s warm-up, median of {settings['runs']} run(s); "
        f"server on CPU 0, load generator on CPU 1. {settings['date']}, "
        f"{settings['machine']}.",
        "",
        "| server | calls/s | p50 ms | p99 ms | server CPU | load CPU | × socketio | × raw WS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        vs_sio = f"{r.rate / socketio.rate:.2f}" if socketio else "-"
        vs_raw = f"{r.rate / raw.rate:.2f}" if raw else "-"
        flag = " ⚠ load-bound" if r.load_bound else ""
        lines.append(
            f"| {r.scenario}{flag} | {r.rate:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.server_cpu:.0%} | {r.client_cpu:.0%} | {vs_sio} | {vs_raw} |"
        )
    lines += [
        "",
        "⚠ load-bound: the load generator used a whole core while the server did not; the "
        "server could go faster than this row shows.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in settings["versions"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.connections, args.duration, args.warmup, args.runs = 5, 0.5, 0.2, 1
    if not (BENCH / "node_modules").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True
        )

    results = []
    for scenario in ECHO:
        runs = [
            run_once(
                scenario,
                connections=args.connections,
                duration=args.duration,
                warmup=args.warmup,
            )
            for _ in range(args.runs)
        ]
        result = median_result(runs)
        results.append(result)
        print(f"{result.scenario}: {result.rate:,.0f} calls/s, p99 {result.p99_ms:.2f} ms")

    settings = {
        "connections": args.connections,
        "duration": args.duration,
        "warmup": args.warmup,
        "runs": args.runs,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "versions": _versions(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "echo-quick" if args.quick else "echo"
    (args.out / f"{name}.md").write_text(render(results, settings))
    (args.out / f"{name}.json").write_text(
        json.dumps({"settings": settings, "results": [asdict(r) for r in results]}, indent=2) + "\n"
    )
    print(f"wrote {args.out / name}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
