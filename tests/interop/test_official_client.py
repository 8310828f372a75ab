"""The official @microsoft/signalr client (Node) against a hubgen server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.apps.echo.hub import create_app
from tests.support.node import ensure_node_modules
from tests.support.server import serve

SCRIPT = Path(__file__).parents[1] / "node" / "interop" / "official-client.mjs"

pytestmark = pytest.mark.node

COMBINATIONS = [
    ("WebSockets", "json"),
    ("WebSockets", "messagepack"),
    ("ServerSentEvents", "json"),
    ("LongPolling", "json"),
    ("LongPolling", "messagepack"),
]


async def run_official_client(base_url: str, transport: str, protocol: str) -> dict[str, Any]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the interop tests"
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        f"{base_url}/echo",
        transport,
        protocol,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
async def test_official_client(transport: str, protocol: str) -> None:
    async with serve(create_app()) as base_url:
        out = await run_official_client(base_url, transport, protocol)

    assert out["connectionIdMatches"] is True
    assert out["echo"] == "hi from node"
    assert out["unicode"] == "héllo ✓ 🎉"
    assert out["add"] == 3
    assert out["addDefault"] == 11
    if protocol == "json":
        assert out["item"] == {
            "name": "box",
            "quantity": 3,
            "tags": ["a", "b"],
            "color": "green",
            "createdAt": "2024-05-01T12:30:00Z",
            "payload": "AAEC",
        }
    else:
        assert out["item"] == {
            "name": "box",
            "quantity": 3,
            "tags": ["a", "b"],
            "color": "green",
            "createdAt": "Date:2024-05-01T12:30:00.000Z",
            "payload": "bytes:0,1,2",
        }
    assert out["sendResolved"] is True
    assert out["unknownMethod"] == (
        "Failed to invoke 'Nope' due to an error on the server. "
        "HubException: Method does not exist."
    )
    assert out["badArgument"].startswith(
        "Failed to invoke 'Add' due to an error on the server. InvalidDataException: "
        "Error binding argument 'a' (position 0):"
    )
    assert out["hubError"] == (
        "An unexpected error occurred invoking 'Fail' on the server. HubException: told you"
    )
    assert out["crash"] == "An unexpected error occurred invoking 'Crash' on the server."

    assert out["broadcast"] == ["to everyone"]
    assert out["direct"] == ["direct"]
    assert out["pushedItem"] == {"name": "pushed", "quantity": 1, "createdAt": None}
    assert out["group"] == ["to the room"]
    assert out["header"] == "from-node"

    assert out["stream"] == [0, 1, 2, 3, 4]
    assert out["streamError"] == (
        "An error occurred on the server while streaming results. HubException: stream broke"
    )
    assert out["canceledStream"] == [0, 1, 2]
    assert out["afterCancel"] == "still alive"
    assert out["upload"] == 325
    assert out["bothWays"] == [2, 4, 6]

    assert out["clientResult"] == 42
    assert out["clientResultMissing"] == (
        "An unexpected error occurred invoking 'AskCaller' on the server. "
        "HubException: Client didn't provide a result."
    )
    assert out["clientResultThrows"] == (
        "An unexpected error occurred invoking 'AskClient' on the server. "
        "HubException: Error: from callback"
    )

    assert out["abortClose"] is None
    assert out["stopClose"] is None
    assert out["state"] == "Disconnected"
