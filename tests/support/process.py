"""A hub server in a process of its own, run with uvicorn's command line.

For tests of what a client can do to a whole server (stall its event loop,
grow its memory, keep it from exiting): the server must not share the test's
event loop, and its CPU time, memory and exit are read from outside, as an
operator would see them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import OWNED_WS, owned_path, uvicorn_settings

ROOT = Path(__file__).parents[2]

#: The factory uvicorn runs: the echo hub, its HubOptions from ECHO_HUB_OPTIONS.
ECHO_APP = "tests.apps.echo.hub:app_from_environment"


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]

    def _stat(self) -> list[str]:
        return Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far."""
        fields = self._stat()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self, field: str = "VmRSS") -> int:
        """A memory figure from /proc/PID/status (``VmRSS``, or ``VmHWM`` for the peak)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)

    def terminate(self, timeout: float) -> float:
        """SIGTERM, then the seconds it took to exit (SIGKILL and raise past ``timeout``)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server ignored SIGTERM for {timeout} s") from None
        return time.monotonic() - started


@asynccontextmanager
async def serve_process(
    *uvicorn_args: str,
    app: str = ECHO_APP,
    options: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    port: int = 0,
) -> AsyncIterator[ServerProcess]:
    """``python -m uvicorn APP --factory`` on a loopback socket this process
    binds (handed over with ``--fd``, so there is no port race), with
    hubgen's own WebSocket protocol when the run asks for it
    (``HUBGEN_TEST_WS``, see ``tests.support.server``); yields once
    the hub answers a negotiate. The server is killed at the end of the block
    if it is still running. ``port`` 0 takes a free one; another one (a
    server started again where one ran) must be free."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    port = listener.getsockname()[1]
    command: list[str] = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--fd",
        str(listener.fileno()),
        "--log-level",
        "warning",
        *uvicorn_args,
    ]
    if owned_path() and not any(arg == "--ws" or arg.startswith("--ws=") for arg in uvicorn_args):
        command += ["--ws", OWNED_WS]
        if not any(arg.startswith("--ws-per-message-deflate") for arg in uvicorn_args):
            deflate = str(uvicorn_settings()["ws_per_message_deflate"]).lower()
            command += ["--ws-per-message-deflate", deflate]
    environment = {
        **os.environ,
        "ECHO_HUB_OPTIONS": json.dumps(options or {}),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for by polling
        command, cwd=ROOT, env=environment, pass_fds=[listener.fileno()]
    )
    listener.close()
    server = ServerProcess(f"http://127.0.0.1:{port}", process)
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited with {process.returncode} before serving")
                try:
                    response = await http.post(f"{server.url}/echo/negotiate?negotiateVersion=1")
                    if response.status_code in (200, 401):  # (401: a hub that needs a user)
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start serving within 20 s")
                await asyncio.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
