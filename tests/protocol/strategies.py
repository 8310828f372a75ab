"""Hypothesis strategies: wire values and hub messages for both protocols."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hubgen.protocol import (
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

#: Bounded, quick, and without a stored example database.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_MSGPACK_SCALARS = (
    _JSON_SCALARS
    | st.binary(max_size=12)
    | st.datetimes(timezones=st.just(UTC))  # every timestamp comes back as aware UTC
)


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=12,
    )


JSON_VALUES = _values(_JSON_SCALARS)
MSGPACK_VALUES = _values(_MSGPACK_SCALARS)

_IDS = st.text(min_size=1, max_size=8)
_HEADERS = st.none() | st.dictionaries(_IDS, _IDS, min_size=1, max_size=3)
_STREAM_IDS = st.none() | st.lists(_IDS, min_size=1, max_size=3)
_SEQUENCE_IDS = st.integers(min_value=0, max_value=2**63 - 1)


def messages(values: st.SearchStrategy[Any]) -> st.SearchStrategy[HubMessage]:
    """Valid messages in the form each protocol reads back unchanged: no empty
    headers or stream-id lists, no empty ids or Close errors (both protocols
    normalise those to None)."""
    arguments = st.lists(values, max_size=4)
    return st.one_of(
        st.builds(
            InvocationMessage,
            target=_IDS,
            arguments=arguments,
            invocation_id=st.none() | _IDS,
            stream_ids=_STREAM_IDS,
            headers=_HEADERS,
        ),
        st.builds(
            StreamInvocationMessage,
            invocation_id=_IDS,
            target=_IDS,
            arguments=arguments,
            stream_ids=_STREAM_IDS,
            headers=_HEADERS,
        ),
        st.builds(StreamItemMessage, invocation_id=_IDS, item=values, headers=_HEADERS),
        st.builds(
            CompletionMessage,
            invocation_id=_IDS,
            result=values,
            has_result=st.just(True),
            headers=_HEADERS,
        ),
        st.builds(CompletionMessage, invocation_id=_IDS, error=st.text(), headers=_HEADERS),
        st.builds(CompletionMessage, invocation_id=_IDS, headers=_HEADERS),
        st.builds(CancelInvocationMessage, invocation_id=_IDS, headers=_HEADERS),
        st.just(PingMessage()),
        st.builds(
            CloseMessage, error=st.none() | st.text(min_size=1), allow_reconnect=st.booleans()
        ),
        st.builds(AckMessage, sequence_id=_SEQUENCE_IDS),
        st.builds(SequenceMessage, sequence_id=_SEQUENCE_IDS),
    )


JSON_MESSAGES = messages(JSON_VALUES)
MSGPACK_MESSAGES = messages(MSGPACK_VALUES)
