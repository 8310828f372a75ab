"""The official @microsoft/signalr client (Node) against a hub that requires
a user, on every transport and protocol: accessTokenFactory, 401 without a
token, the exact refusal of a method, and clients.user() reaching every
connection of a user."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.apps.echo.secure import create_secure_app
from tests.support.node import ensure_node_modules
from tests.support.server import serve

SCRIPT = Path(__file__).parents[1] / "node" / "interop" / "auth-client.mjs"

pytestmark = pytest.mark.node

COMBINATIONS = [
    ("WebSockets", "json"),
    ("WebSockets", "messagepack"),
    ("ServerSentEvents", "json"),
    ("LongPolling", "json"),
    ("LongPolling", "messagepack"),
]


async def observe(transport: str, protocol: str) -> dict[str, Any]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the interop tests"
    async with serve(create_secure_app()) as base_url:
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
async def test_official_client_against_an_authorized_hub(transport: str, protocol: str) -> None:
    seen = await observe(transport, protocol)
    refused = {  # as the client reports a 401 from negotiate
        "message": "Failed to complete negotiation with the server: Error: Unauthorized: "
        "Status code '401'",
        "statusCode": None,
    }
    assert seen["withoutToken"] == refused
    assert seen["invalidToken"] == refused
    assert seen["userName"] == "alice"
    assert seen["unauthorized"] == {
        "message": "Failed to invoke 'Add' because user is unauthorized",
        "statusCode": None,
    }
    assert seen["aliveAfter"] == "alive"
    assert seen["stateAfter"] == "Connected"
    assert seen["allowed"] == 3
    assert seen["toBothOfBobs"] == [["hello bob"], ["hello bob"]]
