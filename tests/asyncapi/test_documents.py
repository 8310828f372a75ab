"""``hubgen export asyncapi`` writes valid AsyncAPI 3.0 for every contract
the project has: the chat example, the echo app and each golden case,
validated against the official schema (tests/asyncapi/spec)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.asyncapi.support import reference_errors, resolve, spec_errors

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [
    ROOT / "examples" / "chat" / "pyproject.toml",
    ROOT / "tests" / "apps" / "echo" / "hubgen.toml",
    *sorted((ROOT / "tests" / "cases").glob("*/hubgen.toml")),
]


def export(config: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "hubgen", "export", "asyncapi", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config.parent,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def chat() -> dict[str, Any]:
    return export(CONFIGS[0], "--url", "wss://chat.example.com", "--path", "ChatHub=/chat")


@pytest.mark.parametrize("config", CONFIGS, ids=[c.parent.name for c in CONFIGS])
def test_the_document_is_valid_asyncapi_3(config: Path) -> None:
    document = export(config)
    assert document["asyncapi"] == "3.0.0"
    assert spec_errors(document) == []
    assert reference_errors(document) == []
    # one operation per method and client method (plus the protocol's own)
    assert document["channels"]
    for channel, body in document["channels"].items():
        operations = [
            o
            for o in document["operations"].values()
            if o["channel"]["$ref"] == f"#/channels/{channel}"
        ]
        assert {o["action"] for o in operations} == {"send", "receive"}
        assert body["bindings"]["ws"]["bindingVersion"] == "0.1.0"


def test_the_validator_refuses_what_the_specification_forbids(chat: dict[str, Any]) -> None:
    """The checks above are real: a document broken in each of these ways fails."""
    broken = copy.deepcopy(chat)
    broken["operations"]["ChatHub.hub.send"]["action"] = "publish"  # AsyncAPI 2's word
    del broken["info"]["version"]
    broken["channels"]["ChatHub"]["messages"]["hub.send"]["payload"]["type"] = "tuple"
    errors = spec_errors(broken)
    assert len(errors) >= 3, errors
    dangling = copy.deepcopy(chat)
    dangling["operations"]["ChatHub.hub.send"]["messages"] = [
        {"$ref": "#/channels/ChatHub/messages/Nope"}
    ]
    assert reference_errors(dangling) == [
        "#/operations/ChatHub.hub.send/messages/0: "
        "#/channels/ChatHub/messages/Nope does not resolve"
    ]
    elsewhere = copy.deepcopy(chat)
    elsewhere["operations"]["ChatHub.hub.send"]["messages"] = [
        {"$ref": "#/components/schemas/ChatMessage"}
    ]
    assert reference_errors(elsewhere) == [
        "ChatHub.hub.send: #/components/schemas/ChatMessage is not a message of #/channels/ChatHub"
    ]


def test_the_chat_document(chat: dict[str, Any]) -> None:
    assert chat["servers"]["hub"]["host"] == "chat.example.com"
    assert chat["servers"]["hub"]["protocol"] == "wss"
    assert chat["info"]["version"] == "0.1.0"  # the example's [project] version
    channel = chat["channels"]["ChatHub"]
    assert channel["address"] == "/chat"
    assert channel["description"].startswith("A chat with rooms and private messages")

    # a hub method: send, with the Completion as its reply
    send = chat["operations"]["ChatHub.hub.send"]
    assert send["action"] == "send"
    assert send["messages"] == [{"$ref": "#/channels/ChatHub/messages/hub.send"}]
    assert send["reply"]["messages"] == [
        {"$ref": "#/channels/ChatHub/messages/hub.send.completion"}
    ]
    invocation = channel["messages"]["hub.send"]["payload"]
    assert invocation["properties"]["type"] == {"const": 1}
    assert invocation["properties"]["target"]["const"] == "Send"
    arguments = invocation["properties"]["arguments"]
    # the parameters in order, with their constraints (Text is 1 to 2000 characters)
    assert arguments["items"] == [
        {"type": "string", "title": "room"},
        {"type": "string", "minLength": 1, "maxLength": 2000, "title": "text"},
    ]
    assert (arguments["minItems"], arguments["maxItems"], arguments["additionalItems"]) == (
        2,
        2,
        False,
    )
    history = channel["messages"]["hub.history"]["payload"]["properties"]["arguments"]
    assert (history["minItems"], history["maxItems"]) == (1, 2)  # limit has a default
    assert history["items"][1] == {"type": "integer", "title": "limit", "default": 50}
    result = resolve(chat, "#/channels/ChatHub/messages/hub.send.completion/payload/oneOf/0")
    assert result["properties"]["result"] == {"$ref": "#/components/schemas/ChatMessage"}

    # a client method: receive
    received = chat["operations"]["ChatHub.client.message_received"]
    assert received["action"] == "receive"
    assert "reply" not in received
    assert received["description"] == "A message was posted to a room you are in."

    # models under their wire names, from pydantic's JSON Schema
    message = chat["components"]["schemas"]["ChatMessage"]
    assert message["title"] == "ChatMessage"
    assert message["required"] == ["id", "room", "author", "text", "sentAt"]
    assert message["properties"]["sentAt"] == {"format": "date-time", "type": "string"}
    assert message["properties"]["id"] == {"format": "uuid", "type": "string"}


def test_streams_client_results_and_the_wire_forms() -> None:
    echo = export(CONFIGS[1])
    messages = echo["channels"]["EchoHub"]["messages"]
    # a server-to-client stream: StreamInvocation, then items and an end
    counter = echo["operations"]["EchoHub.hub.counter"]
    assert messages["hub.counter"]["payload"]["properties"]["type"] == {"const": 4}
    assert [m["$ref"].rsplit("/", 1)[1] for m in counter["reply"]["messages"]] == [
        "hub.counter.item",
        "hub.counter.completion",
    ]
    assert messages["hub.counter.item"]["payload"]["properties"]["item"] == {"type": "integer"}
    # a client-to-server stream: streamIds, and the items the client sends
    upload = messages["hub.sum_upload"]["payload"]
    assert "streamIds" in upload["required"]
    assert upload["properties"]["streamIds"]["minItems"] == 1
    assert upload["properties"]["arguments"]["maxItems"] == 0
    assert echo["operations"]["EchoHub.hub.sum_upload.numbers"]["action"] == "send"
    assert "EchoHub.protocol.cancelInvocation" in echo["operations"]
    # a client result: the server's invocation has an id, the client replies
    ask = echo["operations"]["EchoHub.client.ask"]
    assert ask["reply"]["messages"] == [
        {"$ref": "#/channels/EchoHub/messages/client.ask.completion"}
    ]
    assert "invocationId" in messages["client.ask"]["payload"]["required"]
    assert "invocationId" not in messages["client.message"]["payload"]["required"]
    # wire forms: bytes as base64, an alias kept, a tuple in draft 07's spelling
    sample = echo["components"]["schemas"]["Sample"]["properties"]
    assert sample["blob"]["contentEncoding"] == "base64"
    assert re.match(sample["blob"]["pattern"], "AAE=")
    assert not re.match(sample["blob"]["pattern"], "AAE")  # padding is required
    assert "nick_name" in sample
    assert "tagMap" in sample
    assert echo["components"]["schemas"]["Sample"]["description"] == (
        "One field of every type in the codec table (docs/codecs.md)."
    )


def test_any_wire_name_makes_a_valid_document(tmp_path: Path) -> None:
    """Wire names may hold any printable character; keys are made of Python
    names (so refs need no escaping), and the target is the exact wire name."""
    (tmp_path / "odd_contract.py").write_text(
        "from __future__ import annotations\n"
        "from typing import Protocol\n"
        "import hubgen\n\n"
        "class Client(Protocol):\n"
        '    @hubgen.method(name="on: news/v2")\n'
        "    async def news(self, text: str) -> None: ...\n\n"
        "@hubgen.hub(client=Client)\n"
        "class Hub(Protocol):\n"
        '    @hubgen.method(name="post message/v2 ~x")\n'
        "    async def post(self, text: str) -> None: ...\n"
        '    @hubgen.method(name="handshake")\n'
        "    async def greet(self) -> None: ...\n",
        encoding="utf-8",
    )
    config = tmp_path / "hubgen.toml"
    config.write_text('contracts = ["odd_contract"]\npython-path = ["."]\n', encoding="utf-8")
    document = export(config)
    assert spec_errors(document) == []
    assert reference_errors(document) == []
    messages = document["channels"]["Hub"]["messages"]
    assert messages["hub.post"]["payload"]["properties"]["target"]["const"] == "post message/v2 ~x"
    assert messages["client.news"]["payload"]["properties"]["target"]["const"] == "on: news/v2"
    # a method named like a protocol message is a message of its own
    assert messages["hub.greet"]["payload"]["properties"]["target"]["const"] == "handshake"
    assert messages["protocol.handshake"]["payload"]["properties"]["protocol"] == {"const": "json"}


def test_bad_options(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "hubgen",
                "export",
                "asyncapi",
                "--config",
                str(CONFIGS[0]),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )

    for args, message in [
        (("--path", "NoHub=/x"), "hubgen: no hub named 'NoHub' in the contract"),
        (("--path", "ChatHub"), "hubgen: --path 'ChatHub': write HUB=PATH, e.g. ChatHub=/chat"),
        (("--path", "ChatHub=chat"), "hubgen: the path of ChatHub must start with '/': 'chat'"),
        (
            ("--url", "localhost:8000"),
            "hubgen: 'localhost:8000' is not a server URL like ws://localhost:8000 or wss://chat.example.com",
        ),
    ]:
        result = run(*args)
        assert (result.returncode, result.stdout, result.stderr.strip()) == (2, "", message)
