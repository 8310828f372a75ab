"""An ASGI application's lifespan (startup and shutdown), run in the test's loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hubgen.client.asgi import ASGIApp, Message

__all__ = ["Lifespan", "LifespanError"]

logger = logging.getLogger("hubgen.testing")


class LifespanError(RuntimeError):
    """The application's startup or shutdown failed."""


class Lifespan:
    """Runs ``app`` with a ``lifespan`` scope, as an ASGI server does: startup
    before the first request, shutdown after the last. ``state`` is the
    scope's state (what the application's lifespan yields lands there), which
    servers copy into every request's scope.

    An application that fails on the lifespan scope before it answers
    anything does not support lifespans (a bare ASGI function, say): then
    there is nothing to run, as for uvicorn's ``--lifespan auto``.
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._answered = False
        self._error: BaseException | None = None
        #: Whether the application runs a lifespan (known once started).
        self.supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self._state}
        try:
            await self._app(scope, self._to_app.get, self._send)
        except Exception as exc:
            self._error = exc
            if not self._answered:
                logger.debug("the application does not run a lifespan: %r", exc)

    async def _send(self, message: Message) -> None:
        self._answered = True
        await self._from_app.put(message)

    async def _answer(self, phase: str) -> None:
        """The application's answer to ``lifespan.<phase>``."""
        assert self._task is not None
        self._to_app.put_nowait({"type": f"lifespan.{phase}"})
        answer = asyncio.ensure_future(self._from_app.get())
        try:
            await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not answer.done():
                answer.cancel()
        if answer.done() and not answer.cancelled():
            message = answer.result()
            if message["type"] == f"lifespan.{phase}.complete":
                return
            if message["type"] == f"lifespan.{phase}.failed":
                # Starlette re-raises after it said so: the exception says more
                # than its message (a formatted traceback)
                await self._task
                if self._error is not None:
                    raise LifespanError(
                        f"the application's {phase} failed: {self._error!r}"
                    ) from self._error
                text = message.get("message") or "no message given"
                raise LifespanError(f"the application's {phase} failed: {text}")
            raise LifespanError(f"unexpected ASGI message {message['type']!r} during {phase}")
        # the application returned (or raised) without answering
        if phase == "startup" and not self._answered:
            self.supported = False
            return
        if self._error is not None:
            raise LifespanError(f"the application's {phase} raised: {self._error!r}") from (
                self._error
            )
        if phase == "startup":
            raise LifespanError("the application's lifespan ended during startup")

    async def startup(self) -> None:
        """Start the application; raises :class:`LifespanError` if it fails."""
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="hubgen-testing-lifespan"
        )
        await self._answer("startup")

    async def shutdown(self) -> None:
        """Stop the application; raises :class:`LifespanError` if it fails."""
        if self._task is None or not self.supported:
            return
        if not self._task.done():
            await self._answer("shutdown")
        await self._task
