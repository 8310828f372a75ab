"""The members of a contract Protocol, read one way by analysis and the runtime.

A contract's members are the public names (no leading ``_``) of the Protocol
and of its bases, bases first, a redefinition replacing what a base declared;
``object``, ``Protocol`` and ``Generic`` contribute nothing. A name that is
only annotated (``version: int``) is a member too, with :data:`DATA_MEMBER`
as its value. A parameter or result annotated ``AsyncIterator[T]`` (or
``AsyncIterable[T]``) is a stream of ``T`` (:func:`stream_item`).

Analysis (:mod:`hubgen.contracts`) reports every member that is not a method;
the runtime (:mod:`hubgen.spec`) binds the methods when a generated module is
imported. Both read members here, so the spec finds exactly the methods
``hubgen generate`` saw. This module imports nothing of hubgen.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

import typing_extensions

__all__ = [
    "DATA_MEMBER",
    "Member",
    "contract_methods",
    "is_protocol",
    "protocol_members",
    "stream_item",
]

_SKIPPED_BASES: tuple[Any, ...] = (
    object,
    typing.Protocol,
    typing.Generic,
    typing_extensions.Protocol,
)
_STREAMS = (collections.abc.AsyncIterator, collections.abc.AsyncIterable)


class _DataMember:
    def __repr__(self) -> str:
        return "DATA_MEMBER"


#: The value of a member that is only annotated (``version: int``).
DATA_MEMBER: Any = _DataMember()


@dataclass(frozen=True, slots=True)
class Member:
    """A public member of a contract Protocol: its ``value`` (a function for a
    method) and the class of the Protocol's MRO that defines it."""

    name: str
    value: Any
    owner: type

    @property
    def is_method(self) -> bool:
        """A plain function: ``async def``, ``def`` or an async generator."""
        return inspect.isfunction(self.value)


def is_protocol(cls: Any) -> bool:
    """True for a class that lists ``Protocol`` among its bases."""
    return (
        getattr(cls, "_is_protocol", False) is True
        and isinstance(cls, type)
        and not isinstance(cls, types.GenericAlias)  # list[int] claims to be a class
    )


def protocol_members(protocol: type) -> list[Member]:
    """The public members of ``protocol`` and its bases, bases first."""
    found: dict[str, Member] = {}
    for klass in reversed(protocol.__mro__):
        if klass in _SKIPPED_BASES:
            continue
        namespace = vars(klass)
        for name, value in namespace.items():
            if not name.startswith("_"):
                found[name] = Member(name, value, klass)
        for name in namespace.get("__annotations__", {}):
            if not name.startswith("_") and name not in namespace:
                found[name] = Member(name, DATA_MEMBER, klass)
    return list(found.values())


def contract_methods(protocol: type) -> dict[str, Any]:
    """The functions among :func:`protocol_members`, by name."""
    return {m.name: m.value for m in protocol_members(protocol) if m.is_method}


def stream_item(annotation: Any) -> tuple[bool, Any]:
    """``(True, T)`` for ``AsyncIterator[T]`` / ``AsyncIterable[T]`` (``T`` is
    ``None`` when the item type is missing); ``(False, None)`` otherwise."""
    if annotation in _STREAMS:
        return True, None
    if typing.get_origin(annotation) in _STREAMS:
        args = typing.get_args(annotation)
        return True, args[0] if args else None
    return False, None
