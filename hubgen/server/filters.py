"""Hub filters: code that runs around every hub method call, connect and
disconnect (ASP.NET Core's ``IHubFilter``).

Subclass :class:`HubFilter` and override what you need; each method gets a
context and the next step, and decides whether, when and with what to call
it::

    class Timing(HubFilter):
        async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
            started = time.perf_counter()
            try:
                return await call_next(context)
            finally:
                metrics.observe(context.method.name, time.perf_counter() - started)

    HubRoute("/chat", ChatHub, options=HubOptions(filters=(Timing(),)))

Filters run in order, the first outermost: ``HubOptions.filters`` (shared by
every route given the same options), then the route's own
(``HubRoute(filters=...)``). ``invoke`` wraps invocations and streams alike:
for a streaming method ``call_next`` returns the method's async iterator,
which a filter may wrap or replace. Raising :class:`~hubgen.HubError` refuses
the call with that message, as a hub method raising it does; returning
something else replaces the result. Method authorization (``@authorize``) is
checked before any filter runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubgen.server.hub import Hub, HubCallerContext
    from hubgen.spec import Method

__all__ = [
    "HubFilter",
    "HubInvocationContext",
    "HubLifetimeContext",
    "NextConnect",
    "NextDisconnect",
    "NextInvoke",
]

#: The headers of an invocation that carries none.
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


def _no_headers() -> Mapping[str, str]:
    return _NO_HEADERS


@dataclass(slots=True)
class HubInvocationContext:
    """One call of a hub method, as filters see it."""

    #: The hub instance the method runs on (made for this call).
    hub: Hub[Any, Any]
    #: The method: ``name`` as in the contract, ``wire_name``, ``parameters``, ``stream``.
    method: Method[Any]
    #: The bound arguments, in parameter order (an upload stream's iterator in
    #: its place). A filter may replace them before calling the next step.
    arguments: list[Any]
    #: The invocation message's headers (empty when it has none): metadata
    #: the client sent with this call, such as the W3C ``traceparent`` and
    #: ``tracestate`` the .NET client adds to continue its trace.
    headers: Mapping[str, str] = field(default_factory=_no_headers)

    @property
    def context(self) -> HubCallerContext:
        """The caller: connection id, user, items, request."""
        return self.hub.context


@dataclass(slots=True)
class HubLifetimeContext:
    """A connection arriving or leaving, as filters see it."""

    #: The hub instance ``on_connected`` / ``on_disconnected`` runs on.
    hub: Hub[Any, Any]

    @property
    def context(self) -> HubCallerContext:
        return self.hub.context


NextInvoke = Callable[[HubInvocationContext], Awaitable[Any]]
NextConnect = Callable[[HubLifetimeContext], Awaitable[None]]
NextDisconnect = Callable[[HubLifetimeContext, BaseException | None], Awaitable[None]]


class HubFilter:
    """Base of hub filters; each method passes through unless overridden."""

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        """Around a hub method call; returns its result (for a stream, its
        async iterator)."""
        return await call_next(context)

    async def on_connected(self, context: HubLifetimeContext, call_next: NextConnect) -> None:
        """Around the hub's ``on_connected``."""
        await call_next(context)

    async def on_disconnected(
        self,
        context: HubLifetimeContext,
        exception: BaseException | None,
        call_next: NextDisconnect,
    ) -> None:
        """Around the hub's ``on_disconnected``."""
        await call_next(context, exception)


async def _call_method(context: HubInvocationContext) -> Any:
    produced = getattr(context.hub, context.method.name)(*context.arguments)
    return produced if context.method.stream else await produced


async def _connect(context: HubLifetimeContext) -> None:
    await context.hub.on_connected()


async def _disconnect(context: HubLifetimeContext, exception: BaseException | None) -> None:
    await context.hub.on_disconnected(exception)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The filters of one hub, composed once."""

    invoke: NextInvoke
    on_connected: NextConnect
    on_disconnected: NextDisconnect


def compose(filters: Sequence[HubFilter]) -> Pipeline | None:
    """Chain ``filters`` (the first outermost) around calling the hub; None
    without filters, so that unfiltered hubs call their methods directly."""
    if not filters:
        return None
    invoke: NextInvoke = _call_method
    connect: NextConnect = _connect
    disconnect: NextDisconnect = _disconnect
    for hub_filter in reversed(filters):
        invoke = _bind_invoke(hub_filter, invoke)
        connect = _bind_connect(hub_filter, connect)
        disconnect = _bind_disconnect(hub_filter, disconnect)
    return Pipeline(invoke, connect, disconnect)


def _bind_invoke(hub_filter: HubFilter, call_next: NextInvoke) -> NextInvoke:
    def step(context: HubInvocationContext) -> Awaitable[Any]:
        return hub_filter.invoke(context, call_next)

    return step


def _bind_connect(hub_filter: HubFilter, call_next: NextConnect) -> NextConnect:
    def step(context: HubLifetimeContext) -> Awaitable[None]:
        return hub_filter.on_connected(context, call_next)

    return step


def _bind_disconnect(hub_filter: HubFilter, call_next: NextDisconnect) -> NextDisconnect:
    def step(context: HubLifetimeContext, exception: BaseException | None) -> Awaitable[None]:
        return hub_filter.on_disconnected(context, exception, call_next)

    return step
