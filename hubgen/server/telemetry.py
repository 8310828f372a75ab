"""OpenTelemetry for hubs: a span per hub method call, and ASP.NET Core
SignalR's metrics (docs/telemetry.md).

It is a hub filter, so a hub pays for it only where it is configured::

    from hubgen.server.telemetry import OpenTelemetryFilter

    HubRoute("/chat", ChatHub, options=HubOptions(filters=(OpenTelemetryFilter(),)))

Put it first, so that it times and sees the failures of the filters after it.
It needs OpenTelemetry's API (``pip install 'hubgen[otel]'``); what is
recorded, and where it goes, is the application's choice of SDK and exporter.

Spans are shaped as ASP.NET Core's (activity source
``Microsoft.AspNetCore.SignalR.Server``): one SERVER span per invocation and
per stream, named ``{Hub}/{Method}`` with ``rpc.system``, ``rpc.service``
and ``rpc.method``; its parent is the trace context the client sent in the
invocation's headers (``traceparent``, ``tracestate``: the .NET client sends
them), never the span current when the call arrived, and it links to the
connection's own: the request that opened it. A failed call sets the span's
status to ERROR, records the exception and sets ``error.type``. Connecting
and disconnecting get an INTERNAL span each, around ``on_connected`` and
``on_disconnected``.

Metrics: ``signalr.server.active_connections`` and
``signalr.server.connection.duration``, with ASP.NET Core's names, units,
attributes and bucket boundaries; and, which ASP.NET Core does not have,
per hub and method: ``signalr.server.invocation.duration`` (its count is the
number of calls; ``error.type`` marks the failed ones) and
``signalr.server.invocation.errors``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - checked in a subprocess
    raise ImportError(
        "hubgen.server.telemetry needs OpenTelemetry's API, which hubgen's "
        f"'otel' extra brings: pip install 'hubgen[otel]' ({exc})"
    ) from exc

from hubgen import __version__
from hubgen.server.connection import ClientTimedOut
from hubgen.server.filters import (
    HubFilter,
    HubInvocationContext,
    HubLifetimeContext,
    NextConnect,
    NextDisconnect,
    NextInvoke,
)
from hubgen.server.http_transports import LongPollingTransport

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from hubgen.server.hub import HubCallerContext
    from hubgen.spec import Method

__all__ = [
    "CONNECTION_DURATION_BUCKETS",
    "INSTRUMENTATION_SCOPE",
    "INVOCATION_DURATION_BUCKETS",
    "OpenTelemetryFilter",
]

#: The name of hubgen's tracer and meter.
INSTRUMENTATION_SCOPE = "hubgen.server"

#: ``signalr.transport``'s values (the semantic conventions', as ASP.NET Core's).
_TRANSPORTS = {
    "WebSockets": "web_sockets",
    "ServerSentEvents": "server_sent_events",
    "LongPolling": "long_polling",
}

#: ASP.NET Core's boundaries for ``signalr.server.connection.duration``
#: (MetricsConstants.LongSecondsBucketBoundaries; the semantic conventions' advice).
CONNECTION_DURATION_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
#: The semantic conventions' boundaries for request and call durations.
INVOCATION_DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1,
    2.5,
    5,
    7.5,
    10,
)

#: A context with nothing in it: a call without trace headers starts a trace.
_ROOT = Context()

Attributes = Mapping[str, "AttributeValue"]


@dataclass(slots=True)
class _Connection:
    """What the filter keeps for each connection between connect and disconnect."""

    started: float
    #: ``signalr.transport``: the attributes of the connection metrics.
    attributes: Attributes
    #: The connection's own trace context, which its calls' spans link to.
    links: tuple[Link, ...]


class OpenTelemetryFilter(HubFilter):
    """Traces hub method calls and measures connections and calls.

    ``tracer_provider`` and ``meter_provider`` default to OpenTelemetry's
    global ones (``trace.set_tracer_provider``, ``metrics.set_meter_provider``),
    looked up when first used, so the filter may be made before the SDK is
    set up. ``propagator`` reads the trace context from an invocation's
    headers; the global one (W3C Trace Context and Baggage unless
    ``OTEL_PROPAGATORS`` says otherwise) by default.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(
            INSTRUMENTATION_SCOPE, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=meter_provider)
        self._propagator = propagator
        self._connection_duration = meter.create_histogram(
            "signalr.server.connection.duration",
            unit="s",
            description="The duration of connections on the server.",
            explicit_bucket_boundaries_advisory=CONNECTION_DURATION_BUCKETS,
        )
        self._active_connections = meter.create_up_down_counter(
            "signalr.server.active_connections",
            unit="{connection}",
            description="Number of connections that are currently active on the server.",
        )
        self._invocation_errors = meter.create_counter(
            "signalr.server.invocation.errors",
            unit="{invocation}",
            description="Number of hub method invocations and streams that failed.",
        )
        self._invocation_duration = meter.create_histogram(
            "signalr.server.invocation.duration",
            unit="s",
            description="The duration of hub method invocations and streams on the server.",
            explicit_bucket_boundaries_advisory=INVOCATION_DURATION_BUCKETS,
        )
        self._connections: dict[str, _Connection] = {}
        #: Each method's span name and metric attributes, made once.
        self._methods: dict[Method[Any], tuple[str, Attributes]] = {}

    # -- calls -------------------------------------------------------------------------

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        caller = context.context
        described = self._methods.get(context.method)
        if described is None:
            described = self._methods[context.method] = _describe(context)
        name, attributes = described
        connection = self._connections.get(caller.connection_id)
        span = self._tracer.start_span(
            name,
            context=self._remote_parent(context.headers),
            kind=SpanKind.SERVER,
            attributes={**attributes, "signalr.connection.id": caller.connection_id},
            links=connection.links if connection is not None else None,
        )
        started = time.perf_counter()
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                produced = await call_next(context)
        except BaseException as exc:
            self._end_call(span, attributes, started, exc)
            raise
        if not context.method.stream:
            self._end_call(span, attributes, started, None)
            return produced
        if not hasattr(produced, "__anext__"):
            # the dispatcher refuses it; the span says why
            self._end_call(span, attributes, started, TypeError("not an async iterator"))
            return produced
        return _TracedStream(
            produced,
            trace.set_span_in_context(span),
            lambda error: self._end_call(span, attributes, started, error),
        )

    def _remote_parent(self, headers: Mapping[str, str]) -> Context:
        """The caller's trace context from the invocation's headers; an
        empty one without, so the span starts a trace of its own rather than
        joining whatever is current (as ASP.NET Core does)."""
        if not headers:
            return _ROOT
        if self._propagator is not None:
            return self._propagator.extract(headers, context=_ROOT)
        return propagate.extract(headers, context=_ROOT)

    def _end_call(
        self, span: Span, attributes: Attributes, started: float, error: BaseException | None
    ) -> None:
        """End a call's span and record its metrics. Cancellation (the client
        cancelled a stream, or its connection went away) is no failure."""
        if isinstance(error, Exception):
            error_type = _error_type(error)
            span.set_attribute("error.type", error_type)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            attributes = {**attributes, "error.type": error_type}
            self._invocation_errors.add(1, attributes)
        self._invocation_duration.record(time.perf_counter() - started, attributes)
        span.end()

    # -- connections -------------------------------------------------------------------

    async def on_connected(self, context: HubLifetimeContext, call_next: NextConnect) -> None:
        caller = context.context
        transport = _TRANSPORTS.get(caller.transport, caller.transport)
        attributes: Attributes = {"signalr.transport": transport}
        own = self._connection_context(caller)
        links = (Link(own),) if own is not None else ()
        self._connections[caller.connection_id] = _Connection(time.monotonic(), attributes, links)
        self._active_connections.add(1, attributes)
        with self._tracer.start_as_current_span(
            f"{context.hub.spec.name}/on_connected",
            kind=SpanKind.INTERNAL,
            attributes=self._lifetime_attributes(context, "on_connected", transport),
        ) as span:
            try:
                await call_next(context)
            except Exception as exc:
                span.set_attribute("error.type", _error_type(exc))
                raise

    async def on_disconnected(
        self,
        context: HubLifetimeContext,
        exception: BaseException | None,
        call_next: NextDisconnect,
    ) -> None:
        caller = context.context
        connection = self._connections.pop(caller.connection_id, None)
        try:
            with self._tracer.start_as_current_span(
                f"{context.hub.spec.name}/on_disconnected",
                kind=SpanKind.INTERNAL,
                attributes=self._lifetime_attributes(
                    context, "on_disconnected", _TRANSPORTS.get(caller.transport, caller.transport)
                ),
            ) as span:
                try:
                    await call_next(context, exception)
                except Exception as exc:
                    span.set_attribute("error.type", _error_type(exc))
                    raise
        finally:
            # None when this filter's on_connected never ran (a filter before
            # it refused the connection): nothing was counted to undo
            if connection is not None:
                self._active_connections.add(-1, connection.attributes)
                self._connection_duration.record(
                    time.monotonic() - connection.started,
                    {
                        **connection.attributes,
                        "signalr.connection.status": _close_status(caller, exception),
                    },
                )

    @staticmethod
    def _lifetime_attributes(
        context: HubLifetimeContext, method: str, transport: str
    ) -> Attributes:
        return {
            "rpc.system": "signalr",
            "rpc.service": context.hub.spec.name,
            "rpc.method": method,
            "signalr.connection.id": context.context.connection_id,
            "signalr.transport": transport,
        }

    def _connection_context(self, caller: HubCallerContext) -> SpanContext | None:
        """The trace context of the request that opened the connection: the
        span current when it connects (an ASGI instrumentation's), else the
        request's ``traceparent`` header; None when there is neither."""
        current = trace.get_current_span().get_span_context()
        if current.is_valid:
            return current
        headers = caller.request.headers
        if "traceparent" not in headers:
            return None
        carrier = {name: headers[name] for name in ("traceparent", "tracestate") if name in headers}
        extracted = self._remote_parent(carrier)
        remote = trace.get_current_span(extracted).get_span_context()
        return remote if remote.is_valid else None


class _TracedStream(AsyncIterator[Any]):
    """A streaming method's items, passed through with the call's span
    current while the method produces each, and the span ended when the
    stream is (exhausted, failed, cancelled or closed)."""

    __slots__ = ("_context", "_end", "_ended", "_stream")

    def __init__(
        self,
        stream: AsyncIterator[Any],
        context: Context,
        end: Callable[[BaseException | None], None],
    ) -> None:
        self._stream = stream
        self._context = context
        self._end = end
        self._ended = False

    def __aiter__(self) -> _TracedStream:
        return self

    async def __anext__(self) -> Any:
        token = otel_context.attach(self._context)
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            self._finish(None)
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        finally:
            otel_context.detach(token)

    async def aclose(self) -> None:
        """Close the method's stream (the dispatcher closes what it was
        given), then end the span if nothing ended it before."""
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._finish(None)

    def _finish(self, error: BaseException | None) -> None:
        if not self._ended:
            self._ended = True
            self._end(error)


def _describe(context: HubInvocationContext) -> tuple[str, Attributes]:
    """A method's span name (``{Hub}/{Method}``, the name clients call it
    by, as ASP.NET Core names it) and the attributes of its metrics."""
    hub = context.hub.spec.name
    method = context.method.wire_name
    return f"{hub}/{method}", {"rpc.system": "signalr", "rpc.service": hub, "rpc.method": method}


def _error_type(error: BaseException) -> str:
    """``error.type``: the exception's class, qualified by its module unless
    it is a built-in (``hubgen.errors.HubError``, ``ValueError``)."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _close_status(caller: HubCallerContext, exception: BaseException | None) -> str:
    """``signalr.connection.status``: ``app_shutdown`` when the server closed
    it to stop (it lets the client reconnect, and gives no reason);
    ``timeout`` when the client went silent past ``client_timeout``, or a
    long-polling client stopped polling for ``disconnect_timeout``;
    ``normal_closure`` for everything else."""
    connection = caller._connection  # this package's own
    if connection.allow_reconnect and connection.abort_reason is None:
        return "app_shutdown"
    if isinstance(exception, ClientTimedOut):
        return "timeout"
    transport = connection.transport
    if isinstance(transport, LongPollingTransport) and transport.idle_since is not None:
        idle = time.monotonic() - transport.idle_since
        if idle > connection._options.disconnect_timeout:
            return "timeout"
    return "normal_closure"
