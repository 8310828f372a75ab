"""A TCP proxy on loopback that breaks connections on purpose.

:class:`FaultProxy` listens on ``127.0.0.1`` (port 0) and forwards every
connection it accepts — a *link* — to an upstream port on ``127.0.0.1``, byte
for byte, in the test's event loop. Put it between a client and a real server
and make the network misbehave::

    async with serve(app) as url, FaultProxy(urlsplit(url).port) as proxy:
        connection = HubConnection(proxy.url + "/echo", reconnect=True)
        await connection.start()
        proxy.reset()      # every link gets an RST, both ways

What it does to the links open now (each returns how many it touched):

* :meth:`~FaultProxy.drop` closes both sides cleanly (FIN), as a server
  process that exits does;
* :meth:`~FaultProxy.reset` aborts both sides (RST, ``SO_LINGER`` 0), as a
  crashed host or a NAT that forgot the flow does;
* :meth:`~FaultProxy.stall` stops forwarding both ways while both sockets stay
  open: a half-open connection, as a pulled cable leaves it. Nothing reaches
  either end, not even a close. :meth:`~FaultProxy.resume` lets data flow again.

What it does to every link, current and future:

* :meth:`~FaultProxy.slow` delays each chunk by ``latency`` seconds and/or
  caps each direction at ``rate`` bytes a second.

And to the connections that arrive: :attr:`~FaultProxy.on_connect` is
``"forward"`` (the default), ``"stall"`` (accepted, never forwarded: a server
that hangs) or ``"reset"`` (reset at once: nothing is listening behind it).

Everything it starts ends with the ``async with`` block (or :meth:`close`):
the listener, every link and every task.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from typing import Literal, TypeAlias

__all__ = ["FaultProxy", "Link", "OnConnect"]

OnConnect: TypeAlias = Literal["forward", "stall", "reset"]

_CHUNK = 65536


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s socket with an RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Link:
    """One proxied connection: the client's socket and the upstream one."""

    def __init__(
        self,
        proxy: FaultProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        *,
        stalled: bool,
    ) -> None:
        self._proxy = proxy
        self._client = client
        self._upstream = upstream
        self._flowing = asyncio.Event()
        if not stalled:
            self._flowing.set()
        #: Bytes forwarded client → server and server → client.
        self.sent = 0
        self.received = 0
        self.closed = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._pumps = [
            loop.create_task(self._pump(client[0], upstream[1], up=True), name="faultproxy-up"),
            loop.create_task(self._pump(upstream[0], client[1], up=False), name="faultproxy-down"),
        ]
        self._done = loop.create_task(self._finish(), name="faultproxy-link")

    @property
    def stalled(self) -> bool:
        return not self._flowing.is_set()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        proxy = self._proxy
        while True:
            # A stalled link reads nothing: what the peer sends (a close
            # included) stays in the kernel's buffers, as on a dead path.
            await self._flowing.wait()
            size = _CHUNK if proxy.rate is None else max(1, min(_CHUNK, int(proxy.rate / 20)))
            data = await reader.read(size)
            if not data:
                await self._flowing.wait()
                if writer.can_write_eof():
                    writer.write_eof()
                return
            if proxy.latency:
                await asyncio.sleep(proxy.latency)
            if proxy.rate is not None:
                await asyncio.sleep(len(data) / proxy.rate)
            await self._flowing.wait()
            writer.write(data)
            await writer.drain()
            if up:
                self.sent += len(data)
            else:
                self.received += len(data)

    async def _finish(self) -> None:
        """Close both sockets once both directions ended (or one failed)."""
        try:
            pending: set[asyncio.Task[None]] = set(self._pumps)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(not t.cancelled() and t.exception() is not None for t in done):
                    # One side failed (reset, broken pipe): the other gets an RST too.
                    self._abort_both()
                    break
        finally:
            for task in self._pumps:
                task.cancel()
            for task in self._pumps:
                with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
                    await task
            for _, writer in (self._client, self._upstream):
                writer.close()
            self._proxy._links.discard(self)
            self.closed.set()

    def _abort_both(self) -> None:
        for _, writer in (self._client, self._upstream):
            _abort(writer)

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def drop(self) -> None:
        """Close both sides with a FIN (what was already forwarded arrives)."""
        for task in self._pumps:
            task.cancel()

    def reset(self) -> None:
        """Abort both sides with an RST."""
        self._abort_both()
        for task in self._pumps:
            task.cancel()

    async def wait_closed(self) -> None:
        await self._done


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream>``; see the module."""

    def __init__(self, upstream: int, *, on_connect: OnConnect = "forward") -> None:
        #: The upstream port; change it to send new links elsewhere.
        self.upstream = upstream
        #: What happens to each new connection.
        self.on_connect: OnConnect = on_connect
        #: Seconds each chunk is held before it is forwarded (both directions).
        self.latency = 0.0
        #: Bytes a second each direction of a link may carry; None: no cap.
        self.rate: float | None = None
        #: Connections accepted so far (refused ones included).
        self.accepted = 0
        self._links: set[Link] = set()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # -- life --------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy's address as a base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def links(self) -> list[Link]:
        """The links open now."""
        return list(self._links)

    async def close(self) -> None:
        """Stop listening and close every link (with a FIN)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        for link in list(self._links):
            link.drop()
        for link in list(self._links):
            await link.wait_closed()
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        mode = self.on_connect
        if mode == "reset":
            _abort(writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            upstream = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            _abort(writer)  # nothing listens upstream: the client sees a reset
            return
        except asyncio.CancelledError:
            writer.close()
            raise
        finally:
            self._handlers.discard(task)
        self._links.add(Link(self, (reader, writer), upstream, stalled=mode == "stall"))

    # -- faults ------------------------------------------------------------------------

    def drop(self) -> int:
        """Close every open link cleanly (FIN both ways)."""
        links = self.links
        for link in links:
            link.drop()
        return len(links)

    def reset(self) -> int:
        """Abort every open link (RST both ways)."""
        links = self.links
        for link in links:
            link.reset()
        return len(links)

    def stall(self) -> int:
        """Stop forwarding on every open link, both ways, sockets kept open."""
        links = self.links
        for link in links:
            link.stall()
        return len(links)

    def resume(self) -> int:
        """Let every stalled link flow again."""
        links = [link for link in self._links if link.stalled]
        for link in links:
            link.resume()
        return len(links)

    def slow(self, *, latency: float = 0.0, rate: float | None = None) -> None:
        """Hold each chunk ``latency`` seconds and cap each direction at
        ``rate`` bytes a second, on every link from now on; ``slow()`` undoes it."""
        if latency < 0 or (rate is not None and rate <= 0):
            raise ValueError("latency must be >= 0 and rate > 0")
        self.latency = latency
        self.rate = rate

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no link is open (every connection through it ended)."""
        async with asyncio.timeout(timeout):
            while self._links:
                await next(iter(self._links)).wait_closed()
