"""The server's CPU instructions per call, counted by callgrind: a measure that
does not depend on what else the machine is doing.

    python -m bench.instructions                      # echo, JSON, hubgen
    python -m bench.instructions --ws uvicorn         # hubgen through ASGI, uvicorn's protocol
    python -m bench.instructions --protocol messagepack
    python -m bench.instructions --scenario broadcast --receivers 200
    python -m bench.instructions --app raw            # the raw WebSocket echo
    python -m bench.instructions --app socketio       # and the peers' (echo only)
    python -m bench.instructions --app aiosignalr --protocol messagepack
    python -m bench.instructions --uvicorn=--ws-per-message-deflate=true
    python -m bench.instructions --simulate           # cache misses, mispredicted branches
    python -m bench.instructions --profile            # where the time goes (cProfile)
    python -m bench.instructions --lifetime redis     # hubgen on Redis (1 process)
    python -m bench.instructions --lifetime redis --scenario broadcast --receivers 1000
                                                      # 2 processes on Redis

hubgen runs on its own WebSocket protocol (``hubgen.server.wsprotocol``)
unless ``--ws uvicorn`` says otherwise; every other app on uvicorn's default
(``--ws owned`` puts them on hubgen's protocol too, through ASGI).

The server runs under ``valgrind --tool=callgrind`` with instrumentation off
until it is warm (imports, first calls); then a fixed number of calls is
counted and divided out. The same inputs give the same count to within about
1%, so a change to the runtime can be judged by one run each, before and
after, even on a busy machine. The client (Python ``websockets``, in this
process) is not counted. Needs valgrind (Debian's package).

``--simulate`` adds callgrind's cache and branch-predictor simulation and
prints, per call, the misses and mispredictions beside the instructions: two
servers with about the same count can still differ in time by those.

``--profile`` runs the same load under cProfile instead and prints where the
server's Python-level time goes, by package and by hubgen function. cProfile
slows every Python call alike, so read it as shares, and note that it counts
each resumption of a coroutine as a call.

**Work done by the clock** is kept out of the count, since under valgrind a
run lasts about fifty times as long (a minute or two for a broadcast to 1,000
receivers) and such work would be counted as work per message, more of it
the busier the machine: the hub's keep-alive pings and uvicorn's WebSocket
pings (each every 15 or 20 s a connection) are set to once an hour for the
counted server (``BENCH_KEEP_ALIVE``, bench/apps/hubgen_app.py, and
``--ws-ping-interval``), and the client sends no WebSocket pings. With 1,000
idle connections those pings cost 3.4k instructions a connection a second,
and left in, they moved broadcast counts by 5-8% between runs. What still
runs is the hub's heartbeat: a pass over every connection (about 3k
instructions each) after a second's sleep. Under valgrind a broadcast's
delivery is a loop iteration of a second or more, so the heartbeat runs
about once per such iteration, by the work rather than by the clock, and
the count includes it (in memory as on Redis, a few thousand instructions
per delivery at 1,000 receivers); repeated counts then agree within 1%.

``--lifetime redis`` runs hubgen with ``RedisLifetimeManager``
(bench/apps/hubgen_redis_app.py) on a redis-server the tool starts on a free
loopback port: one process for echo, two for broadcast (``--processes``),
the receivers split between them and the sender on the first. Every hubgen
process is counted and the counts summed. Each process reaches Redis through
a relay of its own (bench/redis_meter.py) that counts the commands and bytes
it sends and receives, printed per broadcast (or per call). Counting starts
once Redis shows every connection's channel subscribed (a connection
subscribes after its handshake is answered), so that connecting stays out of
a broadcast's count; the backplane's health-check PING is set to once an
hour, like the keep-alive pings. redis-server is not counted: most of what
it executes under valgrind is its timer (``serverCron``, ten times a
second), which grows with the run's length, not with the messages; its CPU
share in ``bench.run``'s broadcast-redis rows says what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect

from bench.harness import RedisServer, free_port, stop, wait_listening, wait_subscribed
from bench.redis_meter import RedisMeter, Traffic
from hubgen.protocol.framing import frame_binary, split_binary_frames

ROOT = Path(__file__).resolve().parents[1]
RS = "\x1e"
APPS = {
    "hubgen": ("bench.apps.hubgen_app:app", "/hub"),
    "raw": ("bench.apps.raw_ws:app", "/ws"),
    "aiosignalr": ("bench.apps.aiosignalr_app:app", "/hub"),
    "socketio": ("bench.apps.socketio_app:app", "/socket.io/?EIO=4&transport=websocket"),
}
#: hubgen with the Redis lifetime manager (``--lifetime redis``).
REDIS_APP = ("bench.apps.hubgen_redis_app:app", "/hub")
#: What every run uses unless told otherwise: the fast event loop, no compression.
#: uvicorn's own WebSocket pings (every 20 s a connection) are work by the
#: clock, like the hub's: once an hour (see the module's docstring).
UVICORN_DEFAULTS = [
    "--loop",
    "uvloop",
    "--ws-per-message-deflate",
    "false",
    "--ws-ping-interval",
    "3600",
]
#: hubgen's own WebSocket protocol, as uvicorn takes it.
OWNED_WS = ["--ws", "hubgen.server.wsprotocol:HubWebSocketProtocol"]
PAYLOAD = "x" * 32
#: The client's connections: no compression, and no keep-alive pings, which
#: the server would answer by the clock (every 20 s) rather than per message.
CLIENT: dict[str, Any] = {
    "compression": None,
    "max_size": None,
    "open_timeout": 120,
    "ping_interval": None,
}


def _messages(data: bytes | str) -> list[list[object]]:
    """The MessagePack hub messages of one WebSocket message."""
    assert isinstance(data, bytes)
    return [msgpack.unpackb(frame) for frame in split_binary_frames(bytearray(data))]


class Caller:
    """One hub connection speaking JSON or MessagePack, skipping negotiate."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._next = 0

    @classmethod
    async def open(cls, url: str, protocol: str) -> Caller:
        ws = await connect(url, **CLIENT)
        await ws.send(json.dumps({"protocol": protocol, "version": 1}) + RS)
        await ws.recv()  # the handshake response
        return cls(ws, protocol)

    async def invoke(self, target: str, *arguments: object) -> None:
        """Invoke and wait for the Completion (pings and pushes skipped)."""
        self._next += 1
        invocation_id = str(self._next)
        if self.protocol == "json":
            message = {
                "type": 1,
                "invocationId": invocation_id,
                "target": target,
                "arguments": arguments,
            }
            await self.ws.send(json.dumps(message) + RS)
            while not any(
                json.loads(record).get("type") == 3
                for record in str(await self.ws.recv()).split(RS)
                if record
            ):
                pass
        else:
            body = msgpack.packb([1, {}, invocation_id, target, list(arguments), []])
            await self.ws.send(frame_binary(body))
            while not any(message[0] == 3 for message in _messages(await self.ws.recv())):
                pass


class SocketIOCaller:
    """One Socket.IO connection (Engine.IO 4 straight over a WebSocket) that
    emits acknowledged events, as ``socket.io-client`` does."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next = 0

    @classmethod
    async def open(cls, url: str) -> SocketIOCaller:
        ws = await connect(url, **CLIENT)
        await ws.recv()  # Engine.IO open packet: 0{"sid": ...}
        await ws.send("40")  # connect to the default namespace
        while not str(await ws.recv()).startswith("40"):
            pass
        return cls(ws)

    async def emit(self, event: str, *arguments: object) -> None:
        """Emit with an acknowledgement and wait for it (pings answered)."""
        self._next += 1
        await self.ws.send(f"42{self._next}" + json.dumps([event, *arguments]))
        ack = f"43{self._next}["
        while True:
            packet = str(await self.ws.recv())
            if packet.startswith(ack):
                return
            if packet == "2":
                await self.ws.send("3")


async def echo_load(
    urls: Sequence[str], app: str, protocol: str, connections: int, calls: int
) -> int:
    """``connections`` connections (the i-th to ``urls[i % len(urls)]``) each
    make ``calls / connections`` calls, one after the other."""

    async def one(url: str, count: int) -> None:
        if app == "raw":
            async with connect(url, **CLIENT) as ws:
                for _ in range(count):
                    await ws.send(PAYLOAD)
                    await ws.recv()
            return
        if app == "socketio":
            emitter = await SocketIOCaller.open(url)
            for _ in range(count):
                await emitter.emit("echo", PAYLOAD)
            await emitter.ws.close()
            return
        caller = await Caller.open(url, protocol)
        for _ in range(count):
            await caller.invoke("Echo", PAYLOAD)
        await caller.ws.close()

    per = max(1, calls // connections)
    await asyncio.gather(*(one(urls[i % len(urls)], per) for i in range(connections)))
    return per * connections


async def broadcast_load(
    urls: Sequence[str],
    protocol: str,
    receivers: int,
    messages: int,
    counting: Callable[[bool], None],
) -> int:
    """One sender (on ``urls[0]``) broadcasts ``messages`` times to ``receivers``
    connections (the i-th on ``urls[i % len(urls)]``), each message once every
    receiver has the one before, so that no connection's writer finds two
    queued: every delivery is one message in one write, however fast the
    server runs beside the client. Counts from the first broadcast until every
    receiver has every message."""
    listeners = [await Caller.open(urls[i % len(urls)], protocol) for i in range(receivers)]
    received = 0
    arrived = asyncio.Event()

    async def drain(caller: Caller) -> None:
        nonlocal received
        async for frame in caller.ws:
            if isinstance(frame, str):
                received += frame.count('"target":"Received"')
            else:
                received += frame.count(b"Received")
            arrived.set()

    readers = [asyncio.ensure_future(drain(listener)) for listener in listeners]
    sender = await Caller.open(urls[0], protocol)
    # (in a thread: the connections go on being served while it waits)
    await asyncio.to_thread(counting, True)
    async with asyncio.timeout(600):
        for sent in range(1, messages + 1):
            await sender.invoke("Broadcast", PAYLOAD)
            while received < receivers * sent:
                arrived.clear()
                await arrived.wait()
    await asyncio.to_thread(counting, False)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(caller.ws.close() for caller in (*listeners, sender)))
    return receivers * messages


#: callgrind's events under --simulate, as printed.
SIMULATED = {
    "I1mr": "L1 instruction misses",
    "D1mr": "L1 data read misses",
    "D1mw": "L1 data write misses",
    "ILmr": "last-level instruction misses",
    "DLmr": "last-level data read misses",
    "DLmw": "last-level data write misses",
    "Bcm": "mispredicted conditional branches",
    "Bim": "mispredicted indirect branches",
}


@dataclass
class Counted:
    """What one run counted, per unit: a call (echo) or a delivered message
    (broadcast)."""

    unit: str
    #: calls made, or messages delivered
    units: int
    #: calls made, or messages broadcast
    sends: int
    #: hubgen server processes (summed): callgrind's events per unit, by name
    server: dict[str, float] = field(default_factory=dict)
    #: each hubgen process's traffic with Redis over the counted run
    traffic: dict[str, Traffic] = field(default_factory=dict)


def processes_of(args: argparse.Namespace) -> int:
    """Server processes: ``--processes``, else 2 for a broadcast on Redis, else 1."""
    if args.processes:
        return int(args.processes)
    return 2 if args.lifetime == "redis" and args.scenario == "broadcast" else 1


def _totals(dumps: list[Path]) -> dict[str, int]:
    """callgrind's totals, summed over dump files."""
    totals: dict[str, int] = {}
    for dump in dumps:
        events: list[str] = []
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("totals:"):
                for name, value in zip(events, line.split()[1:], strict=False):
                    totals[name] = totals.get(name, 0) + int(value)
    return totals


def measure(args: argparse.Namespace) -> Counted:
    """Count callgrind's events per call (echo) or per delivered message
    (broadcast): ``Ir`` (instructions) always, the rest of ``SIMULATED`` with
    ``--simulate``. With ``--profile``, print the profile instead (the counts
    are then empty)."""
    if not args.profile and shutil.which("valgrind") is None:
        sys.exit("bench.instructions needs valgrind (apt-get install valgrind)")
    on_redis = args.lifetime == "redis"
    processes = processes_of(args)
    module, path = REDIS_APP if on_redis else APPS[args.app]
    ports = [free_port() for _ in range(processes)]
    urls = [f"ws://127.0.0.1:{port}{path}" for port in ports]
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        *(["--cache-sim=yes", "--branch-sim=yes"] if args.simulate else []),
    ]
    with tempfile.TemporaryDirectory(prefix="hubgen-callgrind-") as tmp:
        stats = [Path(tmp) / f"profile-{number}.pstats" for number in range(1, processes + 1)]
        traffic: dict[str, Traffic] = {}
        with contextlib.ExitStack() as running:
            counted: list[int] = []  # every pid that callgrind counts
            # no pings within the run: see the module's docstring
            env: list[dict[str, str]] = [{"BENCH_KEEP_ALIVE": "3600"} for _ in ports]
            if on_redis:
                redis_server = RedisServer()
                running.callback(redis_server.close)
                meter = running.enter_context(RedisMeter(redis_server.port))
                for number, extra in enumerate(env, 1):
                    relay = meter.relay(f"process {number}")
                    extra["BENCH_REDIS_URL"] = f"redis://127.0.0.1:{relay}/0"
                    extra["BENCH_REDIS_HEALTH"] = "3600"
            servers: list[subprocess.Popen[bytes]] = []
            for port, extra, stat in zip(ports, env, stats, strict=True):
                uvicorn_args = [
                    module,
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    *UVICORN_DEFAULTS,
                    *(OWNED_WS if owned(args) else []),
                    *args.uvicorn,
                ]
                if args.profile:
                    command = [sys.executable, "-m", "bench._profiled", str(stat), *uvicorn_args]
                else:
                    command = [
                        *valgrind,
                        f"--callgrind-out-file={tmp}/callgrind.out.%p",
                        sys.executable,
                        "-m",
                        "uvicorn",
                        *uvicorn_args,
                    ]
                server = subprocess.Popen(
                    command, cwd=ROOT, env={**os.environ, **extra}, stderr=subprocess.DEVNULL
                )
                running.callback(stop, server, grace=120)
                servers.append(server)
                if not args.profile:
                    counted.append(server.pid)

            def counting(on: bool) -> None:
                if args.profile:
                    for server in servers:
                        os.kill(server.pid, signal.SIGUSR1 if on else signal.SIGUSR2)
                    if not on:
                        for stat in stats:
                            _wait_for_file(stat)
                    return
                for pid in counted:
                    subprocess.run(
                        ["callgrind_control", "-i", "on" if on else "off", str(pid)],
                        check=True,
                        capture_output=True,
                    )

            metered: list[dict[str, Traffic]] = []

            def metering(on: bool, connections: int = 0) -> None:
                """Count (or stop), with Redis traffic read outside the count;
                on Redis, start once ``connections`` connections are subscribed."""
                if on_redis and on:
                    _wait_channels(redis_server, "*:connection:*", connections)
                    metered.append(meter.settled())
                counting(on)
                if on_redis and not on:
                    metered.append(meter.settled())

            for server, port in zip(servers, ports, strict=True):
                wait_listening(server, port, 300, "the server")
            if on_redis:
                wait_subscribed(redis_server, processes, timeout=120)
            if args.scenario == "echo":
                # warm up uninstrumented: imports and first-call caches
                asyncio.run(echo_load(urls, args.app, args.protocol, args.connections, 200))
                metering(True)  # (on Redis, once the warm-up's connections have left)
                units = sends = asyncio.run(
                    echo_load(urls, args.app, args.protocol, args.connections, args.calls)
                )
                metering(False)
            else:
                asyncio.run(broadcast_load(urls, args.protocol, 10, 5, lambda _: None))
                connected = args.receivers + 1  # and the sender
                units = asyncio.run(
                    broadcast_load(
                        urls,
                        args.protocol,
                        args.receivers,
                        args.messages,
                        lambda on: metering(on, connected),
                    )
                )
                sends = args.messages
            if on_redis:
                before, after = metered
                traffic = {name: after[name] - before[name] for name in after}
            if args.profile:
                print_profile(stats, units)
                return Counted(_unit(args), units, sends, traffic=traffic)
            for pid in counted:
                subprocess.run(
                    ["callgrind_control", "-d", str(pid)], check=True, capture_output=True
                )
        # every process has stopped: its dumps are complete
        dumps = sorted(Path(tmp).glob("callgrind.out.*"))
        totals = _totals(dumps)
        if args.keep_dumps is not None:
            args.keep_dumps.mkdir(parents=True, exist_ok=True)
            for dump in dumps:
                shutil.copy(dump, args.keep_dumps / dump.name)
    return Counted(
        _unit(args), units, sends, {name: value / units for name, value in totals.items()}, traffic
    )


def _wait_channels(redis_server: RedisServer, pattern: str, count: int) -> None:
    """Wait until ``count`` channels match ``pattern`` (a connection's channel
    is subscribed after its handshake, and unsubscribed after it closes)."""
    deadline = time.monotonic() + 300
    while True:
        with redis_server.client() as client:
            found = len(client.pubsub_channels(pattern))
        if found == count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{found} channels match {pattern!r}, not {count}")
        time.sleep(0.05)


def _unit(args: argparse.Namespace) -> str:
    return "call" if args.scenario == "echo" else "delivered message"


def _wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # let the dump finish


#: The packages the profile names; the rest is "other" (C functions: "builtins").
PROFILED_PACKAGES = ("hubgen", "uvicorn", "websockets", "starlette", "asyncio")


def _module_file(filename: str) -> str | None:
    """``filename`` relative to the ``sys.path`` entry it is imported from
    (the deepest that holds it, as site-packages sits inside a venv that may
    sit inside the checkout), e.g. ``uvicorn/main.py``; None if no entry does."""
    path = Path(filename)
    if not path.is_absolute():
        return None
    best: Path | None = None
    for entry in (*sys.path, str(ROOT)):
        base = Path(entry or ".").absolute()
        if path.is_relative_to(base) and (best is None or len(base.parts) > len(best.parts)):
            best = base
    return None if best is None else path.relative_to(best).as_posix()


def _package(filename: str) -> str:
    """The top-level package a profiled function's file belongs to, by the
    module it is imported as, not by a fragment of its path."""
    if filename == "~":
        return "builtins"
    module = _module_file(filename)
    top = None if module is None else module.split("/", 1)[0]
    return top if top in PROFILED_PACKAGES else "other"


def print_profile(paths: Sequence[Path], count: int) -> None:
    """Shares of the servers' Python-level time (every process's profile
    added up) by package, then the hubgen functions that take the most, with
    calls (or resumptions) per unit."""
    stats = pstats.Stats(*(str(path) for path in paths)).stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = {}
    own: list[tuple[float, float, str]] = []
    for (filename, line, function), (_, calls, self_time, _, _) in stats.items():
        package = _package(filename)
        by_package[package] = by_package.get(package, 0.0) + self_time
        if package == "hubgen":
            where = _module_file(filename)
            own.append((self_time, calls / count, f"{where}:{line} {function}"))
    total = sum(by_package.values()) or 1.0
    print("share of Python-level time, by package:")
    for package, spent in sorted(by_package.items(), key=lambda item: -item[1]):
        print(f"  {spent / total:6.1%}  {package}")
    print("hubgen's functions taking the most (share, calls per unit):")
    for spent, per, name in sorted(own, reverse=True)[:15]:
        print(f"  {spent / total:6.1%}  {per:5.2f}  {name}")


def owned(args: argparse.Namespace) -> bool:
    """Whether the server runs on hubgen's own WebSocket protocol."""
    return bool(args.ws == "owned" or (args.ws == "auto" and args.app == "hubgen"))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--app", choices=sorted(APPS), default="hubgen")
    parser.add_argument("--scenario", choices=["echo", "broadcast"], default="echo")
    parser.add_argument("--protocol", choices=["json", "messagepack"], default="json")
    parser.add_argument(
        "--ws",
        choices=["auto", "owned", "uvicorn"],
        default="auto",
        help="the WebSocket protocol: hubgen's own (owned), uvicorn's default (uvicorn); "
        "auto: hubgen's for hubgen, uvicorn's for the others",
    )
    parser.add_argument(
        "--lifetime",
        choices=["memory", "redis"],
        default="memory",
        help="hubgen's lifetime manager: in memory, or on a redis-server started for the run",
    )
    parser.add_argument(
        "--processes",
        type=int,
        help="server processes, the connections split between them "
        "(default: 2 for a broadcast on Redis, else 1; more than 1 needs --lifetime redis)",
    )
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--receivers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument(
        "--simulate", action="store_true", help="simulate the caches and branch predictor too"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the server instead of counting"
    )
    parser.add_argument(
        "--keep-dumps",
        type=Path,
        metavar="DIR",
        help="copy callgrind's dumps to DIR (for callgrind_annotate; one a process, "
        "and a last near-empty one from each at exit)",
    )
    parser.add_argument(
        "--uvicorn",
        action="append",
        default=[],
        help="an extra uvicorn argument (repeatable), e.g. --uvicorn=--loop=asyncio",
    )
    args = parser.parse_args(argv)
    if args.scenario == "broadcast" and args.app != "hubgen":
        parser.error("--scenario broadcast is counted for hubgen only")
    if args.lifetime == "redis" and args.app != "hubgen":
        parser.error("--lifetime redis is hubgen's")
    if args.processes is not None and args.processes < 1:
        parser.error("--processes must be at least 1")
    if (args.processes or 1) > 1 and args.lifetime != "redis":
        parser.error("more than one process needs --lifetime redis (memory is one process's)")
    if args.profile and args.simulate:
        parser.error("--profile and --simulate do not go together")
    return args


def describe(args: argparse.Namespace, counted: Counted) -> list[str]:
    """What ``main`` prints: the count per unit, the simulated events, and
    on Redis each process's traffic with it."""
    if args.app == "raw":
        what = "raw echo"
    elif args.app == "socketio":
        what = "socketio echo"
    else:
        what = f"{args.app} {args.scenario} {args.protocol}"
    if args.lifetime == "redis":
        processes = processes_of(args)
        what += f" on Redis ({processes} process{'es' if processes > 1 else ''})"
    what += " (hubgen's WebSocket protocol)" if owned(args) else " (uvicorn's WebSocket protocol)"
    lines = [f"{what}: {counted.server['Ir']:,.0f} instructions per {counted.unit}"]
    for name, label in SIMULATED.items():
        if name in counted.server:
            lines.append(f"  {counted.server[name]:>9,.0f} {label}")
    if args.lifetime != "redis":
        return lines
    per = "broadcast" if args.scenario == "broadcast" else "call"
    lines.append(f"  Redis traffic per {per}, by process:")
    for name, traffic in counted.traffic.items():
        lines.append(f"    {name}: {traffic_line(traffic, counted.sends)}")
    return lines


def traffic_line(traffic: Traffic, sends: int) -> str:
    """A process's traffic with Redis divided by ``sends``: commands (by name),
    bytes sent, bytes received."""
    commands = sum(traffic.commands.values()) / sends
    names = ", ".join(
        f"{name} {count / sends:.2f}" for name, count in sorted(traffic.commands.items())
    )
    return (
        f"{commands:.2f} commands{f' ({names})' if names else ''}, "
        f"{traffic.sent / sends:,.1f} bytes sent, {traffic.received / sends:,.1f} bytes received"
    )


def exit_on_sigterm() -> None:
    """Make SIGTERM exit through Python, so that every server started so far
    is stopped on the way out (by default SIGTERM ends the process at once)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    counted = measure(args)
    if not args.profile:
        print("\n".join(describe(args, counted)))


if __name__ == "__main__":
    exit_on_sigterm()
    main()
