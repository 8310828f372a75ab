"""The generated TypeScript client as an npm package, the way a front-end team
gets it: ``npm pack`` (which builds it with tsc), the tarball's contents, and an
install into a fresh consumer project whose ``@microsoft/signalr`` is each end
of the peer range the package declares (pinned by the consumer's lock). There a
consumer compiles with the strictest flags, a file of mistakes compiles only
because every ``@ts-expect-error`` line is an error, and the consumer runs in
Node against the echo hub: calls, streams with ``for await``, ``break`` and an
``AbortSignal`` (the server sees the cancellations), options right after the
required arguments, uploads (an async generator, a ``Subject``, a hub stream),
client results, receivers and their disposal (by ``dispose()``, by ``using``,
and without ``Symbol.dispose``), MessagePack's wire types, and a connection the
application built, wrapped with the protocol it uses (and refused when it uses
another). The Node project's lib has ``esnext.disposable``; a second project,
a browser's (ES2022 and DOM only, no ``@types/node``), compiles the package
without ``Symbol.dispose`` declared anywhere.

The package is tests/node/echo-client, generated from tests/apps/echo (its
hubgen.toml); the consumers are tests/node/consumer/.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from starlette.applications import Starlette

from hubgen.codegen.typescript import SIGNALR_PEER_RANGE
from hubgen.server import HubOptions, HubRoute
from tests.apps.echo.hub import EchoHubImpl
from tests.support.node import NODE_DIR, ensure_node_modules
from tests.support.server import serve
from tests.support.tsnode import STRICT_OPTIONS

ROOT = Path(__file__).parents[2]
ECHO = ROOT / "tests" / "apps" / "echo"
PACKAGE = NODE_DIR / "echo-client"
CONSUMERS = NODE_DIR / "consumer"
SIGNALR_VERSIONS = sorted(
    (p.name.removeprefix("signalr-") for p in CONSUMERS.glob("signalr-*")),
    key=lambda v: tuple(int(n) for n in v.split(".")),
)

pytestmark = pytest.mark.node


def npm(*args: str, cwd: Path, timeout: float = 600) -> str:
    """Run npm; its stdout. A failure fails the test with npm's output."""
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to pack and install the package"
    result = subprocess.run(
        [npm, *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    """tsc on ``project``: a folder (its tsconfig.json) or a tsconfig file."""
    tsc = ensure_node_modules() / "node_modules" / "typescript" / "bin" / "tsc"
    return subprocess.run(
        ["node", str(tsc), "-p", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Packed:
    def __init__(self, source: Path, tarball: Path, files: list[str]) -> None:
        self.source = source  #: the package folder npm packed (built in place)
        self.tarball = tarball
        self.files = files  #: what the tarball holds, as npm lists it


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Packed:
    """``npm pack`` of a copy of the generated package: its prepack script
    builds it with tsc, using the devDependencies tests/node pins."""
    work = tmp_path_factory.mktemp("package")
    source = work / "echo-client"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (source / "node_modules").symlink_to(ensure_node_modules() / "node_modules")
    listing = json.loads(npm("pack", "--json", "--pack-destination", str(work), cwd=source))
    [entry] = listing
    return Packed(source, work / entry["filename"], sorted(f["path"] for f in entry["files"]))


def test_the_generated_package_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubgen", "generate", "--check", "--config", "hubgen.toml"],
        cwd=ECHO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_builds_es_modules_and_declarations(packed: Packed) -> None:
    sources = sorted(p.stem for p in (packed.source / "src").glob("*.ts"))
    assert sources == ["echoHub", "index", "messagepack", "models", "runtime"]
    dist = packed.source / "dist"
    assert sorted(p.name for p in dist.iterdir()) == sorted(
        f"{stem}{suffix}" for stem in sources for suffix in (".js", ".d.ts")
    )
    for stem in sources:
        script = (dist / f"{stem}.js").read_text(encoding="utf-8")
        assert "require(" not in script
        assert "exports." not in script
        assert re.search(r"^export ", script, re.MULTILINE), f"{stem}.js exports nothing"
    # ES module imports keep their .js extensions, so Node and bundlers resolve them
    assert 'from "./runtime.js"' in (dist / "echoHub.js").read_text(encoding="utf-8")
    manifest = json.loads((packed.source / "package.json").read_text(encoding="utf-8"))
    assert manifest["type"] == "module"
    assert manifest["sideEffects"] is False
    assert manifest["exports"]["."] == {"types": "./dist/index.d.ts", "default": "./dist/index.js"}
    assert manifest["peerDependencies"]["@microsoft/signalr"] == SIGNALR_PEER_RANGE
    assert manifest["peerDependenciesMeta"] == {
        "@microsoft/signalr-protocol-msgpack": {"optional": True}
    }


def test_the_tarball_holds_exactly_what_a_consumer_needs(packed: Packed) -> None:
    modules = ["echoHub", "index", "messagepack", "models", "runtime"]
    assert packed.files == sorted(
        [
            "README.md",
            "package.json",
            *(f"dist/{m}.js" for m in modules),
            *(f"dist/{m}.d.ts" for m in modules),
        ]
    )


def test_the_consumers_cover_the_peer_range() -> None:
    """The package declares ``>=LOW <HIGH``; a consumer pins LOW and one the
    newest release below HIGH that tests/node also uses."""
    match = re.fullmatch(r">=(\d+\.\d+\.\d+) <(\d+)\.0\.0", SIGNALR_PEER_RANGE)
    assert match is not None, SIGNALR_PEER_RANGE
    low, high = match[1], int(match[2])
    assert SIGNALR_VERSIONS[0] == low
    pinned = json.loads((NODE_DIR / "package.json").read_text())["devDependencies"]
    assert SIGNALR_VERSIONS[-1] == pinned["@microsoft/signalr"]
    assert int(SIGNALR_VERSIONS[-1].split(".")[0]) == high - 1


class RecordingEchoHub(EchoHubImpl):
    """The echo hub, noting how each ``counter`` stream ended on the server."""

    counters: ClassVar[list[tuple[int, int, str]]] = []  # (count, produced, how)
    ended: ClassVar[asyncio.Event]
    #: For each ``whoami`` call: did its connection keep messages for a
    #: stateful reconnect (the server's own record of it)?
    stateful: ClassVar[list[bool]] = []

    async def whoami(self) -> str:
        connection = self.context._connection  # (the test reads the server's state)
        self.stateful.append(connection.replay is not None)
        return await super().whoami()

    async def counter(self, count: int, delay: float = 0.0) -> AsyncIterator[int]:
        produced, how = 0, "completed"
        try:
            async for value in super().counter(count, delay):
                yield value
                produced += 1
        except BaseException:
            how = "cancelled"
            raise
        finally:
            self.counters.append((count, produced, how))
            self.ended.set()


def consumer_project(work: Path, version: str, tarball: Path) -> Path:
    """A fresh project with @microsoft/signalr ``version`` from its pinned lock,
    and the packed client installed from its tarball."""
    project = work / f"consumer-{version}"
    project.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(CONSUMERS / f"signalr-{version}" / name, project / name)
    npm("ci", "--prefer-offline", cwd=project)
    npm("install", "--prefer-offline", str(tarball), cwd=project)
    # npm ls fails if a peer dependency is missing or outside its range
    tree = json.loads(npm("ls", "--json", "--all", cwd=project))
    client = tree["dependencies"]["@hubgen-tests/echo-client"]
    assert client["version"] == "1.0.0"
    assert tree["dependencies"]["@microsoft/signalr"]["version"] == version
    installed = project / "node_modules" / "@hubgen-tests" / "echo-client"
    assert not installed.is_symlink()
    assert sorted(p.name for p in installed.iterdir()) == ["README.md", "dist", "package.json"]
    (project / "src").mkdir()
    for name in ("usage.ts", "mistakes.ts", "browser.ts"):
        shutil.copy(CONSUMERS / name, project / "src" / name)
    # a Node.js application, whose lib declares Symbol.dispose (for `using`)
    options = {
        **STRICT_OPTIONS,
        "lib": ["ES2022", "DOM", "ESNext.Disposable"],
        "rootDir": "src",
        "outDir": "out",
        "skipLibCheck": False,
    }
    (project / "tsconfig.json").write_text(
        json.dumps(
            {"compilerOptions": options, "files": ["src/usage.ts", "src/mistakes.ts"]}, indent=2
        ),
        encoding="utf-8",
    )
    # a web page's: ES2022 and DOM, nothing that declares Symbol.dispose
    browser = {**options, "lib": ["ES2022", "DOM"], "types": [], "noEmit": True}
    (project / "tsconfig.browser.json").write_text(
        json.dumps({"compilerOptions": browser, "files": ["src/browser.ts"]}, indent=2),
        encoding="utf-8",
    )
    return project


async def run_consumer(script: Path, url: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    steps = [json.loads(line) for line in stdout.decode().splitlines()]
    return {step["step"]: step["value"] for step in steps}


@pytest.mark.parametrize("version", SIGNALR_VERSIONS)
async def test_a_consumer_installs_compiles_and_runs_the_package(
    version: str, packed: Packed, tmp_path: Path
) -> None:
    project = consumer_project(tmp_path, version, packed.tarball)
    result = tsc(project)
    assert result.returncode == 0, f"tsc failed:\n{result.stdout}{result.stderr}"
    result = tsc(project / "tsconfig.browser.json")
    assert result.returncode == 0, f"tsc failed (browser):\n{result.stdout}{result.stderr}"

    RecordingEchoHub.counters = []
    RecordingEchoHub.stateful = []
    RecordingEchoHub.ended = asyncio.Event()
    options = HubOptions(allow_stateful_reconnects=True)
    app = Starlette(routes=[HubRoute("/echo", RecordingEchoHub, options=options)])
    async with serve(app) as base_url:
        steps = await run_consumer(project / "out" / "usage.js", f"{base_url}/echo")
        async with asyncio.timeout(5):  # the server ends cancelled streams on its own time
            while len(RecordingEchoHub.counters) < 7:
                await RecordingEchoHub.ended.wait()
                RecordingEchoHub.ended.clear()

    assert steps["echo"] == "hello"
    assert steps["add"] == 11
    # create<Hub>(url, { statefulReconnect: true }) asks for it, and gets it
    assert steps["statefulReconnect"] == "connected"
    assert RecordingEchoHub.stateful.count(True) == 1  # that connection, and no other
    assert steps["echoItem"] == {
        "name": "thing",
        "quantity": 1,
        "tags": [],
        "color": "green",
        "createdAt": None,
        "payload": "",
    }
    assert steps["counter"] == [0, 1, 2]
    assert steps["break"] == [0, 1, 2]
    assert steps["abort"] == {"items": [0, 1], "error": "Error: enough"}
    assert steps["abortedBefore"] == "AbortError: This operation was aborted"
    assert steps["optionsAfterRequired"] == [0, 1, 2]
    assert steps["abortedAfterRequired"] == "AbortError: This operation was aborted"
    assert steps["failingStream"] == (
        "Error: An error occurred on the server while streaming results. HubException: stream broke"
    )
    assert steps["sumUpload"] == 10
    assert steps["subjectUpload"] == 11
    assert steps["streamUpload"] == 0 + 1 + 2 + 3
    assert steps["subscribe"] == [0, 1]
    assert steps["doubleUpload"] == [10, 12]
    assert steps["askCaller"] == len("how long is this?")
    assert steps["messages"] == ["one"]
    # with the handler disposed, the official client answers that it has none
    assert steps["askAfterDispose"] == (
        "Error: An unexpected error occurred invoking 'AskCaller' on the server. "
        "HubException: Client didn't provide a result."
    )
    # `using`: inside the block the handlers answer, after it they are gone
    assert steps["usingAsk"] == 8
    assert steps["usingMessages"] == ["inside"]
    assert steps["usingAskAfter"] == steps["askAfterDispose"]
    assert steps["usingSubscription"] == [0, 1]
    # without Symbol.dispose, the registry symbol's method disposes
    assert steps["disposeFallback"] == {"registryKey": "function", "messages": ["before"]}
    assert steps["messagepack"] == {
        "payload": [1, 2, 255],
        "createdAt": "2024-01-02T03:04:05.000Z",
        "payloadIsUint8Array": True,
    }
    # a connection built by the application and wrapped with its protocol
    assert steps["wrapped"] == {
        "payload": [7, 8],
        "createdAt": "2024-01-02T03:04:05.000Z",
        "echoWhen": "2024-01-02T03:04:05.000Z",
    }
    # and one wrapped with another protocol than its own
    refused = (
        "TypeError: the connection uses the json hub protocol, "
        "but options.protocol says messagepack"
    )
    assert steps["wrongProtocol"] == [refused, refused]
    assert "done" in steps
    # what the server saw: the counters read to their end ran to it (the
    # first, the one with options only, the one uploaded back and the
    # subscribed one), the other three were cancelled by the client long
    # before theirs (by break, abort and using); the ones with a signal
    # aborted beforehand never started
    assert [c for c in RecordingEchoHub.counters if c[0] < 999] == [
        (3, 3, "completed"),
        (3, 3, "completed"),
        (4, 4, "completed"),
        (2, 2, "completed"),
    ]
    cancelled = [c for c in RecordingEchoHub.counters if c[0] >= 999]
    assert sorted(count for count, _, _ in cancelled) == [999, 1000, 1000]
    assert all(how == "cancelled" and produced < 100 for _, produced, how in cancelled)
