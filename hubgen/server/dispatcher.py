"""Running hub methods for the messages a connection sends.

The connection's read loop hands every message to :class:`ConnectionDispatcher`.
Invocations queue up and run at most ``max_parallel_invocations`` at a time,
in order, on tasks of their own, so the read loop keeps going: Completions
(client results), stream items (uploads) and cancellations are handled while
hub methods run, and a hub method awaiting a result from its own caller
cannot deadlock the connection. Streams, in either direction, run in the
background as ASP.NET Core runs them.

Error texts are the ones ASP.NET Core sends, so clients written against it
see what they expect.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hubgen.codec import CodecError
from hubgen.errors import HubError
from hubgen.protocol.messages import (
    CancelInvocationMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from hubgen.server.authorization import Verdict
from hubgen.server.clients import GroupManager, HubCallerClients
from hubgen.server.filters import HubInvocationContext, HubLifetimeContext, compose
from hubgen.server.hub import Hub, HubCallerContext
from hubgen.spec import BindingError

if TYPE_CHECKING:
    from hubgen.server.authorization import Rules
    from hubgen.server.connection import Connection
    from hubgen.server.filters import HubFilter
    from hubgen.server.lifetime import HubLifetimeManager
    from hubgen.server.options import HubOptions
    from hubgen.spec import HubSpec, Method

__all__ = ["ConnectionDispatcher", "HubDispatcher", "UploadStream"]

logger = logging.getLogger("hubgen.server")

#: Invocations a connection may have waiting before its read loop pauses.
_MAX_QUEUED_INVOCATIONS = 128

#: A stream yields to the event loop after this many items in a row. Writes
#: usually complete without suspending (always, once the peer is gone and the
#: server drops what is written), so a generator that never awaits would
#: otherwise hold the loop for its whole length.
_ITEMS_PER_YIELD = 16

_Job = Callable[[], Coroutine[Any, Any, None]]


def _call_starter(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]:
    """How a call with a free slot gets its task.

    On Python 3.12+ the task starts eagerly, as ASP.NET Core starts a hub
    method on the read loop: the method runs at once, inside its own task
    (``current_task()`` and context variables are its own), and is scheduled
    only if it suspends, so a call that returns without waiting never goes
    through the event loop. On 3.11, or when the application has set a task
    factory of its own (which is then honoured), it is the loop's
    ``create_task``."""
    if sys.version_info >= (3, 12) and loop.get_task_factory() is None:
        return functools.partial(asyncio.Task, loop=loop, eager_start=True)
    return loop.create_task


def error_detail(exc: BaseException, detailed: bool) -> str:
    """`` Type: message`` for HubErrors always and other exceptions when
    detailed errors are on; empty otherwise (ASP.NET Core's ErrorMessageHelper)."""
    if isinstance(exc, HubError):
        return f" HubException: {exc.message}"
    if detailed:
        return f" {type(exc).__name__}: {exc}"
    return ""


class _Unauthorized(Exception):
    """The caller does not meet the method's ``@authorize`` rules."""


class UploadStream(AsyncIterator[Any]):
    """Items of one client-to-server stream, handed to the hub method as an
    async iterator. Holds at most ``capacity`` items: while it is full the
    connection's read loop waits (back-pressure on the client)."""

    def __init__(self, stream_id: str, capacity: int) -> None:
        self.stream_id = stream_id
        self._capacity = capacity
        self._items: deque[Any] = deque()
        self._done = False
        self._error: str | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def put(self, item: Any) -> None:
        while len(self._items) >= self._capacity and not self._done:
            self._writable.clear()
            await self._writable.wait()
        if not self._done:
            self._items.append(item)
            self._readable.set()

    def complete(self, error: str | None = None) -> None:
        if not self._done:
            self._done = True
            self._error = error
        self._readable.set()
        self._writable.set()

    def __aiter__(self) -> UploadStream:
        return self

    async def __anext__(self) -> Any:
        while not self._items:
            if self._done:
                if self._error is not None:
                    raise HubError(self._error)
                raise StopAsyncIteration
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        self._writable.set()
        return item


class HubDispatcher:
    """What is shared by every connection of one hub endpoint."""

    def __init__(
        self,
        hub_class: type[Hub[Any, Any]],
        factory: Callable[[], Hub[Any, Any]],
        lifetime: HubLifetimeManager,
        options: HubOptions,
        *,
        filters: Sequence[HubFilter] = (),
        method_rules: Mapping[str, Rules] | None = None,
    ) -> None:
        self.spec: HubSpec = hub_class.spec
        self.hub_class = hub_class
        self.factory = factory
        self.lifetime = lifetime
        self.options = options
        self.groups = GroupManager(lifetime)
        #: The filters, composed once; None without any.
        self.pipeline = compose(filters)
        #: ``@authorize`` rules by method name; None when no method has any.
        self.method_rules = dict(method_rules) if method_rules else None

    def connect(self, connection: Connection) -> ConnectionDispatcher:
        return ConnectionDispatcher(self, connection)


class ConnectionDispatcher:
    """Dispatches the messages of one connection.

    One exists per connection, so it has slots, and the invocation queue's
    wake-up event is made only when a read loop first has to wait for room.
    """

    __slots__ = (
        "_canceled",
        "_clients",
        "_connection",
        "_context",
        "_hub",
        "_max_parallel",
        "_method_rules",
        "_options",
        "_pipeline",
        "_queue",
        "_queue_room",
        "_running",
        "_spec",
        "_start_call",
        "_streams",
        "_tasks",
        "_uploads",
        "_wire",
    )

    def __init__(self, hub: HubDispatcher, connection: Connection) -> None:
        self._hub = hub
        self._spec = hub.spec
        self._options = hub.options
        self._max_parallel = hub.options.max_parallel_invocations
        self._pipeline = hub.pipeline
        self._method_rules = hub.method_rules
        self._start_call = _call_starter(asyncio.get_running_loop())
        self._connection = connection
        self._wire = connection.protocol.wire
        self._context = HubCallerContext(connection)
        self._clients: HubCallerClients[Any, Any] = HubCallerClients(
            hub.lifetime,
            hub.hub_class.client_proxy,
            hub.hub_class.single_client_proxy,
            connection.connection_id,
            client_result_timeout=hub.options.client_result_timeout,
        )
        #: Invocations waiting for a free slot (a list: small when empty).
        self._queue: list[_Job] = []
        self._queue_room: asyncio.Event | None = None
        self._running = 0
        #: What runs for the connection: spawned tasks under themselves, calls
        #: with a slot under their message's id (known before the task is).
        self._tasks: dict[object, asyncio.Task[None]] = {}
        self._streams: dict[str, asyncio.Task[None]] = {}
        self._canceled: set[str] = set()
        self._uploads: dict[str, tuple[UploadStream, int, Method[Any]]] = {}

    # -- hub instances -------------------------------------------------------------------

    def _create_hub(self) -> Hub[Any, Any]:
        hub = self._hub.factory()
        hub.context = self._context
        hub.clients = self._clients
        hub.groups = self._hub.groups
        return hub

    async def on_connected(self) -> None:
        hub = self._create_hub()
        if self._pipeline is None:
            await hub.on_connected()
        else:
            await self._pipeline.on_connected(HubLifetimeContext(hub))

    async def settle(self) -> None:
        """Return once nothing runs for the connection: no call, stream or
        upload (server shutdown lets them finish)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def on_disconnected(self, exception: BaseException | None) -> None:
        """Stop what still runs for the connection, then tell the hub."""
        for upload, _, _ in list(self._uploads.values()):
            upload.complete()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        self._queue.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
        try:
            hub = self._create_hub()
            if self._pipeline is None:
                await hub.on_disconnected(exception)
            else:
                await self._pipeline.on_disconnected(HubLifetimeContext(hub), exception)
        except Exception:
            logger.exception("on_disconnected of %s raised", self._spec.name)

    # -- incoming messages ---------------------------------------------------------------

    async def dispatch(self, message: HubMessage) -> None:
        """Handle one message from the client (called by the read loop)."""
        if type(message) is InvocationMessage:
            method = self._spec.find(message.target)
            if (
                method is not None
                and method.plain
                and not message.stream_ids
                and not self._queue
                and self._running < self._max_parallel
            ):
                # Nearly every message: a call with a free slot and nothing
                # waiting. It runs on a bare task (no name, no done callback:
                # _invoke forgets it itself) that holds the slot. Started
                # eagerly, it may be over already, slot given back.
                self._running += 1
                task = self._start_call(self._invoke(method, message, [], True))
                if not task.done():
                    self._tasks[id(message)] = task
                return
            await self._on_invocation(message)
        elif isinstance(message, StreamInvocationMessage):
            self._on_stream_invocation(message)
        elif isinstance(message, StreamItemMessage):
            await self._on_stream_item(message)
        elif isinstance(message, CompletionMessage):
            await self._on_completion(message)
        elif isinstance(message, CancelInvocationMessage):
            self._on_cancel(message)
        # Ping, Ack and Sequence need no dispatch; Close is handled by the read loop.

    async def _on_invocation(self, message: InvocationMessage) -> None:
        target = message.target
        method = self._spec.find(target)
        if method is None:
            await self._fail(
                message.invocation_id,
                f"Failed to invoke '{target}' due to an error on the server. "
                "HubException: Method does not exist.",
            )
            return
        if method.stream:
            if message.invocation_id is not None:
                await self._fail(
                    message.invocation_id,
                    f"The client attempted to invoke the streaming '{target}' method with a "
                    "non-streaming invocation.",
                )
            else:
                logger.debug("ignoring fire-and-forget call of streaming method %r", target)
            return
        if message.stream_ids or method.stream_parameters:
            # Methods fed by upload streams run in the background: the read loop
            # must keep going to deliver their items. The streams open here, in
            # the read loop, so that items sent right behind the invocation
            # find them.
            try:
                uploads = self._open_uploads(method, message.stream_ids or [])
            except HubError as exc:
                await self._fail(message.invocation_id, self._unexpected(target, exc))
                return
            self._spawn(self._invoke(method, message, uploads), message.invocation_id)
            return
        while len(self._queue) >= _MAX_QUEUED_INVOCATIONS:
            if self._queue_room is None:
                self._queue_room = asyncio.Event()
            self._queue_room.clear()
            await self._queue_room.wait()
        self._queue.append(lambda: self._invoke(method, message, []))
        if self._running < self._max_parallel:
            self._running += 1
            self._spawn(self._run_queue(), None)

    def _on_stream_invocation(self, message: StreamInvocationMessage) -> None:
        target = message.target
        invocation_id = message.invocation_id
        method = self._spec.find(target)
        if method is None:
            self._fail_soon(
                invocation_id,
                f"Failed to invoke '{target}' due to an error on the server. "
                "HubException: Method does not exist.",
            )
        elif not method.stream:
            self._fail_soon(
                invocation_id,
                f"The client attempted to invoke the non-streaming '{target}' method with a "
                "streaming invocation.",
            )
        elif invocation_id in self._streams:
            self._fail_soon(invocation_id, f"Invocation ID '{invocation_id}' is already in use.")
        else:
            try:
                uploads = self._open_uploads(method, message.stream_ids or [])
            except HubError as exc:
                self._fail_soon(invocation_id, self._unexpected(target, exc))
                return
            task = self._spawn(self._stream(method, message, uploads), invocation_id)
            self._streams[invocation_id] = task

    async def _on_stream_item(self, message: StreamItemMessage) -> None:
        entry = self._uploads.get(message.invocation_id)
        if entry is None:
            logger.debug("stream item for unknown stream %r ignored", message.invocation_id)
            return
        upload, index, method = entry
        try:
            item = method.binder(self._wire).decode_stream_item(index, message.item)
        except CodecError as exc:
            upload.complete(
                f"Error binding an item of stream parameter "
                f"'{method.stream_parameters[index].name}': {exc.message}"
            )
            return
        await upload.put(item)

    async def _on_completion(self, message: CompletionMessage) -> None:
        entry = self._uploads.pop(message.invocation_id, None)
        if entry is not None:
            entry[0].complete(message.error)
            return
        if not await self._hub.lifetime.set_client_result(self._connection, message):
            logger.debug("completion for unknown invocation %r ignored", message.invocation_id)

    def _on_cancel(self, message: CancelInvocationMessage) -> None:
        # Only streams can be canceled; like ASP.NET Core, ordinary invocations
        # run to completion and unknown ids are ignored.
        task = self._streams.get(message.invocation_id)
        if task is not None and not task.done():
            self._canceled.add(message.invocation_id)
            # Not task.cancel() here: a task cancelled before its first step
            # never runs its coroutine, so the stream would never answer or
            # clean up (the official client cancels right after it invokes
            # when a subscription is disposed at once). Its first step is
            # already scheduled; this runs after it, whenever the cancel came.
            asyncio.get_running_loop().call_soon(task.cancel)

    # -- running methods -----------------------------------------------------------------

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str | None) -> asyncio.Task[None]:
        """Run ``coro`` on a task of its own, named after its invocation id when
        it has one worth naming (streams, uploads); plain calls skip the name,
        which costs a string per call."""
        task_name = None if name is None else f"hubgen-invocation-{name}"
        task = asyncio.get_running_loop().create_task(coro, name=task_name)
        self._tasks[task] = task
        task.add_done_callback(self._forget)
        return task

    async def _run_queue(self) -> None:
        """Run queued invocations until none is left, holding a slot."""
        try:
            await self._run_queued()
        finally:
            self._running -= 1

    async def _run_queued(self) -> None:
        while self._queue:
            job = self._queue.pop(0)  # at most _MAX_QUEUED_INVOCATIONS long
            if self._queue_room is not None:
                self._queue_room.set()
            await job()

    def _bind(self, method: Method[Any], arguments: list[Any]) -> list[Any]:
        return method.binder(self._wire).decode_arguments(arguments)

    def _open_uploads(self, method: Method[Any], stream_ids: list[str]) -> list[UploadStream]:
        """Open the upload streams a call names, all or none: a HubError (the
        caller's mistake) leaves nothing behind."""
        expected = method.stream_parameters
        if len(stream_ids) != len(expected):
            names = ", ".join(f"'{p.name}'" for p in expected)
            raise HubError(
                f"Client sent {len(stream_ids)} stream(s), Hub method expects "
                f"{len(expected)}" + (f" (stream parameter {names})." if names else ".")
            )
        for index, stream_id in enumerate(stream_ids):
            if stream_id in self._uploads or stream_id in stream_ids[:index]:
                raise HubError(f"Invocation ID '{stream_id}' is already in use.")
        capacity = self._options.stream_buffer_capacity
        uploads = [UploadStream(stream_id, capacity) for stream_id in stream_ids]
        for index, upload in enumerate(uploads):
            self._uploads[upload.stream_id] = (upload, index, method)
        return uploads

    def _close_uploads(self, uploads: list[UploadStream]) -> None:
        for upload in uploads:
            upload.complete()
            self._uploads.pop(upload.stream_id, None)

    @staticmethod
    def _call_args(
        method: Method[Any], values: list[Any], uploads: list[UploadStream]
    ) -> list[Any]:
        if not uploads:
            return values
        value_iter = iter(values)
        upload_iter = iter(uploads)
        return [next(upload_iter) if p.stream else next(value_iter) for p in method.parameters]

    def _unexpected(self, target: str, exc: BaseException) -> str:
        return f"An unexpected error occurred invoking '{target}' on the server." + error_detail(
            exc, self._options.detailed_errors
        )

    async def _invoke(
        self,
        method: Method[Any],
        message: InvocationMessage,
        uploads: list[UploadStream],
        holds_slot: bool = False,
    ) -> None:
        """Run one invocation and send its Completion. With ``holds_slot``, the
        call took a free slot on a task of its own (see :meth:`dispatch`) and
        gives it back at the end, or passes it on to what queued up meanwhile:
        one coroutine for both, as this runs for every call."""
        try:
            invocation_id = message.invocation_id
            target = message.target
            binder = method.binder(self._wire)
            try:
                values = binder.decode_arguments(message.arguments)
            except BindingError as exc:
                self._close_uploads(uploads)
                await self._fail(
                    invocation_id,
                    f"Failed to invoke '{target}' due to an error on the server. "
                    f"InvalidDataException: {exc.message}",
                )
                return
            try:
                if uploads:
                    values = self._call_args(method, values, uploads)
                result = await self._call(method, values, message.headers)
            except asyncio.CancelledError:
                raise
            except _Unauthorized:
                await self._fail(invocation_id, self._unauthorized(target))
                return
            except Exception as exc:
                if not isinstance(exc, HubError):
                    logger.exception("hub method %s.%s raised", self._spec.name, method.name)
                await self._fail(invocation_id, self._unexpected(target, exc))
                return
            finally:
                if uploads:
                    self._close_uploads(uploads)
            if invocation_id is None:
                return
            try:
                wire_result = binder.encode_result(result)
            except CodecError as exc:
                logger.error(
                    "hub method %s.%s returned a value its contract does not allow: %s",
                    self._spec.name,
                    method.name,
                    exc.message,
                )
                await self._fail(invocation_id, self._unexpected(target, exc))
                return
            connection = self._connection
            try:
                frame = connection.protocol.write_result(invocation_id, wire_result)
            except ValueError as exc:
                # e.g. an integer beyond MessagePack's 64 bits: answer, do not
                # leave the caller waiting
                logger.error(
                    "hub method %s.%s returned a value the %s protocol cannot write: %s",
                    self._spec.name,
                    method.name,
                    connection.protocol.name,
                    exc,
                )
                await self._fail(invocation_id, self._unexpected(target, exc))
                return
            await connection.send_own(frame)
        finally:
            if holds_slot:
                self._release_slot(message)

    def _release_slot(self, message: InvocationMessage) -> None:
        self._tasks.pop(id(message), None)
        if self._queue:
            self._spawn(self._run_queue(), None)  # the slot passes on
        else:
            self._running -= 1

    async def _stream(
        self, method: Method[Any], message: StreamInvocationMessage, uploads: list[UploadStream]
    ) -> None:
        invocation_id = message.invocation_id
        target = message.target
        connection = self._connection
        error: str | None = None
        iterator: AsyncIterator[Any] | None = None
        try:
            values = self._bind(method, message.arguments)
            try:
                iterator = await self._start_stream(method, values, uploads, message.headers)
            except _Unauthorized:
                error = self._unauthorized(target)
            except Exception as exc:
                # The method failed before it returned its stream: a failed
                # invocation, reported as ASP.NET Core reports one.
                if not isinstance(exc, HubError):
                    logger.exception("streaming method %s.%s raised", self._spec.name, method.name)
                error = self._unexpected(target, exc)
            else:
                binder = method.binder(self._wire)
                sent = 0
                stateful = connection.replay is not None  # (goes on over a new socket)
                async for item in iterator:
                    if connection.aborted or (not stateful and connection.transport.closing):
                        break  # nobody to stream to
                    await self._send(StreamItemMessage(invocation_id, binder.encode_result(item)))
                    sent += 1
                    if sent % _ITEMS_PER_YIELD == 0:
                        await asyncio.sleep(0)
        except asyncio.CancelledError:
            if invocation_id not in self._canceled:
                raise  # the connection is going away: nobody to tell
        except BindingError as exc:
            error = (
                f"Failed to invoke '{target}' due to an error on the server. "
                f"InvalidDataException: {exc.message}"
            )
        except Exception as exc:
            if not isinstance(exc, HubError):
                logger.exception("streaming method %s.%s raised", self._spec.name, method.name)
            error = "An error occurred on the server while streaming results." + error_detail(
                exc, self._options.detailed_errors
            )
        finally:
            self._streams.pop(invocation_id, None)
            self._canceled.discard(invocation_id)
            self._close_uploads(uploads)
            if iterator is not None and hasattr(iterator, "aclose"):
                try:
                    await iterator.aclose()
                except Exception:
                    logger.exception("closing stream %s.%s raised", self._spec.name, method.name)
        await self._send(CompletionMessage(invocation_id, error=error))

    async def _start_stream(
        self,
        method: Method[Any],
        values: list[Any],
        uploads: list[UploadStream],
        headers: dict[str, str] | None,
    ) -> AsyncIterator[Any]:
        """Call a streaming method: its stream, or what it raised."""
        produced = await self._call(method, self._call_args(method, values, uploads), headers)
        if not hasattr(produced, "__anext__"):
            raise TypeError(
                f"The streaming method '{method.name}' must be an async generator "
                f"(or return an async iterator), not {type(produced).__name__}."
            )
        return produced  # type: ignore[no-any-return]

    def _call(
        self, method: Method[Any], values: list[Any], headers: dict[str, str] | None
    ) -> Awaitable[Any]:
        """Call a hub method on a new hub instance: the one place every path
        (the fast path, queued invocations, uploads, streams) calls one, so
        authorization and filters apply to all alike. ``headers`` are the
        invocation message's, for filters. Awaited, gives the method's
        result; for a stream, its async iterator."""
        hub = self._create_hub()
        if self._method_rules is None and self._pipeline is None and not method.stream:
            # nothing around it: the method's own coroutine
            return getattr(hub, method.name)(*values)  # type: ignore[no-any-return]
        return self._call_checked(hub, method, values, headers)

    async def _call_checked(
        self,
        hub: Hub[Any, Any],
        method: Method[Any],
        values: list[Any],
        headers: dict[str, str] | None,
    ) -> Any:
        if self._method_rules is not None:
            rules = self._method_rules.get(method.name)
            if rules is not None:
                caller = self._connection
                user, auth = caller.principal.user, caller.principal.auth
                if await rules.check(user, auth, caller.request) is not Verdict.ALLOWED:
                    raise _Unauthorized
        if self._pipeline is not None:
            context = (
                HubInvocationContext(hub, method, values, headers)
                if headers
                else HubInvocationContext(hub, method, values)
            )
            return await self._pipeline.invoke(context)
        produced = getattr(hub, method.name)(*values)
        return produced if method.stream else await produced

    def _unauthorized(self, target: str) -> str:
        logger.debug("connection %s may not invoke %r", self._connection.connection_id, target)
        return f"Failed to invoke '{target}' because user is unauthorized"

    # -- replies -------------------------------------------------------------------------

    async def _send(self, message: HubMessage) -> None:
        connection = self._connection
        await connection.send_own(connection.protocol.write(message))

    async def _fail(self, invocation_id: str | None, error: str) -> None:
        if invocation_id is None:
            # Nobody to answer. Its cause is logged where it is the server's
            # (a hub method that raised); a caller's mistake is only worth a
            # debug line, or every bad frame a client sends would be a warning.
            logger.debug("fire-and-forget invocation failed: %s", error)
            return
        await self._send(CompletionMessage.with_error(invocation_id, error))

    def _fail_soon(self, invocation_id: str, error: str) -> None:
        self._spawn(self._fail(invocation_id, error), invocation_id)
