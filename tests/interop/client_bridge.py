"""What the third-party client bridges share: the bound on every wait, how a
call ended, and the calls each bridge offers to the interop tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["TIMEOUT", "Client", "Outcome"]

#: Bound, in seconds, on every single wait for a third-party client.
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an invocation or a stream ended: a result, or the server's error text."""

    result: Any = None
    error: str | None = None


class Client(Protocol):
    """One open connection of a third-party client, with awaitable calls."""

    async def invoke(self, method: str, *args: Any) -> Outcome:
        """Invoke a hub method and wait for its completion."""
        ...

    async def stream(self, method: str, *args: Any) -> tuple[list[Any], Outcome]:
        """Run a server-to-client stream: its items and how it ended."""
        ...

    async def upload(self, method: str, items: list[Any]) -> None:
        """Start ``method`` with a client-to-server stream of ``items``."""
        ...

    async def next_push(self) -> list[Any]:
        """The arguments of the next ``Message`` the server pushes."""
        ...
