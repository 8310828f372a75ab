"""HubProxy: the base class of generated, typed client proxies.

A generated ``<Hub>Client`` subclasses :class:`HubProxy`, sets ``spec`` and
spells out one typed method per hub method; the helpers here do the work:
encode arguments with the method's binder, call through the
:class:`~hubgen.client.HubConnection`, decode results and stream items, and
route server calls to typed handlers::

    connection = HubConnection("https://example.com/chat")
    chat = ChatHubClient(connection)
    chat.register(MyChatClient())       # server → client calls
    async with connection:
        await chat.send("hello")         # client → server calls
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, TypeVar, cast

from hubgen.client.hub_connection import HubConnection
from hubgen.client.registration import Registration
from hubgen.client.stream import HubStream
from hubgen.codec import CodecError
from hubgen.spec import BindingError, HubSpec, Method, MethodBinder

__all__ = ["HubProxy"]

R = TypeVar("R")


@functools.cache
def _keyword_only(contract: type, name: str) -> frozenset[str]:
    """Parameters of ``contract.name`` that must be passed by keyword."""
    signature = inspect.signature(getattr(contract, name))
    return frozenset(
        p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    )


async def _encode_items(
    source: AsyncIterable[Any], binder: MethodBinder, index: int, owner: str
) -> AsyncIterator[Any]:
    """The items of ``source`` as wire values of the ``index``-th stream parameter."""
    iterator = aiter(source)
    try:
        async for item in iterator:
            try:
                yield binder.encode_stream_item(index, item)
            except CodecError as exc:
                raise TypeError(f"{owner}: an uploaded item does not fit: {exc.message}") from exc
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class HubProxy:
    """Typed calls to one hub over a :class:`~hubgen.client.HubConnection`.

    Subclasses are generated; they set :attr:`spec`. Several proxies (of the
    same or different hubs' contracts) may share one connection.
    """

    spec: ClassVar[HubSpec]

    def __init__(self, connection: HubConnection) -> None:
        spec = getattr(type(self), "spec", None)
        if not isinstance(spec, HubSpec):
            raise TypeError(
                f"{type(self).__qualname__} has no hub spec: use the <Hub>Client class "
                "that `hubgen generate` wrote, or set `spec` on your subclass"
            )
        self._connection = connection
        self._wire = connection.protocol.wire
        # Build every binder now: a type the codecs cannot handle fails here,
        # not on the first call.
        spec.warm(self._wire)

    @property
    def connection(self) -> HubConnection:
        """The connection this proxy calls through."""
        return self._connection

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} over {self._connection!r}>"

    # -- client → server -------------------------------------------------------------

    def _owner(self, method: Method[Any]) -> str:
        return f"{self.spec.contract.__qualname__}.{method.name}"

    def _bind(
        self, method: Method[Any], args: Sequence[Any]
    ) -> tuple[MethodBinder, list[Any], list[AsyncIterable[Any]]]:
        """Encode ``args`` (all parameters, in order) into wire arguments and
        upload streams of wire values."""
        binder = method.binder(self._wire)
        params = method.parameters
        if len(args) != len(params):
            raise TypeError(f"{method.name}() takes {len(params)} argument(s), got {len(args)}")
        values: list[Any] = []
        streams: list[AsyncIterable[Any]] = []
        for param, arg in zip(params, args, strict=True):
            if not param.stream:
                values.append(arg)
                continue
            if not isinstance(arg, AsyncIterable):
                raise TypeError(
                    f"{method.name}(): argument '{param.name}' must be an async iterable "
                    f"(it is uploaded as a stream), got {type(arg).__name__}"
                )
            streams.append(_encode_items(arg, binder, len(streams), self._owner(method)))
        return binder, binder.encode_arguments(values), streams

    def _decode(self, method: Method[Any], binder: MethodBinder, data: Any) -> Any:
        try:
            return binder.decode_result(data)
        except CodecError as exc:
            raise BindingError(
                f"{self._owner(method)}: the server's result does not match the contract: "
                f"{exc.message}"
            ) from exc

    async def _invoke(self, method: Method[R], *args: Any) -> R:
        """Call ``method`` and return its decoded result."""
        binder, arguments, streams = self._bind(method, args)
        result = await self._connection._invoke(method.wire_name, arguments, streams)
        if method.is_void:
            return cast(R, None)
        return cast(R, self._decode(method, binder, result))

    async def _send(self, method: Method[Any], *args: Any) -> None:
        """Call ``method`` without waiting for it to run (fire-and-forget)."""
        _, arguments, streams = self._bind(method, args)
        await self._connection._send_invocation(method.wire_name, arguments, streams)

    def _stream(self, method: Method[R], *args: Any) -> HubStream[R]:
        """Call the streaming ``method``; items are decoded as they arrive."""
        binder, arguments, streams = self._bind(method, args)
        return self._connection._stream(
            method.wire_name,
            arguments,
            streams,
            cast("Callable[[Any], R]", binder.decode_result),
            self._owner(method),
        )

    # -- server → client -------------------------------------------------------------

    def _on(self, method: Method[Any], handler: Callable[..., Any]) -> Registration:
        """Route server calls of the client method ``method`` to ``handler``,
        with decoded arguments; for a client result, its return value is
        encoded and sent back. Arguments that do not fit the contract are
        logged (naming the method and the argument) and, when the server
        waits for a result, answered with an error; the connection stays up."""
        return self._route(method, handler, frozenset())

    def _route(
        self, method: Method[Any], handler: Callable[..., Any], keywords: frozenset[str]
    ) -> Registration:
        """``_on``, passing the parameters named in ``keywords`` by keyword."""
        binder = method.binder(self._wire)
        owner = f"{self.spec.client.__qualname__}.{method.name}"
        names = [p.name for p in method.value_parameters]

        async def call(*wire_args: Any) -> Any:
            try:
                values = binder.decode_arguments(wire_args)
            except BindingError as exc:
                raise BindingError(f"{owner}: {exc.message}") from exc
            if keywords:
                positional = [v for n, v in zip(names, values, strict=True) if n not in keywords]
                named = {n: v for n, v in zip(names, values, strict=True) if n in keywords}
                result = handler(*positional, **named)
            else:
                result = handler(*values)
            if inspect.isawaitable(result):
                result = await result
            if method.is_void:
                return None
            try:
                return binder.encode_result(result)
            except CodecError as exc:
                raise BindingError(
                    f"{owner} returned a value that does not match the contract: {exc.message}"
                ) from exc

        return self._connection._on(method.wire_name, call, none_is_result=not method.is_void)

    def _register(self, receiver: object) -> Registration:
        """Route every client method of :attr:`spec` to the method of the same
        Python name on ``receiver``. Dispose the result to stop."""
        methods = list(self.spec.client_methods.values())
        missing = [m.name for m in methods if not callable(getattr(receiver, m.name, None))]
        if missing:
            raise TypeError(
                f"{type(receiver).__qualname__} does not implement these "
                f"{self.spec.client.__qualname__} methods: {', '.join(missing)}"
            )
        contract = self.spec.client
        return Registration.combine(
            [
                self._route(m, getattr(receiver, m.name), _keyword_only(contract, m.name))
                for m in methods
            ]
        )
