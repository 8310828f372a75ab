"""Acting as a given user: put into the requests when the application has no
authentication of its own, signed in with the application's own tokens when
it has (``BearerAuthBackend``), or with whatever headers its backend reads —
and a clear error when the application never saw the user the test meant."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    SimpleUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from hubgen import HubError
from hubgen.client import HubConnectionState, NegotiationError
from hubgen.server import HubRoute
from hubgen.testing import ClientCall, HubTestServer
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.secure import SecureEchoHub, StrictEchoHub, create_secure_app

UNAUTHORIZED = "Failed to invoke '{}' because user is unauthorized"


def without_middleware() -> Starlette:
    """The secure hubs, with nothing that authenticates requests."""
    routes = [HubRoute("/echo", SecureEchoHub), HubRoute("/strict", StrictEchoHub)]
    return Starlette(routes=routes)


async def test_a_user_put_into_the_requests() -> None:
    async with HubTestServer(without_middleware()) as server:
        alice = await server.connect(EchoHubClient, path="/echo", user="alice")
        assert alice.name == "alice"
        assert await alice.hub.user_name() == "alice"
        with pytest.raises(HubError, match=UNAUTHORIZED.format("Add")):
            await alice.hub.add(1, 2)  # needs the "math" scope
        bob = await server.connect(EchoHubClient, path="/echo", user="bob", scopes=["math"])
        assert await bob.hub.add(1, 2) == 3
        admin = await server.connect(
            EchoHubClient, path="/strict", user="root", scopes=["admin", "math"]
        )
        assert await admin.hub.echo("strict") == "strict"
        # nobody: the hub's @authorize() answers negotiate 401
        with pytest.raises(NegotiationError, match="Status code '401'"):
            await server.connect(EchoHubClient, path="/echo")


async def test_a_user_of_the_application_s_own_kind() -> None:
    class Member(BaseUser):
        def __init__(self, member_id: int) -> None:
            self.member_id = member_id

        @property
        def is_authenticated(self) -> bool:
            return True

        @property
        def display_name(self) -> str:
            return f"member {self.member_id}"

        @property
        def identity(self) -> str:
            return f"m-{self.member_id}"

    async with HubTestServer(without_middleware()) as server:
        member = await server.connect(EchoHubClient, path="/echo", user=Member(7))
        assert member.name == "member 7"
        assert await member.hub.user_name() == "m-7"


async def test_users_reach_every_connection_of_theirs() -> None:
    async with HubTestServer(without_middleware()) as server:
        phone = await server.connect(
            EchoHubClient, path="/echo", user="alice", name="alice's phone"
        )
        laptop = await server.connect(
            EchoHubClient, path="/echo", user="alice", name="alice's laptop"
        )
        bob = await server.connect(EchoHubClient, path="/echo", user="bob")
        await bob.hub.send_user("alice", "hi alice")
        for client in (phone, laptop):
            assert await client.next_call("message") == ClientCall("message", ("hi alice",))
        await bob.expect_no_calls()


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_sign_in_with_the_application_s_tokens(asynchronous: bool) -> None:
    """tests/apps/echo/secure.py's tokens are ``name;scope,scope``, checked by
    BearerAuthBackend: ``sign_in`` turns a user name into one."""

    def token(user: str) -> str:
        return f"{user};math" if user == "bob" else user

    async def token_later(user: str) -> str:
        return token(user)

    async with HubTestServer(
        create_secure_app(), sign_in=token_later if asynchronous else token
    ) as server:
        alice = await server.connect(EchoHubClient, path="/echo", user="alice")
        bob = await server.connect(EchoHubClient, path="/echo", user="bob")
        assert await alice.hub.user_name() == "alice"
        assert await alice.hub.get_header("authorization") == "Bearer alice"
        assert await bob.hub.add(1, 1) == 2
        with pytest.raises(HubError, match=UNAUTHORIZED.format("Add")):
            await alice.hub.add(1, 1)
        # a token the application refuses is refused as over a network
        with pytest.raises(NegotiationError, match="Status code '401'"):
            await server.connect(EchoHubClient, path="/echo", access_token="invalid")
        # and a token given directly works without sign_in
        carol = await server.connect(EchoHubClient, path="/echo", access_token="carol;upload")
        assert await carol.hub.user_name() == "carol"
        with pytest.raises(ValueError, match="with sign_in= the token says what the user may"):
            server.client(EchoHubClient, path="/echo", user="dave", scopes=["math"])
        with pytest.raises(TypeError, match=r"with sign_in=, user= is a user name \(str\)"):
            server.client(EchoHubClient, path="/echo", user=SimpleUser("dave"))


async def test_other_authentication_reads_the_headers_it_reads() -> None:
    class HeaderBackend(AuthenticationBackend):
        async def authenticate(
            self, conn: HTTPConnection
        ) -> tuple[AuthCredentials, BaseUser] | None:
            name = conn.headers.get("x-user")
            return None if name is None else (AuthCredentials(["math"]), SimpleUser(name))

    app = Starlette(
        routes=[HubRoute("/echo", SecureEchoHub)],
        middleware=[Middleware(AuthenticationMiddleware, backend=HeaderBackend())],
    )
    async with HubTestServer(app) as server:
        zoe = await server.connect(EchoHubClient, path="/echo", headers={"X-User": "zoe"})
        assert await zoe.hub.user_name() == "zoe"
        assert await zoe.hub.add(20, 22) == 42


async def test_a_user_the_application_never_saw_is_an_error() -> None:
    """The application authenticates requests itself, and the test neither
    signed in nor passed a token: its middleware replaced the user the test
    client put in. Refused or not, connecting fails and says what to do."""
    async with HubTestServer(create_secure_app()) as server:
        with pytest.raises(RuntimeError) as info:
            await server.connect(EchoHubClient, path="/echo", user="alice")
        assert str(info.value).startswith(
            "cannot connect as 'alice': the application authenticates requests itself"
        )
        assert "Give HubTestServer a sign_in function" in str(info.value)
        assert isinstance(info.value.__cause__, NegotiationError)
        assert "401" in str(info.value.__cause__)

        # a hub anyone may connect to would have let alice in as nobody
        client = server.client(EchoHubClient, path="/open", user="alice")
        with pytest.raises(RuntimeError, match="cannot connect as 'alice'"):
            await client.start()
        assert client.connection.state is HubConnectionState.DISCONNECTED


async def test_who_connects_is_said_once() -> None:
    async with HubTestServer(without_middleware()) as server:
        with pytest.raises(ValueError, match="pass user= or access_token=, not both"):
            server.client(EchoHubClient, path="/echo", user="alice", access_token="alice")
        with pytest.raises(ValueError, match="scopes= needs a user="):
            server.client(EchoHubClient, path="/echo", scopes=["math"])
