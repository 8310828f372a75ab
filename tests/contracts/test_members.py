"""``hubgen.members``: the one reading of a contract Protocol's members, which
analysis and the runtime spec share."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol

import typing_extensions

from hubgen.members import (
    DATA_MEMBER,
    contract_methods,
    is_protocol,
    protocol_members,
    stream_item,
)
from hubgen.naming import FieldNaming
from hubgen.spec import HubSpec, MethodSpec


class _Base(Protocol):
    async def first(self) -> None: ...

    async def replaced(self) -> object: ...


class _Mixin(typing_extensions.Protocol):
    async def mixed(self) -> None: ...


class _Hub(_Base, _Mixin, Protocol):
    version: int
    label: str = "x"

    async def replaced(self) -> str: ...

    def ticks(self) -> AsyncIterator[int]: ...

    async def _private(self) -> None: ...


class _Client(Protocol):
    async def ping(self) -> None: ...


def test_members_come_bases_first_and_a_redefinition_replaces_the_base() -> None:
    members = protocol_members(_Hub)
    assert [(m.name, m.owner) for m in members] == [
        ("mixed", _Mixin),
        ("first", _Base),
        ("replaced", _Hub),
        ("label", _Hub),
        ("ticks", _Hub),
        ("version", _Hub),
    ]
    by_name = {m.name: m for m in members}
    assert by_name["version"].value is DATA_MEMBER
    assert by_name["label"].value == "x"
    assert not by_name["label"].is_method
    assert by_name["replaced"].value is vars(_Hub)["replaced"]


def test_contract_methods_are_the_functions_among_them() -> None:
    assert list(contract_methods(_Hub)) == ["mixed", "first", "replaced", "ticks"]


def test_the_runtime_spec_binds_the_same_methods() -> None:
    # Only methods reach a spec (analysis refuses the rest): a Protocol
    # without data members, with bases from typing and typing_extensions.
    class Hub(_Base, _Mixin, Protocol):
        async def replaced(self) -> str: ...

    spec = HubSpec(
        name="Hub",
        contract=Hub,
        client=_Client,
        methods=[MethodSpec(name, name) for name in contract_methods(Hub)],
        client_methods=[MethodSpec("ping", "Ping")],
        field_naming=FieldNaming.CAMEL,
    )
    assert list(spec.methods) == ["mixed", "first", "replaced"]
    assert spec.method("replaced").returns is str


def test_is_protocol() -> None:
    assert is_protocol(_Hub)
    assert is_protocol(_Mixin)
    assert not is_protocol(int)
    assert not is_protocol(list[int])  # a GenericAlias claims to be a class


def test_stream_item() -> None:
    assert stream_item(AsyncIterator[int]) == (True, int)
    assert stream_item(AsyncIterable[str]) == (True, str)
    assert stream_item(typing_extensions.AsyncIterator[bytes]) == (True, bytes)
    assert stream_item(AsyncIterator) == (True, None)
    assert stream_item(list[int]) == (False, None)
    assert stream_item(int) == (False, None)
