"""Name conventions shared by analysis, code generation and the runtime codecs.

.NET conventions are the default on the wire: hub and client methods in
PascalCase, model fields in camelCase (as ASP.NET Core's JSON hub protocol
writes them); ``fields = "pascal"`` puts fields in PascalCase, as .NET services
often do (the MessagePack hub protocol's default resolver, a JSON protocol
without a naming policy). TypeScript member names are camelCase.
"""

from __future__ import annotations

import keyword
import re
from enum import StrEnum

__all__ = [
    "FieldNaming",
    "MethodNaming",
    "safe_python_identifier",
    "to_camel",
    "to_pascal",
    "to_snake",
]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|\d+")


class MethodNaming(StrEnum):
    """How a Python method name becomes its wire name."""

    PASCAL = "pascal"
    PRESERVE = "preserve"

    def apply(self, name: str) -> str:
        return to_pascal(name) if self is MethodNaming.PASCAL else name


class FieldNaming(StrEnum):
    """How a model field name becomes its wire name (when it has no alias)."""

    CAMEL = "camel"
    PASCAL = "pascal"
    PRESERVE = "preserve"

    def apply(self, name: str) -> str:
        if self is FieldNaming.CAMEL:
            return to_camel(name)
        if self is FieldNaming.PASCAL:
            return to_pascal(name)
        return name


def _parts(name: str) -> list[str]:
    return [p for p in name.split("_") if p]


def to_pascal(name: str) -> str:
    """``send_message`` → ``SendMessage``; ``send`` → ``Send``; ``getURL`` → ``GetURL``."""
    return "".join(p[:1].upper() + p[1:] for p in _parts(name)) or name


def to_camel(name: str) -> str:
    """``sent_at`` → ``sentAt``; ``id`` → ``id``; ``SentAt`` → ``sentAt``."""
    pascal = to_pascal(name)
    return pascal[:1].lower() + pascal[1:]


def to_snake(name: str) -> str:
    """``ChatHub`` → ``chat_hub``; ``HTTPServer`` → ``http_server``; ``send_message`` unchanged."""
    words = [w.lower() for chunk in _parts(name) for w in _WORD.findall(chunk)]
    return "_".join(words) or name.lower()


def safe_python_identifier(name: str) -> str:
    """A name usable as a Python identifier: keywords get a trailing underscore."""
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name
