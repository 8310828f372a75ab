"""The scenarios, the servers compared in them, and one measured run of a row.

A *row* is one server, speaking one protocol over one transport, driven by one
load generator client (``official``: @microsoft/signalr or socket.io-client;
``lean``: bench/load/clients.mjs over ``ws``; raw WebSocket rows always use
``ws``). Each scenario lists its rows; ``measure`` runs one of them once.

``broadcast-redis`` compares hubgen in one process (the in-memory lifetime
manager) with hubgen in two processes on one Redis (``HUBGEN_REDIS``): the
receivers are split across both processes, the sender is on the first.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import codegen
from .harness import Sample, Served, rss_bytes, run_load


@dataclass(frozen=True)
class Peer:
    name: str
    app: str
    kind: str  # signalr | socketio | ws
    path: str = ""
    note: str = ""
    #: uvicorn options of this server's own (after the suite's)
    server_args: tuple[str, ...] = ()
    #: uvicorn processes; more than one run on a redis-server (harness.Cluster)
    processes: int = 1


#: hubgen's own WebSocket protocol (hubgen.server.wsprotocol), as uvicorn takes it.
OWNED_WS = ("--ws", "hubgen.server.wsprotocol:HubWebSocketProtocol")

HUBGEN = Peer("hubgen", "bench.apps.hubgen_app:app", "signalr", "/hub", server_args=OWNED_WS)
#: The same hub on uvicorn's own WebSocket protocol: through ASGI, as under any server.
HUBGEN_ASGI = Peer(
    "hubgen via ASGI",
    "bench.apps.hubgen_app:app",
    "signalr",
    "/hub",
    note="hubgen rows run on hubgen's own WebSocket protocol (uvicorn "
    "`--ws hubgen.server.wsprotocol:HubWebSocketProtocol`); *hubgen via ASGI* rows run the "
    "same application on uvicorn's default WebSocket protocol, as under any ASGI server; "
    "every other server runs on uvicorn's default",
)
RAW = Peer("raw WebSocket", "bench.apps.raw_ws:app", "ws")
SOCKETIO = Peer("python-socketio", "bench.apps.socketio_app:app", "socketio")
AIOSIGNALR = Peer(
    "aiosignalr",
    "bench.apps.aiosignalr_app:app",
    "signalr",
    "/hub",
    note="aiosignalr 0.1.1 with two wire bugs fixed in-process (JSON sent in binary "
    "frames; MessagePack empty header map packed as an integer), see bench/apps/aiosignalr_app.py",
)
PEERS = (RAW, SOCKETIO, AIOSIGNALR, HUBGEN_ASGI, HUBGEN)
#: hubgen scaled out: two processes with the Redis lifetime manager on one
#: redis-server (all three pinned to the server's core, as one server is), on
#: hubgen's own WebSocket protocol as the in-memory row it is compared with.
HUBGEN_REDIS = Peer(
    "hubgen on Redis",
    "bench.apps.hubgen_redis_app:app",
    "signalr",
    "/hub",
    server_args=OWNED_WS,
    processes=2,
)

# The raw WebSocket server has one route per scenario.
RAW_ROUTES = {"echo": "/ws", "broadcast": "/broadcast", "group": "/group", "stream": "/stream"}


@dataclass(frozen=True)
class Row:
    scenario: str  # echo, broadcast-200, broadcast-1000, group, stream, idle, codegen
    peer: Peer
    client: str = "official"  # official | lean | ws
    protocol: str = "json"
    transport: str = "WebSockets"

    @property
    def label(self) -> str:
        if self.peer is RAW:
            return "raw WebSocket"
        parts = [self.peer.name + (" (patched)" if self.peer is AIOSIGNALR else "")]
        if self.peer.processes > 1:
            parts[0] += f" ({self.peer.processes} processes)"
        if self.peer.kind == "signalr":
            parts.append("MessagePack" if self.protocol == "messagepack" else "JSON")
        if self.transport != "WebSockets":
            parts.append({"ServerSentEvents": "SSE", "LongPolling": "Long Polling"}[self.transport])
        parts.append(f"· {self.client} client")
        return " ".join(parts)

    def url(self, port: int, base: str) -> str:
        if self.peer.kind == "ws":
            return f"ws://127.0.0.1:{port}{RAW_ROUTES[base]}"
        return f"http://127.0.0.1:{port}{self.peer.path}"

    def load_args(self, ports: Sequence[int], base: str) -> dict[str, Any]:
        """The load generator's arguments; several ports: a URL each, the
        connections spread over them (bench/load/fanout.mjs)."""
        return {
            "kind": self.peer.kind,
            "client": "lean" if self.client == "ws" else self.client,
            "url": ",".join(self.url(port, base) for port in ports),
            "protocol": self.protocol,
            "transport": self.transport,
        }


@dataclass
class Measurement:
    """One run of one row (or the median of several)."""

    scenario: str
    label: str
    peer: str
    client: str
    protocol: str
    transport: str
    rate: float  # per second; idle: bytes per connection; codegen: seconds
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu: float | None = None
    load_cpu: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def load_bound(self) -> bool:
        """The load generator used (nearly) a whole core: it may be the bottleneck."""
        return self.load_cpu is not None and self.load_cpu >= 0.9


@dataclass(frozen=True)
class Settings:
    duration: float = 5.0
    warmup: float = 1.0
    echo_connections: int = 50
    broadcast_receivers: tuple[int, ...] = (200, 1000)
    group_connections: int = 200
    group_size: int = 10
    # Messages each sender keeps in flight. Too few and the rows measure round
    # trips instead of throughput (4 gave a third of 16's rate for hubgen).
    window: int = 16
    group_window: int = 8
    #: broadcast-redis: connections, split over the processes of the Redis rows
    redis_receivers: int = 1000
    idle_connections: int = 5000
    codegen_hubs: tuple[int, ...] = (10, 100)
    payload: int = 32
    settle: float = 1.0  # idle: seconds to let the server settle before reading VmRSS


def _from_run(row: Row, result: dict[str, Any], cpu: tuple[float, float]) -> Measurement:
    return Measurement(
        row.scenario,
        row.label,
        row.peer.name,
        row.client,
        row.protocol,
        row.transport,
        float(result["rate"]),
        result.get("p50_ms"),
        result.get("p99_ms"),
        cpu[0],
        cpu[1],
    )


def _timeout(settings: Settings, connections: int) -> float:
    return settings.warmup + settings.duration + 30 + connections / 50


def measure_load(row: Row, server: Served, settings: Settings) -> Measurement:
    """Echo, broadcast, group and stream rows: one load generator run. The
    server side's write system calls per message (delivery, call or item) go
    in ``extra``, and with several server-side processes each one's CPU use."""
    base = row.scenario.split("-")[0]
    args = row.load_args(server.ports, base)
    args |= {"duration": settings.duration, "warmup": settings.warmup, "payload": settings.payload}
    connections = 1
    if base == "echo":
        script = "echo.mjs"
        connections = settings.echo_connections
    elif row.scenario == "broadcast-redis":
        script = "fanout.mjs"
        connections = settings.redis_receivers
        args["window"] = settings.window
    elif base == "broadcast":
        script = "fanout.mjs"
        connections = int(row.scenario.split("-")[1])
        args["window"] = settings.window
    elif base == "group":
        script = "fanout.mjs"
        connections = settings.group_connections
        args |= {"group-size": settings.group_size, "window": settings.group_window}
    elif base == "stream":
        script = "stream.mjs"
    else:
        raise ValueError(row.scenario)
    args["connections"] = connections
    run = run_load(server, script, args, timeout=_timeout(settings, connections))
    measured = _from_run(row, run.result, run.cpu())
    count = run.result.get("count")
    if count:
        # messages written per system call tell batching apart (broadcast-redis)
        measured.extra["writes_per_message"] = run.server_writes() / count
    if len(server.pids) > 1:
        parts = run.server_cpu_parts()
        measured.extra["cpu_by_process"] = dict(zip(server.names, parts, strict=True))
    return measured


def measure_idle(row: Row, server: Served, settings: Settings) -> Measurement:
    """Resident memory per idle connection: server VmRSS with ``--warm`` connections
    open, then with ``idle_connections`` more, divided by their number."""
    rss: dict[str, int] = {}

    def on_event(event: str, sample: Sample) -> None:
        if event == "warm":
            time.sleep(settings.settle)
            rss["warm"] = sum(rss_bytes(pid) for pid in server.pids)
        elif event == "ready":
            time.sleep(settings.settle)
            rss["ready"] = sum(rss_bytes(pid) for pid in server.pids)

    args = row.load_args(server.ports, "echo")
    args |= {"connections": settings.idle_connections, "warm": 50}
    run = run_load(
        server,
        "idle.mjs",
        args,
        timeout=_timeout(settings, settings.idle_connections) + 2 * settings.settle,
        on_event=on_event,
        until="ready",
    )
    connections = int(run.result["connections"])
    per_connection = (rss["ready"] - rss["warm"]) / connections
    return Measurement(
        row.scenario,
        row.label,
        row.peer.name,
        row.client,
        row.protocol,
        row.transport,
        per_connection,
        extra={"connections": connections, "rss_warm": rss["warm"], "rss_ready": rss["ready"]},
    )


def measure_codegen(hubs: int) -> Measurement:
    """Wall time of ``hubgen generate`` for ``hubs`` synthetic hubs of 20 methods."""
    with tempfile.TemporaryDirectory(prefix="hubgen-codegen-") as tmp:
        config = codegen.write_project(Path(tmp), hubs)
        seconds = codegen.time_generate(config)
    return Measurement(
        "codegen",
        f"hubgen generate, {hubs} hubs × {codegen.METHODS} methods",
        "hubgen",
        "-",
        "-",
        "-",
        seconds,
        extra={"hubs": hubs, "methods": hubs * codegen.METHODS},
    )


def _signalr_rows(scenario: str, clients: tuple[str, ...]) -> list[Row]:
    rows = []
    for client in clients:
        for peer in (AIOSIGNALR, HUBGEN):
            for protocol in ("json", "messagepack"):
                rows.append(Row(scenario, peer, client, protocol))
    return rows


def rows_for(scenario: str, settings: Settings) -> list[Row]:
    """The rows of a scenario, baseline and peers first, hubgen last."""
    if scenario == "echo":
        rows = [Row("echo", RAW, "ws")]
        for client in ("official", "lean"):
            rows.append(Row("echo", SOCKETIO, client))
        rows += _signalr_rows("echo", ("official", "lean"))
        rows += [Row("echo", HUBGEN_ASGI, "lean", protocol) for protocol in ("json", "messagepack")]
        rows += [
            Row("echo", HUBGEN, "official", "json", "ServerSentEvents"),
            Row("echo", HUBGEN, "official", "json", "LongPolling"),
        ]
        return rows
    if scenario == "broadcast":
        rows = []
        for receivers in settings.broadcast_receivers:
            name = f"broadcast-{receivers}"
            rows += [
                Row(name, RAW, "ws"),
                Row(name, SOCKETIO, "official"),
                Row(name, SOCKETIO, "lean"),
            ]
            rows += _signalr_rows(name, ("official", "lean"))
            rows.append(Row(name, HUBGEN_ASGI, "lean"))
        return rows
    if scenario == "broadcast-redis":
        # each Redis row right after the in-memory row it is compared with
        rows = []
        for client in ("official", "lean"):
            for protocol in ("json", "messagepack"):
                rows += [
                    Row(scenario, HUBGEN, client, protocol),
                    Row(scenario, HUBGEN_REDIS, client, protocol),
                ]
        return rows
    if scenario == "group":
        return [
            Row("group", RAW, "ws"),
            Row("group", SOCKETIO, "official"),
            Row("group", SOCKETIO, "lean"),
            *_signalr_rows("group", ("official", "lean")),
        ]
    if scenario == "stream":
        # Socket.IO has no server-to-client streams: no python-socketio row.
        return [Row("stream", RAW, "ws"), *_signalr_rows("stream", ("official", "lean"))]
    if scenario == "idle":
        return [
            Row("idle", RAW, "ws"),
            Row("idle", SOCKETIO, "lean"),
            Row("idle", AIOSIGNALR, "lean", "json"),
            Row("idle", HUBGEN_ASGI, "lean", "json"),
            Row("idle", HUBGEN, "lean", "json"),
            Row("idle", HUBGEN, "lean", "messagepack"),
        ]
    raise ValueError(scenario)


SCENARIOS = ("echo", "broadcast", "broadcast-redis", "group", "stream", "idle", "codegen")
