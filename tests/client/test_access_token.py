"""hubgen's Python client signs in with access_token= on every transport,
against a hub that requires a user (tests/apps/echo/secure.py): the server
sees the user, refuses what the user may not call, and refuses a client
without a token at negotiate."""

from __future__ import annotations

import pytest

from hubgen import HubError
from hubgen.client import HubConnection, NegotiationError
from hubgen.client.transport import TransportName
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.secure import create_secure_app
from tests.support.server import serve

pytestmark = pytest.mark.timeout(60)

TRANSPORTS: list[TransportName] = ["WebSockets", "ServerSentEvents", "LongPolling"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_access_token_signs_the_client_in(transport: TransportName) -> None:
    async with serve(create_secure_app()) as base_url:
        tokens = iter(["bob;math", "bob;math"])  # a function is asked again when needed

        async with HubConnection(
            f"{base_url}/echo", access_token=lambda: next(tokens), transports=[transport]
        ) as connection:
            echo = EchoHubClient(connection)
            assert await echo.user_name() == "bob"
            assert await echo.add(1, 2) == 3
        async with HubConnection(
            f"{base_url}/echo", access_token="alice", transports=[transport]
        ) as connection:
            echo = EchoHubClient(connection)
            assert await echo.user_name() == "alice"
            with pytest.raises(HubError, match="because user is unauthorized"):
                await echo.add(1, 2)
            assert await echo.echo("still connected") == "still connected"


async def test_without_a_token_negotiate_is_refused() -> None:
    async with serve(create_secure_app()) as base_url:
        with pytest.raises(NegotiationError, match="401"):
            async with HubConnection(f"{base_url}/echo"):
                pass
