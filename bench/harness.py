"""Processes under benchmark: a pinned uvicorn server (or several, on a pinned
redis-server) and a pinned Node load generator.

Every process is started here and stopped by its own PID; only loopback is
used; every wait is bounded. CPU use is read from ``/proc/<pid>/stat``
(utime + stime) and resident memory from ``/proc/<pid>/status`` (VmRSS), at
the moments the load generator reports (``{"event": "start"}`` …); for a
:class:`Cluster`, summed over its processes (Redis included).

On the 2-core machines the suite runs on, every server-side process (the
uvicorn server, or a cluster's uvicorn servers and its redis-server) is
pinned to ``SERVER_CPU`` and the load generator to ``LOAD_CPU``: a cluster
gets the same one core as a single server, so the two compare in the cost of
a delivery, not in how many cores they were given.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
LOAD = ROOT / "bench" / "load"
TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CPU = 0
LOAD_CPU = 1


def raise_open_files_limit() -> int:
    """Raise this process's (and so its children's) open-files limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pinned(cpu: int) -> list[str]:
    """``taskset`` to run on ``cpu``, when there is more than one CPU to choose from."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu)]
    return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def write_calls(pid: int) -> int:
    """Write system calls a process has made (``syscw`` in ``/proc/<pid>/io``:
    write, writev, send… on any file, sockets included)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise RuntimeError(f"no syscw for {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(
    process: subprocess.Popen[Any],
    port: int,
    timeout: float,
    name: str,
    log: Callable[[], str] = lambda: "",
) -> None:
    """Return once something listens on ``port``; raise if ``process`` exits
    first (with ``log()``) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not listen on {port} within {timeout}s")


def stop(process: subprocess.Popen[Any], *, grace: float = 10) -> None:
    """SIGTERM the process by its PID, then SIGKILL it if it outlives ``grace``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait()


class Served(Protocol):
    """What a load generator runs against: one server, or a cluster of them."""

    @property
    def port(self) -> int:
        """The first (or only) server's port."""
        ...

    @property
    def ports(self) -> list[int]:
        """Every server's port, in order."""
        ...

    @property
    def pids(self) -> list[int]:
        """Every server-side process, whose CPU time and memory are counted."""
        ...

    @property
    def names(self) -> list[str]:
        """A name for each of ``pids``."""
        ...

    def log(self, limit: int = 4000) -> str: ...


class Server:
    """``uvicorn APP`` on a free loopback port, pinned to ``SERVER_CPU``
    (with ``env`` added to the environment)."""

    def __init__(
        self,
        app: str,
        extra_args: tuple[str, ...] = (),
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.port = free_port()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [
                *pinned(SERVER_CPU),
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                *extra_args,
                "--timeout-graceful-shutdown",
                "2",
            ],
            cwd=ROOT,
            env=None if env is None else {**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_listening(30)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ports(self) -> list[int]:
        return [self.port]

    @property
    def pids(self) -> list[int]:
        return [self.pid]

    @property
    def names(self) -> list[str]:
        return ["uvicorn"]

    def _wait_listening(self, timeout: float) -> None:
        wait_listening(self.process, self.port, timeout, self.app, self.log)

    def log(self, limit: int = 4000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def close(self) -> None:
        stop(self.process, grace=5)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def redis_server_version() -> str:
    """``redis-server --version``'s version, or "" when it is not installed."""
    executable = shutil.which("redis-server")
    if executable is None:
        return ""
    out = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    for word in out.stdout.split():
        if word.startswith("v="):
            return word[2:]
    return out.stdout.strip()


class RedisServer:
    """Debian's ``redis-server`` on a free loopback port: no persistence, no
    other listener, stopped by its PID. ``prefix`` goes in front of the
    command (``taskset``, ``valgrind``)."""

    def __init__(self, prefix: Sequence[str] = (), *, timeout: float = 30) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError(
                "redis-server is not installed: scripts/bootstrap dev installs Debian's "
                "redis-server as root (apt-get install redis-server)"
            )
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="hubgen-bench-redis-")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [
                *prefix,
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
                "--loglevel",
                "warning",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(self.process, self.port, timeout, "redis-server", self.log)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self) -> Any:
        """A redis-py client (synchronous) to it."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30)

    def subscribers(self, pattern: str) -> dict[bytes, int]:
        """Subscribers of each channel matching ``pattern`` (PUBSUB CHANNELS, NUMSUB)."""
        with self.client() as client:
            channels = client.pubsub_channels(pattern)
            return dict(client.pubsub_numsub(*channels)) if channels else {}

    def log(self, limit: int = 4000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def close(self) -> None:
        stop(self.process, grace=30)
        self._log.close()
        self._dir.cleanup()


def wait_subscribed(redis_server: RedisServer, processes: int, timeout: float = 30) -> None:
    """Wait until ``processes`` servers are subscribed to a hub's ``…:all``
    channel (each process subscribes while its lifespan starts)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = redis_server.subscribers("*:all")
        if any(count >= processes for count in counts.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{processes} server processes did not subscribe to Redis within {timeout}s "
                f"(subscribers: {counts})"
            )
        time.sleep(0.05)


class Cluster:
    """``processes`` uvicorn servers of ``app`` on one redis-server, all of them
    pinned to ``SERVER_CPU``. The app finds Redis in ``BENCH_REDIS_URL``
    (see bench/apps/hubgen_redis_app.py)."""

    def __init__(self, app: str, processes: int, extra_args: tuple[str, ...] = ()) -> None:
        self.app = app
        self.redis = RedisServer(pinned(SERVER_CPU))
        self.servers: list[Server] = []
        try:
            for number in range(1, processes + 1):
                env = {"BENCH_REDIS_URL": f"{self.redis.url}?client_name=hubgen-{number}"}
                self.servers.append(Server(app, extra_args, env=env))
            wait_subscribed(self.redis, processes)
        except BaseException:
            self.close()
            raise

    @property
    def port(self) -> int:
        return self.servers[0].port

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers] + [self.redis.pid]

    @property
    def names(self) -> list[str]:
        return [f"uvicorn {i}" for i in range(1, len(self.servers) + 1)] + ["redis-server"]

    def log(self, limit: int = 4000) -> str:
        parts = [
            f"-- {server.app} on {server.port}:\n{server.log(limit)}" for server in self.servers
        ]
        parts.append(f"-- redis-server on {self.redis.port}:\n{self.redis.log(limit)}")
        return "\n".join(parts)

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers = []
        self.redis.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Sample:
    """The load generator's and the server-side processes' CPU time (each
    one's in ``server_parts``, their sum in ``server_cpu``), the server
    side's RSS and its write system calls at one moment."""

    at: float
    server_cpu: float
    load_cpu: float
    server_rss: int
    server_parts: tuple[float, ...] = ()
    #: write system calls of the server side so far
    server_writes: int = 0


@dataclass
class LoadRun:
    """What one load generator run reported, with samples at its events."""

    result: dict[str, Any]
    samples: dict[str, Sample]

    def cpu(self, start: str = "start", end: str = "stop") -> tuple[float, float]:
        """Server and load generator CPU use (cores) between two events."""
        a, b = self.samples[start], self.samples[end]
        elapsed = max(b.at - a.at, 1e-9)
        return (b.server_cpu - a.server_cpu) / elapsed, (b.load_cpu - a.load_cpu) / elapsed

    def server_writes(self, start: str = "start", end: str = "stop") -> int:
        """Write system calls of the server side between two events."""
        return self.samples[end].server_writes - self.samples[start].server_writes

    def server_cpu_parts(self, start: str = "start", end: str = "stop") -> list[float]:
        """Each server-side process's CPU use (cores) between two events."""
        a, b = self.samples[start], self.samples[end]
        elapsed = max(b.at - a.at, 1e-9)
        return [(y - x) / elapsed for x, y in zip(a.server_parts, b.server_parts, strict=True)]


def _read_lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextlib.contextmanager
def node_process(script: str, args: dict[str, Any]) -> Iterator[subprocess.Popen[str]]:
    command = [*pinned(LOAD_CPU), "node", str(LOAD / script)]
    for key, value in args.items():
        if value is not None:
            command += [f"--{key}", str(value)]
    process = subprocess.Popen(
        command,
        cwd=LOAD,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        stop(process, grace=5)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def run_load(
    server: Served,
    script: str,
    args: dict[str, Any],
    *,
    timeout: float,
    on_event: Callable[[str, Sample], None] | None = None,
    until: str = "result",
) -> LoadRun:
    """Run a load generator against ``server`` until it reports ``until``.

    The server side (each of its processes) and the generator are sampled at
    every event the generator prints; the generator is stopped by its PID
    afterwards (or when ``timeout`` passes).
    An event with ``"paused": true`` waits for ``on_event`` to return, then
    the generator is told to go on (a line on its stdin).
    """
    with node_process(script, args) as process:
        lines: queue.Queue[str | None] = queue.Queue()
        errors: list[str] = []
        threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
        threading.Thread(target=lambda: errors.extend(process.stderr or ()), daemon=True).start()
        deadline = time.monotonic() + timeout
        samples: dict[str, Sample] = {}
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{script} reported nothing for {timeout:.0f}s") from None
            if line is None:
                process.wait(5)
                raise RuntimeError(
                    f"{script} exited with {process.returncode} before {until!r}:\n"
                    + "".join(errors)[-3000:]
                    + "\nserver log:\n"
                    + server.log()
                )
            if not line.startswith("{"):
                continue
            message: dict[str, Any] = json.loads(line)
            event = message.pop("event", "")
            parts = tuple(cpu_seconds(pid) for pid in server.pids)
            sample = Sample(
                time.monotonic(),
                sum(parts),
                cpu_seconds(process.pid),
                sum(rss_bytes(pid) for pid in server.pids),
                parts,
                sum(write_calls(pid) for pid in server.pids),
            )
            samples[event] = sample
            if on_event is not None:
                on_event(event, sample)
            if message.pop("paused", False) and process.stdin is not None:
                process.stdin.write("go\n")
                process.stdin.flush()
            if event == until:
                return LoadRun(message, samples)
