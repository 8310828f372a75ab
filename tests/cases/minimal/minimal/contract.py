from __future__ import annotations

from typing import Protocol

import hubgen


class EchoClient(Protocol):
    pass


@hubgen.hub(client=EchoClient)
class EchoHub(Protocol):
    async def echo(self, text: str) -> str: ...
