"""Hub filters around invocations, streams, connect and disconnect: order,
short-circuits, replaced arguments and results, failures inside a filter,
and every dispatch path going through them. On the wire, real server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from starlette.applications import Starlette

from hubgen import HubError
from hubgen.server import HubOptions, HubRoute
from hubgen.server.filters import (
    HubFilter,
    HubInvocationContext,
    HubLifetimeContext,
    NextConnect,
    NextDisconnect,
    NextInvoke,
)
from tests.apps.echo.hub import EchoHubImpl
from tests.apps.echo.secure import SecureEchoHub
from tests.support.raw import RawClient
from tests.support.server import serve


class Recorder(HubFilter):
    """Writes what it sees into a shared journal."""

    def __init__(self, name: str, journal: list[str]) -> None:
        self.name = name
        self.journal = journal

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        self.journal.append(f"{self.name}>{context.method.name}{context.arguments}")
        try:
            return await call_next(context)
        finally:
            self.journal.append(f"{self.name}<{context.method.name}")

    async def on_connected(self, context: HubLifetimeContext, call_next: NextConnect) -> None:
        self.journal.append(f"{self.name}>connected")
        await call_next(context)

    async def on_disconnected(
        self,
        context: HubLifetimeContext,
        exception: BaseException | None,
        call_next: NextDisconnect,
    ) -> None:
        self.journal.append(f"{self.name}>disconnected")
        await call_next(context, exception)


class Meddler(HubFilter):
    """Refuses, replaces and rewrites, depending on the method."""

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        name = context.method.name
        if name == "fail":
            raise HubError("refused by a filter")
        if name == "crash":
            raise RuntimeError("a filter bug")
        if name == "whoami":
            return "replaced"
        if name == "echo":
            context.arguments = [context.arguments[0].upper()]
        if name == "counter":
            stream: AsyncIterator[int] = await call_next(context)
            return (item * 10 async for item in stream)
        return await call_next(context)


def app_with(
    *route_filters: HubFilter, options: HubOptions | None = None, hub: type[Any] = EchoHubImpl
) -> Starlette:
    route = HubRoute("/echo", hub, options=options, filters=route_filters)
    app = Starlette(routes=[route])
    app.state.hub = route
    return app


async def test_filters_run_in_order_options_first(caplog: pytest.LogCaptureFixture) -> None:
    journal: list[str] = []
    options = HubOptions(filters=(Recorder("global", journal),))
    async with serve(app_with(Recorder("hub", journal), options=options)) as url:
        client = await RawClient.open(url)
        assert (await client.call("Add", 1, 2))["result"] == 3
        await client.close()
        async with asyncio.timeout(5):
            while "hub>disconnected" not in journal:  # noqa: ASYNC110 - server-side state
                await asyncio.sleep(0.01)
    assert journal == [
        "global>connected",
        "hub>connected",
        "global>add[1, 2]",
        "hub>add[1, 2]",
        "hub<add",
        "global<add",
        "global>disconnected",
        "hub>disconnected",
    ]


async def test_a_filter_refuses_replaces_and_rewrites(caplog: pytest.LogCaptureFixture) -> None:
    options = HubOptions(detailed_errors=False)
    async with serve(app_with(Meddler(), options=options)) as url:
        client = await RawClient.open(url)
        assert (await client.call("Fail", "from the hub"))["error"] == (
            "An unexpected error occurred invoking 'Fail' on the server. "
            "HubException: refused by a filter"
        )
        assert (await client.call("Whoami"))["result"] == "replaced"
        assert (await client.call("Echo", "quiet"))["result"] == "QUIET"
        # an exception in a filter is the server's failure: logged, not detailed
        assert (await client.call("Crash"))["error"] == (
            "An unexpected error occurred invoking 'Crash' on the server."
        )
        assert any(
            r.levelno == logging.ERROR and r.exc_info and "a filter bug" in str(r.exc_info[1])
            for r in caplog.records
        )
        await client.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [3]})
        items = [(await client.expect(2, invocation_id="s"))["item"] for _ in range(3)]
        assert items == [0, 10, 20]
        assert (await client.expect(3, invocation_id="s")) == {"type": 3, "invocationId": "s"}
        await client.close()


async def test_every_dispatch_path_goes_through_the_filters() -> None:
    """The fast path, queued invocations, fire-and-forget calls, uploads and
    streams alike."""
    journal: list[str] = []
    options = HubOptions(max_parallel_invocations=1)
    async with serve(app_with(Recorder("f", journal), options=options)) as url:
        client = await RawClient.open(url)
        slow = await client.invoke("Sleep", 0.1)
        queued = await client.invoke("Add", 2, 3)  # waits for the slot
        await client.send({"type": 1, "target": "Echo", "arguments": ["ff"]})
        assert (await client.expect(3, invocation_id=slow))["result"] == 0.1
        assert (await client.expect(3, invocation_id=queued))["result"] == 5
        upload = await client.invoke("SumUpload", stream_ids=["u"])
        await client.send({"type": 2, "invocationId": "u", "item": 7})
        await client.send({"type": 3, "invocationId": "u"})
        assert (await client.expect(3, invocation_id=upload))["result"] == 7
        await client.send({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [1]})
        await client.expect(3, invocation_id="s")
        await client.close()
    entered = [
        entry.split("[")[0] for entry in journal if ">" in entry and "connected" not in entry
    ]
    assert entered == ["f>sleep", "f>add", "f>echo", "f>sum_upload", "f>counter"]


async def test_authorization_runs_before_any_filter() -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware

    from hubgen.server.authentication import BearerAuthBackend
    from tests.apps.echo.secure import validate

    journal: list[str] = []
    route = HubRoute("/echo", SecureEchoHub, filters=[Recorder("f", journal)])
    backend = BearerAuthBackend(validate, hubs=[route])
    app = Starlette(
        routes=[route], middleware=[Middleware(AuthenticationMiddleware, backend=backend)]
    )
    async with serve(app) as url:
        client = await RawClient.open(url, access_token="alice")
        assert "unauthorized" in (await client.call("Add", 1, 2))["error"]
        assert (await client.call("UserName"))["result"] == "alice"
        await client.close()
    assert [e for e in journal if e.startswith("f>") and "connected" not in e] == ["f>user_name[]"]


class SeesTheCaller(HubFilter):
    seen: ClassVar[list[tuple[str, str, bool]]] = []

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        assert isinstance(context.hub, EchoHubImpl)
        self.seen.append(
            (context.method.wire_name, context.context.connection_id, context.method.stream)
        )
        return await call_next(context)


async def test_a_filter_sees_the_method_and_the_caller() -> None:
    async with serve(app_with(SeesTheCaller())) as url:
        client = await RawClient.open(url)
        await client.call("Echo", "x")
        await client.close()
    assert SeesTheCaller.seen == [("Echo", client.connection_id, False)]


class SeesTheHeaders(HubFilter):
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def invoke(self, context: HubInvocationContext, call_next: NextInvoke) -> Any:
        self.seen.append((context.method.name, dict(context.headers)))
        return await call_next(context)


async def test_a_filter_sees_the_invocation_s_headers() -> None:
    """The message's ``headers`` (where the .NET client puts ``traceparent``),
    on invocations, uploads and streams; an empty mapping when there are none."""
    seer = SeesTheHeaders()
    sent = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    async with serve(app_with(seer)) as url:
        client = await RawClient.open(url)
        call = {"type": 1, "invocationId": "1", "target": "Add", "arguments": [1, 2]}
        await client.send({**call, "headers": sent})
        assert (await client.expect(3, invocation_id="1"))["result"] == 3
        await client.send({**call, "invocationId": "2"})
        assert (await client.expect(3, invocation_id="2"))["result"] == 3
        await client.send(
            {
                "type": 1,
                "invocationId": "3",
                "target": "SumUpload",
                "arguments": [],
                "streamIds": ["u"],
                "headers": {"a": "upload"},
            }
        )
        await client.send({"type": 3, "invocationId": "u"})
        assert (await client.expect(3, invocation_id="3"))["result"] == 0
        await client.send(
            {
                "type": 4,
                "invocationId": "s",
                "target": "Counter",
                "arguments": [1],
                "headers": {"a": "stream"},
            }
        )
        await client.expect(3, invocation_id="s")
        await client.close()
    assert seer.seen == [
        ("add", sent),
        ("add", {}),
        ("sum_upload", {"a": "upload"}),
        ("counter", {"a": "stream"}),
    ]


class RefusesConnections(HubFilter):
    async def on_connected(self, context: HubLifetimeContext, call_next: NextConnect) -> None:
        raise HubError("not today")


async def test_a_connect_filter_that_raises_ends_the_connection() -> None:
    async with serve(app_with(RefusesConnections())) as url:
        client = await RawClient.open(url)
        close = await client.expect(7)
        assert close["error"].startswith("Connection closed with an error.")
