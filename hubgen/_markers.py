"""The marker API that contract modules use: ``@hubgen.hub`` and ``@hubgen.method``.

Markers only attach metadata; they never change the decorated class or function,
so a contract module stays ordinary Python that mypy accepts unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["HUB_ATTR", "METHOD_ATTR", "HubMarker", "MethodMarker", "hub", "method"]

HUB_ATTR = "__hubgen_hub__"
METHOD_ATTR = "__hubgen_method__"

_C = TypeVar("_C", bound=type)
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class HubMarker:
    """What ``@hubgen.hub`` recorded on a hub Protocol."""

    client: Any
    name: str | None = None


@dataclass(frozen=True, slots=True)
class MethodMarker:
    """What ``@hubgen.method`` recorded on a hub or client method."""

    name: str | None = None


def hub(*, client: Any, name: str | None = None) -> Callable[[_C], _C]:
    """Mark a ``Protocol`` class as a hub contract.

    ``client`` is the Protocol of the methods the server may call on connected
    clients. ``name`` overrides the hub's public name (used for generated type
    and module names); it defaults to the class name.
    """

    def mark(cls: _C) -> _C:
        setattr(cls, HUB_ATTR, HubMarker(client=client, name=name))
        return cls

    return mark


def method(*, name: str) -> Callable[[_F], _F]:
    """Override the wire name of a hub or client method (default: PascalCase)."""

    def mark(fn: _F) -> _F:
        setattr(fn, METHOD_ATTR, MethodMarker(name=name))
        return fn

    return mark
