"""``models.ts``: an interface per model (and its ``XInput`` form), enums as
``const`` objects with a union type of their values."""

from __future__ import annotations

from dataclasses import dataclass

from hubgen import artifacts, ir
from hubgen.codegen._templates import render
from hubgen.codegen.typescript.syntax import import_statement, jsdoc, literal, property_name
from hubgen.codegen.typescript.types import Types

__all__ = ["Declaration", "model_declarations", "models_module"]


@dataclass
class _Field:
    doc: list[str]
    name: str
    optional: bool
    type: str


@dataclass
class _Interface:
    doc: list[str]
    name: str
    type_parameters: str
    fields: list[_Field]


@dataclass
class _EnumMember:
    doc: list[str]
    key: str
    value: str


@dataclass
class _Enum:
    doc: list[str]
    name: str
    members: list[_EnumMember]


#: What ``templates/typescript/_model.ts.jinja`` prints.
Declaration = _Interface | _Enum


def model_declarations(contract: ir.Contract, types: Types) -> list[Declaration]:
    """Every enum, then every model with its input form, as templates print them."""
    declarations: list[Declaration] = []
    for enum in contract.enums:
        declarations.append(
            _Enum(
                doc=jsdoc(enum.doc, ""),
                name=enum.name,
                members=[
                    _EnumMember(jsdoc(m.doc, "  "), property_name(m.name), literal(m.value))
                    for m in enum.members
                ],
            )
        )
    for model in contract.models:
        for input in (False, True):
            if input and model.name not in types.needs_input:
                continue
            doc = model.doc
            if input:
                doc = f"{model.name} as a client sends it: fields with defaults may be left out."
                if model.doc:
                    doc = f"{model.doc}\n\n{doc}"
            declarations.append(
                _Interface(
                    doc=jsdoc(doc, ""),
                    name=types.model_name(model.name, input=input),
                    type_parameters=types.parameters(
                        model.type_parameters, model.name in types.wired
                    ),
                    fields=[
                        _Field(
                            doc=jsdoc(f.doc, "  "),
                            name=property_name(f.wire_name),
                            optional=input
                            and artifacts.optional_in_input(f, model.name, types.required_tags),
                            type=types.type(f.type, input=input),
                        )
                        for f in model.fields
                    ],
                )
            )
    return declarations


def models_module(contract: ir.Contract, types: Types, source: str) -> str:
    runtime_import = None
    if types.wired:
        runtime_import = import_statement(
            sorted({"Wire", types.default_wire}), "./runtime.js", type_only=True
        )
    return render(
        "typescript/models.ts.jinja",
        source=source,
        runtime_import=runtime_import,
        declarations=model_declarations(contract, types),
    )
