"""Mounting a hub in a Starlette (or FastAPI) application."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound

from hubgen.protocol import get_protocol
from hubgen.server import shutdown
from hubgen.server.authorization import Rules, hub_rules, method_rules
from hubgen.server.clients import ClientProxy, HubClients, SingleClientProxy
from hubgen.server.dispatcher import HubDispatcher
from hubgen.server.endpoint import HubEndpoint
from hubgen.server.handler import HubConnectionHandler
from hubgen.server.hub import Hub
from hubgen.server.lifetime import HubLifetimeManager, InMemoryLifetimeManager
from hubgen.server.options import HubOptions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.types import Receive, Scope, Send

    from hubgen.server.filters import HubFilter

__all__ = ["HubRoute"]

P = TypeVar("P", bound=ClientProxy)
S = TypeVar("S", bound=SingleClientProxy)
#: The hub implementation. A bare type variable, so that mypy rejects an
#: abstract hub class (one missing contract methods) passed to HubRoute.
H = TypeVar("H", bound="Hub[Any, Any]", covariant=True)


def _route_path(scope: Scope) -> str:
    """The request path below the application's ``root_path``."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _check_hub_class(hub: type[Hub[Any, Any]]) -> None:
    """Fail at startup, clearly, when a hub class cannot serve its contract."""
    spec = getattr(hub, "spec", None)
    if spec is None:
        raise TypeError(
            f"{hub.__qualname__} is not a hub implementation: subclass the <Hub>Base "
            "class that `hubgen generate` wrote for your contract"
        )
    missing = sorted(getattr(hub, "__abstractmethods__", ()))
    if missing:
        raise TypeError(
            f"{hub.__qualname__} does not implement these {spec.name} methods: "
            f"{', '.join(missing)} (`hubgen scaffold` can write stubs for them)"
        )
    problems: list[str] = []
    for method in spec.methods.values():
        impl = getattr(hub, method.name)
        if method.stream:
            if inspect.iscoroutinefunction(impl):
                problems.append(
                    f"{method.name} is a stream: write it as an async generator "
                    "(`async def` with `yield`), not a coroutine"
                )
        elif not inspect.iscoroutinefunction(impl):
            kind = "an async generator" if inspect.isasyncgenfunction(impl) else "not `async def`"
            problems.append(f"{method.name} must be a coroutine (`async def`), but it is {kind}")
    if problems:
        raise TypeError(f"{hub.__qualname__}: " + "; ".join(problems))


class HubRoute(BaseRoute, Generic[H]):
    """A hub endpoint as a Starlette route.

    Answers ``{path}/negotiate`` and ``{path}`` (the transports), matching the
    path ignoring case as ASP.NET Core does::

        app = Starlette(routes=[HubRoute("/chat", ChatHub)])

    ``hub`` is your implementation (a subclass of the generated ``<Hub>Base``).
    A hub instance is made for every call: by calling ``factory`` if given,
    else ``hub()``. ``route.clients`` reaches connected clients from outside
    hub methods (background tasks, other endpoints). ``filters`` run around
    this hub's calls after the ones in ``options.filters``; ``@authorize`` on
    the hub class and its methods is read here, once.
    """

    def __init__(
        self,
        path: str,
        hub: type[H],
        *,
        options: HubOptions | None = None,
        factory: Callable[[], H] | None = None,
        lifetime: HubLifetimeManager | None = None,
        name: str | None = None,
        filters: Sequence[HubFilter] = (),
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"hub path must start with '/': {path!r}")
        _check_hub_class(hub)
        self.path = path.rstrip("/") or "/"
        self.name = name if name is not None else hub.spec.name
        self.hub = hub
        self.options = options or HubOptions()
        self.lifetime = lifetime or InMemoryLifetimeManager()
        protocols = []
        for protocol_name in self.options.protocols:
            protocol = get_protocol(protocol_name)
            if protocol is not None:
                hub.spec.warm(protocol.wire)
                protocols.append(protocol)
        self.lifetime.bind(hub.spec.name, protocols)
        self._started: asyncio.Task[None] | None = None
        spec = hub.spec
        rules = {
            method.name: found
            for method in spec.methods.values()
            if (found := method_rules(hub, spec.name, method.name)) is not None
        }
        dispatcher = HubDispatcher(
            hub,
            factory or hub,
            self.lifetime,
            self.options,
            filters=(*self.options.filters, *filters),
            method_rules=rules,
        )
        self._handler = HubConnectionHandler(dispatcher, self.options)
        #: The hub's own ``@authorize`` rules (None: anyone may connect).
        self.rules: Rules | None = hub_rules(hub, spec.name)
        self._endpoint = HubEndpoint(self._handler, self.options, self.rules)
        self._transport_path = self.path.lower()
        self._negotiate_path = (self.path.rstrip("/") + "/negotiate").lower()
        self._clients: HubClients[Any, Any] = HubClients(
            self.lifetime,
            hub.client_proxy,
            hub.single_client_proxy,
            client_result_timeout=self.options.client_result_timeout,
        )

    @property
    def clients(self: HubRoute[Hub[P, S]]) -> HubClients[P, S]:
        """The hub's clients, for code outside hub methods (``IHubContext``),
        typed with the hub's generated client proxies."""
        return self._clients

    @property
    def connection_count(self) -> int:
        """Connections currently past their handshake."""
        return len(self._handler.connections)

    async def start(self) -> None:
        """Start the hub's lifetime manager (connect to Redis, say). Runs by
        itself before the first request; call it (or use :meth:`lifespan`) to
        start before then, and to see a failure at startup."""
        if self._started is None:
            self._started = asyncio.ensure_future(self.lifetime.start())
        await asyncio.shield(self._started)

    async def close(self) -> None:
        """End every connection (clients are told they may reconnect), then
        stop the lifetime manager. Call it from your application's shutdown,
        or use :meth:`lifespan`."""
        await self._endpoint.close()
        await self.lifetime.close()
        self._started = None

    async def drain(self, timeout: float | None = None) -> None:
        """Shut the hub down gracefully: take no new connection, let calls and
        streams in flight finish (``timeout``, by default
        ``HubOptions.shutdown_timeout``, seconds at most), then close every
        connection, on every transport, with a Close message that lets its
        client reconnect (to this process when it is back, or another)."""
        await self._endpoint.drain(self.options.shutdown_timeout if timeout is None else timeout)

    @contextlib.asynccontextmanager
    async def lifespan(
        self, app: object = None, *, graceful_shutdown: bool = True
    ) -> AsyncIterator[None]:
        """The route's start and close as a Starlette lifespan:
        ``Starlette(routes=[hub], lifespan=hub.lifespan)``. Several hubs:
        enter each one's in the application's own lifespan.

        While it runs, a SIGTERM or SIGINT first drains the hub
        (:meth:`drain`), then reaches the server (``hubgen.server.shutdown``):
        uvicorn would otherwise drop every connection before the lifespan's
        shutdown could tell anyone."""
        await self.start()
        hooked = graceful_shutdown and shutdown.hook.register(self, self.drain)
        try:
            yield
        finally:
            if hooked:
                shutdown.hook.unregister(self)
            await self.close()

    # -- Starlette routing -------------------------------------------------------------

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        path = _route_path(scope).rstrip("/").lower() or "/"
        if path == self._transport_path:
            return Match.FULL, {"endpoint": self, "hubgen.negotiate": False}
        if path == self._negotiate_path:
            return Match.FULL, {"endpoint": self, "hubgen.negotiate": True}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = self._started
        if started is None or not started.done():
            await self.start()
        await self._endpoint(scope, receive, send, negotiate=bool(scope.get("hubgen.negotiate")))

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params:
            raise NoMatchFound(name, path_params)
        return URLPath(self.path)

    def __repr__(self) -> str:
        return f"HubRoute(path={self.path!r}, hub={self.hub.__qualname__})"
