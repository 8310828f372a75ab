"""Every rule of ``hubgen diff``, each with a pair of small contracts.

A case is an old and a new contract and the complete list of changes the
diff must report between them: rule, subject, and whether it is breaking
for old clients against the new server (``old-clients``) and for new
clients against the old server (``old-server``). ``True``/``False`` hold
over both protocols; a ``(json, messagepack)`` pair where they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from hubgen.compat import RULES, Protocol, Scenario
from hubgen.ir import NamingDecl
from tests.diff.support import changes

B = True  # breaking
S = False  # safe

Expected = bool | tuple[bool, bool]


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    expected: list[tuple[str, str, Expected, Expected]]
    old_naming: NamingDecl | None = None
    new_naming: NamingDecl | None = None


def hub(methods: str, client: str = "async def ping(self) -> None: ...", models: str = "") -> str:
    """A contract: ``models``, then the client ``Client`` and the hub ``Hub``."""
    body = "\n".join(f"    {line}" for line in methods.strip().splitlines())
    client_body = "\n".join(f"    {line}" for line in client.strip().splitlines())
    return (
        f"{models}\n\nclass Client(Protocol):\n{client_body}\n\n\n"
        f"@hubgen.hub(client=Client)\nclass Hub(Protocol):\n{body}\n"
    )


SEND = "async def send(self, room: str, text: str) -> None: ..."
HISTORY = "async def history(self, room: str, limit: int = 50) -> list[str]: ..."
MESSAGE = """
class Message(BaseModel):
    text: str
    count: int
"""
COLOR = """
class Color(Enum):
    RED = "red"
    GREEN = "green"
"""


def second_hub(name: str) -> str:
    return f"""
class {name}Callbacks(Protocol):
    async def ping(self) -> None: ...


@hubgen.hub(client={name}Callbacks)
class {name}(Protocol):
    async def call(self) -> None: ...
"""


CASES = [
    # -- hubs
    Case(
        "hub-added",
        hub(SEND),
        hub(SEND) + second_hub("Other"),
        [("hub-added", "Other", S, B)],
    ),
    Case(
        "hub-removed",
        hub(SEND) + second_hub("Other"),
        hub(SEND),
        [("hub-removed", "Other", B, S)],
    ),
    # -- methods
    Case(
        "method-added",
        hub(SEND),
        hub(SEND + "\n" + HISTORY),
        [("method-added", "Hub.history", S, B)],
    ),
    Case(
        "method-removed",
        hub(SEND + "\n" + HISTORY),
        hub(SEND),
        [("method-removed", "Hub.history", B, S)],
    ),
    Case(
        "method-renamed",
        hub(SEND),
        hub('@hubgen.method(name="Post")\n' + SEND),
        [("method-renamed", "Hub.send", B, B)],
    ),
    Case(
        "method-renamed/naming-policy",
        hub("async def send_message(self, text: str) -> None: ..."),
        hub("async def send_message(self, text: str) -> None: ..."),
        [
            ("method-renamed", "Hub.send_message", B, B),
            ("method-wire-case-changed", "Client.ping", S, S),
        ],
        new_naming=NamingDecl(methods="preserve"),
    ),
    Case(
        "method-renamed/client",
        hub(SEND, client="async def received(self, text: str) -> None: ..."),
        hub(
            SEND,
            client='@hubgen.method(name="Got")\nasync def received(self, text: str) -> None: ...',
        ),
        [("method-renamed", "Client.received", B, B)],
    ),
    Case(
        "method-wire-case-changed",
        hub(SEND),
        hub('@hubgen.method(name="SEND")\n' + SEND),
        [("method-wire-case-changed", "Hub.send", S, S)],
    ),
    Case(
        "method-wire-case-changed/naming-policy",
        hub(SEND),
        hub(SEND),
        [
            ("method-wire-case-changed", "Hub.send", S, S),
            ("method-wire-case-changed", "Client.ping", S, S),
        ],
        new_naming=NamingDecl(methods="preserve"),
    ),
    Case(
        "method-kind-changed",
        hub("async def numbers(self, n: int) -> list[int]: ..."),
        hub("def numbers(self, n: int) -> AsyncIterator[int]: ..."),
        [("method-kind-changed", "Hub.numbers", B, B)],
    ),
    Case(
        "method-kind-changed/back",
        hub("def numbers(self, n: int) -> AsyncIterator[int]: ..."),
        hub("async def numbers(self, n: int) -> list[int]: ..."),
        [("method-kind-changed", "Hub.numbers", B, B)],
    ),
    # -- client methods
    Case(
        "client-method-added",
        hub(SEND),
        hub(SEND, client="async def ping(self) -> None: ...\nasync def bye(self) -> None: ..."),
        [("client-method-added", "Client.bye", S, S)],
    ),
    Case(
        "client-method-added/with-a-result",
        hub(SEND),
        hub(SEND, client="async def ping(self) -> None: ...\nasync def ask(self) -> int: ..."),
        [("client-method-added", "Client.ask", B, S)],
    ),
    Case(
        "client-method-removed",
        hub(SEND, client="async def ping(self) -> None: ...\nasync def bye(self) -> None: ..."),
        hub(SEND),
        [("client-method-removed", "Client.bye", S, S)],
    ),
    Case(
        "client-method-removed/with-a-result",
        hub(SEND, client="async def ping(self) -> None: ...\nasync def ask(self) -> int: ..."),
        hub(SEND),
        [("client-method-removed", "Client.ask", S, B)],
    ),
    Case(
        "client-result-added",
        hub(SEND, client="async def ask(self) -> None: ..."),
        hub(SEND, client="async def ask(self) -> int: ..."),
        [("client-result-added", "Client.ask", B, S)],
    ),
    Case(
        "client-result-removed",
        hub(SEND, client="async def ask(self) -> int: ..."),
        hub(SEND, client="async def ask(self) -> None: ..."),
        [("client-result-removed", "Client.ask", S, B)],
    ),
    # -- parameters
    Case(
        "parameter-added",
        hub("async def history(self, room: str) -> list[str]: ..."),
        hub(HISTORY),
        [("parameter-added", "Hub.history(limit)", S, B)],
    ),
    Case(
        "parameter-added/without-a-default",
        hub("async def history(self, room: str) -> list[str]: ..."),
        hub("async def history(self, room: str, limit: int) -> list[str]: ..."),
        [("parameter-added", "Hub.history(limit)", B, B)],
    ),
    Case(
        "parameter-added/client-method",
        hub(SEND, client="async def got(self, text: str) -> None: ..."),
        hub(SEND, client='async def got(self, text: str, room: str = "") -> None: ...'),
        # the new server sends two arguments, which old clients refuse
        [("parameter-added", "Client.got(room)", B, S)],
    ),
    Case(
        "parameter-removed",
        hub(HISTORY),
        hub("async def history(self, room: str) -> list[str]: ..."),
        [("parameter-removed", "Hub.history(limit)", B, S)],
    ),
    Case(
        "parameter-removed/required",
        hub(SEND),
        hub("async def send(self, room: str) -> None: ..."),
        [("parameter-removed", "Hub.send(text)", B, B)],
    ),
    Case(
        "parameter-moved",
        hub(SEND),
        hub("async def send(self, text: str, room: str) -> None: ..."),
        [("parameter-moved", "Hub.send", B, B)],
    ),
    Case(
        "parameter-moved/inserted-before",
        hub(HISTORY),
        hub("async def history(self, after: int, room: str, limit: int = 50) -> list[str]: ..."),
        [
            ("parameter-moved", "Hub.history", B, B),
            ("parameter-added", "Hub.history(after)", B, B),
        ],
    ),
    Case(
        "parameter-renamed",
        hub(SEND),
        hub("async def send(self, room: str, body: str) -> None: ..."),
        [("parameter-renamed", "Hub.send(body)", S, S)],
    ),
    Case(
        "parameter-type-changed",
        hub("async def scale(self, by: int) -> None: ..."),
        hub("async def scale(self, by: float) -> None: ..."),
        # old clients send an int, which a float takes; new clients may send 1.5
        [("parameter-type-changed", "Hub.scale(by)", S, B)],
    ),
    Case(
        "parameter-type-changed/client-method",
        hub(SEND, client="async def scaled(self, by: int) -> None: ..."),
        hub(SEND, client="async def scaled(self, by: float) -> None: ..."),
        # the server sends: the new one may send 1.5 to old clients
        [("parameter-type-changed", "Client.scaled(by)", B, S)],
    ),
    Case(
        "parameter-default-added",
        hub("async def history(self, room: str, limit: int) -> list[str]: ..."),
        hub(HISTORY),
        [("parameter-default-added", "Hub.history(limit)", S, S)],
    ),
    Case(
        "parameter-default-removed",
        hub(HISTORY),
        hub("async def history(self, room: str, limit: int) -> list[str]: ..."),
        [("parameter-default-removed", "Hub.history(limit)", S, S)],
    ),
    Case(
        "default-changed",
        hub(HISTORY),
        hub("async def history(self, room: str, limit: int = 20) -> list[str]: ..."),
        [("default-changed", "Hub.history(limit)", S, S)],
    ),
    Case(
        "stream-parameter-added",
        hub("async def upload(self, name: str) -> None: ..."),
        hub("async def upload(self, name: str, chunks: AsyncIterator[bytes]) -> None: ..."),
        [("stream-parameter-added", "Hub.upload(chunks)", B, B)],
    ),
    Case(
        "stream-parameter-removed",
        hub("async def upload(self, name: str, chunks: AsyncIterator[bytes]) -> None: ..."),
        hub("async def upload(self, name: str) -> None: ..."),
        [("stream-parameter-removed", "Hub.upload(chunks)", B, B)],
    ),
    Case(
        "stream-parameter-type-changed",
        hub("async def total(self, values: AsyncIterator[int]) -> float: ..."),
        hub("async def total(self, values: AsyncIterator[float]) -> float: ..."),
        [("stream-parameter-type-changed", "Hub.total(values)", S, B)],
    ),
    Case(
        "result-type-changed",
        hub("async def now(self) -> datetime: ..."),
        hub("async def now(self) -> str: ..."),
        # the new server sends any string to old clients expecting a datetime;
        # the old server's datetime reads as a string in JSON only
        [("result-type-changed", "Hub.now", B, (S, B))],
    ),
    Case(
        "result-type-changed/stream-item",
        hub("def ticks(self) -> AsyncIterator[int]: ..."),
        hub("def ticks(self) -> AsyncIterator[float]: ..."),
        [("result-type-changed", "Hub.ticks", B, S)],
    ),
    Case(
        "result-type-changed/client-result",
        hub(SEND, client="async def ask(self) -> int: ..."),
        hub(SEND, client="async def ask(self) -> float: ..."),
        # clients send the result: old clients' int fits the new server's float
        [("result-type-changed", "Client.ask", S, B)],
    ),
    Case(
        "result-type-changed/void-to-value",
        hub("async def leave(self) -> None: ..."),
        hub("async def leave(self) -> bool: ..."),
        [("result-type-changed", "Hub.leave", B, B)],
    ),
    # -- models
    Case(
        "field-added",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE + "    pinned: bool\n",
        ),
        # the model travels to the server: old clients do not send 'pinned'
        [("field-added", "Message.pinned", B, S)],
    ),
    Case(
        "field-added/with-a-default",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE + "    pinned: bool = False\n",
        ),
        [("field-added", "Message.pinned", S, S)],
    ),
    Case(
        "field-added/old-receiver-forbids-extra",
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE + '    model_config = ConfigDict(extra="forbid")\n',
        ),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE
            + '    model_config = ConfigDict(extra="forbid")\n    pinned: bool = False\n',
        ),
        # new clients send 'pinned' to the old server, whose Message forbids it
        [("field-added", "Message.pinned", S, B)],
    ),
    Case(
        "field-removed",
        hub("async def last(self) -> Message: ...", models=MESSAGE),
        hub("async def last(self) -> Message: ...", models=MESSAGE.replace("    count: int\n", "")),
        # the new server no longer sends 'count', which old clients require
        [("field-removed", "Message.count", B, S)],
    ),
    Case(
        "field-removed/both-ways",
        hub("async def echo(self, m: Message) -> Message: ...", models=MESSAGE),
        hub(
            "async def echo(self, m: Message) -> Message: ...",
            models=MESSAGE.replace("    count: int\n", ""),
        ),
        [("field-removed", "Message.count", B, B)],
    ),
    Case(
        "field-renamed",
        hub("async def last(self) -> Message: ...", models=MESSAGE),
        hub(
            "async def last(self) -> Message: ...",
            models=MESSAGE.replace("count: int", 'count: int = Field(alias="n")'),
        ),
        [("field-renamed", "Message.count", B, B)],
    ),
    Case(
        "field-renamed/naming-policy",
        hub(
            "async def last(self) -> Note: ...",
            models="class Note(BaseModel):\n    sent_at: datetime\n",
        ),
        hub(
            "async def last(self) -> Note: ...",
            models="class Note(BaseModel):\n    sent_at: datetime\n",
        ),
        [("field-renamed", "Note.sent_at", B, B)],
        new_naming=NamingDecl(fields="preserve"),
    ),
    Case(
        "field-renamed-in-python",
        hub("async def last(self) -> Message: ...", models=MESSAGE),
        hub(
            "async def last(self) -> Message: ...",
            models=MESSAGE.replace("text: str", 'body: str = Field(alias="text")'),
        ),
        [("field-renamed-in-python", "Message.body", S, S)],
    ),
    Case(
        "field-type-changed",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("count: int", "count: int | None"),
        ),
        # to the server: old clients' int fits int | None; new clients' None does not fit int
        [("field-type-changed", "Message.count", S, B)],
    ),
    Case(
        "field-type-changed/per-protocol",
        hub(
            "async def last(self) -> Note: ...",
            models="class Note(BaseModel):\n    data: bytes\n",
        ),
        hub(
            "async def last(self) -> Note: ...",
            models="class Note(BaseModel):\n    data: str\n",
        ),
        # the old server's bytes are a base64 string in JSON, binary in MessagePack
        [("field-type-changed", "Note.data", B, (S, B))],
    ),
    Case(
        "field-default-added",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("count: int", "count: int = 1"),
        ),
        # new clients may leave 'count' out; the old server requires it
        [("field-default-added", "Message.count", S, B)],
    ),
    Case(
        "field-default-added/to-clients",
        hub("async def last(self) -> Message: ...", models=MESSAGE),
        hub(
            "async def last(self) -> Message: ...",
            models=MESSAGE.replace("count: int", "count: int = 1"),
        ),
        [("field-default-added", "Message.count", S, S)],
    ),
    Case(
        "field-default-removed",
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("count: int", "count: int = 1"),
        ),
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        # old clients may leave 'count' out; the new server requires it
        [("field-default-removed", "Message.count", B, S)],
    ),
    Case(
        "default-changed/field",
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("count: int", "count: int = 1"),
        ),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("count: int", "count: int = 2"),
        ),
        [("default-changed", "Message.count", S, S)],
    ),
    Case(
        "model-extra-changed",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE + '    model_config = ConfigDict(extra="forbid")\n',
        ),
        [("model-extra-changed", "Message", S, S)],
    ),
    Case(
        "model-extra-changed/with-a-removed-field",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Message) -> None: ...",
            models=MESSAGE.replace("    count: int\n", "")
            + '    model_config = ConfigDict(extra="forbid")\n',
        ),
        # old clients still send 'count', which the new server's Message forbids;
        # new clients do not send it, and the old server requires it
        [("field-removed", "Message.count", B, B), ("model-extra-changed", "Message", B, S)],
    ),
    Case(
        "model-renamed",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Note) -> None: ...",
            models=MESSAGE.replace("class Message", "class Note"),
        ),
        # the class name is not on the wire: the fields are compared
        [("parameter-type-changed", "Hub.post(m)", S, S)],
    ),
    Case(
        "model-replaced",
        hub("async def post(self, m: Message) -> None: ...", models=MESSAGE),
        hub(
            "async def post(self, m: Note) -> None: ...",
            models="class Note(BaseModel):\n    text: str\n    count: int\n    tag: str\n",
        ),
        [("parameter-type-changed", "Hub.post(m)", B, S)],
    ),
    # -- enums
    Case(
        "enum-value-added",
        hub("async def color(self) -> Color: ...", models=COLOR),
        hub("async def color(self) -> Color: ...", models=COLOR + '    BLUE = "blue"\n'),
        # the new server may send "blue" to old clients
        [("enum-value-added", "Color.BLUE", B, S)],
    ),
    Case(
        "enum-value-added/to-the-server",
        hub("async def paint(self, c: Color) -> None: ...", models=COLOR),
        hub("async def paint(self, c: Color) -> None: ...", models=COLOR + '    BLUE = "blue"\n'),
        [("enum-value-added", "Color.BLUE", S, B)],
    ),
    Case(
        "enum-value-removed",
        hub("async def paint(self, c: Color) -> None: ...", models=COLOR),
        hub(
            "async def paint(self, c: Color) -> None: ...",
            models=COLOR.replace('    GREEN = "green"\n', ""),
        ),
        # old clients may send "green", which the new server does not know
        [("enum-value-removed", "Color.GREEN", B, S)],
    ),
    Case(
        "enum-value-removed/changed-value",
        hub("async def color(self) -> Color: ...", models=COLOR),
        hub("async def color(self) -> Color: ...", models=COLOR.replace('"green"', '"lime"')),
        [("enum-value-removed", "Color.GREEN", S, B), ("enum-value-added", "Color.GREEN", B, S)],
    ),
    Case(
        "enum-member-renamed",
        hub("async def color(self) -> Color: ...", models=COLOR),
        hub("async def color(self) -> Color: ...", models=COLOR.replace("GREEN =", "LIME =")),
        [("enum-member-renamed", "Color.LIME", S, S)],
    ),
    Case(
        "enum-used-both-ways",
        hub("async def swap(self, c: Color) -> Color: ...", models=COLOR),
        hub("async def swap(self, c: Color) -> Color: ...", models=COLOR + '    BLUE = "blue"\n'),
        [("enum-value-added", "Color.BLUE", B, B)],
    ),
    Case(
        "no-change",
        hub(SEND + "\n" + HISTORY, models=MESSAGE),
        hub(SEND + "\n" + HISTORY, models=MESSAGE),
        [],
    ),
]


def _matrix(expected: Expected) -> dict[Protocol, bool]:
    if isinstance(expected, tuple):
        return {Protocol.JSON: expected[0], Protocol.MESSAGEPACK: expected[1]}
    return dict.fromkeys(Protocol, expected)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule(case: Case, tmp_path: Path) -> None:
    found = changes(
        case.old, case.new, tmp_path, old_naming=case.old_naming, new_naming=case.new_naming
    )
    got = [
        (
            change.rule,
            change.subject,
            {p: change.verdicts[Scenario.OLD_CLIENTS][p].breaking for p in Protocol},
            {p: change.verdicts[Scenario.OLD_SERVER][p].breaking for p in Protocol},
        )
        for change in found
    ]
    want = [
        (rule, subject, _matrix(old_clients), _matrix(old_server))
        for rule, subject, old_clients, old_server in case.expected
    ]
    assert got == want, "\n".join(
        f"{c.rule} {c.subject}: {c.message}: "
        + "; ".join(
            f"{s.value}/{p.value}: {v.why}" for s, vs in c.verdicts.items() for p, v in vs.items()
        )
        for c in found
    )
    for change in found:  # every verdict says why, in one line
        for by_protocol in change.verdicts.values():
            for verdict in by_protocol.values():
                assert verdict.why
                assert "\n" not in verdict.why


def test_every_rule_has_a_case() -> None:
    covered = {rule for case in CASES for rule, *_ in case.expected}
    assert covered == set(RULES)
