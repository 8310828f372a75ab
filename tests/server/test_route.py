"""HubRoute refuses, at startup and clearly, hub classes that cannot serve their contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.routing import NoMatchFound

from hubgen.server import Hub, HubRoute
from tests.apps.echo.generated.echo_hub_server import EchoHubBase
from tests.apps.echo.hub import EchoHubImpl


def test_missing_methods_are_named() -> None:
    class Incomplete(EchoHubBase):
        async def echo(self, text: str) -> str:
            return text

    missing = sorted(set(EchoHubBase.spec.methods) - {"echo"})
    with pytest.raises(TypeError) as info:
        HubRoute("/echo", Incomplete)  # type: ignore[type-abstract]
    assert str(info.value) == (
        "test_missing_methods_are_named.<locals>.Incomplete does not implement these "
        f"EchoHub methods: {', '.join(missing)} (`hubgen scaffold` can write stubs for them)"
    )


def test_sync_method_and_coroutine_stream_are_refused() -> None:
    class Wrong(EchoHubImpl):
        def echo(self, text: str) -> str:  # type: ignore[override]
            return text

        async def counter(self, count: int, delay: float = 0.0) -> list[int]:  # type: ignore[override]
            return []

    with pytest.raises(TypeError) as info:
        HubRoute("/echo", Wrong)
    message = str(info.value)
    assert message.startswith("test_sync_method_and_coroutine_stream_are_refused.<locals>.Wrong: ")
    assert "echo must be a coroutine (`async def`), but it is not `async def`" in message
    assert "counter is a stream: write it as an async generator" in message


def test_async_generator_for_an_invocation_is_refused() -> None:
    class Wrong(EchoHubImpl):
        async def echo(self, text: str) -> AsyncIterator[str]:  # type: ignore[override]
            yield text

    with pytest.raises(
        TypeError, match=r"echo must be a coroutine .* but it is an async generator"
    ):
        HubRoute("/echo", Wrong)


def test_a_class_that_is_not_generated_is_refused() -> None:
    class Plain(Hub[Any, Any]):
        pass

    with pytest.raises(
        TypeError, match="Plain is not a hub implementation: subclass the <Hub>Base"
    ):
        HubRoute("/echo", Plain)


def test_path_and_name() -> None:
    route = HubRoute("/echo/", EchoHubImpl)
    assert route.path == "/echo"
    assert route.name == "EchoHub"
    assert str(route.url_path_for("EchoHub")) == "/echo"
    with pytest.raises(NoMatchFound):
        route.url_path_for("Other")
    with pytest.raises(ValueError, match="must start with '/'"):
        HubRoute("echo", EchoHubImpl)
