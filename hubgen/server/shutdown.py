"""Graceful shutdown: drain the hubs when the process is told to stop, before
the ASGI server drops their connections.

uvicorn, on SIGTERM or SIGINT, first stops listening and closes every
connection it has (a WebSocket with close code 1012), and only then runs the
application's lifespan shutdown: by the time ``HubRoute.close()`` runs there,
nobody is left to tell. And a Server-Sent Events response or a pending long
poll keeps uvicorn waiting forever, unless ``--timeout-graceful-shutdown``
says otherwise. ASGI has no hook for "about to stop"; the signal itself is
the earliest moment.

So the hubs take the signal first: :class:`ShutdownHook` (installed by
``HubRoute.lifespan``, while the application runs) replaces the process's
SIGTERM and SIGINT handlers — uvicorn's, or whatever was there — with one
that drains every registered hub (no new connections; calls and streams in
flight get ``HubOptions.shutdown_timeout`` to finish; then every client, on
every transport, gets a Close message that lets it reconnect, and its
connection is closed), and then calls the handler it replaced, so the server
stops as it would have. A second signal goes straight to that handler (for
uvicorn: exit now). Signal handlers can only be set in the main thread;
elsewhere (and with ``HubRoute.lifespan(graceful_shutdown=False)``) nothing
is installed and the server's own shutdown applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

__all__ = ["ShutdownHook", "hook"]

logger = logging.getLogger("hubgen.server")

Drain = Callable[[], Awaitable[None]]
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShutdownHook:
    """The process's one hook: every hub registers its drain with it."""

    def __init__(self) -> None:
        self._drains: dict[object, Drain] = {}
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def register(self, owner: object, drain: Drain) -> bool:
        """Drain ``owner`` (a hub route) on the next SIGTERM or SIGINT. False
        when no signal handler can be installed (not the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._drains[owner] = drain
        if not self._previous:
            self._loop = asyncio.get_running_loop()
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return True

    def unregister(self, owner: object) -> None:
        """Stop draining ``owner``; the last one out puts the previous
        handlers back (if ours are still the ones installed)."""
        self._drains.pop(owner, None)
        if self._drains or not self._previous:
            return
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, previous)
        self._previous.clear()
        self._loop = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        loop = self._loop
        if self._draining is not None or loop is None or loop.is_closed():
            self._pass_on(signum, frame)  # a second signal: stop now
            return
        logger.info(
            "%s: draining %d hub(s) before the server stops",
            signal.Signals(signum).name,
            len(self._drains),
        )
        self._draining = loop.create_task(self._drain_then(signum, frame))

    async def _drain_then(self, signum: int, frame: FrameType | None) -> None:
        try:
            results = await asyncio.gather(
                *(drain() for drain in list(self._drains.values())), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    logger.error("draining a hub failed", exc_info=result)
        finally:
            self._pass_on(signum, frame)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL or previous is None:
            with contextlib.suppress(Exception):
                signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)


#: The hook of this process.
hook = ShutdownHook()
