"""Compile a TypeScript driver together with generated TypeScript, run it in Node."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.support.node import NODE_DIR, ensure_node_modules

#: Compiler options the generated code must satisfy (the strictest common set).
STRICT_OPTIONS: dict[str, Any] = {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "noUncheckedIndexedAccess": True,
    "exactOptionalPropertyTypes": True,
    "verbatimModuleSyntax": True,
    "isolatedModules": True,
    "skipLibCheck": True,
    "types": ["node"],
}


def build_driver(driver: Path, generated: Path) -> Path:
    """Copy ``driver`` and the ``generated`` TypeScript into a fresh folder
    under tests/node/build, compile them with tsc, and return the driver's .js."""
    ensure_node_modules()
    work = NODE_DIR / "build" / f"{driver.stem}-{uuid.uuid4().hex[:8]}"
    shutil.copytree(generated, work / "src" / "generated")
    shutil.copy(driver, work / "src" / driver.name)
    (work / "package.json").write_text('{"type": "module"}\n')
    (work / "tsconfig.json").write_text(
        json.dumps(
            {"compilerOptions": {**STRICT_OPTIONS, "rootDir": "src", "outDir": "out"}},
            indent=2,
        )
    )
    tsc = NODE_DIR / "node_modules" / ".bin" / "tsc"
    result = subprocess.run(
        [str(tsc), "-p", str(work)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"tsc failed:\n{result.stdout}{result.stderr}"
    return work / "out" / driver.with_suffix(".js").name


class NodeProcess:
    """A running Node driver that prints one JSON event per line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        #: Events read while waiting for others, oldest first.
        self.unclaimed: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, script: Path, *args: str) -> NodeProcess:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(script),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def event(self, name: str, timeout: float = 10) -> Any:
        """The data of the first unclaimed event called ``name``; other events
        read meanwhile are kept for later calls."""
        for index, event in enumerate(self.unclaimed):
            if event["event"] == name:
                del self.unclaimed[index]
                return event["data"]
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    stderr = await self.process.stderr.read() if self.process.stderr else b""
                    raise AssertionError(f"node exited before {name!r}: {stderr.decode()}")
                event = json.loads(line)
                if event["event"] == name:
                    return event["data"]
                self.unclaimed.append(event)

    async def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def finish(self, timeout: float = 10) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.command("quit")
                await self.process.wait()
        except (TimeoutError, ConnectionError):
            self.process.kill()
            await self.process.wait()
