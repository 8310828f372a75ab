from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.apps.echo.hub import EVENTS, create_app
from tests.support.server import serve


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    """The echo hub at ``{base_url}/echo`` with default options."""
    EVENTS.clear()
    async with serve(create_app()) as url:
        yield url
