"""What the chat example's end-to-end tests share: the app with a known
passphrase, and signing in through its ``/login`` as its clients do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chat.client import sign_in
from chat.server import create_app
from starlette.applications import Starlette

from hubgen.client import HubConnection

PASSPHRASE = "open sesame"


def chat_app(**options: Any) -> Starlette:
    """The chat server, signing in with :data:`PASSPHRASE`."""
    return create_app(passphrase=PASSPHRASE, **options)


async def token_for(base_url: str, user: str) -> str:
    """An access token for ``user`` from the server's ``/login``."""
    return await sign_in(f"{base_url}/chat", user, PASSPHRASE)


@asynccontextmanager
async def connected(base_url: str, user: str, **options: Any) -> AsyncIterator[HubConnection]:
    """A started connection to the chat hub, signed in as ``user``."""
    token = await token_for(base_url, user)
    async with HubConnection(f"{base_url}/chat", access_token=token, **options) as connection:
        yield connection
