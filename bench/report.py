"""Results as Markdown tables (with ratios against the peers) and a PNG chart."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .scenarios import AIOSIGNALR, HUBGEN_ASGI, Measurement

TITLES = {
    "echo": "Echo — closed-loop `Echo(payload)` calls",
    "broadcast": "Broadcast fan-out — 1 sender, every connection receives",
    "broadcast-redis": "Broadcast over Redis — 1 sender, {redis_receivers} connections: "
    "one process in memory against two processes on one Redis",
    "group": "Group send — groups of {group_size}; one sender per group",
    "stream": "Stream — one server-to-client stream of small integers",
    "idle": "Idle density — resident memory per idle connection",
    "codegen": "Codegen — `hubgen generate` wall time (Python + TypeScript)",
}
UNITS = {
    "echo": "calls/s",
    "broadcast": "delivered msgs/s",
    "broadcast-redis": "delivered msgs/s",
    "group": "delivered msgs/s",
    "stream": "items/s",
    "idle": "KiB/connection",
    "codegen": "s",
}
RATIO_PEERS = (
    ("python-socketio", "× socketio"),
    ("aiosignalr", "× aiosignalr"),
    ("raw WebSocket", "× raw WS"),
)


@dataclass
class Report:
    settings: dict[str, Any]
    results: list[Measurement]
    failures: list[str] = field(default_factory=list)


def median(runs: Sequence[Measurement]) -> Measurement:
    """The median of each measured quantity over runs of one row."""

    def med(values: Iterable[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    first = runs[0]
    extra = {**first.extra, "runs": len(runs), "rates": [r.rate for r in runs]}
    if "writes_per_message" in first.extra:
        extra["writes_per_message"] = statistics.median(r.extra["writes_per_message"] for r in runs)
    if "cpu_by_process" in first.extra:
        extra["cpu_by_process"] = {
            name: statistics.median(r.extra["cpu_by_process"][name] for r in runs)
            for name in first.extra["cpu_by_process"]
        }
    return Measurement(
        first.scenario,
        first.label,
        first.peer,
        first.client,
        first.protocol,
        first.transport,
        statistics.median(r.rate for r in runs),
        med(r.p50_ms for r in runs),
        med(r.p99_ms for r in runs),
        med(r.server_cpu for r in runs),
        med(r.load_cpu for r in runs),
        extra,
    )


def scenario_family(scenario: str) -> str:
    """``broadcast-200`` → ``broadcast``; a scenario with a title of its own is its own."""
    return scenario if scenario in TITLES else scenario.split("-")[0]


def _peer_row(rows: list[Measurement], row: Measurement, peer: str) -> Measurement | None:
    """The row of ``peer`` to compare ``row`` with: same client kind and protocol if
    there is one, else same client kind, else any (raw WebSocket has one row)."""
    candidates = [r for r in rows if r.peer == peer]
    for match in (
        lambda r: r.client == row.client and r.protocol == row.protocol,
        lambda r: r.client == row.client,
        lambda r: r.protocol == row.protocol,
        lambda r: True,
    ):
        found = [r for r in candidates if match(r)]
        if found:
            return found[0]
    return None


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _scenario_title(scenario: str, settings: dict[str, Any]) -> str:
    family = scenario_family(scenario)
    title = TITLES[family].format(
        **{**settings, "redis_receivers": f"{settings.get('redis_receivers', 1000):,}"}
    )
    if family == "broadcast":
        title += f", {scenario.split('-')[1]} connections"
    return title


def _load_table(rows: list[Measurement], lower_is_better: bool = False) -> list[str]:
    scenario = rows[0].scenario
    unit = UNITS[scenario_family(scenario)]
    latency = any(r.p50_ms is not None for r in rows)
    head = f"| server | {unit} |" + (" p50 ms | p99 ms |" if latency else "")
    head += " server CPU | load CPU |" + "".join(f" {title} |" for _, title in RATIO_PEERS)
    lines = [head, "|---|---:|" + ("---:|---:|" if latency else "") + "---:|---:|" + "---:|" * 3]
    for r in rows:
        ratios = []
        for peer, _ in RATIO_PEERS:
            other = _peer_row(rows, r, peer)
            if other is None or other.rate <= 0:
                ratios.append("–")
            else:
                ratios.append(
                    f"{(other.rate / r.rate if lower_is_better else r.rate / other.rate):.2f}"
                )
        flag = " ⚠" if r.load_bound else ""
        cells = [f"{r.label}{flag}", f"{r.rate:,.0f}"]
        if latency:
            cells += [_fmt(r.p50_ms, ".2f"), _fmt(r.p99_ms, ".2f")]
        cells += [_fmt(r.server_cpu, ".0%"), _fmt(r.load_cpu, ".0%"), *ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _memory_row(rows: list[Measurement], row: Measurement) -> Measurement | None:
    """broadcast-redis: the in-memory hubgen row that ``row`` is compared with."""
    for r in rows:
        if r.peer == "hubgen" and r.client == row.client and r.protocol == row.protocol:
            return r
    return None


def cpu_per_delivery(row: Measurement) -> float | None:
    """Server-side CPU seconds per delivered message (every server process,
    Redis included), or None when not measured."""
    if row.server_cpu is None or row.rate <= 0:
        return None
    return row.server_cpu / row.rate


def _redis_table(rows: list[Measurement]) -> list[str]:
    lines = [
        "| server | delivered msgs/s | p50 ms | p99 ms | server CPU | load CPU "
        "| server CPU µs per delivery | × in memory | CPU per delivery × in memory "
        "| writes per delivery | CPU by process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        memory = _memory_row(rows, r)
        cost = cpu_per_delivery(r)
        ratio = cost_ratio = "–"
        if memory is not None and memory.rate > 0:
            ratio = f"{r.rate / memory.rate:.2f}"
            base = cpu_per_delivery(memory)
            if cost is not None and base:
                cost_ratio = f"{cost / base:.2f}"
        parts = r.extra.get("cpu_by_process") or {}
        by_process = " · ".join(f"{name} {share:.0%}" for name, share in parts.items()) or "–"
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r.label}{' ⚠' if r.load_bound else ''}",
                    f"{r.rate:,.0f}",
                    _fmt(r.p50_ms, ".2f"),
                    _fmt(r.p99_ms, ".2f"),
                    _fmt(r.server_cpu, ".0%"),
                    _fmt(r.load_cpu, ".0%"),
                    _fmt(None if cost is None else cost * 1e6, ".2f"),
                    ratio,
                    cost_ratio,
                    _fmt(r.extra.get("writes_per_message"), ".2f"),
                    by_process,
                ]
            )
            + " |"
        )
    return lines


def scale_out_targets(results: list[Measurement]) -> list[str]:
    """Issue #15's wall-clock target: at 1,000 receivers the Redis path adds at
    most 15% per delivery, in the rate (≥ 1/1.15 of in memory) and in the
    server side's CPU time per delivery (≤ 1.15×), same client and protocol."""
    rows = [r for r in results if r.scenario == "broadcast-redis"]
    lines: list[str] = []
    for r in rows:
        memory = _memory_row(rows, r)
        if r.peer == "hubgen" or memory is None or memory.rate <= 0 or r.rate <= 0:
            continue
        compared = f"{r.label} / {memory.label}"
        rate = r.rate / memory.rate
        lines.append(
            f"| rate ≥ {1 / 1.15:.2f}× in memory | {compared} | {rate:.2f} "
            f"| {'✓' if rate >= 1 / 1.15 else '✗'} |"
        )
        cost, base = cpu_per_delivery(r), cpu_per_delivery(memory)
        if cost is not None and base:
            lines.append(
                f"| server CPU per delivery ≤ 1.15× in memory | {compared} | {cost / base:.2f} "
                f"| {'✓' if cost / base <= 1.15 else '✗'} |"
            )
    if not lines:
        return []
    return ["| target | rows compared | ratio | met |", "|---|---|---:|:---:|", *lines]


def _idle_table(rows: list[Measurement]) -> list[str]:
    raw = next((r for r in rows if r.peer == "raw WebSocket"), None)
    lines = [
        "| server | KiB/connection | × raw WS | connections | server RSS before → after |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r.rate / raw.rate:.2f}" if raw and raw.rate > 0 else "–"
        before, after = r.extra.get("rss_warm", 0) / 2**20, r.extra.get("rss_ready", 0) / 2**20
        lines.append(
            f"| {r.label} | {r.rate / 1024:,.1f} | {ratio} | {r.extra.get('connections', '–')} | "
            f"{before:,.0f} → {after:,.0f} MiB |"
        )
    return lines


def _codegen_table(rows: list[Measurement]) -> list[str]:
    lines = ["| hubs × methods | wall time s | ms per hub |", "|---|---:|---:|"]
    for r in rows:
        hubs = int(r.extra["hubs"])
        lines.append(
            f"| {hubs} × {r.extra['methods'] // hubs} | {r.rate:.2f} | "
            f"{1000 * r.rate / hubs:,.0f} |"
        )
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        scale = large.extra["hubs"] / small.extra["hubs"]
        extra_hubs = large.extra["hubs"] - small.extra["hubs"]
        marginal = (large.rate - small.rate) / extra_hubs
        fixed = small.rate - marginal * small.extra["hubs"]
        lines += [
            "",
            f"Fit through both points: {fixed:.2f} s fixed (interpreter start, imports) + "
            f"{1000 * marginal:.0f} ms per hub; {scale:.0f}× the hubs "
            f"took {large.rate / small.rate:.1f}× the time.",
        ]
    return lines


def _find(
    rows: list[Measurement], scenario: str, peer: str, client: str, protocol: str = "json"
) -> Measurement | None:
    for r in rows:
        if (
            r.scenario == scenario
            and r.peer == peer
            and r.client in (client, "ws")
            and r.transport == "WebSockets"
            and (r.protocol == protocol or r.peer not in ("hubgen", "aiosignalr"))
        ):
            return r
    return None


def targets(results: list[Measurement]) -> list[str]:
    """Issue #5's targets, checked against this run's rows (same client kind)."""
    checks: list[tuple[str, str, float, float]] = []  # target, compared, ratio, bound

    def ratio(target: str, a: Measurement | None, b: Measurement | None, bound: float) -> None:
        if a is not None and b is not None and a.rate > 0 and b.rate > 0:
            checks.append((target, f"{a.label} / {b.label}", a.rate / b.rate, bound))

    for client in ("official", "lean"):
        for protocol in ("json", "messagepack"):
            hub = _find(results, "echo", "hubgen", client, protocol)
            sio = _find(results, "echo", "python-socketio", client)
            ratio("echo ≥ 2.0× python-socketio", hub, sio, 2.0)
            aio = _find(results, "echo", "aiosignalr", client, protocol)
            ratio("echo ≥ 1.3× aiosignalr", hub, aio, 1.3)
            ratio(
                "echo ≥ 0.6× raw WebSocket", hub, _find(results, "echo", "raw WebSocket", "ws"), 0.6
            )
            if hub is not None and sio is not None and hub.p99_ms and sio.p99_ms:
                checks.append(
                    (
                        "echo p99 ≤ python-socketio's",
                        f"{hub.label} / {sio.label}",
                        hub.p99_ms / sio.p99_ms,
                        -1.0,
                    )
                )
            ratio(
                "broadcast (1,000) ≥ 3× python-socketio",
                _find(results, "broadcast-1000", "hubgen", client, protocol),
                _find(results, "broadcast-1000", "python-socketio", client),
                3.0,
            )
        ratio(
            "MessagePack echo ≥ JSON echo",
            _find(results, "echo", "hubgen", client, "messagepack"),
            _find(results, "echo", "hubgen", client, "json"),
            1.0,
        )
    raw_idle = _find(results, "idle", "raw WebSocket", "ws")
    for protocol in ("json", "messagepack"):
        hub_idle = _find(results, "idle", "hubgen", "lean", protocol)
        if hub_idle is not None and raw_idle is not None and raw_idle.rate > 0:
            checks.append(
                (
                    "idle memory ≤ 1.5× raw WebSocket",
                    f"{hub_idle.label} / raw",
                    hub_idle.rate / raw_idle.rate,
                    -1.5,
                )
            )
    return _checked(checks)


def targets_18(results: list[Measurement]) -> list[str]:
    """Issue #18's targets (hubgen on its own WebSocket protocol), as ratios
    of this run's rows: instruction counts check the same in performance.md."""
    checks: list[tuple[str, str, float, float]] = []

    def ratio(target: str, a: Measurement | None, b: Measurement | None, bound: float) -> None:
        if a is not None and b is not None and a.rate > 0 and b.rate > 0:
            checks.append((target, f"{a.label} / {b.label}", a.rate / b.rate, bound))

    raw = _find(results, "echo", "raw WebSocket", "ws")
    for client in ("official", "lean"):
        for protocol in ("json", "messagepack"):
            hub = _find(results, "echo", "hubgen", client, protocol)
            ratio("echo ≥ 1.0× raw WebSocket (uvicorn's default stack)", hub, raw, 1.0)
            ratio(
                "broadcast (1,000) ≥ 20× python-socketio",
                _find(results, "broadcast-1000", "hubgen", client, protocol),
                _find(results, "broadcast-1000", "python-socketio", client),
                20.0,
            )
    raw_idle = _find(results, "idle", "raw WebSocket", "ws")
    for protocol in ("json", "messagepack"):
        hub_idle = _find(results, "idle", "hubgen", "lean", protocol)
        if hub_idle is not None and raw_idle is not None and raw_idle.rate > 0:
            checks.append(
                (
                    "idle memory ≤ 1.1× raw WebSocket",
                    f"{hub_idle.label} / raw",
                    hub_idle.rate / raw_idle.rate,
                    -1.1,
                )
            )
    return _checked(checks)


def _checked(checks: list[tuple[str, str, float, float]]) -> list[str]:
    """A table of (target, rows compared, ratio, bound): a negative bound is
    an upper one."""
    if not checks:
        return []
    lines = ["| target | rows compared | ratio | met |", "|---|---|---:|:---:|"]
    for target, compared, value, bound in checks:
        met = value <= -bound if bound < 0 else value >= bound
        lines.append(f"| {target} | {compared} | {value:.2f} | {'✓' if met else '✗'} |")
    return lines


def _updates(settings: dict[str, Any]) -> list[str]:
    """Lines saying which scenarios were measured again since (``bench.run --update``)."""
    lines = []
    for u in settings.get("updates", []):
        scenarios = ", ".join(u["scenarios"])
        versions = ", ".join(f"{k} {v}" for k, v in u["versions"].items())
        lines += [
            f"**Updated {u['date']}: {scenarios} measured again** ({u['runs']} run(s) per row, "
            f"{u['duration']} s after a {u['warmup']} s warm-up; versions: {versions})."
            + (f" {u['note']}" if u.get("note") else ""),
            "",
        ]
    return lines


def markdown(report: Report, *, chart: str | None = None) -> str:
    s = report.settings
    lines = [
        "# hubgen benchmarks",
        "",
        f"{s['date']} · {s['machine']} · {s['mode']}",
        "",
        *_updates(s),
        *([f"**{s['note']}**", ""] if s.get("note") else []),
        f"Median of {s['runs']} run(s) per row; each run measures {s['duration']} s after a "
        f"{s['warmup']} s warm-up. Server (uvicorn, one worker) pinned to CPU {s['server_cpu']}, "
        f"load generator (Node) to CPU {s['load_cpu']}; CPU columns are each process's "
        "user+system time over the measured window (100% = one core). WebSocket "
        f"permessage-deflate: {s['ws_deflate']}. Payloads are {s['payload']}-byte strings.",
        "",
        "Load generators: *official* = `@microsoft/signalr` (+ `signalr-protocol-msgpack`) for "
        "SignalR servers, `socket.io-client` for python-socketio; "
        "*lean* = `bench/load/clients.mjs`, "
        "the same wire protocols over `ws` without the official clients' per-message overhead; "
        "the raw WebSocket baseline always uses `ws`.",
        "",
    ]
    if chart:
        lines += [f"![benchmark chart]({chart})", ""]
    by_scenario: dict[str, list[Measurement]] = {}
    for r in report.results:
        by_scenario.setdefault(r.scenario, []).append(r)
    for scenario, rows in by_scenario.items():
        lines += [f"## {_scenario_title(scenario, s)}", ""]
        family = scenario_family(scenario)
        if family == "idle":
            lines += _idle_table(rows)
        elif family == "codegen":
            lines += _codegen_table(rows)
        elif family == "broadcast-redis":
            lines += _redis_table(rows)
        else:
            lines += _load_table(rows)
        if family == "group":
            lines += [
                "",
                f"{s['group_connections']} connections; each sender keeps {s['group_window']} "
                "messages in flight; latency is from the send to each delivery.",
            ]
        if family == "stream":
            lines += ["", "python-socketio has no streams, so no row."]
        if family.startswith("broadcast"):
            lines += [
                "",
                f"The sender keeps {s['window']} broadcasts in flight; latency is from the send "
                "to each delivery.",
            ]
        if family == "broadcast-redis":
            lines += [
                "",
                "The Redis rows run two uvicorn processes with `RedisLifetimeManager` on one "
                "redis-server, started for the run on a free loopback port; the receivers are "
                "split evenly between the processes, the sender is on the first. All three "
                "processes are pinned to the server's core, as the single in-memory process is, "
                "so both sides of a comparison have one core: server CPU is the sum of the "
                "three, and the ratios are the cost of going through Redis, not a gain from a "
                "second core (this machine has two, and the load generator needs the other). "
                "*Writes per delivery*: the server side's write system calls (`syscw` in "
                "`/proc/<pid>/io`) per delivered message; below 1 where a connection's "
                "writer sends several queued messages in one write.",
            ]
        lines.append("")
    goals = targets(report.results)
    if goals:
        lines += [
            "## Issue #5's targets",
            "",
            "Each hubgen row against the peer's row with the same client kind (and protocol); "
            "a ✗ on a ⚠ row may be the load generator's, not the server's.",
            "",
            *goals,
            "",
        ]
    goals = targets_18(report.results)
    if goals:
        lines += [
            "## Issue #18's targets",
            "",
            "hubgen on its own WebSocket protocol, against the raw WebSocket echo and the "
            "peers on uvicorn's default one; a ✗ on a ⚠ row may be the load generator's.",
            "",
            *goals,
            "",
        ]
    scale_out = scale_out_targets(report.results)
    if scale_out:
        lines += [
            "## Issue #15's targets (scale-out over Redis)",
            "",
            "At 1,000 receivers the Redis path adds at most 15% per delivery: each Redis row "
            "against the in-memory row of the same client kind and protocol. The same target "
            "in instruction counts, and the other two (Redis work per broadcast, echo): "
            "performance.md.",
            "",
            *scale_out,
            "",
        ]
    lines += [
        "## Notes",
        "",
        "- ⚠ marks rows where the load generator used ≥ 90% of its core: it may be the "
        "bottleneck, and the server could go faster than the row shows.",
        "- Ratios compare with the peer's row of the same scenario, client kind and protocol "
        "where there is one (else the closest).",
        f"- {HUBGEN_ASGI.note}.",
        f"- {AIOSIGNALR.note}. Its rows say *patched*.",
        "- Every server's `Counter` stream yields to the event loop every 256 items.",
        "- The raw WebSocket fan-out (broadcast, group) is the naive loop a user would write, "
        "`await send_text` per receiver; a server that writes to many sockets without awaiting "
        "each can beat it, so in those rows it is a reference point, not a ceiling.",
        "- Idle density: the server's VmRSS (`/proc/<pid>/status`) with 50 connections open, "
        "then with the measured number more, divided by that number; the connections are "
        "opened by the lean clients (same handshake as the official ones) and answer "
        "keep-alive pings. The server starts fresh for every run.",
    ]
    if report.failures:
        lines += ["", "## Failed rows", ""] + [f"- {f}" for f in report.failures]
    versions = ", ".join(f"{k} {v}" for k, v in s["versions"].items())
    lines += ["", f"Versions: {versions}.", ""]
    return "\n".join(lines)


def chart(report: Report, path: Path) -> None:
    """One horizontal bar chart per scenario, each row coloured by server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "hubgen": "#2a7ab9",
        "hubgen via ASGI": "#8fbfe0",
        "hubgen on Redis": "#7fb3e0",
        "aiosignalr": "#e69f00",
        "python-socketio": "#999999",
        "raw WebSocket": "#3c3c3c",
    }
    by_scenario: dict[str, list[Measurement]] = {}
    for r in report.results:
        by_scenario.setdefault(r.scenario, []).append(r)
    if not by_scenario:
        return
    heights = [max(2, len(rows)) for rows in by_scenario.values()]
    figure, axes = plt.subplots(
        len(by_scenario),
        1,
        figsize=(10, 1.2 * len(by_scenario) + 0.32 * sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (scenario, rows) in zip(axes[:, 0], by_scenario.items(), strict=True):
        family = scenario_family(scenario)
        values = [r.rate / 1024 if family == "idle" else r.rate for r in rows]
        bars = ax.barh(
            [r.label + (" ⚠" if r.load_bound else "") for r in rows],
            values,
            color=[colours.get(r.peer, "#66a61e") for r in rows],
        )
        for bar, r in zip(bars, rows, strict=True):
            if r.load_bound:
                bar.set_hatch("//")
        ax.invert_yaxis()
        ax.bar_label(
            bars,
            labels=[f"{v:,.0f}" if v >= 10 else f"{v:.2f}" for v in values],
            fontsize=7,
            padding=2,
        )
        ax.set_title(
            _scenario_title(scenario, report.settings).replace("`", ""), fontsize=9, loc="left"
        )
        ax.set_xlabel(
            UNITS[family] + (" (lower is better)" if family in ("idle", "codegen") else ""),
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
        ax.margins(x=0.15)
    s = report.settings
    figure.suptitle(f"hubgen benchmarks · {s['date']} · {s['machine']}", fontsize=10)
    # leave the suptitle its own strip above the first chart's title
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.4 / figure.get_figheight()))
    figure.savefig(path, dpi=110)
    plt.close(figure)
