"""The value encodings of the hub protocols.

A leaf: the protocol layer (which names the encoding each protocol writes)
and the codecs (which convert contract values into it) both import it, and
it imports nothing of hubgen, so neither pulls in the other.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["WireFormat"]


class WireFormat(StrEnum):
    """The value encoding of a hub protocol."""

    JSON = "json"
    MSGPACK = "msgpack"
