"""``hubgen export asyncapi``: an AsyncAPI 3.0 document of the hubs.

The document describes the hubs from a client's side, over the SignalR JSON
hub protocol on WebSockets: one channel per hub (its URL path); a ``send``
operation per hub method, whose ``reply`` is the server's Completion (or its
stream items and Completion), and a ``receive`` operation per client method,
with a ``reply`` for client results. Every message's payload is the SignalR
message as the JSON protocol writes it (``{"type": 1, "target": ...,
"arguments": [...]}``), whose ``arguments`` are the method's parameters in
order; model schemas are pydantic's JSON Schemas of the codecs' own core
schemas (:func:`hubgen.codec.wire_core_schema`), so fields appear under their
wire names, and live under ``components/schemas``. Schemas describe what a
hubgen peer accepts (pydantic's validation mode).

AsyncAPI schemas are JSON Schema draft 07: pydantic's 2020-12 output is
brought to it (``prefixItems`` → ``items``; ``discriminator`` → its property
name, as AsyncAPI's Schema Object spells it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema as cs

from hubgen import ir
from hubgen.codec import wire_core_schema
from hubgen.contracts.loader import prepended_sys_path
from hubgen.naming import FieldNaming
from hubgen.spec import HubSpec, Method, MethodSpec
from hubgen.wire import WireFormat

__all__ = ["AsyncApiError", "asyncapi"]

ASYNCAPI_VERSION = "3.0.0"
#: The WebSockets bindings version the document uses.
WS_BINDING_VERSION = "0.1.0"

_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "Custom headers (string values); ignored by hubgen.",
    "additionalProperties": {"type": "string"},
}
_INVOCATION_ID: dict[str, Any] = {
    "type": "string",
    "description": "Chosen by the caller; the reply carries the same id.",
}


#: Standard base64 with padding (RFC 4648 §4), as hubgen reads it.
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class AsyncApiError(ValueError):
    """The document cannot be made (a bad server URL or hub path)."""


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema generator, for the wire forms of the codecs."""

    def bytes_schema(self, schema: cs.BytesSchema) -> JsonSchemaValue:
        # bytes travel as standard base64 with padding in JSON (docs/codecs.md);
        # contentEncoding only annotates, the pattern is what validators check
        return {"type": "string", "contentEncoding": "base64", "pattern": _BASE64}

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Sentat" for sentAt helps nobody


def _draft07(node: Any) -> Any:
    """A pydantic JSON Schema (draft 2020-12) as AsyncAPI's draft 07."""
    if isinstance(node, list):
        return [_draft07(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _draft07(value) for key, value in node.items()}
    if "prefixItems" in out:
        out["items"] = out.pop("prefixItems")
        out["additionalItems"] = False
    discriminator = out.get("discriminator")
    if isinstance(discriminator, dict):
        out["discriminator"] = discriminator["propertyName"]
    return out


def _annotated(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``schema`` with more keywords; a ``$ref`` is wrapped, as draft 07
    ignores the siblings of ``$ref``."""
    extra = {key: value for key, value in extra.items() if value is not None}
    if "$ref" in schema:
        return {"allOf": [schema], **extra}
    return {**schema, **extra}


def _docs(doc: str | None) -> dict[str, str]:
    """``description``, and a one-line ``summary`` when the doc is longer
    than its first paragraph."""
    if not doc:
        return {}
    first = doc.strip().split("\n\n", 1)[0]
    if first == doc.strip() and "\n" not in first:
        return {"description": doc}
    return {"summary": " ".join(first.split()), "description": doc}


def _import(ref: ir.PythonRef) -> Any:
    value: Any = importlib.import_module(ref.module)
    for part in ref.qualname.split("."):
        value = getattr(value, part)
    return value


def _spec(hub: ir.HubDecl, naming: FieldNaming) -> HubSpec:
    def specs(methods: Sequence[ir.MethodDecl]) -> list[MethodSpec]:
        return [
            MethodSpec(m.name, m.wire_name, stream=m.kind is ir.MethodKind.STREAM) for m in methods
        ]

    return HubSpec(
        name=hub.name,
        contract=_import(hub.python),
        client=_import(hub.client.python),
        methods=specs(hub.methods),
        client_methods=specs(hub.client.methods),
        field_naming=naming,
    )


def _server(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    protocols = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}
    if parts.scheme not in protocols or not parts.netloc:
        raise AsyncApiError(
            f"{url!r} is not a server URL like ws://localhost:8000 or wss://chat.example.com"
        )
    server: dict[str, Any] = {
        "host": parts.netloc,
        "protocol": protocols[parts.scheme],
        "title": "hubgen hub server",
        "description": (
            "ASP.NET Core SignalR protocol. A client first POSTs `{hub path}/negotiate?"
            "negotiateVersion=1`, then opens a WebSocket to the hub path with `?id=` the "
            "connectionToken it got, sends the handshake and exchanges JSON hub messages, "
            "each text ending in the record separator 0x1E. Server-Sent Events and Long "
            "Polling carry the same messages."
        ),
    }
    if parts.path.strip("/"):
        server["pathname"] = "/" + parts.path.strip("/")
    return server


class _Document:
    def __init__(self, contract: ir.Contract, naming: FieldNaming) -> None:
        self.contract = contract
        self.naming = naming
        self.specs = {hub.name: _spec(hub, naming) for hub in contract.hubs}
        self.schemas: dict[tuple[str, ...], dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def generate(self) -> None:
        """Every type's JSON Schema, in one pass so that models are shared."""
        inputs: list[tuple[tuple[str, ...], Any, cs.CoreSchema]] = []
        for hub in self.contract.hubs:
            spec = self.specs[hub.name]
            for kind, methods in (("hub", spec.methods), ("client", spec.client_methods)):
                for method in methods.values():
                    for param in method.parameters:
                        key = (hub.name, kind, method.name, param.name)
                        inputs.append((key, "validation", self._core(param.annotation)))
                    key = (hub.name, kind, method.name, "")
                    inputs.append((key, "validation", self._core(method.returns)))
        generator = _Schemas(by_alias=True, ref_template="#/components/schemas/{model}")
        mapping, definitions = generator.generate_definitions(inputs)
        self.schemas = {key: _draft07(value) for (key, _), value in mapping.items()}
        self.components = {name: _draft07(value) for name, value in definitions.items()}
        self._describe_models()

    def _core(self, annotation: Any) -> cs.CoreSchema:
        return wire_core_schema(annotation, WireFormat.JSON, self.naming)

    def _describe_models(self) -> None:
        """Titles and docs from the contract (``#:`` comments and docstrings,
        which pydantic does not see)."""
        for model in self.contract.models:
            schema = self.components.get(model.name)
            if schema is None:
                continue
            schema.setdefault("title", model.name)
            if model.doc:
                schema.setdefault("description", model.doc)
            properties = schema.get("properties", {})
            for field in model.fields:
                prop = properties.get(field.wire_name)
                if isinstance(prop, dict) and field.doc and "description" not in prop:
                    properties[field.wire_name] = _annotated(prop, description=field.doc)

    # -- payloads --------------------------------------------------------------------

    def arguments(self, hub: str, kind: str, decl: ir.MethodDecl, method: Method[Any]) -> Any:
        """The ``arguments`` array: the value parameters in order."""
        params = {p.name: p for p in decl.parameters}
        items = []
        for param in method.value_parameters:
            declared = params[param.name]
            default = declared.default.json_value if declared.default is not None else None
            items.append(
                _annotated(
                    self.schemas[(hub, kind, method.name, param.name)],
                    title=param.name,
                    default=default,
                )
            )
        required = sum(1 for p in method.value_parameters if p.required)
        schema: dict[str, Any] = {
            "type": "array",
            "description": "The arguments, by position.",
            "maxItems": len(items),
        }
        if items:
            schema.update(items=items, additionalItems=False, minItems=required)
        return schema

    def invocation(
        self, hub: str, kind: str, decl: ir.MethodDecl, method: Method[Any], *, awaited: bool
    ) -> dict[str, Any]:
        stream = method.stream
        streams = len(method.stream_parameters)
        properties: dict[str, Any] = {
            "type": {"const": 4 if stream else 1},
            "invocationId": _INVOCATION_ID
            if stream or awaited
            else {**_INVOCATION_ID, "description": "Left out for a call with no reply."},
            "target": {
                "const": decl.wire_name,
                "description": "The method's name (matched ignoring case).",
            },
            "arguments": self.arguments(hub, kind, decl, method),
            "headers": _HEADERS,
        }
        required = ["type", "target", "arguments"]
        if stream or awaited:
            required.insert(1, "invocationId")
        if streams:
            properties["streamIds"] = {
                "type": "array",
                "description": "Ids of the client-to-server streams, one per stream parameter.",
                "items": {"type": "string"},
                "minItems": streams,
                "maxItems": streams,
            }
            required.append("streamIds")
        return {"type": "object", "required": required, "properties": properties}

    @staticmethod
    def completion(result: dict[str, Any] | None) -> dict[str, Any]:
        """A Completion: with ``result`` (None: a stream's end, no result) or an error."""
        base = {"type": {"const": 3}, "invocationId": _INVOCATION_ID, "headers": _HEADERS}
        error = {
            "type": "object",
            "title": "error",
            "required": ["type", "invocationId", "error"],
            "properties": {**base, "error": {"type": "string"}},
        }
        if result is None:
            done = {
                "type": "object",
                "title": "done",
                "required": ["type", "invocationId"],
                "properties": base,
                "not": {"anyOf": [{"required": ["error"]}, {"required": ["result"]}]},
            }
            return {"oneOf": [done, error]}
        ok = {
            "type": "object",
            "title": "result",
            "required": ["type", "invocationId", "result"],
            "properties": {**base, "result": result},
            "not": {"required": ["error"]},
        }
        return {"oneOf": [ok, error]}

    @staticmethod
    def item(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["type", "invocationId", "item"],
            "properties": {
                "type": {"const": 2},
                "invocationId": _INVOCATION_ID,
                "item": schema,
                "headers": _HEADERS,
            },
        }

    # -- the document ----------------------------------------------------------------

    def channel(
        self, hub: ir.HubDecl, address: str
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The hub's channel and its operations."""
        spec = self.specs[hub.name]
        messages: dict[str, dict[str, Any]] = {}
        operations: dict[str, dict[str, Any]] = {}
        here = {"$ref": f"#/channels/{hub.name}"}
        # Keys: "hub." or "client." and the method's Python name (an identifier,
        # where a wire name may hold any printable character), and "protocol."
        # for the protocol's own messages: no two can be the same.

        def message(key: str, title: str, payload: dict[str, Any], doc: str | None = None) -> Any:
            messages[key] = {
                "name": key,
                "title": title,
                "contentType": "application/json",
                "payload": payload,
            }
            messages[key].update(_docs(doc))
            return {"$ref": f"#/channels/{hub.name}/messages/{_escape(key)}"}

        def operation(key: str, body: dict[str, Any], doc: str | None = None) -> None:
            operations[f"{hub.name}.{key}"] = {
                "title": key,
                **_docs(doc),
                "channel": here,
                **body,
            }

        handshake = message(
            "protocol.handshake",
            "Handshake request",
            {
                "type": "object",
                "required": ["protocol", "version"],
                "properties": {"protocol": {"const": "json"}, "version": {"const": 1}},
            },
            "The first message on a connection: the hub protocol to speak.",
        )
        answer = message(
            "protocol.handshakeResponse",
            "Handshake response",
            {"type": "object", "properties": {"error": {"type": "string"}}},
            "`{}` when the server speaks the protocol, else an error; then the connection closes.",
        )
        operation(
            "protocol.handshake",
            {
                "action": "send",
                "messages": [handshake],
                "reply": {"channel": here, "messages": [answer]},
            },
            "Start the hub protocol.",
        )
        ping = message(
            "protocol.ping",
            "Ping",
            {"type": "object", "required": ["type"], "properties": {"type": {"const": 6}}},
            "Keeps the connection alive; sent by both ends when they have been quiet.",
        )
        operation("protocol.sendPing", {"action": "send", "messages": [ping]})
        operation("protocol.receivePing", {"action": "receive", "messages": [ping]})
        close = message(
            "protocol.close",
            "Close",
            {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"const": 7},
                    "error": {"type": "string"},
                    "allowReconnect": {"type": "boolean"},
                },
            },
            "The server closes the connection, with the reason when it is an error.",
        )
        operation("protocol.receiveClose", {"action": "receive", "messages": [close]})

        has_streams = False
        for decl in hub.methods:
            method = spec.methods[decl.name]
            wire = decl.wire_name
            key = f"hub.{decl.name}"
            call = message(
                key,
                f"{wire} ({'StreamInvocation' if method.stream else 'Invocation'})",
                self.invocation(hub.name, "hub", decl, method, awaited=False),
                decl.doc,
            )
            result = self.schemas[(hub.name, "hub", decl.name, "")]
            if method.stream:
                has_streams = True
                replies = [
                    message(f"{key}.item", f"{wire} stream item", self.item(result)),
                    message(f"{key}.completion", f"{wire} end of stream", self.completion(None)),
                ]
            else:
                replies = [
                    message(f"{key}.completion", f"{wire} completion", self.completion(result))
                ]
            operation(
                key,
                {
                    "action": "send",
                    "messages": [call],
                    "reply": {"channel": here, "messages": replies},
                },
                decl.doc,
            )
            for param in method.stream_parameters:
                items = message(
                    f"{key}.{param.name}.item",
                    f"{wire} {param.name} stream item",
                    self.item(self.schemas[(hub.name, "hub", decl.name, param.name)]),
                    f"An item of the stream parameter {param.name!r}; its invocationId is the "
                    "stream's id from streamIds.",
                )
                done = message(
                    f"{key}.{param.name}.completion",
                    f"{wire} {param.name} end of stream",
                    self.completion(None),
                    "Ends the stream (invocationId: the stream's id), with an error if it failed.",
                )
                operation(f"{key}.{param.name}", {"action": "send", "messages": [items, done]})
        if has_streams:
            cancel = message(
                "protocol.cancelInvocation",
                "CancelInvocation",
                {
                    "type": "object",
                    "required": ["type", "invocationId"],
                    "properties": {"type": {"const": 5}, "invocationId": _INVOCATION_ID},
                },
                "Stops a server-to-client stream.",
            )
            operation("protocol.cancelInvocation", {"action": "send", "messages": [cancel]})

        for decl in hub.client.methods:
            method = spec.client_methods[decl.name]
            wire = decl.wire_name
            awaited = not method.is_void
            key = f"client.{decl.name}"
            call = message(
                key,
                f"{wire} (Invocation from the server)",
                self.invocation(hub.name, "client", decl, method, awaited=awaited),
                decl.doc,
            )
            body: dict[str, Any] = {"action": "receive", "messages": [call]}
            if awaited:
                result = self.schemas[(hub.name, "client", decl.name, "")]
                reply = message(
                    f"{key}.completion",
                    f"{wire} client result",
                    self.completion(result),
                    "The client's result, which the server awaits.",
                )
                body["reply"] = {"channel": here, "messages": [reply]}
            operation(key, body, decl.doc)

        channel: dict[str, Any] = {
            "address": address,
            "title": hub.name,
            "servers": [{"$ref": "#/servers/hub"}],
            "messages": messages,
            "bindings": {
                "ws": {
                    "method": "GET",
                    "query": {
                        "type": "object",
                        "properties": {
                            "id": {
                                "type": "string",
                                "description": "The connectionToken from negotiate.",
                            },
                            "access_token": {
                                "type": "string",
                                "description": "A bearer token, where a browser cannot send "
                                "an Authorization header.",
                            },
                        },
                    },
                    "bindingVersion": WS_BINDING_VERSION,
                }
            },
        }
        channel.update(_docs(hub.doc))
        return channel, operations


def _escape(key: str) -> str:
    """A key as a JSON Pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def asyncapi(
    contract: ir.Contract,
    *,
    python_path: Sequence[Path] = (),
    url: str = "ws://localhost:8000",
    paths: Mapping[str, str] | None = None,
    title: str | None = None,
    version: str = "0.0.0",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``contract``'s hubs.

    The contract's modules are imported (with ``python_path`` in front of
    ``sys.path``) to build the schemas from its types. ``url`` is the
    server's; ``paths`` maps a hub's name to the URL path it is mapped at
    (default ``/`` + its name).
    """
    paths = dict(paths or {})
    unknown = sorted(set(paths) - {hub.name for hub in contract.hubs})
    if unknown:
        raise AsyncApiError(f"no hub named {', '.join(map(repr, unknown))} in the contract")
    for name, path in paths.items():
        if not path.startswith("/"):
            raise AsyncApiError(f"the path of {name} must start with '/': {path!r}")
    server = _server(url)
    with prepended_sys_path(python_path):
        document = _Document(contract, FieldNaming(contract.naming.fields))
        document.generate()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for hub in contract.hubs:
        channel, hub_operations = document.channel(hub, paths.get(hub.name, f"/{hub.name}"))
        channels[hub.name] = channel
        operations.update(hub_operations)
    names = ", ".join(hub.name for hub in contract.hubs)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title or names,
            "version": version,
            "description": (
                f"The SignalR hubs {names}, from a client's side: `send` operations call hub "
                "methods (the reply is the server's Completion, or its stream items); "
                "`receive` operations are the client methods the server calls. Messages are "
                "those of the SignalR JSON hub protocol. Generated by hubgen."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"hub": server},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": document.components},
    }
