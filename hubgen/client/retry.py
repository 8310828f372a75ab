"""Retry policies: when a lost connection tries to reconnect, and when it gives up.

Automatic reconnect is opt-in, as in the official clients
(``withAutomaticReconnect()``): ``HubConnection(url, reconnect=...)`` takes

* ``True``: :class:`DefaultRetryPolicy`, waits of 0, 2, 10 and 30 seconds
  before the four attempts, then give up;
* a sequence of delays in seconds (``[0, 1, 5]``): those waits, then give up;
* a :class:`RetryPolicy`: any object with a ``next_retry_delay(context)``
  method, which sees the attempt count, the time spent reconnecting and the
  error that forced the attempt, and returns the next wait (None to give up)::

      class Forever:
          def next_retry_delay(self, context: RetryContext) -> float | None:
              return min(30.0, 2.0**context.previous_retry_count)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias, runtime_checkable

__all__ = ["DefaultRetryPolicy", "Reconnect", "RetryContext", "RetryPolicy", "retry_policy"]

#: The official clients' default waits, in seconds.
DEFAULT_RETRY_DELAYS: Final[tuple[float, ...]] = (0.0, 2.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class RetryContext:
    """What a :class:`RetryPolicy` knows when it picks the next wait."""

    #: Failed reconnect attempts so far in this outage (0 when the
    #: connection was just lost).
    previous_retry_count: int
    #: Seconds since the connection was lost.
    elapsed: float
    #: The error that forced the upcoming attempt: what ended the connection
    #: (for the first), then what made the previous attempt fail.
    retry_reason: Exception


@runtime_checkable
class RetryPolicy(Protocol):
    """Decides how long to wait before each reconnect attempt."""

    def next_retry_delay(self, context: RetryContext) -> float | None:
        """Seconds to wait before the next attempt; None to stop reconnecting
        (the connection then closes)."""
        ...


class DefaultRetryPolicy:
    """A fixed list of waits, one per attempt, then give up (the official
    clients' ``DefaultReconnectPolicy``)."""

    __slots__ = ("delays",)

    def __init__(self, delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        checked = tuple(float(delay) for delay in delays)
        for delay in checked:
            if not math.isfinite(delay) or delay < 0:
                raise ValueError(f"reconnect delays must be finite and >= 0, got {delay!r}")
        self.delays = checked

    def next_retry_delay(self, context: RetryContext) -> float | None:
        if context.previous_retry_count < len(self.delays):
            return self.delays[context.previous_retry_count]
        return None

    def __repr__(self) -> str:
        return f"DefaultRetryPolicy({list(self.delays)!r})"


#: What ``HubConnection(reconnect=...)`` accepts.
Reconnect: TypeAlias = bool | Sequence[float] | RetryPolicy | None


def retry_policy(reconnect: Reconnect) -> RetryPolicy | None:
    """The policy that ``reconnect`` stands for; None for no automatic reconnect."""
    if reconnect is None or reconnect is False:
        return None
    if reconnect is True:
        return DefaultRetryPolicy()
    if isinstance(reconnect, RetryPolicy):
        return reconnect
    if isinstance(reconnect, Sequence) and not isinstance(reconnect, str | bytes):
        return DefaultRetryPolicy(reconnect)
    raise TypeError(
        "reconnect must be True, False, a list of delays in seconds, or an object with a "
        f"next_retry_delay(context) method; got {type(reconnect).__name__}"
    )
