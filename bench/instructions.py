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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgpack
from websockets.asyncio.client import ClientConnection, connect

from bench.harness import free_port, stop, wait_listening
from hubgen.protocol.framing import frame_binary, split_binary_frames

ROOT = Path(__file__).resolve().parents[1]
RS = "\x1e"
APPS = {
    "hubgen": ("bench.apps.hubgen_app:app", "/hub"),
    "raw": ("bench.apps.raw_ws:app", "/ws"),
    "aiosignalr": ("bench.apps.aiosignalr_app:app", "/hub"),
    "socketio": ("bench.apps.socketio_app:app", "/socket.io/?EIO=4&transport=websocket"),
}
#: What every run uses unless told otherwise: the fast event loop, no compression.
UVICORN_DEFAULTS = ["--loop", "uvloop", "--ws-per-message-deflate", "false"]
#: hubgen's own WebSocket protocol, as uvicorn takes it.
OWNED_WS = ["--ws", "hubgen.server.wsprotocol:HubWebSocketProtocol"]
PAYLOAD = "x" * 32


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
        ws = await connect(url, compression=None, max_size=None, open_timeout=120)
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
        ws = await connect(url, compression=None, max_size=None, open_timeout=120)
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


async def echo_load(url: str, app: str, protocol: str, connections: int, calls: int) -> int:
    async def one(count: int) -> None:
        if app == "raw":
            async with connect(url, compression=None) as ws:
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
    await asyncio.gather(*(one(per) for _ in range(connections)))
    return per * connections


async def broadcast_load(
    url: str, protocol: str, receivers: int, messages: int, counting: Callable[[bool], None]
) -> int:
    """One sender broadcasts ``messages`` times to ``receivers`` connections;
    counts from the first broadcast until every receiver has every message."""
    listeners = [await Caller.open(url, protocol) for _ in range(receivers)]
    remaining = receivers * messages
    done = asyncio.Event()

    async def drain(caller: Caller) -> None:
        nonlocal remaining
        async for frame in caller.ws:
            if isinstance(frame, str):
                remaining -= frame.count('"target":"Received"')
            else:
                remaining -= frame.count(b"Received")
            if remaining <= 0:
                done.set()

    readers = [asyncio.ensure_future(drain(listener)) for listener in listeners]
    sender = await Caller.open(url, protocol)
    counting(True)
    for _ in range(messages):
        await sender.invoke("Broadcast", PAYLOAD)
    await asyncio.wait_for(done.wait(), 600)
    counting(False)
    for reader in readers:
        reader.cancel()
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


def measure(args: argparse.Namespace) -> dict[str, float]:
    """callgrind's events per call (echo) or per delivered message (broadcast),
    by callgrind's name: ``Ir`` (instructions) always, the rest of
    ``SIMULATED`` with ``--simulate``. With ``--profile``, print the profile and
    return the calls measured as ``calls``."""
    if not args.profile and shutil.which("valgrind") is None:
        sys.exit("bench.instructions needs valgrind (apt-get install valgrind)")
    module, path = APPS[args.app]
    port = free_port()
    url = f"ws://127.0.0.1:{port}{path}"
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
    with tempfile.TemporaryDirectory(prefix="hubgen-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        stats = Path(tmp) / "profile.pstats"
        if args.profile:
            command = [sys.executable, "-m", "bench._profiled", str(stats), *uvicorn_args]
        else:
            command = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                *(["--cache-sim=yes", "--branch-sim=yes"] if args.simulate else []),
                f"--callgrind-out-file={out}.%p",
                sys.executable,
                "-m",
                "uvicorn",
                *uvicorn_args,
            ]
        server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)

        def counting(on: bool) -> None:
            if args.profile:
                os.kill(server.pid, signal.SIGUSR1 if on else signal.SIGUSR2)
                if not on:
                    _wait_for_file(stats)
                return
            state = "on" if on else "off"
            subprocess.run(
                ["callgrind_control", "-i", state, str(server.pid)],
                check=True,
                capture_output=True,
            )

        try:
            wait_listening(server, port, 300, "the server")
            if args.scenario == "echo":
                # warm up uninstrumented: imports and first-call caches
                asyncio.run(echo_load(url, args.app, args.protocol, args.connections, 200))
                counting(True)
                count = asyncio.run(
                    echo_load(url, args.app, args.protocol, args.connections, args.calls)
                )
                counting(False)
            else:
                asyncio.run(broadcast_load(url, args.protocol, 10, 5, lambda _: None))
                count = asyncio.run(
                    broadcast_load(url, args.protocol, args.receivers, args.messages, counting)
                )
            if args.profile:
                print_profile(stats, count)
                return {"calls": count}
            subprocess.run(
                ["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True
            )
        finally:
            stop(server, grace=120)
        totals: dict[str, int] = {}
        for dump in Path(tmp).glob("callgrind.out.*"):
            events: list[str] = []
            for line in dump.read_text(errors="replace").splitlines():
                if line.startswith("events:"):
                    events = line.split()[1:]
                elif line.startswith("totals:"):
                    for name, value in zip(events, line.split()[1:], strict=False):
                        totals[name] = totals.get(name, 0) + int(value)
    return {name: value / count for name, value in totals.items()}


def owned(args: argparse.Namespace) -> bool:
    """Whether the server runs on hubgen's own WebSocket protocol."""
    return bool(args.ws == "owned" or (args.ws == "auto" and args.app == "hubgen"))


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


def print_profile(path: Path, count: int) -> None:
    """Shares of the server's Python-level time by package, then the hubgen
    functions that take the most, with calls (or resumptions) per unit."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
        "--uvicorn",
        action="append",
        default=[],
        help="an extra uvicorn argument (repeatable), e.g. --uvicorn=--loop=asyncio",
    )
    args = parser.parse_args(argv)
    if args.scenario == "broadcast" and args.app != "hubgen":
        parser.error("--scenario broadcast is counted for hubgen only")
    if args.profile and args.simulate:
        parser.error("--profile and --simulate do not go together")
    if args.profile:
        measure(args)
        return
    per = measure(args)
    unit = "call" if args.scenario == "echo" else "delivered message"
    if args.app == "raw":
        what = "raw echo"
    elif args.app == "socketio":
        what = "socketio echo"
    else:
        what = f"{args.app} {args.scenario} {args.protocol}"
    what += " (hubgen's WebSocket protocol)" if owned(args) else " (uvicorn's WebSocket protocol)"
    print(f"{what}: {per['Ir']:,.0f} instructions per {unit}")
    for name, label in SIMULATED.items():
        if name in per:
            print(f"  {per[name]:>9,.0f} {label}")


if __name__ == "__main__":
    main()
