"""The official @microsoft/signalr client (Node) against a hubgen server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from hubgen.server import HubOptions, HubRoute
from tests.apps.echo.hub import EchoHubImpl
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


def create_app() -> Starlette:
    """The echo hub twice: at /echo as configured by default, and at
    /detailed with detailed errors on."""
    return Starlette(
        routes=[
            HubRoute("/echo", EchoHubImpl),
            HubRoute("/detailed", EchoHubImpl, options=HubOptions(detailed_errors=True)),
        ]
    )


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
        f"{base_url}/detailed",
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


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[f"{t}-{p}" for t, p in COMBINATIONS])
def observed(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """What the official client saw in one run against a fresh server, per
    combination (one run serves every test of this module)."""
    transport, protocol = request.param

    async def run() -> dict[str, Any]:
        async with serve(create_app()) as base_url:
            return await run_official_client(base_url, transport, protocol)

    return protocol, asyncio.run(run())


def native(protocol: str, json_form: str, msgpack_form: str) -> str:
    return json_form if protocol == "json" else msgpack_form


def reference_sample(protocol: str) -> dict[str, Any]:
    """``REFERENCE_SAMPLE`` as the official client receives it (tagged as the
    driver tags values): the codec table's JavaScript column for ``protocol``."""
    return {
        # JSON keeps the offset; MessagePack timestamps carry the instant only
        "aware": native(
            protocol, "2024-05-01T14:30:15.123000+02:00", "Date:2024-05-01T12:30:15.123Z"
        ),
        # a naive datetime is UTC, in both protocols
        "naive": native(protocol, "2024-05-01T12:30:00Z", "Date:2024-05-01T12:30:00.000Z"),
        "day": "2024-02-29",
        "clock": "23:59:58.000005",
        "span": "P1DT2H3.0005S",
        "blob": native(protocol, "AAH+/w==", "Uint8Array:0,1,254,255"),
        "amount": "1234567890.0123456789",
        "ident": "12345678-1234-5678-1234-567812345678",
        "priority": 2,
        "color": "green",
        # 2**53 + 1 arrives as the nearest double, a plain number in both protocols
        "big": "unsafe:9007199254740992",
        "nullable": None,
        "defaulted": "preset",
        "optional": None,
        "nick_name": "nick",
        "tag": {"label": "one", "weight": 1},
        "tags": [{"label": "two", "weight": 2}, {"label": "three", "weight": 3}],
        "tagMap": {"four": {"label": "four", "weight": 4}},
    }


#: How the server bound the fields of what the driver builds (``built``), in
#: either protocol, with the defaulted fields left out.
BUILT_BOUND = {
    "aware": "2024-05-01T12:30:15.123000+00:00",
    "naive": "2024-05-01T12:30:00+00:00",
    "day": "datetime.date(2024, 2, 29)",
    "clock": "datetime.time(23, 59, 58, 5)",
    "span": "datetime.timedelta(days=1, seconds=7203, microseconds=500)",
    "blob": "b'\\x00\\x01\\xfe\\xff'",
    "amount": "Decimal('1234567890.0123456789')",
    "ident": "UUID('12345678-1234-5678-1234-567812345678')",
    "priority": "<Priority.HIGH: 2>",
    "color": "<Color.GREEN: 'green'>",
    "nullable": "None",
    "defaulted": "'preset'",
    "optional": "None",
    "nick": "''",
    "tag": "Tag(label='one', weight=1)",
    "tags": "[Tag(label='two', weight=2)]",
    "tag_map": "{'four': Tag(label='four', weight=4)}",
}


async def test_codec_table_values_arrive_as_documented(
    observed: tuple[str, dict[str, Any]],
) -> None:
    protocol, out = observed
    expected = reference_sample(protocol)
    assert out["sample"] == expected
    assert out["sampleEchoed"] == expected  # and what the client got, it can send back
    assert out["bigType"] == "number"  # never a BigInt, not even over MessagePack
    assert out["sampleBound"] == {
        "aware": native(
            protocol, "2024-05-01T14:30:15.123000+02:00", "2024-05-01T12:30:15.123000+00:00"
        ),
        "naive": "2024-05-01T12:30:00+00:00",
        "day": "datetime.date(2024, 2, 29)",
        "clock": "datetime.time(23, 59, 58, 5)",
        "span": "datetime.timedelta(days=1, seconds=7203, microseconds=500)",
        "blob": "b'\\x00\\x01\\xfe\\xff'",
        "amount": "Decimal('1234567890.0123456789')",
        "ident": "UUID('12345678-1234-5678-1234-567812345678')",
        "priority": "<Priority.HIGH: 2>",
        "color": "<Color.GREEN: 'green'>",
        "big": "9007199254740992",
        "nullable": "None",
        "defaulted": "'preset'",
        "optional": "None",
        "nick": "'nick'",
        "tag": "Tag(label='one', weight=1)",
        "tags": "[Tag(label='two', weight=2), Tag(label='three', weight=3)]",
        "tag_map": "{'four': Tag(label='four', weight=4)}",
    }


async def test_values_a_javascript_client_builds_bind_on_the_server(
    observed: tuple[str, dict[str, Any]],
) -> None:
    protocol, out = observed
    # 2**60 is an exact double, but JSON.stringify writes it as 1152921504606847000;
    # MessagePack sends the double itself (a float64: not a safe integer).
    big = native(protocol, "1152921504606847000", "1152921504606846976")
    assert out["builtBound"] == {**BUILT_BOUND, "big": big}
    assert out["builtFullBound"] == {
        **BUILT_BOUND,
        "big": big,
        "nullable": "'set'",
        "defaulted": "'given'",
        "nick": "'nick'",
    }
    assert out["builtEchoed"] == {
        "aware": native(protocol, "2024-05-01T12:30:15.123000Z", "Date:2024-05-01T12:30:15.123Z"),
        "naive": native(protocol, "2024-05-01T12:30:00Z", "Date:2024-05-01T12:30:00.000Z"),
        "day": "2024-02-29",
        "clock": "23:59:58.000005",
        "span": "P1DT2H3.0005S",
        "blob": native(protocol, "AAH+/w==", "Uint8Array:0,1,254,255"),
        "amount": "1234567890.0123456789",
        "ident": "12345678-1234-5678-1234-567812345678",
        "priority": 2,
        "color": "green",
        "big": "unsafe:1152921504606846976",  # the nearest double again
        "nullable": None,
        "defaulted": "preset",  # absent fields come back with their defaults
        "optional": None,
        "nick_name": "",
        "tag": {"label": "one", "weight": 1},
        "tags": [{"label": "two", "weight": 2}],
        "tagMap": {"four": {"label": "four", "weight": 4}},
    }
    assert out["big"] == "unsafe:9007199254740994"  # an exact double survives both ways
    # 2**60 reaches the server as 1152921504606847000 over JSON, and comes back
    # as the nearest double: 2**60 again
    assert out["bigPowerOfTwo"] == "unsafe:1152921504606846976"
    # 2**63 + 2**63: over JSON the sum arrives as the nearest double; over
    # MessagePack 2**63 is sent as a float64, and pydantic binds integral
    # floats to int only within 64-bit signed range
    assert out["beyond64Bits"] == native(
        protocol,
        "unsafe:18446744073709551616",
        f"error:Failed to invoke 'Add' {BINDING} Error binding argument 'a' (position 0): "
        "Unable to parse input string as an integer, exceeded maximum size",
    )
    assert out["blob"] == native(protocol, "AQID", "Uint8Array:1,2,3")
    assert out["when"] == native(
        protocol, "2024-01-02T03:04:05.006000Z", "Date:2024-01-02T03:04:05.006Z"
    )


BINDING = "due to an error on the server. InvalidDataException:"


async def test_binding_errors_name_method_and_parameter(
    observed: tuple[str, dict[str, Any]],
) -> None:
    _, out = observed
    # required, nullable: null is a value, absent is not
    assert out["missingNullable"] == (
        f"Failed to invoke 'DescribeSample' {BINDING} "
        "Error binding argument 'sample' (position 0): nullable: Field required"
    )
    assert out["wrongFieldType"] == (
        f"Failed to invoke 'EchoSample' {BINDING} "
        "Error binding argument 'sample' (position 0): blob: Input should be a valid bytes"
    )
    assert out["tooManyArguments"] == (
        f"Failed to invoke 'Add' {BINDING} Invocation provides 3 argument(s) "
        "but target expects 1 to 2."
    )
    assert out["tooFewArguments"] == (
        f"Failed to invoke 'Add' {BINDING} Invocation provides 0 argument(s) "
        "but target expects 1 to 2."
    )
    wrong_type = (
        f"Failed to invoke 'Add' {BINDING} Error binding argument 'a' (position 0): "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert out["wrongType"] == wrong_type
    assert out["failedValidation"] == (
        f"Failed to invoke 'Bounded' {BINDING} Error binding argument 'n' (position 0): "
        "Input should be less than or equal to 10"
    )
    assert out["validated"] == 10
    assert out["streamBindingError"] == (
        f"Failed to invoke 'Counter' {BINDING} Error binding argument 'count' (position 0): "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert out["aliveAfterErrors"] == "alive"
    assert out["stateAfterErrors"] == "Connected"
    # binding errors read the same with detailed errors on
    assert out["detailedWrongType"] == wrong_type


async def test_server_errors_with_and_without_detailed_errors(
    observed: tuple[str, dict[str, Any]],
) -> None:
    _, out = observed
    assert out["crash"] == "An unexpected error occurred invoking 'Crash' on the server."
    assert out["detailedCrash"] == (
        "An unexpected error occurred invoking 'Crash' on the server. "
        "RuntimeError: secret internals"
    )
    hub_error = "An unexpected error occurred invoking 'Fail' on the server. HubException: told you"
    assert out["hubError"] == hub_error  # a HubError's message is always sent
    assert out["detailedHubError"] == hub_error
    stream_error = (
        "An error occurred on the server while streaming results. HubException: stream broke"
    )
    assert out["streamError"] == stream_error
    assert out["detailedStreamError"] == stream_error
    assert out["detailedAlive"] == "alive"


async def test_official_client(observed: tuple[str, dict[str, Any]]) -> None:
    protocol, out = observed

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
    assert out["badArgument"] == out["wrongType"]

    assert out["broadcast"] == ["to everyone"]
    assert out["direct"] == ["direct"]
    assert out["pushedItem"] == {"name": "pushed", "quantity": 1, "createdAt": None}
    assert out["group"] == ["to the room"]
    assert out["header"] == "from-node"

    assert out["stream"] == [0, 1, 2, 3, 4]
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
