"""What the server called on a test client, and waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubgen.spec import BindingError, HubSpec, Method

__all__ = ["CallInbox", "ClientCall", "MethodRef"]

#: A client method: its name in the contract (``"message_received"``), or the
#: contract's function itself (``ChatClient.message_received``), which mypy
#: checks.
MethodRef = str | Callable[..., Any]


@dataclass(frozen=True, slots=True)
class ClientCall:
    """One call the server made on a client: the client method's name in the
    contract and its arguments, decoded to the contract's types.

    Compares by ``method`` and ``args``:
    ``assert call == ClientCall("user_joined", ("lobby", "bob"))``.
    """

    method: str
    args: tuple[Any, ...] = ()
    #: The contract's parameter names, in order.
    names: tuple[str, ...] = field(default=(), compare=False, repr=False)
    #: Why the arguments could not be decoded (then ``args`` are wire values).
    mismatch: str | None = field(default=None, compare=False, repr=False)

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments by parameter name."""
        return dict(zip(self.names, self.args, strict=False))

    def __repr__(self) -> str:
        return f"{self.method}({', '.join(map(repr, self.args))})"


class CallInbox:
    """The server's calls on one client, in the order they arrived.

    Every call is kept in :attr:`received`; the ones a test has not taken yet
    (with :meth:`take` or by waiting) are *pending*. Recording is a handler
    registered on the connection for each client method of the contract,
    before any handler of the test's: it returns nothing, so what the test's
    handlers answer (client results) is what the server gets.
    """

    def __init__(self, spec: HubSpec) -> None:
        self._spec = spec
        #: Every call so far, taken or not.
        self.received: list[ClientCall] = []
        self._pending: list[ClientCall] = []
        self._waiters: list[asyncio.Future[None]] = []

    # -- recording -----------------------------------------------------------------------

    def recorder(
        self, method: Method[Any], decode: Callable[[Sequence[Any]], list[Any]]
    ) -> Callable[..., None]:
        """A connection handler recording ``method``'s calls (arguments decoded
        with ``decode``)."""
        names = tuple(p.name for p in method.value_parameters)

        def record(*wire_args: Any) -> None:
            try:
                call = ClientCall(method.name, tuple(decode(wire_args)), names)
            except BindingError as exc:
                call = ClientCall(method.name, wire_args, names, mismatch=exc.message)
            self.received.append(call)
            self._pending.append(call)
            self.wake()

        return record

    def wake(self) -> None:
        """Wake whoever waits for a call (one arrived, or the connection closed)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- taking --------------------------------------------------------------------------

    def method_name(self, method: MethodRef | None) -> str | None:
        """The contract name of ``method``; ValueError for one the contract
        does not have."""
        if method is None:
            return None
        name = method if isinstance(method, str) else getattr(method, "__name__", repr(method))
        if name not in self._spec.client_methods:
            known = ", ".join(self._spec.client_methods) or "none"
            raise ValueError(
                f"{self._spec.client.__qualname__} has no client method {name!r} (it has: {known})"
            )
        return name

    def pending(self, name: str | None = None) -> list[ClientCall]:
        """The calls not taken yet (of method ``name``)."""
        return [c for c in self._pending if name is None or c.method == name]

    def take(self, name: str | None = None) -> ClientCall | None:
        """The oldest pending call (of method ``name``), taken; None if there is none."""
        for index, call in enumerate(self._pending):
            if name is None or call.method == name:
                del self._pending[index]
                return _checked(call)
        return None

    def take_all(self, name: str | None = None) -> list[ClientCall]:
        """Every pending call (of method ``name``), taken, oldest first."""
        taken = [c for c in self._pending if name is None or c.method == name]
        self._pending = [c for c in self._pending if not (name is None or c.method == name)]
        return [_checked(call) for call in taken]

    def waiter(self) -> asyncio.Future[None]:
        """A future resolved when the next call arrives (or :meth:`wake`)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter


def _checked(call: ClientCall) -> ClientCall:
    if call.mismatch is not None:
        raise AssertionError(
            f"the server called {call.method} with arguments that do not match the contract: "
            f"{call.mismatch} (wire arguments: {call.args!r})"
        )
    return call


def describe(calls: Sequence[ClientCall], limit: int = 10) -> str:
    """``calls`` for an error message."""
    if not calls:
        return "none"
    shown = ", ".join(map(repr, calls[:limit]))
    return shown + (f" and {len(calls) - limit} more" if len(calls) > limit else "")
