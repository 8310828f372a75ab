"""The error log of one analysis run."""

from __future__ import annotations

from collections.abc import Sequence

from hubgen.contracts.errors import ContractError, ContractErrors, ErrorCode
from hubgen.ir import SourceLocation

__all__ = ["Report"]


class Report:
    """Collects :class:`ContractError` s; analysis carries on after each one."""

    def __init__(self) -> None:
        self.errors: list[ContractError] = []

    def error(
        self,
        code: ErrorCode,
        message: str,
        location: SourceLocation | None,
        path: Sequence[str] = (),
    ) -> None:
        self.errors.append(ContractError(code, message, location, tuple(path)))

    def __len__(self) -> int:
        return len(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ContractErrors(self.errors)
