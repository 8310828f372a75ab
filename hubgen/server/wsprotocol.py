"""hubgen's own WebSocket protocol for uvicorn: the frame layer, owned.

    uvicorn app:app --ws hubgen.server.wsprotocol:HubWebSocketProtocol

or ``uvicorn.run(app, ws=HubWebSocketProtocol)``. It is uvicorn's sans-I/O
WebSocket protocol (``websockets-sansio``, what ``--ws auto`` picks) for
everything up to the upgrade: the HTTP handshake, the ASGI scope, the app's
accept or denial, logging. From the upgrade on, hubgen reads and writes the
frames itself (:mod:`hubgen.server.frames`):

* The application still runs as an ordinary ASGI app with a normal
  ``websocket`` scope: routing, middleware and authentication see every
  connection as before, and every WebSocket endpoint that is not a hub gets
  the usual ``websocket.receive`` and ``websocket.send`` messages.
* The scope offers the ``hubgen.websocket`` extension. A hub endpoint takes
  it after its accept, and from then on the protocol hands each whole message
  to the hub connection as bytes, without ASGI message dicts, a queue or a
  task wake-up per message; the connection writes WebSocket frames straight
  to the socket (a broadcast's frame is made once and the same bytes go to
  every receiver), several queued frames in one call when the socket was
  busy. Middleware that wraps ``receive``/``send`` sees the hub's handshake
  and accept, not its messages.
* Everything else behaves as under uvicorn's own protocol: permessage-deflate
  as configured (``--ws-per-message-deflate``, through the ``websockets``
  package's extension, per connection), ``--ws-max-size`` (an oversized
  message is refused with 1009 as soon as its header arrives), uvicorn's
  keep-alive pings (``--ws-ping-interval``, ``--ws-ping-timeout``), close
  codes, fragmented messages, back-pressure (reading pauses when the app
  falls behind; writes queue while the socket is past its high-water mark),
  server shutdown (1012 to every client still connected).

A client that breaks the protocol (an unmasked frame, a reserved bit or
opcode, a fragmented or oversized control frame, a stray continuation, bad
UTF-8 in a text message, an invalid close code) gets a close frame with the
code RFC 6455 prescribes (1002, 1007, 1009), and only its connection ends.
"""

from __future__ import annotations

import asyncio
import random
import re
import struct
from importlib.metadata import version
from time import monotonic
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.utils import ClientDisconnected

from hubgen.server.frames import (
    NO_STATUS,
    PING,
    PONG,
    FrameError,
    FrameReader,
    binary_frame,
    close_frame,
    compressed_frame,
    control_frame,
    text_frame,
)
from hubgen.server.websocket import EXTENSION, DirectWebSocketTransport

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent
    from uvicorn.config import Config
    from uvicorn.server import ServerState
    from websockets.extensions import Extension
    from websockets.http11 import Request

__all__ = ["HubWebSocketProtocol"]

#: The first uvicorn whose sans-I/O protocol has what this one builds on
#: (write flow control, and the closing handshake's timer: 0.52.1).
_MINIMUM_UVICORN = (0, 52, 1)


def _uvicorn_version() -> tuple[int, ...]:
    """The installed uvicorn's version, its first three numbers."""
    return tuple(int(number) for number in re.findall(r"\d+", version("uvicorn"))[:3])


if _uvicorn_version() < _MINIMUM_UVICORN:
    raise ImportError(
        "hubgen.server.wsprotocol needs uvicorn>=0.52.1 (it builds on uvicorn's "
        f"websockets-sansio protocol); uvicorn {version('uvicorn')} is installed: "
        "upgrade it, or serve with uvicorn's own protocol (--ws auto)"
    )

from uvicorn.protocols.websockets.websockets_sansio_impl import (  # noqa: E402
    WebSocketsSansIOProtocol,
)

_END_OF_HEAD = b"\r\n\r\n"


class _Reader(FrameReader):
    """The protocol's frame reader: hands what it reads to the protocol, or
    to the hub connection once one took the socket over."""

    __slots__ = ("hub", "protocol")

    def __init__(
        self, protocol: HubWebSocketProtocol, max_size: int | None, extension: Extension | None
    ) -> None:
        super().__init__(max_size, extension)
        self.protocol = protocol
        self.hub: DirectWebSocketTransport | None = None

    def on_message(self, payload: bytes, text: bool) -> None:
        hub = self.hub
        if hub is not None:
            hub.received(payload)
        else:
            self.protocol.asgi_message(payload, text)

    def on_ping(self, payload: bytes) -> None:
        self.protocol.ping_received(payload)

    def on_pong(self, payload: bytes) -> None:
        self.protocol.pong_received(payload)

    def on_close(self, code: int, reason: str) -> None:
        self.protocol.close_received(code, reason)


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with hubgen's own frame layer (see the
    module's documentation)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        #: Reads the frames once the upgrade request has been read.
        self._reader: _Reader | None = None
        #: The negotiated permessage-deflate, if any.
        self._extension: Extension | None = None
        #: The hub connection that took the socket over, if any.
        self._hub: DirectWebSocketTransport | None = None
        #: The client's close frame arrived.
        self._close_received = False

    # -- the upgrade ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        if reader is None:
            self._upgrade_received(data)
            return
        hub = self._hub
        if hub is not None:
            hub.bytes_arrived(monotonic())
        try:
            reader.feed(data)
        except FrameError as exc:
            self._fail(exc.code, exc.reason)

    def _upgrade_received(self, data: bytes) -> None:
        """The upgrade request goes to uvicorn's protocol (``websockets``
        reads it); what follows it is frames, read here."""
        end = data.find(_END_OF_HEAD)
        if end < 0:
            super().data_received(data)
            return
        end += len(_END_OF_HEAD)
        super().data_received(data[:end])
        if end < len(data) and self._reader is not None:
            self.data_received(data[end:])

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code != 101:
            return  # refused (bad handshake): uvicorn answered and closes
        extensions = self.conn.extensions
        if len(extensions) > 1:  # pragma: no cover - uvicorn offers permessage-deflate alone
            raise RuntimeError(f"unexpected WebSocket extensions: {extensions}")
        self._extension = extensions[0] if extensions else None
        self._reader = _Reader(self, self.config.ws_max_size, self._extension)
        self.scope["extensions"][EXTENSION] = {"transport": self._hub_transport}

    def _hub_transport(self) -> DirectWebSocketTransport:
        """The hub connection takes the socket over (after its accept):
        messages go to it from now on, those already queued for the ASGI app
        first."""
        reader = self._reader
        if reader is None or self._hub is not None or not self.handshake_complete:
            raise RuntimeError("the hubgen.websocket transport is taken after the accept, once")
        hub = DirectWebSocketTransport(
            self, self.transport, self._extension, self.loop, writable=self.writable.is_set()
        )
        ended = False
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message["type"] == "websocket.receive":
                data = message.get("bytes")
                text = message.get("text")
                if data is not None:
                    hub.received(data)
                elif text is not None:
                    hub.received(text.encode())
            elif message["type"] == "websocket.disconnect":
                ended = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        if self.disconnected or self.close_sent:
            hub.ended(lost=True)
        elif ended or self._close_received or reader.finished:
            hub.ended(lost=self.transport.is_closing())
        reader.hub = self._hub = hub
        return hub

    # -- from the reader -----------------------------------------------------------------

    def asgi_message(self, payload: bytes, text: bool) -> None:
        """A message for an ASGI app (not a hub): as uvicorn delivers it."""
        if self.close_sent:
            return
        if text:
            self.queue.put_nowait({"type": "websocket.receive", "text": payload.decode()})
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": payload})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def ping_received(self, payload: bytes) -> None:
        if not self.close_sent and not self.transport.is_closing():
            self.transport.write(control_frame(PONG, payload))

    def pong_received(self, payload: bytes) -> None:
        # as uvicorn: only the answer to the keep-alive ping in flight counts
        if self.pending_ping_payload is None or payload != self.pending_ping_payload:
            return
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.pending_ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self.schedule_ping()

    def close_received(self, code: int, reason: str) -> None:
        self._close_received = True
        if self.close_sent:
            # the client answered our close frame: the closing handshake is complete
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self._ended(lost=True)
            self.transport.close()
            return
        if self.transport.is_closing():
            return
        self._ended(lost=True, code=code, reason=reason)
        # echo the client's code, as RFC 6455 suggests; the server closes the TCP connection
        self.transport.write(close_frame(None if code == NO_STATUS else code, reason))
        self.transport.close()

    def _fail(self, code: int, reason: str) -> None:
        """The client broke the protocol: close frame with ``code``, and the
        connection closes."""
        self.logger.debug("WebSocket protocol error from the client: %d %s", code, reason)
        self._ended(lost=True, code=code, reason=reason)
        if not self.close_sent and not self.transport.is_closing():
            self.transport.write(close_frame(code, reason))
        self.close_sent = True
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        self.transport.close()

    def _ended(self, *, lost: bool, code: int = 1006, reason: str = "") -> None:
        """No more input: the app (ASGI or hub) learns it."""
        hub = self._hub
        if hub is not None:
            hub.ended(lost=lost)
        else:
            self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- the socket ----------------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._hub is not None:
            self._hub.ended(lost=True)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._hub is not None:
            self._hub.paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._hub is not None:
            self._hub.resumed()

    def shutdown(self) -> None:
        if self._reader is None or not self.handshake_complete or self.close_sent:
            super().shutdown()  # not upgraded or accepted yet, or closing already
            if self._hub is not None:
                self._hub.ended(lost=True)
            return
        self.stop_keepalive()
        self._ended(lost=True, code=1012)
        if not self.transport.is_closing():
            self.transport.write(close_frame(1012))
        self.close_sent = True
        self.transport.close()

    def close_websocket(self, code: int, reason: str = "") -> None:
        """Start the closing handshake (a close frame with ``code``); the
        socket closes when the client answers, or after ``close_timeout``."""
        if self.close_sent or self.transport.is_closing():
            return
        self.transport.write(close_frame(code, reason))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    # -- keep-alive (uvicorn's, written as frames here) -----------------------------------

    def send_keepalive_ping(self) -> None:
        self.ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        payload = self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
        self.ping_sent_at = self.loop.time()
        self.transport.write(control_frame(PING, payload))
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self.keepalive_timeout)
        else:
            self.schedule_ping()

    def keepalive_timeout(self) -> None:
        self.pong_timer = None
        self.pending_ping_payload = None
        if self.close_sent or self.transport.is_closing():
            return
        self._fail(1011, "keepalive ping timeout")

    # -- ASGI, past the accept -----------------------------------------------------------

    async def send(self, message: ASGISendEvent) -> None:
        if self._reader is None or not self.handshake_complete or self.initial_response:
            await super().send(message)  # the accept, or a denial
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        if self.close_sent:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            )
        if kind == "websocket.send":
            if self._close_received:
                raise ClientDisconnected()
            data: bytes | None = message.get("bytes")  # type: ignore[assignment]
            binary = data is not None
            if data is None:
                text: str | None = message.get("text")  # type: ignore[assignment]
                if text is None:
                    return
                data = text.encode()
            extension = self._extension
            if extension is not None:
                frame = compressed_frame(data, binary, extension)
            else:
                frame = binary_frame(data) if binary else text_frame(data)
            self.transport.write(frame)
        elif kind == "websocket.close":
            if not self.transport.is_closing():
                code: int = message.get("code", 1000)  # type: ignore[assignment]
                reason: str = message.get("reason", "") or ""  # type: ignore[assignment]
                self.queue.put_nowait(
                    {"type": "websocket.disconnect", "code": code, "reason": reason}
                )
                self.close_websocket(code, reason)
        else:
            raise RuntimeError(
                f"Expected ASGI message 'websocket.send' or 'websocket.close', but got '{kind}'."
            )
