"""IR built by hand, independent of contract analysis: the chat hub of design.md."""

from __future__ import annotations

from hubgen import ir

FILE = "chat/contract.py"
MODULE = "chat.contract"


def loc(line: int, column: int = 1) -> ir.SourceLocation:
    return ir.SourceLocation(file=FILE, line=line, column=column)


def ref(name: str) -> ir.PythonRef:
    return ir.PythonRef(module=MODULE, qualname=name)


STR = ir.PrimitiveType(name="str")
INT = ir.PrimitiveType(name="int")
FLOAT = ir.PrimitiveType(name="float")
BOOL = ir.PrimitiveType(name="bool")
NONE = ir.PrimitiveType(name="none")
DATETIME = ir.PrimitiveType(name="datetime")


def chat_contract() -> ir.Contract:
    message = ir.ModelDecl(
        name="ChatMessage",
        python=ref("ChatMessage"),
        doc="One message in a room.",
        location=loc(14),
        fields=[
            ir.FieldDecl(name="author", wire_name="author", type=STR, location=loc(17, 5)),
            ir.FieldDecl(name="text", wire_name="text", type=STR, location=loc(18, 5)),
            ir.FieldDecl(name="sent_at", wire_name="sentAt", type=DATETIME, location=loc(19, 5)),
            ir.FieldDecl(
                name="reactions",
                wire_name="reactions",
                type=ir.ListType(item=STR),
                has_default=True,
                location=loc(20, 5),
            ),
        ],
    )
    message_ref = ir.ModelRef(name="ChatMessage")
    client = ir.ClientDecl(
        name="ChatClient",
        python=ref("ChatClient"),
        doc="What the server may call on each connected client.",
        location=loc(23),
        methods=[
            ir.MethodDecl(
                name="message_received",
                wire_name="MessageReceived",
                parameters=[ir.ParameterDecl(name="message", type=message_ref, location=loc(26))],
                returns=NONE,
                doc="A message was posted to a room the client is in.",
                location=loc(26, 5),
            ),
            ir.MethodDecl(
                name="confirm",
                wire_name="Confirm",
                parameters=[ir.ParameterDecl(name="question", type=STR, location=loc(30))],
                returns=BOOL,
                doc="Ask the user; the answer goes back to the server (a client result).",
                location=loc(30, 5),
            ),
        ],
    )
    hub = ir.HubDecl(
        name="ChatHub",
        python=ref("ChatHub"),
        client=client,
        doc="What clients may call on the server.",
        location=loc(36),
        methods=[
            ir.MethodDecl(
                name="send",
                wire_name="Send",
                parameters=[ir.ParameterDecl(name="text", type=STR, location=loc(40))],
                returns=NONE,
                doc='Post ``text`` to everyone, as "the caller".',
                location=loc(40, 5),
            ),
            ir.MethodDecl(
                name="history",
                wire_name="History",
                parameters=[
                    ir.ParameterDecl(
                        name="limit",
                        type=INT,
                        default=ir.DefaultValue(json_value=50, python="50"),
                        location=loc(44),
                    )
                ],
                returns=ir.ListType(item=message_ref),
                doc="The latest messages, newest last.",
                location=loc(44, 5),
            ),
            ir.MethodDecl(
                name="ticker",
                wire_name="Ticker",
                kind=ir.MethodKind.STREAM,
                parameters=[ir.ParameterDecl(name="symbol", type=STR, location=loc(48))],
                returns=FLOAT,
                doc="Prices of ``symbol`` as they change.",
                location=loc(48, 5),
            ),
            ir.MethodDecl(
                name="upload",
                wire_name="Upload",
                parameters=[
                    ir.ParameterDecl(name="lines", type=STR, stream=True, location=loc(52))
                ],
                returns=INT,
                doc="Store uploaded lines; returns how many arrived.",
                location=loc(52, 5),
            ),
        ],
    )
    return ir.Contract(modules=[MODULE], hubs=[hub], models=[message])
