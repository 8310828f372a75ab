"""IR types → TypeScript types, as the server sends them (output) or as a
client sends them (input: a model's ``XInput`` form, in which fields with a
default are optional), with ``bytes`` and datetimes following the hub
protocol (the type parameter ``W``) when MessagePack is enabled."""

from __future__ import annotations

from collections.abc import Sequence

from hubgen import artifacts, ir
from hubgen.codegen.typescript.options import TypeScriptOptions
from hubgen.codegen.typescript.syntax import generic, literal, wrap

__all__ = ["Types", "W"]

#: The type parameter of declarations that hold a protocol-dependent value.
W = artifacts.TYPESCRIPT_WIRE_PARAMETER
_STRING_PRIMITIVES = frozenset({"str", "date", "time", "timedelta", "uuid", "decimal"})


class Types:
    """Prints IR types as TypeScript, in output (server sends) or input form."""

    def __init__(self, contract: ir.Contract, options: TypeScriptOptions) -> None:
        self.contract = contract
        #: MessagePack is enabled: ``bytes`` and ``datetime`` depend on ``W``.
        self.wire = options.messagepack
        self.default_wire = "JsonWire" if options.json else "MessagePackWire"
        self.json = options.json
        self.required_tags = artifacts.discriminator_tags(contract)
        self.needs_input = artifacts.input_models(contract, self.required_tags)
        #: Models holding a protocol-dependent value: they take ``W``.
        self.wired = artifacts.wire_dependent_models(contract) if self.wire else set()

    def depends(self, ref: ir.TypeRef) -> bool:
        """Whether ``ref`` holds a protocol-dependent value (so needs ``W``)."""
        return any(
            (isinstance(r, ir.PrimitiveType) and r.name in artifacts.WIRE_PRIMITIVES and self.wire)
            or (isinstance(r, ir.ModelRef) and r.name in self.wired)
            for r in ir.walk(ref)
        )

    def parameters(self, own: Sequence[str], wired: bool) -> str:
        """``<T, W extends Wire = JsonWire>``: a declaration's type parameters."""
        params = list(own)
        if wired:
            params.append(f"{W} extends Wire = {self.default_wire}")
        return f"<{', '.join(params)}>" if params else ""

    def model_name(self, name: str, *, input: bool) -> str:
        return artifacts.input_model(name) if input and name in self.needs_input else name

    def type(self, ref: ir.TypeRef, *, input: bool) -> str:
        if isinstance(ref, ir.PrimitiveType):
            if ref.name in artifacts.WIRE_PRIMITIVES:
                return f'{W}["{ref.name}"]' if self.wire else "string"
            if ref.name in _STRING_PRIMITIVES:
                return "string"
            return {"int": "number", "float": "number", "bool": "boolean", "none": "null"}[ref.name]
        if isinstance(ref, ir.ListType):
            return f"{wrap(self.type(ref.item, input=input))}[]"
        if isinstance(ref, ir.TupleType):
            return f"[{', '.join(self.type(i, input=input) for i in ref.items)}]"
        if isinstance(ref, ir.DictType):
            value = self.type(ref.value, input=input)
            if isinstance(ref.key, ir.EnumRef | ir.LiteralType):
                return f"Partial<Record<{self.type(ref.key, input=input)}, {value}>>"
            return f"Record<string, {value}>"
        if isinstance(ref, ir.NullableType):
            return f"{self.type(ref.inner, input=input)} | null"
        if isinstance(ref, ir.UnionType):
            return " | ".join(self.type(m, input=input) for m in ref.members)
        if isinstance(ref, ir.LiteralType):
            return " | ".join(literal(v) for v in ref.values)
        if isinstance(ref, ir.EnumRef):
            return ref.name
        if isinstance(ref, ir.ModelRef):
            args = [self.type(a, input=input) for a in ref.args]
            if ref.name in self.wired:
                args.append(W)
            return generic(self.model_name(ref.name, input=input), args)
        return ref.name

    def result(self, ref: ir.TypeRef, *, input: bool) -> str:
        """A method result: ``void`` for ``None``."""
        if ref == ir.PrimitiveType(name="none"):
            return "void"
        return self.type(ref, input=input)
