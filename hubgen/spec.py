"""Runtime hub specifications: what generated code declares about a hub.

Generated modules declare each hub once as a :class:`HubSpec`: its wire names
and method kinds, spelled out by ``hubgen generate``. Parameter and result
*types* are read from the contract Protocol itself (``typing.get_type_hints``
with ``include_extras``), so constraints such as ``Annotated[int, Field(ge=1)]``
are enforced exactly as written. The spec checks at import that the contract
still has the methods it was generated from (read by :mod:`hubgen.members`,
as analysis reads them); a stale generated module fails loudly instead of
misbehaving.

Binders (:class:`MethodBinder`) are built once per method and wire format and
cached; they hold the precompiled codecs for arguments, results and stream items.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hubgen.codec import Codec, CodecError
from hubgen.members import contract_methods, stream_item
from hubgen.naming import FieldNaming
from hubgen.wire import WireFormat

__all__ = [
    "REQUIRED",
    "BindingError",
    "HubSpec",
    "Method",
    "MethodBinder",
    "MethodSpec",
    "Parameter",
    "StaleSpecError",
]

R = TypeVar("R")

#: The default of a parameter that has none.
REQUIRED: Any = inspect.Parameter.empty


class StaleSpecError(RuntimeError):
    """Generated code no longer matches its contract: run ``hubgen generate``."""


class BindingError(ValueError):
    """Invocation arguments do not fit the method's parameters.

    ``message`` is fit to send back to the caller.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method as ``hubgen generate`` declares it."""

    name: str
    wire_name: str
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Parameter:
    """A resolved method parameter. For a client-to-server stream parameter
    (``AsyncIterator[T]``), ``stream`` is true and ``annotation`` is ``T``."""

    name: str
    annotation: Any
    default: Any = REQUIRED
    stream: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class MethodBinder:
    """Precompiled codecs for one method in one wire format."""

    __slots__ = (
        "_params",
        "_required",
        "_result",
        "_stream_items",
        "encode_result",
        "method",
        "wire",
    )

    def __init__(self, method: Method[Any], wire: WireFormat, naming: FieldNaming) -> None:
        self.method = method
        self.wire = wire
        self._params: tuple[tuple[Parameter, Codec[Any]], ...] = tuple(
            (p, Codec(p.annotation, wire, field_naming=naming)) for p in method.value_parameters
        )
        self._required = sum(1 for p in method.value_parameters if p.required)
        self._stream_items: tuple[Codec[Any], ...] = tuple(
            Codec(p.annotation, wire, field_naming=naming) for p in method.stream_parameters
        )
        self._result: Codec[Any] = Codec(method.returns, wire, field_naming=naming)
        #: A result (or, for a stream method, one item) → wire value; the
        #: codec's own method, as every call's result passes here.
        self.encode_result: Callable[[Any], Any] = self._result.encode

    # -- arguments ---------------------------------------------------------------

    def decode_arguments(self, arguments: Sequence[Any]) -> list[Any]:
        """Wire arguments (stream parameters excluded) → Python values.

        Missing trailing arguments take their defaults. Raises
        :class:`BindingError` naming the offending parameter.
        """
        params = self._params
        given = len(arguments)
        if given == len(params):
            # every argument given (the usual call): decode them in one pass,
            # and only on an error go through the loop that names the parameter
            try:
                if given == 1:  # the commonest call, without a comprehension's frame
                    return [params[0][1].decode(arguments[0])]
                return [
                    codec.decode(argument)
                    for (_, codec), argument in zip(params, arguments, strict=True)
                ]
            except CodecError:
                pass
        if given > len(params) or given < self._required:
            expected = (
                str(len(params))
                if self._required == len(params)
                else f"{self._required} to {len(params)}"
            )
            raise BindingError(
                f"Invocation provides {given} argument(s) but target expects {expected}."
            )
        values: list[Any] = []
        for index, (param, codec) in enumerate(params):
            if index >= given:
                values.append(param.default)
                continue
            try:
                values.append(codec.decode(arguments[index]))
            except CodecError as exc:
                raise BindingError(
                    f"Error binding argument '{param.name}' (position {index}): {exc.message}"
                ) from exc
        return values

    def encode_arguments(self, values: Sequence[Any]) -> list[Any]:
        """Python argument values (stream parameters excluded) → wire values."""
        if len(values) != len(self._params):
            raise TypeError(
                f"{self.method.name}() takes {len(self._params)} argument(s), got {len(values)}"
            )
        out: list[Any] = []
        for (param, codec), value in zip(self._params, values, strict=True):
            try:
                out.append(codec.encode(value))
            except CodecError as exc:
                raise TypeError(
                    f"{self.method.name}(): argument '{param.name}': {exc.message}"
                ) from exc
        return out

    # -- results and stream items --------------------------------------------------

    def decode_result(self, data: Any) -> Any:
        """A wire result (or stream item) → Python value; raises :class:`CodecError`."""
        return self._result.decode(data)

    def encode_stream_item(self, index: int, value: Any) -> Any:
        """An item of the ``index``-th stream parameter → wire value."""
        return self._stream_items[index].encode(value)

    def decode_stream_item(self, index: int, data: Any) -> Any:
        """A wire item of the ``index``-th stream parameter → Python value."""
        return self._stream_items[index].decode(data)


class Method(Generic[R]):
    """A hub or client method resolved against its contract.

    ``R`` is the result type (the item type for a stream method); generated
    code annotates its handles, e.g. ``Method[list[ChatMessage]]``.
    """

    __slots__ = (
        "_binders",
        "_naming",
        "name",
        "parameters",
        "plain",
        "returns",
        "stream",
        "stream_parameters",
        "value_parameters",
        "wire_name",
    )

    def __init__(
        self,
        spec: MethodSpec,
        parameters: tuple[Parameter, ...],
        returns: Any,
        naming: FieldNaming,
    ) -> None:
        self.name = spec.name
        self.wire_name = spec.wire_name
        self.stream = spec.stream
        self.parameters = parameters
        self.value_parameters = tuple(p for p in parameters if not p.stream)
        self.stream_parameters = tuple(p for p in parameters if p.stream)
        #: An ordinary invocation: no stream in either direction.
        self.plain = not self.stream and not self.stream_parameters
        self.returns = returns
        self._naming = naming
        self._binders: dict[WireFormat, MethodBinder] = {}

    @property
    def is_void(self) -> bool:
        """True when the method returns ``None`` (and is not a stream)."""
        return not self.stream and self.returns is type(None)

    def binder(self, wire: WireFormat) -> MethodBinder:
        """The method's binder for ``wire``, built on first use."""
        binder = self._binders.get(wire)
        if binder is None:
            binder = self._binders[wire] = MethodBinder(self, wire, self._naming)
        return binder

    def __repr__(self) -> str:
        return f"<Method {self.name} wire={self.wire_name!r}>"


def _resolve(contract: type, function: Any, spec: MethodSpec, naming: FieldNaming) -> Method[Any]:
    owner = f"{contract.__qualname__}.{spec.name}"
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:  # a NameError from a bad forward reference, typically
        raise StaleSpecError(f"cannot resolve the annotations of {owner}: {exc}") from exc
    signature = inspect.signature(function)
    params: list[Parameter] = []
    for param in list(signature.parameters.values())[1:]:  # skip self
        annotation = hints.get(param.name, Any)
        stream, item = stream_item(annotation)
        params.append(
            Parameter(
                name=param.name,
                annotation=(Any if item is None else item) if stream else annotation,
                default=param.default,
                stream=stream,
            )
        )
    returns = hints.get("return", type(None))
    returns = type(None) if returns is None else returns
    if spec.stream:
        stream, item = stream_item(returns)
        if not stream:
            raise StaleSpecError(
                f"{owner} is declared as a stream but does not return AsyncIterator[...]; "
                "run `hubgen generate`"
            )
        returns = Any if item is None else item
    return Method(spec, tuple(params), returns, naming)


class HubSpec:
    """A hub contract and its client contract, as the runtime uses them."""

    def __init__(
        self,
        *,
        name: str,
        contract: type,
        client: type,
        methods: Sequence[MethodSpec],
        client_methods: Sequence[MethodSpec],
        field_naming: FieldNaming = FieldNaming.CAMEL,
    ) -> None:
        self.name = name
        self.contract = contract
        self.client = client
        self.field_naming = field_naming
        self.methods: Mapping[str, Method[Any]] = self._resolve_all(contract, methods)
        self.client_methods: Mapping[str, Method[Any]] = self._resolve_all(client, client_methods)
        #: Hub methods by lower-cased wire name: SignalR matches names ignoring case.
        self.methods_by_wire: Mapping[str, Method[Any]] = {
            m.wire_name.lower(): m for m in self.methods.values()
        }
        #: The same by exact wire name, which is how clients nearly always call.
        self._exact: dict[str, Method[Any]] = {m.wire_name: m for m in self.methods.values()}

    def _resolve_all(self, contract: type, specs: Sequence[MethodSpec]) -> dict[str, Method[Any]]:
        functions = contract_methods(contract)
        declared = {s.name for s in specs}
        missing = sorted(declared - functions.keys())
        added = sorted(functions.keys() - declared)
        if missing or added:
            detail = "; ".join(
                part
                for part in (
                    f"no longer in the contract: {', '.join(missing)}" if missing else "",
                    f"not generated yet: {', '.join(added)}" if added else "",
                )
                if part
            )
            raise StaleSpecError(
                f"generated code for {self.name} is out of date with "
                f"{contract.__module__}.{contract.__qualname__} ({detail}); run `hubgen generate`"
            )
        return {s.name: _resolve(contract, functions[s.name], s, self.field_naming) for s in specs}

    def method(self, name: str) -> Method[Any]:
        """A hub method by its Python name."""
        return self.methods[name]

    def client_method(self, name: str) -> Method[Any]:
        """A client method by its Python name."""
        return self.client_methods[name]

    def find(self, wire_name: str) -> Method[Any] | None:
        """A hub method by wire name, ignoring case as ASP.NET Core does."""
        method = self._exact.get(wire_name)
        if method is None:
            method = self.methods_by_wire.get(wire_name.lower())
        return method

    def warm(self, wire: WireFormat) -> None:
        """Build every binder for ``wire`` now, so that a type the codecs cannot
        handle fails at startup rather than on the first call."""
        for method in (*self.methods.values(), *self.client_methods.values()):
            method.binder(wire)
