"""The document describes the wire: every message a real hubgen server sends,
and every message it accepts, fits the payload schema the document gives it;
messages the schemas refuse, the server refuses too.

The echo hub runs on a real server (uvicorn on 127.0.0.1), and a raw client
speaks the JSON protocol by hand (tests/support/raw.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hubgen.asyncapi import asyncapi
from hubgen.contracts import analyze
from tests.apps.echo.hub import create_app
from tests.asyncapi.support import payload_validator, spec_errors
from tests.support.raw import RawClient
from tests.support.server import serve

ROOT = Path(__file__).resolve().parents[2]


@cache
def document() -> dict[str, Any]:
    contract = analyze(["tests.apps.echo.contract"], root=ROOT, python_path=[ROOT])
    return asyncapi(contract, python_path=[ROOT], paths={"EchoHub": "/echo"})


def problems(message: str, frame: dict[str, Any]) -> list[str]:
    """What the payload schema of ``message`` finds wrong with ``frame``."""
    validator = payload_validator(document(), "EchoHub", message)
    return [error.message for error in validator.iter_errors(frame)]


def fits(message: str, frame: dict[str, Any]) -> None:
    assert problems(message, frame) == [], frame


@pytest.fixture
async def client() -> AsyncIterator[RawClient]:
    async with serve(create_app()) as url:
        raw = await RawClient.open(url, "/echo")
        try:
            yield raw
        finally:
            await raw.close()


def test_the_document_is_valid() -> None:
    assert spec_errors(document()) == []
    fits("protocol.handshake", {"protocol": "json", "version": 1})


async def test_invocations_and_their_completions(client: RawClient) -> None:
    # a Sample (every type of the codec table) as the server writes it...
    made = await client.call("MakeSample")
    fits("hub.make_sample.completion", made)
    # ...sent back as an argument, and echoed
    call_id = client.new_id()
    frame = {"type": 1, "invocationId": call_id, "target": "EchoSample"}
    frame["arguments"] = [made["result"]]
    fits("hub.echo_sample", frame)
    await client.send(frame)
    echoed = await client.expect(3, invocation_id=call_id)
    fits("hub.echo_sample.completion", echoed)
    assert echoed["result"] == made["result"]
    # a void method's Completion carries a null result
    joined = await client.call("Join", "group")
    assert joined == {"type": 3, "invocationId": joined["invocationId"], "result": None}
    fits("hub.join.completion", joined)
    # a HubError is an error Completion
    failed = await client.call("Fail", "no")
    assert "error" in failed
    fits("hub.fail.completion", failed)
    # a default left out
    added = await client.call("Add", 1)
    assert added["result"] == 11
    fits("hub.add", {"type": 1, "invocationId": "1", "target": "Add", "arguments": [1]})
    fits("hub.add.completion", added)


async def test_streams_both_ways(client: RawClient) -> None:
    stream_id = client.new_id()
    frame = {"type": 4, "invocationId": stream_id, "target": "Counter", "arguments": [3]}
    fits("hub.counter", frame)
    await client.send(frame)
    for expected in range(3):
        item = await client.expect(2, invocation_id=stream_id)
        assert item["item"] == expected
        fits("hub.counter.item", item)
    fits("hub.counter.completion", await client.expect(3, invocation_id=stream_id))

    upload_id = client.new_id()
    upload = {
        "type": 1,
        "invocationId": upload_id,
        "target": "SumUpload",
        "arguments": [],
        "streamIds": ["s1"],
    }
    fits("hub.sum_upload", upload)
    await client.send(upload)
    for number in (4, 5):
        item = {"type": 2, "invocationId": "s1", "item": number}
        fits("hub.sum_upload.numbers.item", item)
        await client.send(item)
    end = {"type": 3, "invocationId": "s1"}
    fits("hub.sum_upload.numbers.completion", end)
    await client.send(end)
    total = await client.expect(3, invocation_id=upload_id)
    assert total["result"] == 9
    fits("hub.sum_upload.completion", total)


async def test_client_methods_and_client_results(client: RawClient) -> None:
    done = await client.call("SendCaller", "hello")
    fits("hub.send_caller.completion", done)
    fits("client.message", await client.expect(1))

    item = {"name": "pen", "quantity": 2, "color": "green", "payload": "AAE="}
    await client.call("SendItemToAll", item)
    pushed = await client.expect(1)
    assert pushed["target"] == "ItemReceived"
    fits("client.item_received", pushed)

    asked = await client.invoke("AskCaller", "how many?")
    question = await client.expect(1)
    assert question["target"] == "Ask"
    fits("client.ask", question)
    answer = {"type": 3, "invocationId": question["invocationId"], "result": 42}
    fits("client.ask.completion", answer)
    await client.send(answer)
    result = await client.expect(3, invocation_id=asked)
    assert result["result"] == 42
    fits("hub.ask_caller.completion", result)


@pytest.mark.parametrize(
    ("method", "target", "arguments"),
    [
        ("add", "Add", ["x"]),  # not an integer
        ("add", "Add", [1, 2, 3]),  # one argument too many
        ("add", "Add", []),  # a required one missing
        ("bounded", "Bounded", [11]),  # Field(le=10)
        ("echo_item", "EchoItem", [{"quantity": 1}]),  # the model's required 'name' missing
        ("echo_blob", "EchoBlob", ["not base64!"]),
    ],
)
async def test_what_the_schema_refuses_the_server_refuses(
    client: RawClient, method: str, target: str, arguments: list[Any]
) -> None:
    call_id = client.new_id()
    frame = {"type": 1, "invocationId": call_id, "target": target, "arguments": arguments}
    assert problems(f"hub.{method}", frame) != []
    await client.send(frame)
    reply = await client.expect(3, invocation_id=call_id)
    assert "error" in reply
    assert "result" not in reply
