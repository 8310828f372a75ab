"""Waiting without sleeping: run the event loop until it has nothing left to do.

Everything :mod:`hubgen.testing` connects runs on the test's own event loop:
the application, its hub connections, the clients and the in-memory pipes
between them. So "everything already under way has happened" is a property
of the loop: no callback is ready to run and no timer is due. :func:`settle`
lets the loop run until that holds, which takes as many rounds as the work
needs and no wall-clock time.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Final

__all__ = ["settle"]

#: Loops that do not show their queues (uvloop): rounds to let run instead.
FALLBACK_ROUNDS: Final = 200


def _due(scheduled: list[Any], loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a timer of ``scheduled`` (asyncio's heap of TimerHandles) is due."""
    if not scheduled:
        return False
    now = loop.time() + getattr(loop, "_clock_resolution", 0.0)
    return any(handle.when() <= now and not handle.cancelled() for handle in scheduled)


async def settle(*, timeout: float = 5.0) -> None:
    """Return once everything already under way on this event loop has run as
    far as it can without time passing: messages in flight delivered, hub
    methods they started finished, the pushes those sent received and handled
    — until every task waits for a timer, I/O, or something that has not
    happened. No sleep: it takes as many loop rounds as the work needs.

    What waits for time is not waited for (a hub method inside
    ``asyncio.sleep(1)``, keep-alive pings), nor work in threads.

    Raises :class:`TimeoutError` if the loop is still busy after ``timeout``
    seconds (tasks that keep running without ever waiting). On event loops
    that do not expose their queues (uvloop), it lets the loop run a fixed
    number of rounds instead.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    if not isinstance(ready, collections.deque) or not isinstance(scheduled, list):
        for _ in range(FALLBACK_ROUNDS):
            await asyncio.sleep(0)
        return
    deadline = loop.time() + timeout
    idle = 0
    # Idle twice in a row: the round in between polled I/O (with a zero
    # timeout, since this task was ready) and it brought nothing either.
    while idle < 2:
        await asyncio.sleep(0)
        if ready or _due(scheduled, loop):
            idle = 0
            if loop.time() > deadline:
                busy = ", ".join(repr(handle) for handle in list(ready)[:5])
                raise TimeoutError(
                    f"the event loop did not settle within {timeout:g} s: tasks keep running "
                    f"without waiting for anything (ready now: {busy or 'a due timer'})"
                )
        else:
            idle += 1
