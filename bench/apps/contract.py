"""The benchmark hub: the smallest contract that exercises every scenario.

The same five operations exist on every server under benchmark (see the
sibling apps): ``Echo``, ``Broadcast`` (to every connection), ``Join`` and
``SendToGroup`` (groups) and ``Counter`` (a server-to-client stream).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import hubgen


class BenchClient(Protocol):
    async def received(self, payload: str) -> None: ...


@hubgen.hub(client=BenchClient)
class BenchHub(Protocol):
    async def echo(self, payload: str) -> str: ...

    async def broadcast(self, payload: str) -> None: ...

    async def join(self, group: str) -> None: ...

    async def send_to_group(self, group: str, payload: str) -> None: ...

    def counter(self, count: int) -> AsyncIterator[int]: ...
