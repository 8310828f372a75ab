"""Client methods: the handlers the server calls, and client results.

Targets match ignoring case, as in the official clients. A target may have
several handlers; all run, in registration order. When the server asks for a
result (an Invocation with an id), the official client's rules apply:

* no handler, or no handler produced a value: ``Client didn't provide a result.``
* more than one handler produced a value: ``Client provided multiple results.``
* the last handler that ran raised: the error text (a later success clears it);
* otherwise the value is sent back in a Completion.

A handler that raises never ends the connection: the failure is logged.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from hubgen.errors import HubError
from hubgen.protocol import CompletionMessage, InvocationMessage
from hubgen.spec import BindingError

__all__ = ["Handler", "HandlerRegistry"]

logger = logging.getLogger("hubgen.client")

#: A client method handler: called with the wire arguments; may be async.
Handler: TypeAlias = Callable[..., Awaitable[Any] | Any]

_NO_RESULT = "Client didn't provide a result."
_MULTIPLE_RESULTS = "Client provided multiple results."


@dataclass(eq=False, slots=True)
class _Entry:
    callback: Handler
    #: Whether returning None counts as a result (a typed client method whose
    #: result may be null). Untyped handlers return None to mean "no result".
    none_is_result: bool


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, HubError | BindingError):
        return exc.message
    return str(exc) or type(exc).__name__


class HandlerRegistry:
    """Handlers by lower-cased target."""

    def __init__(self) -> None:
        self._entries: dict[str, list[_Entry]] = {}

    def add(self, target: str, callback: Handler, *, none_is_result: bool = False) -> _Entry:
        entry = _Entry(callback, none_is_result)
        self._entries.setdefault(target.lower(), []).append(entry)
        return entry

    def remove(self, target: str, entry: _Entry) -> None:
        key = target.lower()
        entries = self._entries.get(key)
        if entries is None:
            return
        for index, candidate in enumerate(entries):
            if candidate is entry:
                del entries[index]
                break
        if not entries:
            del self._entries[key]

    def targets(self) -> list[str]:
        return list(self._entries)

    async def call(self, message: InvocationMessage) -> CompletionMessage | None:
        """Run the handlers of ``message.target``; the Completion to send back
        when the server asked for a result, else None."""
        target = message.target
        invocation_id = message.invocation_id
        entries = list(self._entries.get(target.lower(), ()))
        if not entries:
            logger.warning("No client method with the name '%s' found.", target.lower())
            if invocation_id:
                return CompletionMessage.with_error(invocation_id, _NO_RESULT)
            return None
        results: list[Any] = []
        error: BaseException | None = None
        for entry in entries:
            try:
                value = entry.callback(*message.arguments)
                if inspect.isawaitable(value):
                    value = await value
            except BindingError as exc:
                logger.error("Cannot handle the server's call to '%s': %s", target, exc.message)
                error = exc
                continue
            except Exception as exc:
                logger.exception("A handler for the client method '%s' raised", target)
                error = exc
                continue
            error = None
            if value is not None or entry.none_is_result:
                results.append(value)
        if not invocation_id:
            if results and any(r is not None for r in results):
                logger.warning(
                    "A handler for '%s' returned a result, but the server did not ask for one.",
                    target,
                )
            return None
        if len(results) > 1:
            logger.error("Multiple results provided for '%s'. Sending error to server.", target)
            return CompletionMessage.with_error(invocation_id, _MULTIPLE_RESULTS)
        if error is not None:
            return CompletionMessage.with_error(invocation_id, _error_text(error))
        if results:
            return CompletionMessage.with_result(invocation_id, results[0])
        logger.warning(
            "No result given for '%s' method and invocation ID '%s'.", target, invocation_id
        )
        return CompletionMessage.with_error(invocation_id, _NO_RESULT)
