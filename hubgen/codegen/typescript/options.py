"""What the TypeScript generator writes besides the contract: the hub protocols
the client is typed for, and whether it becomes an npm package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SIGNALR_PEER_RANGE",
    "TESTED_VERSIONS",
    "HubProtocolName",
    "NpmPackage",
    "TypeScriptOptions",
]

HubProtocolName = Literal["json", "messagepack"]

#: The ``@microsoft/signalr`` versions generated packages accept: the tests
#: compile and run a generated package against the lowest (8.0.0, the client
#: of .NET 8, the oldest supported release) and the newest of this range.
SIGNALR_PEER_RANGE = ">=8.0.0 <11.0.0"
#: The exact versions a generated package builds with (its devDependencies),
#: the ones pinned in tests/node/package.json.
TESTED_VERSIONS: dict[str, str] = {
    "@microsoft/signalr": "10.0.11",
    "@microsoft/signalr-protocol-msgpack": "10.0.11",
    "typescript": "7.0.2",
}


@dataclass(frozen=True)
class NpmPackage:
    """The npm package the TypeScript client is written as."""

    name: str
    version: str


@dataclass(frozen=True)
class TypeScriptOptions:
    """What to generate besides the contract: hub protocols, and a package."""

    protocols: tuple[HubProtocolName, ...] = ("json",)
    package: NpmPackage | None = None

    @property
    def messagepack(self) -> bool:
        return "messagepack" in self.protocols

    @property
    def json(self) -> bool:
        return "json" in self.protocols
