"""OpenTelemetry for hubs (hubgen.server.telemetry), read back through the
SDK's in-memory span exporter and metric reader: real server, real clients
(raw WebSocket JSON where the test needs to set invocation headers, hubgen's
Python client on the three transports)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from hubgen.client import HubConnection
from hubgen.client.transport import TransportName
from hubgen.server import HubOptions, HubRoute
from hubgen.server.filters import HubFilter, HubInvocationContext, NextInvoke
from hubgen.server.telemetry import (
    CONNECTION_DURATION_BUCKETS,
    INSTRUMENTATION_SCOPE,
    INVOCATION_DURATION_BUCKETS,
    OpenTelemetryFilter,
)
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.apps.echo.hub import EchoHubImpl
from tests.support.raw import RS, RawClient
from tests.support.server import serve

pytestmark = pytest.mark.timeout(60)

TRANSPORTS: list[TransportName] = ["WebSockets", "ServerSentEvents", "LongPolling"]
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@dataclass
class Telemetry:
    """An SDK of the test's own (never the global one), and the filter on it."""

    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    reader: InMemoryMetricReader

    def filter(self) -> OpenTelemetryFilter:
        return OpenTelemetryFilter(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def finished(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if name is None or s.name == name]

    def sums(self, name: str) -> dict[frozenset[tuple[str, Any]], int | float]:
        """A counter's values by attribute set."""
        return {
            frozenset((p.attributes or {}).items()): p.value
            for p in self._points(name)
            if isinstance(p, NumberDataPoint)
        }

    def histograms(self, name: str) -> dict[frozenset[tuple[str, Any]], HistogramDataPoint]:
        return {
            frozenset((p.attributes or {}).items()): p
            for p in self._points(name)
            if isinstance(p, HistogramDataPoint)
        }

    def _points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            if scope.scope.name == INSTRUMENTATION_SCOPE
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    tracer_provider = TracerProvider()
    spans = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    result = Telemetry(tracer_provider, spans, MeterProvider(metric_readers=[reader]), reader)
    yield result
    tracer_provider.shutdown()
    result.meter_provider.shutdown()


def app_with(*filters: HubFilter, **options: Any) -> Starlette:
    route = HubRoute("/echo", EchoHubImpl, options=HubOptions(filters=filters, **options))
    app = Starlette(routes=[route])
    app.state.hub = route
    return app


def attrs(**values: Any) -> frozenset[tuple[str, Any]]:
    return frozenset({key.replace("_", "."): value for key, value in values.items()}.items())


def call_attrs(method: str, **more: Any) -> frozenset[tuple[str, Any]]:
    base = {"rpc.system": "signalr", "rpc.service": "EchoHub", "rpc.method": method}
    return frozenset({**base, **more}.items())


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for server-side state (a disconnect's metrics) to show."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - server-side state
            await asyncio.sleep(0.02)


# -- spans ---------------------------------------------------------------------------------


async def test_a_call_is_a_server_span_of_its_own(telemetry: Telemetry) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url)
        assert (await client.call("Add", 1, 2))["result"] == 3
        assert (await client.call("Echo", "hi"))["result"] == "hi"
        await client.close()

    add, echo = telemetry.finished("EchoHub/Add"), telemetry.finished("EchoHub/Echo")
    assert len(add) == len(echo) == 1
    span = add[0]
    assert span.kind is SpanKind.SERVER
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "hubgen.server"
    assert dict(span.attributes or {}) == {
        "rpc.system": "signalr",
        "rpc.service": "EchoHub",
        "rpc.method": "Add",
        "signalr.connection.id": client.connection_id,
    }
    assert span.status.status_code is StatusCode.UNSET
    # no trace headers: each call starts a trace of its own
    assert span.parent is None
    assert echo[0].parent is None
    assert span.context is not None
    assert echo[0].context is not None
    assert span.context.trace_id != echo[0].context.trace_id
    assert not span.links  # the WebSocket request carried no trace context


async def test_a_call_continues_the_trace_its_headers_carry(telemetry: Telemetry) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url)
        for kind, target, arguments in ((1, "Add", [1, 2]), (4, "Counter", [2])):
            await client.send(
                {
                    "type": kind,
                    "invocationId": target,
                    "target": target,
                    "arguments": arguments,
                    "headers": {"traceparent": TRACEPARENT, "tracestate": "vendor=value"},
                }
            )
            await client.expect(3, invocation_id=target)
        await client.close()

    for name in ("EchoHub/Add", "EchoHub/Counter"):
        (span,) = telemetry.finished(name)
        assert span.parent is not None
        assert span.context is not None
        assert span.parent.is_remote
        assert format(span.parent.span_id, "016x") == PARENT_ID
        assert format(span.context.trace_id, "032x") == TRACE_ID
        assert span.context.trace_state.get("vendor") == "value"


class Nested(HubFilter):
    """After the telemetry filter: what runs inside the call sees its span."""

    def __init__(self, tracer_provider: TracerProvider) -> None:
        self.tracer = tracer_provider.get_tracer("tests")
        self.current: list[int] = []

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        if not context.method.stream:
            with self.tracer.start_as_current_span("inside"):
                return await call_next(context)
        stream: AsyncIterator[Any] = await call_next(context)

        async def items() -> AsyncIterator[Any]:
            async for item in stream:
                self.current.append(trace.get_current_span().get_span_context().span_id)
                yield item

        return items()


def asgi_span(app: ASGIApp, tracer_provider: TracerProvider) -> ASGIApp:
    """A span around every ASGI request, as an ASGI instrumentation makes:
    a WebSocket's lasts as long as its hub connection."""
    tracer = tracer_provider.get_tracer("asgi")

    async def traced(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        with tracer.start_as_current_span(f"{scope['type']} {scope['path']}"):
            await app(scope, receive, send)

    return traced


async def test_the_call_s_span_is_current_inside_and_links_to_its_connection(
    telemetry: Telemetry,
) -> None:
    """Not the span current when the call arrived (the WebSocket request's,
    open for as long as the connection): that one is linked, as ASP.NET Core
    links a call to the connection's request."""
    nested = Nested(telemetry.tracer_provider)
    app = asgi_span(app_with(telemetry.filter(), nested), telemetry.tracer_provider)
    async with serve(app) as url:
        client = await RawClient.open(url)
        assert (await client.call("Add", 1, 2))["result"] == 3
        await client.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [3]})
        await client.expect(3, invocation_id="s")
        await client.close()
        await eventually(lambda: bool(telemetry.finished("websocket /echo")))

    (request,) = telemetry.finished("websocket /echo")
    (call,) = telemetry.finished("EchoHub/Add")
    (inside,) = telemetry.finished("inside")
    (stream,) = telemetry.finished("EchoHub/Counter")
    assert request.context is not None
    assert call.context is not None
    assert stream.context is not None
    assert call.parent is None
    assert stream.parent is None
    assert [link.context for link in call.links] == [request.context]
    assert [link.context for link in stream.links] == [request.context]
    assert inside.parent == call.context
    assert nested.current == [stream.context.span_id] * 3
    # connecting and disconnecting happen inside the request: its children
    (connected,) = telemetry.finished("EchoHub/on_connected")
    (disconnected,) = telemetry.finished("EchoHub/on_disconnected")
    for span in (connected, disconnected):
        assert span.kind is SpanKind.INTERNAL
        assert span.parent == request.context
        assert dict(span.attributes or {})["signalr.transport"] == "web_sockets"


async def test_a_call_links_to_the_traceparent_of_the_connection_s_request(
    telemetry: Telemetry,
) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url, headers={"traceparent": TRACEPARENT})
        await client.call("Add", 1, 2)
        await client.close()
    (span,) = telemetry.finished("EchoHub/Add")
    assert span.parent is None
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == TRACE_ID
    assert format(link.context.span_id, "016x") == PARENT_ID
    assert span.context is not None
    assert span.context.trace_id != link.context.trace_id


async def test_failures_set_the_status_the_exception_and_error_type(
    telemetry: Telemetry,
) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url)
        assert "HubException: no" in (await client.call("Fail", "no"))["error"]
        assert (await client.call("Crash"))["error"].endswith("on the server.")
        assert "Method does not exist" in (await client.call("Nope"))["error"]
        await client.close()

    (refused,) = telemetry.finished("EchoHub/Fail")
    (crashed,) = telemetry.finished("EchoHub/Crash")
    assert (refused.attributes or {})["error.type"] == "hubgen.errors.HubError"
    assert (crashed.attributes or {})["error.type"] == "RuntimeError"
    assert refused.status.status_code is crashed.status.status_code is StatusCode.ERROR
    assert refused.status.description == "HubError: no"
    assert crashed.status.description == "RuntimeError: secret internals"
    for span, kind in ((refused, "hubgen.errors.HubError"), (crashed, "RuntimeError")):
        (event,) = span.events
        assert event.name == "exception"
        assert (event.attributes or {})["exception.type"] == kind
        assert "Traceback" in str((event.attributes or {})["exception.stacktrace"])
    # a call refused before any method runs is not a call of one: no span,
    # as in ASP.NET Core
    assert not telemetry.finished("EchoHub/Nope")


async def test_a_stream_s_span_lasts_the_stream_and_ends_however_it_ends(
    telemetry: Telemetry,
) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url)

        async def stream(invocation_id: str, target: str, *arguments: Any) -> dict[str, Any]:
            await client.send(
                {
                    "type": 4,
                    "invocationId": invocation_id,
                    "target": target,
                    "arguments": list(arguments),
                }
            )
            return await client.expect(3, invocation_id=invocation_id)

        assert "error" not in await stream("whole", "Counter", 3, 0.05)
        assert "stream broke" in (await stream("broken", "FailingStream", 2))["error"]
        assert "not today" in (await stream("refused", "RefusedStream", "hub"))["error"]
        # cancelled by the client: no failure
        await client.send(
            {"type": 4, "invocationId": "cut", "target": "Counter", "arguments": [1000, 0.01]}
        )
        await client.expect(2, invocation_id="cut")
        await client.send({"type": 5, "invocationId": "cut"})
        assert "error" not in await client.expect(3, invocation_id="cut")
        await client.close()

    whole = telemetry.finished("EchoHub/Counter")
    assert len(whole) == 2  # the whole stream, and the cancelled one
    durations = sorted((s.end_time or 0) - (s.start_time or 0) for s in whole)
    assert durations[-1] >= 0.1e9  # the whole stream: three items 50 ms apart
    assert all(s.status.is_unset and "error.type" not in (s.attributes or {}) for s in whole)
    (broken,) = telemetry.finished("EchoHub/FailingStream")
    (refused,) = telemetry.finished("EchoHub/RefusedStream")
    for span in (broken, refused):
        assert span.status.status_code is StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "hubgen.errors.HubError"
    assert broken.status.description == "HubError: stream broke"
    assert telemetry.sums("signalr.server.invocation.errors") == {
        call_attrs("FailingStream", **{"error.type": "hubgen.errors.HubError"}): 1,
        call_attrs("RefusedStream", **{"error.type": "hubgen.errors.HubError"}): 1,
    }


# -- metrics -------------------------------------------------------------------------------


async def test_invocations_errors_and_durations_per_method(telemetry: Telemetry) -> None:
    """The duration's count is the number of calls, by method and outcome."""
    async with serve(app_with(telemetry.filter())) as url:
        client = await RawClient.open(url)
        for _ in range(3):
            await client.call("Add", 1, 2)
        await client.call("Sleep", 0.2)
        await client.call("Fail", "no")
        await client.call("Fail", "again")
        await client.call("Crash")
        await client.close()

    assert telemetry.sums("signalr.server.invocation.errors") == {
        call_attrs("Fail", **{"error.type": "hubgen.errors.HubError"}): 2,
        call_attrs("Crash", **{"error.type": "RuntimeError"}): 1,
    }
    durations = telemetry.histograms("signalr.server.invocation.duration")
    assert {key: point.count for key, point in durations.items()} == {
        call_attrs("Add"): 3,
        call_attrs("Sleep"): 1,
        call_attrs("Fail", **{"error.type": "hubgen.errors.HubError"}): 2,
        call_attrs("Crash", **{"error.type": "RuntimeError"}): 1,
    }
    assert 0.2 <= durations[call_attrs("Sleep")].sum < 1
    assert tuple(durations[call_attrs("Add")].explicit_bounds) == INVOCATION_DURATION_BUCKETS


async def test_connections_are_counted_and_timed_per_transport(telemetry: Telemetry) -> None:
    async with serve(app_with(telemetry.filter())) as url:
        connections = [
            HubConnection(f"{url}/echo", transports=[transport]) for transport in TRANSPORTS
        ]
        for connection in connections:
            await connection.start()
            assert await EchoHubClient(connection).add(1, 2) == 3
        active = telemetry.sums("signalr.server.active_connections")
        assert active == {
            attrs(signalr_transport="web_sockets"): 1,
            attrs(signalr_transport="server_sent_events"): 1,
            attrs(signalr_transport="long_polling"): 1,
        }
        await asyncio.sleep(0.1)
        for connection in connections:
            await connection.stop()

        def all_closed() -> bool:
            return set(telemetry.sums("signalr.server.active_connections").values()) == {0}

        await eventually(all_closed)
        await eventually(
            lambda: len(telemetry.histograms("signalr.server.connection.duration")) == 3
        )

    durations = telemetry.histograms("signalr.server.connection.duration")
    for transport in ("web_sockets", "server_sent_events", "long_polling"):
        point = durations[
            attrs(signalr_transport=transport, signalr_connection_status="normal_closure")
        ]
        assert point.count == 1
        assert 0.1 <= point.sum < 10
        assert tuple(point.explicit_bounds) == CONNECTION_DURATION_BUCKETS


async def test_a_silent_client_times_out(telemetry: Telemetry) -> None:
    """client_timeout: the client sent a ping, then nothing."""
    app = app_with(telemetry.filter(), client_timeout=0.3, keep_alive_interval=0.1)
    async with serve(app) as url:
        client = await RawClient.open(url)
        await client.send({"type": 6})
        assert (await client.expect(7))["allowReconnect"] is True
        await eventually(lambda: bool(telemetry.histograms("signalr.server.connection.duration")))
        await client.close()
    assert list(telemetry.histograms("signalr.server.connection.duration")) == [
        attrs(signalr_transport="web_sockets", signalr_connection_status="timeout")
    ]


async def test_a_long_polling_client_that_stops_polling_times_out(telemetry: Telemetry) -> None:
    """disconnect_timeout: ASP.NET Core's own ``timeout``."""
    app = app_with(telemetry.filter(), disconnect_timeout=0.3)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        negotiated = (await http.post("/echo/negotiate?negotiateVersion=1")).json()
        poll = f"/echo?id={negotiated['connectionToken']}"
        assert (await http.get(poll)).status_code == 200  # the first poll answers at once
        handshake = json.dumps({"protocol": "json", "version": 1}) + RS
        assert (await http.post(poll, content=handshake)).status_code == 200
        assert (await http.get(poll)).text == "{}" + RS
        await eventually(
            lambda: (
                telemetry.sums("signalr.server.active_connections")
                == {attrs(signalr_transport="long_polling"): 1}
            )
        )
        # ... and no poll after it
        await eventually(lambda: bool(telemetry.histograms("signalr.server.connection.duration")))
    assert list(telemetry.histograms("signalr.server.connection.duration")) == [
        attrs(signalr_transport="long_polling", signalr_connection_status="timeout")
    ]
    assert telemetry.sums("signalr.server.active_connections") == {
        attrs(signalr_transport="long_polling"): 0
    }


async def test_connections_closed_by_a_shutdown_say_so(telemetry: Telemetry) -> None:
    app = app_with(telemetry.filter())
    route: HubRoute[Any] = app.state.hub
    async with serve(app) as url:
        connections = [
            HubConnection(f"{url}/echo", transports=[transport]) for transport in TRANSPORTS
        ]
        closed = asyncio.Queue[Exception | None]()
        for connection in connections:
            await connection.start()
            connection.on_close(closed.put_nowait)
        await route.drain(timeout=1)
        async with asyncio.timeout(10):
            for _ in connections:
                await closed.get()
        await eventually(
            lambda: len(telemetry.histograms("signalr.server.connection.duration")) == 3
        )
    assert set(telemetry.histograms("signalr.server.connection.duration")) == {
        attrs(signalr_transport=transport, signalr_connection_status="app_shutdown")
        for transport in ("web_sockets", "server_sent_events", "long_polling")
    }


async def test_a_connection_another_filter_refused_is_not_counted(telemetry: Telemetry) -> None:
    """on_disconnected runs for every connection, on_connected only past the
    filters before it: nothing counted, nothing to take back."""
    from tests.server.test_filters import RefusesConnections

    async with serve(app_with(RefusesConnections(), telemetry.filter())) as url:
        client = await RawClient.open(url)
        await client.expect(7)
        await client.close()
        await eventually(lambda: bool(telemetry.finished("EchoHub/on_disconnected")))
    assert telemetry.sums("signalr.server.active_connections") == {}
    assert telemetry.histograms("signalr.server.connection.duration") == {}


# -- cost and packaging --------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_without_the_filter_imports_no_opentelemetry() -> None:
    """It costs nothing when not configured: not even the import. A server
    that runs a call, a stream and a filter of its own loads no module of
    OpenTelemetry's."""
    result = run_python(
        """
        import asyncio, sys
        from hubgen.server import HubOptions
        from hubgen.server.filters import HubFilter
        from tests.apps.echo.hub import create_app
        from tests.support.raw import RawClient
        from tests.support.server import serve

        async def main():
            async with serve(create_app(HubOptions(filters=(HubFilter(),)))) as url:
                client = await RawClient.open(url)
                assert (await client.call("Add", 1, 2))["result"] == 3
                await client.send(
                    {"type": 4, "invocationId": "s", "target": "Counter", "arguments": [2]}
                )
                await client.expect(3, invocation_id="s")
                await client.close()

        asyncio.run(main())
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_extra_the_import_says_what_to_install() -> None:
    result = run_python(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if not installed
        import hubgen.server.telemetry
        """
    )
    assert result.returncode == 1
    assert (
        "ImportError: hubgen.server.telemetry needs OpenTelemetry's API, which hubgen's "
        "'otel' extra brings: pip install 'hubgen[otel]'"
    ) in result.stderr
