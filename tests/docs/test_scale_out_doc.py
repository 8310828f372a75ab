"""docs/scale-out.md's application and deployment, as written: the board hub
generates and type-checks; `uvicorn --workers 2` on a real Redis delivers a
post made on either process to every client once; and the page's nginx
configuration, in front of two processes, carries Server-Sent Events, Long
Polling and WebSockets while clients on both processes see each other."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubgen.client import HubConnection
from tests.docs.project import build
from tests.docs.snippets import ROOT, parse
from tests.support.redis import RedisServer, free_port

DOCUMENT = ROOT / "docs" / "scale-out.md"
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build(DOCUMENT, tmp_path_factory.mktemp("scale-out") / "project")
    result = _run([str(BIN / "hubgen"), "generate"], root)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root))  # the board's generated client, for the tests' clients
    return root


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def test_the_application_type_checks(project: Path) -> None:
    (project / "mypy.ini").write_text("[mypy]\nstrict = true\n")
    result = _run([sys.executable, "-m", "mypy", "--no-incremental", "board"], project)
    assert result.returncode == 0, result.stdout + result.stderr


def _shell_lines(heading: str) -> list[str]:
    blocks = [s for s in parse(DOCUMENT)[0] if s.kind == "sh" and s.heading == heading]
    assert len(blocks) == 1, heading
    return [line for line in blocks[0].text.splitlines() if line.strip()]


@contextmanager
def uvicorn(project: Path, line: str, redis_url: str, port: int) -> Iterator[subprocess.Popen[str]]:
    """A uvicorn command line of the page, on ``redis_url`` and ``port``."""
    assert line.startswith("REDIS_URL=redis://127.0.0.1:6379/0 uvicorn board.server:app ")
    arguments = line.split()[2:]
    arguments = [a for a in arguments if a != "&"]
    index = arguments.index("--port")
    arguments[index + 1] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *arguments, "--log-level", "warning"],
        cwd=project,
        env={**os.environ, "REDIS_URL": redis_url},
        text=True,
        start_new_session=True,  # --workers: stop the whole process group
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "uvicorn exited"
            try:
                httpx.post(f"http://127.0.0.1:{port}/board/negotiate?negotiateVersion=1")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Board:
    """One client of the board hub, and the posts it saw (text, server)."""

    def __init__(self, url: str, **options: Any) -> None:
        # the board's generated client, which the `project` fixture built
        generated = importlib.import_module("board.generated.board_hub_client")
        self.connection = HubConnection(url, **options)
        self.hub: Any = generated.BoardHubClient(self.connection)
        self.seen: list[tuple[str, str]] = []

        async def posted(text: str, server: str) -> None:
            self.seen.append((text, server))

        self.hub.on_posted(posted)


@asynccontextmanager
async def boards(count: int, url: str, **options: Any) -> AsyncIterator[list[Board]]:
    clients = [Board(url, **options) for _ in range(count)]
    for client in clients:
        await client.connection.start()
    try:
        yield clients
    finally:
        for client in clients:
            await client.connection.stop()


async def settle(condition: Any, seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - pushes arrive in the background
            await asyncio.sleep(0.05)


async def test_workers_on_redis_deliver_every_post_once(
    project: Path, redis_server: RedisServer
) -> None:
    """`uvicorn --workers 2`, as the page runs it: clients that skip
    negotiation land on either process, and each sees every post once."""
    (line,) = [line for line in _shell_lines("Running it") if "uvicorn" in line]
    port = free_port()
    with uvicorn(project, line, redis_server.url, port):
        url = f"http://127.0.0.1:{port}/board"
        # The second worker may still be starting when the first answers:
        # until posts come from both, connect a new batch of clients.
        deadline = asyncio.get_running_loop().time() + 30
        servers: set[str] = set()
        while len(servers) < 2:
            assert asyncio.get_running_loop().time() < deadline, f"one process only: {servers}"
            async with boards(12, url, transports="WebSockets", skip_negotiation=True) as clients:
                for number, client in enumerate(clients):
                    await client.hub.post(f"post {number}")
                await settle(lambda: all(len(c.seen) >= len(clients) for c in clients))
                await asyncio.sleep(0.3)
                texts = {f"post {n}" for n in range(len(clients))}
                for client in clients:  # each post once, whichever process it came from
                    assert sorted(text for text, _ in client.seen) == sorted(texts)
                servers = {server for client in clients for _, server in client.seen}


@contextmanager
def running_nginx(executable: str, config: str, port: int, prefix: Path) -> Iterator[None]:
    """nginx in the foreground with ``config``; no error in its log at the end."""
    (prefix / "nginx.conf").write_text(config)
    (prefix / "logs").mkdir()
    log = prefix / "logs" / "error.log"
    proxy = subprocess.Popen(
        [
            executable,
            "-p",
            str(prefix),
            "-c",
            str(prefix / "nginx.conf"),
            "-g",
            f"daemon off; pid {prefix}/nginx.pid; error_log {log};",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proxy.poll() is None, proxy.communicate()[0]
            try:
                httpx.get(f"http://127.0.0.1:{port}/board")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield
    finally:
        proxy.send_signal(signal.SIGQUIT)
        proxy.wait(10)
    text = log.read_text() if log.exists() else ""
    assert not re.search(r"\[(error|crit|alert|emerg)\]", text), text


@pytest.fixture
def nginx(tmp_path: Path) -> str:
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(executable).exists():
        pytest.fail("nginx is not installed: scripts/bootstrap dev installs Debian's nginx-light")
    return executable


async def test_the_worked_deployment_behind_nginx(
    project: Path, redis_server: RedisServer, nginx: str, tmp_path: Path
) -> None:
    config = next(
        s.text
        for s in parse(DOCUMENT)[0]
        if s.kind == "nginx" and s.heading == "A worked deployment"
    )
    front, first, second = free_port(), free_port(), free_port()
    config = (
        config.replace("listen 8000;", f"listen 127.0.0.1:{front};")
        .replace("127.0.0.1:8001", f"127.0.0.1:{first}")
        .replace("127.0.0.1:8002", f"127.0.0.1:{second}")
    )
    lines = [line for line in _shell_lines("A worked deployment") if "uvicorn" in line]
    assert len(lines) == 2
    with (
        uvicorn(project, lines[0], redis_server.url, first),
        uvicorn(project, lines[1], redis_server.url, second),
        running_nginx(nginx, config, front, tmp_path),
    ):
        through = f"http://127.0.0.1:{front}/board"
        behind = [f"http://127.0.0.1:{p}/board" for p in (first, second)]
        async with (
            boards(1, through, transports="ServerSentEvents") as (sse,),
            boards(1, through, transports="LongPolling") as (polling,),
            boards(1, through, transports="WebSockets") as (websocket,),
            boards(1, behind[0]) as (on_first,),
            boards(1, behind[1]) as (on_second,),
        ):
            everyone = [sse, polling, websocket, on_first, on_second]
            for client in everyone:
                await client.hub.join("news")
            await on_first.hub.post_to("news", "from the first")
            await sse.hub.post_to("news", "through nginx")
            await settle(lambda: all(len(c.seen) >= 2 for c in everyone))
            await asyncio.sleep(0.3)
            for client in everyone:
                assert sorted(t for t, _ in client.seen) == ["from the first", "through nginx"]
