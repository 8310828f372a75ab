"""Contract errors: what analysis reports, with stable codes and source positions.

Analysis never stops at the first problem: every independent error is collected
as a :class:`ContractError` and all of them are raised together as
:class:`ContractErrors`. Codes are stable and documented in ``docs/errors.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hubgen.ir import SourceLocation

__all__ = ["ContractError", "ContractErrors", "ErrorCode"]


class ErrorCode(StrEnum):
    """Stable error codes; ``docs/errors.md`` has an example and a fix for each."""

    # -- loading contract modules
    MODULE_NOT_FOUND = "HG001"
    SYNTAX_ERROR = "HG002"
    IMPORT_FAILED = "HG003"
    NO_HUBS = "HG004"
    # -- hub and client Protocols
    HUB_NOT_PROTOCOL = "HG010"
    BAD_CLIENT = "HG011"
    DUPLICATE_HUB = "HG012"
    BAD_HUB_NAME = "HG013"
    NOT_A_METHOD = "HG014"
    GENERIC_PROTOCOL = "HG015"
    # -- method shapes
    OVERLOADED_METHOD = "HG020"
    VARIADIC_PARAMETER = "HG021"
    NO_SELF = "HG022"
    MISSING_ANNOTATION = "HG023"
    UNRESOLVED_ANNOTATION = "HG024"
    GENERIC_METHOD = "HG025"
    SYNC_NOT_STREAM = "HG026"
    ASYNC_STREAM = "HG027"
    CLIENT_NOT_ASYNC = "HG028"
    MISPLACED_STREAM = "HG029"
    # -- types
    UNSUPPORTED_TYPE = "HG030"
    MISSING_TYPE_ARGUMENTS = "HG031"
    DICT_KEY = "HG032"
    LITERAL_VALUE = "HG033"
    UNSUPPORTED_ENUM = "HG034"
    BAD_DISCRIMINATOR = "HG035"
    INCOMPLETE_MODEL = "HG036"
    # -- names
    WIRE_NAME_COLLISION = "HG040"
    MEMBER_NAME_COLLISION = "HG041"
    RESERVED_METHOD_NAME = "HG042"
    RESERVED_PARAMETER_NAME = "HG043"
    BAD_WIRE_NAME = "HG044"
    DECLARATION_NAME_COLLISION = "HG045"
    NOT_IMPORTABLE = "HG046"
    RESERVED_NAME = "HG047"
    # -- models the wire rules cannot describe
    MODEL_SERIALIZER = "HG050"
    FIELD_SERIALIZER = "HG051"
    COMPUTED_FIELD = "HG052"
    EXTRA_ALLOWED = "HG053"
    ROOT_MODEL = "HG054"
    FIELD_WIRE_NAME_COLLISION = "HG055"
    ALIAS_MISMATCH = "HG056"
    EXCLUDED_FIELD = "HG057"
    # -- defaults
    NON_CONSTANT_DEFAULT = "HG060"
    DEFAULT_TYPE_MISMATCH = "HG061"


@dataclass(frozen=True, slots=True)
class ContractError:
    """One problem in a contract.

    ``location`` points at the offending source (``None`` when there is none,
    e.g. a module that cannot be found). ``path`` says how the offending type
    was reached, outermost first: ``("ChatHub.send", "parameter 'msg'",
    "ChatMessage.attachments", "list[...]")``.
    """

    code: ErrorCode
    message: str
    location: SourceLocation | None = None
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.code} {self.message}"
        if self.path:
            text += f" ({' → '.join(self.path)})"
        return f"{self.location}: {text}" if self.location is not None else text


def _sort_key(error: ContractError) -> tuple[bool, str, int, int, str, str, tuple[str, ...]]:
    loc = error.location
    return (
        loc is not None,
        loc.file if loc else "",
        loc.line if loc else 0,
        loc.column if loc else 0,
        error.code,
        error.message,
        error.path,
    )


class ContractErrors(Exception):
    """Every error analysis found, sorted by location (errors without one first).

    ``str()`` gives one error per line, as ``hubgen generate`` prints them.
    """

    def __init__(self, errors: Iterable[ContractError]) -> None:
        self.errors: tuple[ContractError, ...] = tuple(sorted(set(errors), key=_sort_key))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
