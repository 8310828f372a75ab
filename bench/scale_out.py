"""Issue #15's instruction-count targets for scale-out over Redis, measured
with ``bench.instructions`` and written to bench/results/scale-out.{json,md}.

    python -m bench.scale_out                       # everything (~15 min)
    python -m bench.scale_out --protocol json       # one protocol
    python -m bench.scale_out --quick --out /tmp/s  # seconds: the tests' run

Counted, for each protocol: an echo call in memory and on Redis (one
process); a broadcast's delivered message at two receiver counts (100 and
1,000), in memory (one process), on Redis in one process, and on Redis in two
(receivers split, the sender on the first); and each process's traffic with
Redis per broadcast (commands, bytes each way), counted by the relays of
``bench.redis_meter``. The targets:

- at 1,000 receivers the Redis path adds at most 15% per delivery;
- a process does a constant amount of Redis work per broadcast whatever the
  number of receivers (the same commands and bytes at both counts);
- an echo call costs at most 5% more with the Redis manager on.

The wall-clock side (deliveries/s, two processes on Redis against one in
memory) is ``python -m bench.run --scenario broadcast-redis``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .harness import ROOT, redis_server_version
from .instructions import exit_on_sigterm, measure, parse_args, processes_of, traffic_line
from .redis_meter import Traffic

RESULTS = ROOT / "bench" / "results"
PROTOCOLS = {"json": "JSON", "messagepack": "MessagePack"}
#: (lifetime, processes) of the broadcast counts, in the tables' order
BROADCASTS = (("memory", 1), ("redis", 1), ("redis", 2))


@dataclass
class Count:
    """One ``bench.instructions`` run."""

    scenario: str
    protocol: str
    lifetime: str
    processes: int
    receivers: int
    #: instructions per call (echo) or per delivered message (broadcast)
    instructions: float
    units: int
    sends: int
    #: per process: sent and received bytes, commands by name, over the run
    traffic: dict[str, dict[str, Any]] = field(default_factory=dict)

    def per_send(self) -> dict[str, Traffic]:
        """Each process's traffic (totals; divide by ``sends``)."""
        return {
            name: Traffic(t["sent"], t["received"], Counter(t["commands"]))
            for name, t in self.traffic.items()
        }


@dataclass(frozen=True)
class Plan:
    protocols: tuple[str, ...]
    receivers: tuple[int, int]
    messages: int
    calls: int
    connections: int


FULL = Plan(("json", "messagepack"), (100, 1000), 50, 2000, 10)
QUICK = Plan(("json",), (4, 8), 3, 60, 2)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def count(argv: list[str]) -> Count:
    # Through uvicorn's own WebSocket protocol (ASGI), as the counts this
    # tool published for #15 were made: the Redis path against memory on
    # the same stack. (hubgen's own protocol makes the in-memory delivery
    # 7x cheaper, and so the ratio a different question.)
    args = parse_args(["--ws", "uvicorn", *argv])
    counted = measure(args)
    measured = Count(
        args.scenario,
        args.protocol,
        args.lifetime,
        processes_of(args),
        args.receivers if args.scenario == "broadcast" else 0,
        counted.server["Ir"],
        counted.units,
        counted.sends,
        {
            name: {"sent": t.sent, "received": t.received, "commands": dict(t.commands)}
            for name, t in counted.traffic.items()
        },
    )
    _log(f"  {' '.join(argv)}: {measured.instructions:,.0f}")
    return measured


def run(plan: Plan) -> list[Count]:
    counts = []
    for protocol in plan.protocols:
        for lifetime in ("memory", "redis"):
            counts.append(
                count(
                    [
                        "--protocol",
                        protocol,
                        "--lifetime",
                        lifetime,
                        "--calls",
                        str(plan.calls),
                        "--connections",
                        str(plan.connections),
                    ]
                )
            )
        for receivers in plan.receivers:
            for lifetime, processes in BROADCASTS:
                counts.append(
                    count(
                        [
                            "--scenario",
                            "broadcast",
                            "--protocol",
                            protocol,
                            "--lifetime",
                            lifetime,
                            "--processes",
                            str(processes),
                            "--receivers",
                            str(receivers),
                            "--messages",
                            str(plan.messages),
                        ]
                    )
                )
    return counts


def _find(counts: list[Count], **match: Any) -> Count | None:
    for c in counts:
        if all(getattr(c, key) == value for key, value in match.items()):
            return c
    return None


def _traffic_key(traffic: Traffic, sends: int) -> tuple[float, float, float, tuple[Any, ...]]:
    """What "the same Redis work per broadcast" compares."""
    commands = tuple(sorted((name, n / sends) for name, n in traffic.commands.items()))
    total = sum(traffic.commands.values()) / sends
    return total, traffic.sent / sends, traffic.received / sends, commands


def extra_cost(counts: list[Count], protocol: str, plan: Plan) -> tuple[float, float] | None:
    """What Redis (one process) adds to a broadcast over memory, as a fixed
    part per broadcast and a part per delivery: the line through both
    receiver counts of (Redis − memory) × receivers."""
    points = []
    for receivers in plan.receivers:
        memory, redis = (
            _find(
                counts,
                scenario="broadcast",
                protocol=protocol,
                lifetime=lifetime,
                processes=1,
                receivers=receivers,
            )
            for lifetime in ("memory", "redis")
        )
        if memory is None or redis is None:
            return None
        points.append((receivers, (redis.instructions - memory.instructions) * receivers))
    (low, at_low), (high, at_high) = points
    per_delivery = (at_high - at_low) / (high - low)
    return at_low - per_delivery * low, per_delivery


def targets(counts: list[Count], plan: Plan) -> list[tuple[str, str, str, bool]]:
    """(target, what was compared, measured, met) for each protocol."""
    checks: list[tuple[str, str, str, bool]] = []
    low, high = plan.receivers
    for protocol in plan.protocols:
        name = PROTOCOLS[protocol]
        memory = _find(
            counts, scenario="broadcast", protocol=protocol, lifetime="memory", receivers=high
        )
        for processes in (2, 1):
            redis = _find(
                counts,
                scenario="broadcast",
                protocol=protocol,
                lifetime="redis",
                processes=processes,
                receivers=high,
            )
            if memory is not None and redis is not None:
                ratio = redis.instructions / memory.instructions
                checks.append(
                    (
                        f"at {high:,} receivers the Redis path adds ≤ 15% per delivery",
                        f"{name}, Redis ({processes} process{'es' if processes > 1 else ''}) "
                        "/ memory, instructions per delivered message",
                        f"{ratio:.2f}×",
                        ratio <= 1.15,
                    )
                )
        for processes in (2, 1):
            at = {
                receivers: _find(
                    counts,
                    scenario="broadcast",
                    protocol=protocol,
                    lifetime="redis",
                    processes=processes,
                    receivers=receivers,
                )
                for receivers in (low, high)
            }
            a, b = at[low], at[high]
            if a is None or b is None:
                continue
            same = a.traffic.keys() == b.traffic.keys() and all(
                _traffic_key(a.per_send()[p], a.sends) == _traffic_key(b.per_send()[p], b.sends)
                for p in a.traffic
            )
            sample = a.per_send()["process 1"]
            checks.append(
                (
                    "a process does the same Redis work per broadcast at any receiver count",
                    f"{name}, {processes} process{'es' if processes > 1 else ''}: each process's "
                    f"commands and bytes per broadcast at {low:,} and {high:,} receivers",
                    ("identical" if same else "different")
                    + f" (process 1: {traffic_line(sample, a.sends)})",
                    same,
                )
            )
        echo_memory = _find(counts, scenario="echo", protocol=protocol, lifetime="memory")
        echo_redis = _find(counts, scenario="echo", protocol=protocol, lifetime="redis")
        if echo_memory is not None and echo_redis is not None:
            ratio = echo_redis.instructions / echo_memory.instructions
            checks.append(
                (
                    "echo costs ≤ 5% more with the Redis manager on",
                    f"{name}, Redis / memory, instructions per call",
                    f"{ratio:.3f}×",
                    ratio <= 1.05,
                )
            )
    return checks


def markdown(counts: list[Count], plan: Plan, settings: dict[str, Any]) -> str:
    low, high = plan.receivers
    lines = [
        "# hubgen on Redis: instructions per call and per delivered message",
        "",
        f"{settings['date']} · {settings['mode']} · written by `python -m bench.scale_out`",
        "",
        "Server instructions counted by callgrind (`bench.instructions`), summed over every "
        "hubgen process; redis-server is not counted (see bench/instructions.py). Broadcasts: "
        f"{plan.messages} messages to {low:,} and {high:,} receivers, each once every receiver "
        "has the one before (so every delivery is one message in one write); echo: "
        f"{plan.calls:,} calls over {plan.connections} connections. On Redis with two "
        "processes the receivers are split between them and the sender is on the first.",
        "",
        "## Echo — instructions per call",
        "",
        "| protocol | in memory | on Redis (1 process) | Redis / memory |",
        "|---|---:|---:|---:|",
    ]
    for protocol in plan.protocols:
        memory = _find(counts, scenario="echo", protocol=protocol, lifetime="memory")
        redis = _find(counts, scenario="echo", protocol=protocol, lifetime="redis")
        if memory is None or redis is None:
            continue
        lines.append(
            f"| {PROTOCOLS[protocol]} | {memory.instructions:,.0f} | {redis.instructions:,.0f} "
            f"| {redis.instructions / memory.instructions:.3f} |"
        )
    lines += [
        "",
        "## Broadcast — instructions per delivered message",
        "",
        "| protocol | receivers | in memory | Redis, 1 process | × memory "
        "| Redis, 2 processes | × memory |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for protocol in plan.protocols:
        for receivers in plan.receivers:
            memory, one, two = (
                _find(
                    counts,
                    scenario="broadcast",
                    protocol=protocol,
                    lifetime=lifetime,
                    processes=processes,
                    receivers=receivers,
                )
                for lifetime, processes in BROADCASTS
            )
            if memory is None or one is None or two is None:
                continue
            cells = [PROTOCOLS[protocol], f"{receivers:,}", f"{memory.instructions:,.0f}"]
            for redis in (one, two):
                cells += [
                    f"{redis.instructions:,.0f}",
                    f"{redis.instructions / memory.instructions:.2f}",
                ]
            lines.append("| " + " | ".join(cells) + " |")
    added = []
    for protocol in plan.protocols:
        fit = extra_cost(counts, protocol, plan)
        if fit is not None:
            fixed, per_delivery = fit
            added.append(
                f"{PROTOCOLS[protocol]} {fixed / 1e3:,.0f}k instructions per broadcast "
                f"+ {per_delivery:,.0f} per delivery"
            )
    if added:
        lines += [
            "",
            "What Redis adds, from the one-process counts (the line through both receiver "
            "counts of (Redis − memory) × receivers): " + "; ".join(added) + ". Two "
            "processes of 500 connections each spend less in the garbage collector per "
            "delivery than one of 1,000 (each collection walks the process's objects), which "
            "can put them below the process in memory.",
        ]
    lines += [
        "",
        "## Redis traffic per broadcast, by process",
        "",
        "Counted by a relay between each process and Redis (`bench/redis_meter.py`), over the "
        "counted broadcasts only.",
        "",
        "| protocol | processes | receivers | process | commands | bytes sent | bytes received |",
        "|---|---:|---:|---|---|---:|---:|",
    ]
    for protocol in plan.protocols:
        for _, processes in BROADCASTS[1:]:
            for receivers in plan.receivers:
                redis = _find(
                    counts,
                    scenario="broadcast",
                    protocol=protocol,
                    lifetime="redis",
                    processes=processes,
                    receivers=receivers,
                )
                if redis is None:
                    continue
                for name, traffic in redis.per_send().items():
                    commands = ", ".join(
                        f"{command} {n / redis.sends:.2f}"
                        for command, n in sorted(traffic.commands.items())
                    )
                    lines.append(
                        f"| {PROTOCOLS[protocol]} | {processes} | {receivers:,} | {name} "
                        f"| {commands or 'none'} | {traffic.sent / redis.sends:,.1f} "
                        f"| {traffic.received / redis.sends:,.1f} |"
                    )
    lines += [
        "",
        "## Issue #15's targets, in instructions",
        "",
        "| target | compared | measured | met |",
        "|---|---|---|:---:|",
    ]
    for target, compared, measured, met in targets(counts, plan):
        lines.append(f"| {target} | {compared} | {measured} | {'✓' if met else '✗'} |")
    versions = ", ".join(f"{k} {v}" for k, v in settings["versions"].items())
    lines += ["", f"Versions: {versions}.", ""]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("hubgen", "uvicorn", "uvloop", "websockets", "redis", "msgpack"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    found["redis-server"] = redis_server_version() or "not installed"
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--protocol", action="append", choices=sorted(PROTOCOLS))
    parser.add_argument(
        "--quick", action="store_true", help="a few calls and messages: checks it runs"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--render", type=Path, help="rewrite the Markdown from a scale-out JSON, measuring nothing"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        saved = json.loads(args.render.read_text())
        low, high = saved["plan"]["receivers"]
        plan = Plan(
            tuple(saved["plan"]["protocols"]),
            (low, high),
            saved["plan"]["messages"],
            saved["plan"]["calls"],
            saved["plan"]["connections"],
        )
        counts = [Count(**c) for c in saved["counts"]]
        out = args.render.with_suffix(".md")
        out.write_text(markdown(counts, plan, saved["settings"]))
        print(f"wrote {out}")
        return 0
    plan = QUICK if args.quick else FULL
    if args.protocol:
        plan = Plan(
            tuple(args.protocol), plan.receivers, plan.messages, plan.calls, plan.connections
        )
    counts = run(plan)
    settings = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick run (not a measurement)" if args.quick else "full run",
        "versions": _versions(),
    }
    name = "scale-out-quick" if args.quick else "scale-out"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(
        json.dumps(
            {"settings": settings, "plan": asdict(plan), "counts": [asdict(c) for c in counts]},
            indent=2,
        )
        + "\n"
    )
    (args.out / f"{name}.md").write_text(markdown(counts, plan, settings))
    print(f"wrote {args.out / name}.md")
    if args.quick:
        return 0  # a few messages to a few receivers: the targets do not apply
    return 0 if all(met for *_, met in targets(counts, plan)) else 1


if __name__ == "__main__":
    exit_on_sigterm()
    raise SystemExit(main())
