"""Loopback relays between server processes and one redis-server, counting
what each process sends to Redis and gets from it.

Each process is given a relay of its own (a port to use as its Redis), so
the counts are per process: bytes each way, and the commands it sends, by
name (read from the RESP stream as it passes). The relays run on an event
loop in a thread of their own, so that the measuring code can go on using
``asyncio.run`` meanwhile; they only copy bytes, so the processes do the
same work as on a direct connection. Used by ``bench.instructions
--lifetime redis``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Traffic:
    """What one process exchanged with Redis."""

    #: bytes from the process to Redis
    sent: int = 0
    #: bytes from Redis to the process
    received: int = 0
    #: commands the process sent, by (upper-case) name
    commands: Counter[str] = field(default_factory=Counter)

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.sent - other.sent, self.received - other.received, self.commands - other.commands
        )

    def copy(self) -> Traffic:
        return Traffic(self.sent, self.received, Counter(self.commands))


class CommandReader:
    """Reads commands out of a client's RESP stream, fed in pieces of any
    size: arrays of bulk strings (what clients send), or inline commands."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """The names of the commands that ``data`` completes."""
        self._buffer += data
        names = []
        while (name := self._take()) is not None:
            names.append(name)
        return names

    def _take(self) -> str | None:
        buffer = self._buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            return None
        if buffer[:1] != b"*":  # an inline command: one line
            words = bytes(buffer[:end]).split()
            del buffer[: end + 2]
            return words[0].decode(errors="replace").upper() if words else ""
        count = int(buffer[1:end])
        position = end + 2
        name = ""
        for index in range(count):
            end = buffer.find(b"\r\n", position)
            if end < 0:
                return None
            if buffer[position : position + 1] != b"$":
                raise ValueError(f"not a bulk string at byte {position}: {bytes(buffer[:80])!r}")
            length = int(buffer[position + 1 : end])
            start = end + 2
            if len(buffer) < start + length + 2:
                return None
            if index == 0:
                name = bytes(buffer[start : start + length]).decode(errors="replace").upper()
            position = start + length + 2
        del buffer[:position]
        return name


class RedisMeter:
    """Counting relays to the redis-server on ``redis_port``, one per process
    (:meth:`relay`); :meth:`snapshot` reads the counts."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self._traffic: dict[str, Traffic] = {}
        self._servers: list[asyncio.Server] = []
        self._pumps: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="redis-meter", daemon=True
        )
        self._thread.start()

    def relay(self, name: str) -> int:
        """A new relay for the process called ``name``: the port to give it."""
        future = asyncio.run_coroutine_threadsafe(self._listen(name), self._loop)
        return future.result(10)

    def snapshot(self) -> dict[str, Traffic]:
        """Each process's traffic so far (a copy, taken on the relays' loop)."""

        async def copy() -> dict[str, Traffic]:
            return {name: traffic.copy() for name, traffic in self._traffic.items()}

        return asyncio.run_coroutine_threadsafe(copy(), self._loop).result(10)

    def settled(self, quiet: float = 0.3, timeout: float = 60) -> dict[str, Traffic]:
        """A snapshot once nothing has passed for ``quiet`` seconds: what was
        on its way (a subscription's confirmation after Redis already lists
        the channel) is counted before, not in what follows."""
        deadline = time.monotonic() + timeout
        last = self.snapshot()
        while True:
            time.sleep(quiet)
            now = self.snapshot()
            if now == last:
                return now
            if time.monotonic() > deadline:
                raise TimeoutError(f"Redis traffic did not settle within {timeout}s")
            last = now

    def close(self) -> None:
        async def shut() -> None:
            for server in self._servers:
                server.close()
            for pump in self._pumps:
                pump.cancel()
            await asyncio.gather(*self._pumps, return_exceptions=True)

        if self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> RedisMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _listen(self, name: str) -> int:
        traffic = self._traffic.setdefault(name, Traffic())

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(
                    "127.0.0.1", self.redis_port
                )
            except OSError:
                writer.close()
                return
            commands = CommandReader()

            def to_redis(data: bytes) -> None:
                traffic.sent += len(data)
                traffic.commands.update(commands.feed(data))

            def from_redis(data: bytes) -> None:
                traffic.received += len(data)

            for task in (
                asyncio.ensure_future(_pump(reader, upstream_writer, to_redis)),
                asyncio.ensure_future(_pump(upstream_reader, writer, from_redis)),
            ):
                self._pumps.add(task)
                task.add_done_callback(self._pumps.discard)

        server = await asyncio.start_server(accepted, "127.0.0.1", 0)
        self._servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    count: Callable[[bytes], None],
) -> None:
    """Copy ``reader`` to ``writer``, handing every piece to ``count`` first;
    close ``writer`` at the end of ``reader``."""
    try:
        while data := await reader.read(65536):
            count(data)
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
