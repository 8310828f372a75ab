"""A contract shared with a .NET service: the pascal golden case
(tests/cases/pascal, ``[naming] fields = "pascal"``), generated afresh, served
by hubgen and called by the official client through the generated TypeScript
and by hubgen's Python client through the generated proxy, over both
protocols. Fields travel in PascalCase (aliases as written, the union's tag
as ``Kind``) both ways; a peer sending camelCase names gets a binding error;
and a stream's options are told from its optional model parameter: the server
records what each call bound."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal

import pytest
from starlette.applications import Starlette

from hubgen.client import HubConnection
from hubgen.server import HubRoute
from tests.codegen.goldens import generate_case
from tests.support.server import serve
from tests.support.tsnode import build_driver

ROOT = Path(__file__).parents[2]
DRIVER = ROOT / "tests" / "node" / "interop" / "pascal-sensors.ts"

pytestmark = pytest.mark.node


class Generated:
    """The case's contract and generated modules, imported from a fresh copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.contract = importlib.import_module("plant.contract")
        self.server = importlib.import_module("plant.generated.sensor_hub_server")
        self.client = importlib.import_module("plant.generated.sensor_hub_client")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root, _ = generate_case("pascal", tmp_path_factory.mktemp("pascal"))
    sys.path.insert(0, str(root))
    try:
        yield Generated(root)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == "plant" or n.startswith("plant.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def driver(generated: Generated) -> Path:
    return build_driver(DRIVER, generated.root / "web" / "generated")


def sensor_hub(generated: Generated) -> type[Any]:
    """The case's hub, implemented: it records what each stream call bound."""
    base: type[Any] = generated.server.SensorHubBase
    reading_type = generated.contract.Reading

    class SensorHub(base):  # type: ignore[misc]
        bound: ClassVar[list[tuple[Any, float]]] = []

        async def record(self, reading: Any) -> Any:
            await self.clients.caller.reading_taken(reading)
            return reading

        async def raise_event(self, event: Any) -> None:
            await self.clients.caller.event_raised(event)

        async def readings(
            self, count: int, where: Any = None, delay: float = 0.0
        ) -> AsyncIterator[Any]:
            self.bound.append((where, delay))
            for index in range(count):
                await asyncio.sleep(delay)
                yield reading_type(
                    sensor_id="boiler",
                    value=float(index),
                    taken_at=datetime(2024, 5, 1, tzinfo=UTC),
                )

    return SensorHub


def app(hub: type[Any]) -> Starlette:
    return Starlette(routes=[HubRoute("/sensors", hub)])


async def run_driver(driver: Path, url: str, protocol: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(driver),
        url,
        protocol,
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
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


READING = {
    "SensorId": "boiler",
    "Value": 71.5,
    "TakenAt": "2024-05-01T12:30:00.000Z",
    "unitCode": "C",
}
STREAMED = [
    {"SensorId": "boiler", "Value": 0, "TakenAt": "2024-05-01T00:00:00.000Z", "unitCode": "C"}
]


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_the_official_client_sees_pascal_case_properties(
    generated: Generated, driver: Path, protocol: str
) -> None:
    hub = sensor_hub(generated)
    hub.bound = []
    async with serve(app(hub)) as base_url:
        out = await run_driver(driver, f"{base_url}/sensors", protocol)

    if protocol == "json":  # JSON writes the instant as hubgen sends it: Z, no milliseconds
        reading = {**READING, "TakenAt": "2024-05-01T12:30:00Z"}
        streamed = [{**STREAMED[0], "TakenAt": "2024-05-01T00:00:00Z"}]
    else:  # MessagePack's timestamp arrives as a Date
        reading, streamed = READING, STREAMED
    assert out["recordedKeys"] == ["SensorId", "Value", "TakenAt", "unitCode"]
    assert out["recorded"] == reading
    assert out["pushed"] == reading
    assert out["raised"] == {"Kind": "alarm", "SensorId": "boiler", "Threshold": 70}
    assert out["camelCase"] == (
        "Error: Failed to invoke 'Record' due to an error on the server. "
        "InvalidDataException: Error binding argument 'reading' (position 0): "
        "SensorId: Field required; Value: Field required; TakenAt: Field required"
    )
    # each stream call sent what its arguments say, and the options stayed home
    assert out["streams"] == dict.fromkeys(
        ["options", "emptyFilter", "filter", "afterFilter", "all"], streamed
    )
    assert out["abortedBefore"] == "AbortError: This operation was aborted"
    reading_filter = generated.contract.ReadingFilter
    assert hub.bound == [
        (None, 0.0),
        (reading_filter(), 0.0),
        (reading_filter(min_value=5), 0.0),
        (None, 0.0),
        (reading_filter(sensor_ids=["boiler"]), 0.01),
    ]


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_the_python_client_speaks_pascal_case(
    generated: Generated, protocol: Literal["json", "messagepack"]
) -> None:
    """The generated Python proxy sends and reads the same wire names: the
    server binds its models, and the pushes and results it gets are models."""
    hub = sensor_hub(generated)
    hub.bound = []
    contract: ModuleType = generated.contract
    sent = contract.Reading(sensor_id="boiler", value=71.5, taken_at=datetime(2024, 5, 1, 12, 30))
    async with (
        serve(app(hub)) as base_url,
        HubConnection(f"{base_url}/sensors", protocol=protocol) as connection,
    ):
        proxy = generated.client.SensorHubClient(connection)
        pushed: asyncio.Queue[Any] = asyncio.Queue()
        raised: asyncio.Queue[Any] = asyncio.Queue()
        with proxy.on_reading_taken(pushed.put), proxy.on_event_raised(raised.put):
            recorded = await proxy.record(sent)
            await proxy.raise_event(contract.Notice(text="maintenance at noon"))
            async with asyncio.timeout(5):
                assert await pushed.get() == recorded
                assert await raised.get() == contract.Notice(text="maintenance at noon")
            items = [r async for r in proxy.readings(2, contract.ReadingFilter(min_value=1))]
    assert recorded == sent.model_copy(
        update={"taken_at": datetime(2024, 5, 1, 12, 30, tzinfo=UTC)}
    )
    assert [r.value for r in items] == [0.0, 1.0]
    assert hub.bound == [(contract.ReadingFilter(min_value=1), 0.0)]
