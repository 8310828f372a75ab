"""bench.redis_meter counts what a process sends to and gets from Redis:
commands by name out of the RESP stream, however it is cut, and bytes each
way through a relay to a real redis-server."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from bench.harness import RedisServer
from bench.redis_meter import CommandReader, RedisMeter, Traffic


def resp(*words: bytes) -> bytes:
    """A command as clients send it: an array of bulk strings."""
    out = b"*%d\r\n" % len(words)
    for word in words:
        out += b"$%d\r\n%s\r\n" % (len(word), word)
    return out


# a payload holding what looks like RESP framing, as a MessagePack envelope may
PAYLOAD = b"\x92\x90\x81\xa4json\xc4\x0b*1\r\n$4\r\nPING\r\n"
STREAM = (
    resp(b"publish", b"hub:all", PAYLOAD)
    + resp(b"SUBSCRIBE", b"a", b"b")
    + b"PING\r\n"  # an inline command
    + resp(b"PUBLISH", b"hub:all", b"")
)


def test_commands_are_read_whole_however_the_stream_is_cut() -> None:
    for size in (1, 2, 3, 7, len(STREAM)):
        reader = CommandReader()
        names: list[str] = []
        for start in range(0, len(STREAM), size):
            names += reader.feed(STREAM[start : start + size])
        assert names == ["PUBLISH", "SUBSCRIBE", "PING", "PUBLISH"], size


def test_an_unfinished_command_waits_for_the_rest() -> None:
    reader = CommandReader()
    command = resp(b"PUBLISH", b"c", PAYLOAD)
    assert reader.feed(command[:-1]) == []
    assert reader.feed(command[-1:] + command[:5]) == ["PUBLISH"]
    assert reader.feed(command[5:]) == ["PUBLISH"]


def test_a_stream_that_is_not_resp_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a bulk string"):
        CommandReader().feed(b"*1\r\n:1\r\n")


def test_traffic_subtracts() -> None:
    later = Traffic(300, 40, Counter({"PUBLISH": 3, "PING": 1}))
    earlier = Traffic(100, 10, Counter({"PUBLISH": 1, "PING": 1}))
    assert later - earlier == Traffic(200, 30, Counter({"PUBLISH": 2}))


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def test_the_relay_counts_each_process_apart(redis_server: RedisServer) -> None:
    with RedisMeter(redis_server.port) as meter:
        first = redis.Redis(port=meter.relay("process 1"), protocol=2)
        second = redis.Redis(port=meter.relay("process 2"), protocol=2)
        with redis_server.client() as direct, first, second:
            first.ping()
            second.ping()  # both connected: what follows is counted alone
            before = meter.snapshot()
            with direct.pubsub() as listener:
                listener.subscribe("c")
                listener.get_message(timeout=5)  # the confirmation
                assert first.publish("c", PAYLOAD) == 1
                assert first.publish("c", b"two") == 1
                assert second.get("missing") is None
                got = [listener.get_message(timeout=5) for _ in range(2)]
            after = meter.snapshot()
    assert [m["data"] for m in got if m is not None] == [PAYLOAD, b"two"]
    one = after["process 1"] - before["process 1"]
    two = after["process 2"] - before["process 2"]
    assert one == Traffic(
        len(resp(b"PUBLISH", b"c", PAYLOAD)) + len(resp(b"PUBLISH", b"c", b"two")),
        len(b":1\r\n") * 2,
        Counter({"PUBLISH": 2}),
    )
    assert two == Traffic(len(resp(b"GET", b"missing")), len(b"$-1\r\n"), Counter({"GET": 1}))


def test_a_settled_snapshot_holds_what_was_on_its_way(redis_server: RedisServer) -> None:
    """A SUBSCRIBE written and not waited for: its confirmation is counted
    in the settled snapshot taken right after, as it is by then."""
    confirmation = b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
    with (
        RedisMeter(redis_server.port) as meter,
        socket.create_connection(("127.0.0.1", meter.relay("process 1"))) as raw,
    ):
        raw.sendall(resp(b"SUBSCRIBE", b"c"))
        settled = meter.settled(quiet=0.2)
        assert raw.recv(100) == confirmation
    assert settled["process 1"] == Traffic(
        len(resp(b"SUBSCRIBE", b"c")), len(confirmation), Counter({"SUBSCRIBE": 1})
    )
