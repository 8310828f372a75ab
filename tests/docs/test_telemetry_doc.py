"""docs/telemetry.md's application, built from its blocks: the greeter's
contract, hub, SDK setup, server and client (each block names its file).
Built as written, it generates, type-checks under mypy --strict, and runs:
uvicorn serves it, the client prints what the page says, and the console
exporters print the spans and metrics the page describes, the last of them
when the server is stopped with SIGTERM."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.project import build
from tests.docs.snippets import ROOT, parse

DOCUMENT = ROOT / "docs" / "telemetry.md"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build(DOCUMENT, tmp_path_factory.mktemp("telemetry") / "project")
    result = _run([str(BIN / "hubgen"), "generate"], root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_the_application_is_the_page_s_files(project: Path) -> None:
    files = {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and "generated" not in path.parts
    }
    assert files == {
        "pyproject.toml",
        "traced/__init__.py",
        "traced/contract.py",
        "traced/hub.py",
        "traced/telemetry.py",
        "traced/server.py",
        "traced/client.py",
    }


def test_the_application_type_checks(project: Path) -> None:
    (project / "mypy.ini").write_text("[mypy]\nstrict = true\nplugins = pydantic.mypy\n")
    result = _run([sys.executable, "-m", "mypy", "--no-incremental", "traced"], project)
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Run:
    client: str
    #: What the server's console exporters printed: spans, then metrics.
    exported: list[dict[str, Any]]


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporters print one after another
    (uvicorn's own lines are on stderr)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while (start := text.find("{", index)) != -1:
        value, index = decoder.raw_decode(text, start)
        found.append(value)
    return found


@pytest.fixture(scope="module")
def run(project: Path) -> Run:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "traced.server:app", "--port", str(port)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/greeter"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()
            try:
                httpx.post(f"{url}/negotiate?negotiateVersion=1", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        client = _run([sys.executable, "-m", "traced.client", url], project, timeout=60)
        assert client.returncode == 0, client.stdout + client.stderr
    finally:
        server.terminate()  # SIGTERM, as a process manager stops it
        try:
            output, errors = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, errors = server.communicate()
    assert "Application shutdown complete" in errors, errors
    # uvicorn logs its access lines to stdout: skip to the exporters' JSON
    return Run(client.stdout, _json_objects(output))


def _spans(run: Run) -> dict[str, list[dict[str, Any]]]:
    spans: dict[str, list[dict[str, Any]]] = {}
    for item in run.exported:
        if "kind" in item:
            spans.setdefault(item["name"], []).append(item)
    return spans


def _metrics(run: Run) -> dict[str, dict[str, Any]]:
    """hubgen's metrics in the last export (the one at shutdown), by name."""
    exports = [item for item in run.exported if "resource_metrics" in item]
    assert exports, "no metrics were exported"
    return {
        metric["name"]: metric
        for resource in exports[-1]["resource_metrics"]
        for scope in resource["scope_metrics"]
        if scope["scope"]["name"] == "hubgen.server"
        for metric in scope["metrics"]
    }


def _points(metric: dict[str, Any]) -> dict[frozenset[tuple[str, Any]], dict[str, Any]]:
    return {frozenset(p["attributes"].items()): p for p in metric["data"]["data_points"]}


def test_the_client_prints_what_the_page_says(run: Run) -> None:
    printed = [
        s
        for s in parse(DOCUMENT)[0]
        if s.kind == "output" and s.text.startswith("Hello") and s.unchecked
    ]
    assert len(printed) == 1
    assert run.client == printed[0].text


def test_the_server_prints_the_spans_the_page_shows(run: Run) -> None:
    spans = _spans(run)
    assert set(spans) == {
        "GreeterHub/on_connected",
        "GreeterHub/Greet",
        "compose greeting",
        "GreeterHub/Countdown",
        "GreeterHub/on_disconnected",
    }
    greeted, refused = spans["GreeterHub/Greet"]
    # the page's excerpt, up to where it is cut short, is the refused call's span
    excerpt = next(
        s.text for s in parse(DOCUMENT)[0] if s.kind == "output" and '"name": "GreeterHub' in s.text
    )
    shown = json.loads(excerpt.split('    "events"')[0].rstrip().rstrip(",") + "\n}")
    connection_id = refused["attributes"]["signalr.connection.id"]
    assert re.fullmatch(r"[\w-]{22}", connection_id)
    shown["attributes"]["signalr.connection.id"] = connection_id
    assert {key: refused[key] for key in shown} == shown
    assert [event["name"] for event in refused["events"]] == ["exception"]
    # the span the method starts is the call's child; the successful call's status is unset
    (composed,) = spans["compose greeting"]
    assert composed["parent_id"] == greeted["context"]["span_id"]
    assert greeted["status"] == {"status_code": "UNSET"}
    (countdown,) = spans["GreeterHub/Countdown"]
    assert countdown["kind"] == "SpanKind.SERVER"
    assert countdown["attributes"]["rpc.method"] == "Countdown"
    for name in ("GreeterHub/on_connected", "GreeterHub/on_disconnected"):
        (span,) = spans[name]
        assert span["kind"] == "SpanKind.INTERNAL"
        assert span["attributes"]["signalr.transport"] == "web_sockets"


def test_the_server_prints_the_metrics_the_page_lists(run: Run) -> None:
    metrics = _metrics(run)
    text = DOCUMENT.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(signalr\.server\.[\w.]+)` \|", text, re.MULTILINE))
    assert set(metrics) == listed
    web_sockets = {("signalr.transport", "web_sockets")}
    (active,) = _points(metrics["signalr.server.active_connections"]).items()
    assert active[0] == web_sockets
    assert active[1]["value"] == 0  # the client has gone
    (closed,) = _points(metrics["signalr.server.connection.duration"]).items()
    assert closed[0] == {*web_sockets, ("signalr.connection.status", "normal_closure")}
    assert closed[1]["count"] == 1
    assert closed[1]["explicit_bounds"][0] == 0.01
    assert closed[1]["explicit_bounds"][-1] == 300

    def call(method: str, **more: str) -> frozenset[tuple[str, str]]:
        attributes = {"rpc.system": "signalr", "rpc.service": "GreeterHub", "rpc.method": method}
        return frozenset({**attributes, **more}.items())

    refusal = {"error.type": "hubgen.errors.HubError"}
    calls = _points(metrics["signalr.server.invocation.duration"])
    assert {key: point["count"] for key, point in calls.items()} == {
        call("Greet"): 1,
        call("Greet", **refusal): 1,
        call("Countdown"): 1,
    }
    errors = _points(metrics["signalr.server.invocation.errors"])
    assert {key: point["value"] for key, point in errors.items()} == {call("Greet", **refusal): 1}
