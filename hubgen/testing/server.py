"""The application under test, in memory: its lifespan, its users, its clients."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeAlias, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, BaseUser, SimpleUser
from starlette.routing import Mount

from hubgen.client import HubConnection, HubProxy
from hubgen.client.asgi import ASGIApp, ASGIWebSocketFactory, Receive, Scope, Send
from hubgen.client.negotiate import AccessToken
from hubgen.client.retry import Reconnect
from hubgen.server import HubRoute
from hubgen.testing.client import HubTestClient
from hubgen.testing.lifespan import Lifespan
from hubgen.testing.settle import settle

__all__ = ["HubTestServer", "SignIn", "hub_test_client"]

P = TypeVar("P", bound=HubProxy)

#: A user's name → an access token the application accepts for them (sync or
#: async): how ``user=`` connects to an application that authenticates
#: requests itself (``BearerAuthBackend``, say).
SignIn: TypeAlias = Callable[[str], str | Awaitable[str]]

#: Where requests go; any host will do, the application is not on a network.
BASE_URL = "http://testserver"


@dataclass(eq=False)
class InjectedUser:
    """A user the test client puts into its requests' scope (``request.user``
    and ``request.auth``), as an authentication middleware would."""

    user: BaseUser
    auth: AuthCredentials
    #: Set when the application's own authentication replaced the user with
    #: an anonymous one: it never saw who the test meant.
    replaced: bool = field(default=False)

    @property
    def name(self) -> str:
        return str(self.user.display_name)

    def inject(self, scope: Scope) -> Scope:
        return {**scope, "user": self.user, "auth": self.auth}

    def check(self, scope: Scope) -> None:
        user = scope.get("user")
        if user is not self.user and not getattr(user, "is_authenticated", False):
            self.replaced = True

    def error(self) -> RuntimeError:
        return RuntimeError(
            f"cannot connect as {self.name!r}: the application authenticates requests itself "
            "(its authentication middleware replaced the user the test client put in the "
            "request with an anonymous one). Give HubTestServer a sign_in function that "
            "returns an access token for a user name, or pass connect() the access_token= "
            "or headers= the application accepts."
        )


def _hub_paths(routes: Iterable[Any], hub_name: str, prefix: str = "") -> list[str]:
    """The paths of the HubRoutes serving ``hub_name`` in ``routes`` (and in
    the applications and routers mounted there)."""
    found: list[str] = []
    for route in routes:
        if isinstance(route, HubRoute):
            if route.hub.spec.name == hub_name:
                found.append(prefix + route.path)
        elif isinstance(route, Mount):
            found += _hub_paths(route.routes, hub_name, prefix + route.path)
    return found


class HubTestServer:
    """An ASGI application (or a single :class:`~hubgen.server.HubRoute`)
    under test, in memory: no server, no sockets, the test's event loop.

    Clients made with :meth:`client` or :meth:`connect` are real
    :class:`~hubgen.client.HubConnection` s with the generated proxies; their
    negotiate and WebSocket run the application's own code path, middleware
    and authentication included. :attr:`http` calls its other endpoints.
    Use it as an async context manager: it runs the application's lifespan
    (startup and shutdown, as servers do; ``lifespan=False`` skips it), and at
    the end stops every client, waits until the application has finished with
    each, and re-raises what the application raised meanwhile
    (``raise_app_exceptions``).

    Who a client is: ``user="alice"`` puts a Starlette ``SimpleUser("alice")``
    (and ``scopes``) into its requests, as an authentication middleware would
    — for applications without one. An application that authenticates
    requests itself (``BearerAuthBackend``, a session cookie) decides alone:
    give ``sign_in``, a function from a user name to an access token it
    accepts, and ``user="alice"`` connects with ``sign_in("alice")``; or pass
    ``access_token=`` / ``headers=`` to a client yourself.
    """

    def __init__(
        self,
        app: ASGIApp | HubRoute[Any],
        *,
        lifespan: bool = True,
        sign_in: SignIn | None = None,
        raise_app_exceptions: bool = True,
    ) -> None:
        if isinstance(app, HubRoute):
            app = Starlette(routes=[app], lifespan=app.lifespan)
        #: The application under test.
        self.app: ASGIApp = app
        #: The lifespan's state (what the application's lifespan yields),
        #: copied into every request's scope as servers do.
        self.state: dict[str, Any] = {}
        #: What the application raised while serving (WebSockets).
        self.errors: list[Exception] = []
        self.raise_app_exceptions = raise_app_exceptions
        self._lifespan = Lifespan(self.app, self.state) if lifespan else None
        self._sign_in = sign_in
        self._clients: list[HubTestClient[Any]] = []
        self._numbers = itertools.count(1)
        #: An HTTP client for the application's other endpoints (``/login``),
        #: in memory too: ``await server.http.post("/login", json=...)``.
        self.http = httpx.AsyncClient(
            transport=self._http_transport(self._scoped(None)), base_url=BASE_URL
        )

    def __repr__(self) -> str:
        return f"<HubTestServer {self.app!r}>"

    # -- life ----------------------------------------------------------------------------

    async def __aenter__(self) -> HubTestServer:
        if self._lifespan is not None:
            try:
                await self._lifespan.startup()
            except BaseException:
                await self.http.aclose()
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for client in reversed(self._clients):
            await client.stop()
        self._clients.clear()
        await self.http.aclose()
        if self._lifespan is not None:
            await self._lifespan.shutdown()
        if exc is None and self.raise_app_exceptions and self.errors:
            errors, self.errors = self.errors, []
            if len(errors) == 1:
                raise errors[0]
            raise ExceptionGroup("the application raised", errors)

    def report(self, error: Exception) -> None:
        """Record an error of the application (raised when the server closes)."""
        self.errors.append(error)

    async def settle(self, *, timeout: float = 5.0) -> None:
        """Return once everything under way has happened: messages in flight
        delivered, the hub methods they started finished, the pushes those
        sent handled by the clients (:func:`hubgen.testing.settle`). Not a
        sleep: it runs the event loop until nothing is ready to run."""
        await settle(timeout=timeout)

    # -- clients -------------------------------------------------------------------------

    def _scoped(self, identity: InjectedUser | None) -> ASGIApp:
        """The application, with the lifespan state (and ``identity``) in
        every request's scope."""
        app, state = self.app, self.state

        async def scoped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] not in ("http", "websocket"):
                await app(scope, receive, send)
                return
            scope = {**scope, "state": dict(state)}
            if identity is not None:
                scope = identity.inject(scope)
            try:
                await app(scope, receive, send)
            finally:
                if identity is not None:
                    identity.check(scope)

        return scoped

    def _http_transport(self, app: ASGIApp) -> httpx.ASGITransport:
        return httpx.ASGITransport(app, raise_app_exceptions=self.raise_app_exceptions)

    def _path(self, proxy: type[HubProxy]) -> str:
        hub = proxy.spec.name
        routes = getattr(self.app, "routes", None)
        if routes is None:
            raise ValueError(
                f"cannot find the route of {hub} in {self.app!r} (it has no routes): pass path="
            )
        paths = _hub_paths(routes, hub)
        if not paths:
            raise ValueError(f"no HubRoute serves {hub} in the application: pass path=")
        if len(paths) > 1:
            raise ValueError(
                f"several routes serve {hub} in the application ({', '.join(paths)}): pass path="
            )
        return paths[0]

    def client(
        self,
        proxy: type[P],
        *,
        path: str | None = None,
        user: str | BaseUser | None = None,
        scopes: Iterable[str] = (),
        access_token: AccessToken = None,
        headers: Mapping[str, str] | None = None,
        protocol: Literal["json", "messagepack"] = "json",
        reconnect: Reconnect = False,
        name: str | None = None,
    ) -> HubTestClient[P]:
        """A client of the hub ``proxy`` (a generated ``<Hub>Client`` class)
        calls, not started yet: register handlers first if the hub calls
        clients from ``on_connected``, then ``await client.start()`` or
        ``async with client:``.

        ``path`` is the hub's path (with a query, if the application reads
        one); by default the path of the one HubRoute serving that hub.
        ``user`` is who connects (see the class): a name, or a Starlette
        ``BaseUser``; ``scopes`` are their credentials' scopes (for
        ``@authorize(scopes=...)``). ``access_token`` and ``headers`` go with
        every request as they do from a real client. ``protocol`` is the hub
        protocol, ``reconnect`` the connection's automatic reconnect (as for
        :class:`~hubgen.client.HubConnection`); ``name`` names the client in
        error messages (the user's name by default).
        """
        scopes = tuple(scopes)
        if path is not None and not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if user is not None and access_token is not None:
            raise ValueError("pass user= or access_token=, not both")
        if scopes and user is None:
            raise ValueError("scopes= needs a user=")
        identity: InjectedUser | None = None
        label = name
        if user is not None:
            if self._sign_in is not None:
                if not isinstance(user, str):
                    raise TypeError("with sign_in=, user= is a user name (str)")
                if scopes:
                    raise ValueError(
                        "scopes= applies to users the test client puts into requests; "
                        "with sign_in= the token says what the user may do"
                    )
                access_token = functools.partial(self._sign_in, user)
            else:
                identity = InjectedUser(
                    SimpleUser(user) if isinstance(user, str) else user, AuthCredentials(scopes)
                )
            label = label or (user if isinstance(user, str) else str(user.display_name))
        label = label or f"client {next(self._numbers)}"
        app = self._scoped(identity)
        factory = ASGIWebSocketFactory(app, on_error=self.report)
        connection = HubConnection(
            BASE_URL + (path if path is not None else self._path(proxy)),
            protocol=protocol,
            access_token=access_token,
            headers=headers,
            reconnect=reconnect,
            transports="WebSockets",
            http_transport=self._http_transport(app),
            websocket_factory=factory,
        )
        client = HubTestClient(
            self, proxy, connection, name=label, factory=factory, identity=identity
        )
        self._clients.append(client)
        return client

    async def connect(
        self,
        proxy: type[P],
        *,
        path: str | None = None,
        user: str | BaseUser | None = None,
        scopes: Iterable[str] = (),
        access_token: AccessToken = None,
        headers: Mapping[str, str] | None = None,
        protocol: Literal["json", "messagepack"] = "json",
        reconnect: Reconnect = False,
        name: str | None = None,
    ) -> HubTestClient[P]:
        """:meth:`client`, started. The server stops it when it closes."""
        client = self.client(
            proxy,
            path=path,
            user=user,
            scopes=scopes,
            access_token=access_token,
            headers=headers,
            protocol=protocol,
            reconnect=reconnect,
            name=name,
        )
        await client.start()
        return client


@contextlib.asynccontextmanager
async def hub_test_client(
    app: ASGIApp | HubRoute[Any],
    proxy: type[P],
    *,
    path: str | None = None,
    user: str | BaseUser | None = None,
    scopes: Iterable[str] = (),
    access_token: AccessToken = None,
    headers: Mapping[str, str] | None = None,
    protocol: Literal["json", "messagepack"] = "json",
    reconnect: Reconnect = False,
    name: str | None = None,
    lifespan: bool = True,
    sign_in: SignIn | None = None,
) -> AsyncIterator[HubTestClient[P]]:
    """One connected client of ``app``, in a :class:`HubTestServer` of its
    own (``client.server`` connects more)::

        async with hub_test_client(app, ChatHubClient, user="alice") as alice:
            await alice.hub.join("lobby")
    """
    async with HubTestServer(app, lifespan=lifespan, sign_in=sign_in) as server:
        yield await server.connect(
            proxy,
            path=path,
            user=user,
            scopes=scopes,
            access_token=access_token,
            headers=headers,
            protocol=protocol,
            reconnect=reconnect,
            name=name,
        )
