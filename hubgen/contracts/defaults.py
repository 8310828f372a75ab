"""Default values of parameters and fields → :class:`hubgen.ir.DefaultValue`.

Generated code repeats defaults in its signatures, so only constants are
accepted: ``None``, ``bool``, ``int``, finite ``float``, ``str`` and members
of int or str enums (spelled ``Enum.MEMBER`` when the enum is part of the
declared type, so generated code imports it anyway).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

from hubgen.ir import DefaultValue

__all__ = ["constant_default", "describe_value"]


def constant_default(
    value: Any, enum_in_type: Callable[[type[enum.Enum]], bool]
) -> DefaultValue | None:
    """The IR of ``value``, or ``None`` when it is not a constant the wire and
    generated code can both spell."""
    if value is None:
        return DefaultValue(json_value=None, python="None")
    if isinstance(value, enum.Enum):
        member_value = value.value
        if isinstance(member_value, bool) or not isinstance(member_value, str | int):
            return None
        cls = type(value)
        python = f"{cls.__qualname__}.{value.name}" if enum_in_type(cls) else repr(member_value)
        return DefaultValue(json_value=member_value, python=python)
    if isinstance(value, bool):
        return DefaultValue(json_value=value, python=repr(value))
    if type(value) is int or type(value) is str:
        return DefaultValue(json_value=value, python=repr(value))
    if type(value) is float and math.isfinite(value):
        return DefaultValue(json_value=value, python=repr(value))
    return None


def describe_value(value: Any) -> str:
    """A short, one-line spelling of a default value for messages."""
    text = repr(value)
    if len(text) > 60:
        text = f"{text[:57]}..."
    return text.replace("\n", " ")
