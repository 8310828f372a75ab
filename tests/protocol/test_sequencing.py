"""Stateful reconnect's numbering (hubgen.protocol.sequencing), the part the
server and the client share: what is kept, acknowledged and replayed, and
which incoming messages count."""

from __future__ import annotations

import pytest

from hubgen.protocol import (
    AckMessage,
    CompletionMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
)
from hubgen.protocol.sequencing import SequenceError, Sequencer, is_trackable


def invocation(n: int) -> InvocationMessage:
    return InvocationMessage(target="T", arguments=[n])


def test_only_invocations_streams_completions_and_cancels_are_trackable() -> None:
    assert is_trackable(invocation(1))
    assert is_trackable(CompletionMessage.with_result("1", 2))
    for message in (PingMessage(), AckMessage(3), SequenceMessage(4)):
        assert not is_trackable(message)


def test_kept_until_acknowledged_and_replayed_after_a_sequence() -> None:
    sequencer: Sequencer[bytes] = Sequencer()
    assert [sequencer.keep(data) for data in (b"a", b"bb", b"ccc")] == [1, 2, 3]
    assert sequencer.buffered_bytes == 6
    assert sequencer.acknowledge(2) is True
    assert (sequencer.buffered_bytes, sequencer.acknowledged) == (3, 2)
    assert sequencer.acknowledge(2) is False  # nothing more to free
    assert sequencer.replay() == (SequenceMessage(3), [b"ccc"])
    sequencer.acknowledge(3)
    assert sequencer.replay() == (SequenceMessage(4), [])  # the next one, none kept


def test_incoming_duplicates_are_dropped_and_the_last_one_acknowledged_again() -> None:
    sequencer: Sequencer[bytes] = Sequencer()
    assert [sequencer.accept(invocation(n)) for n in (1, 2, 3)] == [(True, True)] * 3
    assert sequencer.accept(PingMessage()) == (True, False)
    sequencer.transport_lost()
    assert sequencer.accept(invocation(9)) == (False, False)  # before the Sequence
    assert sequencer.accept(SequenceMessage(2)) == (True, False)
    sequencer.reset_sequence(2)
    assert sequencer.accept(invocation(2)) == (False, False)  # already taken
    assert sequencer.accept(invocation(3)) == (False, True)  # the last again: ack it
    assert sequencer.accept(invocation(4)) == (True, True)
    assert sequencer.latest_received == 4


def test_a_sequence_beyond_what_was_received_is_an_error() -> None:
    sequencer: Sequencer[bytes] = Sequencer()
    sequencer.accept(invocation(1))
    sequencer.reset_sequence(2)  # the next one: fine
    with pytest.raises(SequenceError, match="Sequence ID greater than amount of messages"):
        sequencer.reset_sequence(3)
