"""The generated TypeScript types against what each protocol delivers: a
driver compiled by tsc with the echo hub's generated client (so the compiler
checks its tables of declared kinds against the generated types) runs on the
official client over every transport × protocol, with the hub object created
from the URL or over a connection built with the official builder and wrapped
with its protocol, and reports any value whose kind its declared type does not
admit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.interop.test_official_client import COMBINATIONS, create_app
from tests.support.server import serve
from tests.support.tsnode import build_driver

ROOT = Path(__file__).parents[2]
DRIVER = ROOT / "tests" / "node" / "interop" / "codec-types.ts"
GENERATED_TS = ROOT / "tests" / "node" / "echo-client" / "src"

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def driver() -> Path:
    return build_driver(DRIVER, GENERATED_TS)


async def run_driver(
    driver: Path, url: str, transport: str, protocol: str, how: str
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(driver),
        url,
        transport,
        protocol,
        how,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


#: The kinds that arrive for Sample's fields (make_sample's reference value).
ARRIVING = {
    "aware": "string",
    "naive": "string",
    "day": "string",
    "clock": "string",
    "span": "string",
    "blob": "string",
    "amount": "string",
    "ident": "string",
    "priority": "number",
    "color": "string",
    "big": "number",
    "nullable": "null",
    "defaulted": "string",
    "optional": "null",
    "nick_name": "string",
    "tag": "object",
    "tags": "array",
    "tagMap": "object",
}
ARRIVING_MESSAGEPACK = {**ARRIVING, "aware": "Date", "naive": "Date", "blob": "Uint8Array"}


@pytest.mark.parametrize("how", ["url", "connection"])
@pytest.mark.parametrize(("transport", "protocol"), COMBINATIONS)
async def test_generated_types_describe_what_arrives(
    driver: Path, transport: str, protocol: str, how: str
) -> None:
    async with serve(create_app()) as base_url:
        out = await run_driver(driver, f"{base_url}/echo", transport, protocol, how)
    assert out["tablesMatch"] == [True] * 6
    assert out["kinds"] == (ARRIVING if protocol == "json" else ARRIVING_MESSAGEPACK)
    for received in ("sample", "echoed", "item", "bare", "results"):
        assert out[received] == [], received
    declared = out["declared"]
    if protocol == "json":
        assert declared["sample"]["aware"] == ["string"]
        assert declared["item"]["payload"] == ["string"]
        assert declared["results"]["echoWhen"] == ["string"]
    else:
        assert declared["sample"]["aware"] == ["Date"]
        assert declared["item"]["payload"] == ["Uint8Array"]
        assert declared["results"]["echoWhen"] == ["Date"]
    # what the typed client sent bound as the contract says
    bound = out["bound"]
    assert bound["aware"] == "2024-05-01T12:30:15.123000+00:00"
    assert bound["naive"] == "2024-05-01T12:30:00+00:00"
    assert bound["blob"] == "b'\\x00\\x01\\xfe\\xff'"
    assert bound["big"] == "9007199254740994"
    assert bound["defaulted"] == "'preset'"
