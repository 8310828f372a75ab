"""The implementation of EchoHub used by the tests."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from starlette.applications import Starlette

from hubgen import HubError
from hubgen.server import HubOptions, HubRoute

from .contract import Color, Item, Priority, Sample, Tag
from .generated.echo_hub_server import EchoHubBase

#: The Sample ``make_sample`` returns (tests compare what clients receive with it).
REFERENCE_SAMPLE = Sample(
    aware=datetime(2024, 5, 1, 14, 30, 15, 123000, tzinfo=timezone(timedelta(hours=2))),
    naive=datetime(2024, 5, 1, 12, 30),
    day=date(2024, 2, 29),
    clock=time(23, 59, 58, 5),
    span=timedelta(days=1, hours=2, seconds=3, microseconds=500),
    blob=bytes([0, 1, 254, 255]),
    amount=Decimal("1234567890.0123456789"),
    ident=UUID("12345678-1234-5678-1234-567812345678"),
    priority=Priority.HIGH,
    color=Color.GREEN,
    big=2**53 + 1,
    nullable=None,
    nick_name="nick",
    tag=Tag(label="one"),
    tags=[Tag(label="two", weight=2), Tag(label="three", weight=3)],
    tag_map={"four": Tag(label="four", weight=4)},
)


def describe(value: object) -> str:
    """A field's bound value for tests: datetimes in ISO 8601 (an offset only
    when aware), everything else its repr."""
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


#: Set by ``swap_tag``: a call must not see what another call set.
CALL_TAG: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_tag", default=None)

#: What on_connected / on_disconnected saw, for assertions.
EVENTS: list[tuple[str, str, str | None]] = []


class EchoHubImpl(EchoHubBase):
    async def on_connected(self) -> None:
        EVENTS.append(("connected", self.context.connection_id, None))

    async def on_disconnected(self, exception: BaseException | None) -> None:
        EVENTS.append(
            (
                "disconnected",
                self.context.connection_id,
                None if exception is None else str(exception),
            )
        )

    async def echo(self, text: str) -> str:
        return text

    async def add(self, a: int, b: int = 10) -> int:
        return a + b

    async def echo_item(self, item: Item) -> Item:
        return item

    async def echo_sample(self, sample: Sample) -> Sample:
        return sample

    async def make_sample(self) -> Sample:
        return REFERENCE_SAMPLE

    async def describe_sample(self, sample: Sample) -> dict[str, str]:
        return {name: describe(getattr(sample, name)) for name in Sample.model_fields}

    async def echo_big(self, n: int) -> int:
        return n

    async def echo_blob(self, data: bytes) -> bytes:
        return data

    async def echo_when(self, when: datetime) -> datetime:
        return when

    async def bounded(self, n: int) -> int:
        return n

    async def fail(self, message: str) -> None:
        raise HubError(message)

    async def crash(self) -> None:
        raise RuntimeError("secret internals")

    async def broadcast(self, text: str) -> None:
        await self.clients.all.message(text)

    async def send_others(self, text: str) -> None:
        await self.clients.others.message(text)

    async def send_caller(self, text: str) -> None:
        await self.clients.caller.message(text)

    async def send_to(self, connection_id: str, text: str) -> None:
        await self.clients.client(connection_id).message(text)

    async def send_item_to_all(self, item: Item) -> None:
        await self.clients.all.item_received(item)

    async def join(self, group: str) -> None:
        await self.groups.add(self.context.connection_id, group)

    async def leave(self, group: str) -> None:
        await self.groups.remove(self.context.connection_id, group)

    async def record(self, number: int) -> None:
        self.context.items.setdefault("recorded", []).append(number)

    async def recorded(self) -> list[int]:
        numbers: list[int] = self.context.items.get("recorded", [])
        return numbers

    async def add_to_group(self, connection_id: str, group: str) -> None:
        await self.groups.add(connection_id, group)

    async def send_group(self, group: str, text: str) -> None:
        await self.clients.group(group).message(text)

    async def send_others_in_group(self, group: str, text: str) -> None:
        await self.clients.others_in_group(group).message(text)

    async def whoami(self) -> str:
        return self.context.connection_id

    async def user_name(self) -> str | None:
        return self.context.user_identifier

    async def send_user(self, user: str, text: str) -> None:
        await self.clients.user(user).message(text)

    async def ask_caller(self, question: str) -> int:
        return await self.clients.caller.ask(question)

    async def ask_client(self, connection_id: str, question: str) -> int:
        return await self.clients.client(connection_id).ask(question)

    async def abort_me(self) -> None:
        self.context.abort()

    async def sleep(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def sleep_within(self, seconds: float, limit: float) -> bool:
        try:
            async with asyncio.timeout(limit):
                await asyncio.sleep(seconds)
        except TimeoutError:
            return False
        return True

    async def swap_tag(self, tag: str) -> str | None:
        before = CALL_TAG.get()
        CALL_TAG.set(tag)
        return before

    async def get_header(self, name: str) -> str | None:
        return self.context.request.headers.get(name)

    async def wrong_result(self) -> int:
        value: Any = "not an int"
        return value  # type: ignore[no-any-return]

    async def counter(self, count: int, delay: float = 0.0) -> AsyncIterator[int]:
        for i in range(count):
            if delay:
                await asyncio.sleep(delay)
            yield i

    def refused_stream(self, reason: str) -> AsyncIterator[int]:
        # not a generator: it fails before it has a stream to return
        if reason == "hub":
            raise HubError("not today")
        raise RuntimeError("secret internals")

    async def failing_stream(self, after: int) -> AsyncIterator[int]:
        for i in range(after):
            yield i
        raise HubError("stream broke")

    async def sum_upload(self, numbers: AsyncIterator[int]) -> int:
        total = 0
        async for n in numbers:
            total += n
        return total

    async def double_upload(self, numbers: AsyncIterator[int]) -> AsyncIterator[int]:
        async for n in numbers:
            yield n * 2


def create_app(options: HubOptions | None = None, *, lifespan: bool = False) -> Starlette:
    """The echo hub at ``/echo``; with ``lifespan``, its route's lifespan
    (graceful shutdown on SIGTERM) runs the app's."""
    route = HubRoute("/echo", EchoHubImpl, options=options)
    app = Starlette(routes=[route], lifespan=route.lifespan if lifespan else None)
    app.state.hub = route
    return app


def app_from_environment() -> Starlette:
    """The app with the HubOptions in ``ECHO_HUB_OPTIONS`` (JSON), for
    ``uvicorn --factory`` in a server process of its own (tests/support/process.py);
    on Redis when ``ECHO_REDIS_URL`` is set (and then behind the identity of
    tests/apps/echo/secure.py, so that users can be addressed)."""
    options = HubOptions(**json.loads(os.environ.get("ECHO_HUB_OPTIONS") or "{}"))
    redis_url = os.environ.get("ECHO_REDIS_URL")
    if not redis_url:
        return create_app(options, lifespan=True)
    from hubgen.server.redis import RedisBackplane, RedisLifetimeManager

    from .secure import create_secure_app

    return create_secure_app(options, lifetime=RedisLifetimeManager(RedisBackplane(redis_url)))
