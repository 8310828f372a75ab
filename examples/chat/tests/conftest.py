"""The chat's tests run the application in memory with hubgen.testing: no
server, no ports, no sleeps. Clients sign in as the browser page does, with a
token of the chat's own (``chat.auth``), which ``sign_in`` issues."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from chat.auth import Tokens
from chat.server import create_app
from starlette.applications import Starlette

from hubgen.testing import HubTestServer


@pytest.fixture
def passphrase() -> str:
    """What ``POST /login`` asks for, in these tests."""
    return "open sesame"


@pytest.fixture
def tokens() -> Tokens:
    """The tokens the application issues and accepts (a key of the tests' own)."""
    return Tokens(b"the chat tests sign their tokens with this key")


@pytest.fixture
def app(tokens: Tokens, passphrase: str) -> Starlette:
    return create_app(tokens=tokens, passphrase=passphrase)


@pytest.fixture
async def server(app: Starlette, tokens: Tokens) -> AsyncIterator[HubTestServer]:
    """The chat, started; ``server.connect(ChatHubClient, user="alice")``
    connects signed in as alice."""
    async with HubTestServer(app, sign_in=tokens.issue) as server:
        yield server
