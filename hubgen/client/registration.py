"""Registration: the handle that undoes exactly what one ``on(...)`` call did."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

__all__ = ["Registration"]


class Registration:
    """Returned by ``on``, ``on_close`` and a proxy's ``register``.

    :meth:`dispose` removes the handlers this registration added and nothing
    else, so two registrations of the same function stay independent. It is
    idempotent. Used as a context manager, the handlers live for the block::

        with connection.on("message", handler):
            await connection.invoke("Broadcast", "hi")
    """

    __slots__ = ("_undo",)

    def __init__(self, *undo: Callable[[], None]) -> None:
        self._undo: list[Callable[[], None]] | None = list(undo)

    @classmethod
    def combine(cls, registrations: list[Registration]) -> Registration:
        """One registration that disposes all of ``registrations``."""
        return cls(*(r.dispose for r in registrations))

    @property
    def disposed(self) -> bool:
        return self._undo is None

    def dispose(self) -> None:
        """Remove what this registration added; later calls do nothing."""
        undo, self._undo = self._undo, None
        for step in undo or ():
            step()

    def __enter__(self) -> Registration:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"<Registration {'disposed' if self.disposed else 'active'}>"
