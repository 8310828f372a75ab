"""Each hub method call runs as its own task: started eagerly where Python
can (3.12+), on the application's task factory when it has one, and never
sharing its task or its context with the read loop or another call."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Generator
from typing import Any

from hubgen.server.dispatcher import _call_starter
from tests.apps.echo.hub import create_app
from tests.support.raw import RawClient
from tests.support.server import serve


async def test_a_call_starts_eagerly_on_python_312_and_later() -> None:
    loop = asyncio.get_running_loop()
    seen: list[asyncio.Task[Any] | None] = []

    async def call() -> None:
        seen.append(asyncio.current_task())

    task = _call_starter(loop)(call())
    if sys.version_info >= (3, 12):
        # over before the starter returned, on its own task
        assert task.done()
    else:
        assert not task.done()
        await task
    assert seen == [task]


async def test_a_call_that_waits_goes_on_after_an_eager_start() -> None:
    loop = asyncio.get_running_loop()
    steps: list[str] = []

    async def call() -> None:
        steps.append("started")
        await asyncio.sleep(0.01)
        steps.append("resumed")
        assert asyncio.current_task() is task

    task = _call_starter(loop)(call())
    await task
    assert steps == ["started", "resumed"]


async def test_a_timeout_in_a_hub_method_cancels_that_call_only() -> None:
    """asyncio.timeout cancels the current task: the call's own, even in the
    part of an eagerly started call that ran on the read loop's stack."""
    async with serve(create_app()) as base_url:
        client = await RawClient.open(base_url)
        await client.invoke("SleepWithin", 5, 0.05)
        assert (await client.expect(3))["result"] is False
        await client.invoke("SleepWithin", 0, 5)
        assert (await client.expect(3))["result"] is True
        await client.invoke("Echo", "still here")
        assert (await client.expect(3))["result"] == "still here"
        await client.close()


async def test_context_variables_set_by_a_call_stay_in_that_call() -> None:
    async with serve(create_app()) as base_url:
        client = await RawClient.open(base_url)
        for tag in ("first", "second", "third"):
            await client.invoke("SwapTag", tag)
            assert (await client.expect(3))["result"] is None
        await client.close()


async def test_calls_run_on_the_applications_task_factory() -> None:
    loop = asyncio.get_running_loop()
    made: list[str] = []

    def factory(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        made.append(getattr(coro, "__qualname__", ""))
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        async with serve(create_app()) as base_url:
            client = await RawClient.open(base_url)
            await client.invoke("Echo", "through the factory")
            assert (await client.expect(3))["result"] == "through the factory"
            await client.close()
    finally:
        loop.set_task_factory(None)
    assert "ConnectionDispatcher._invoke" in made
