"""Every code block of README.md and docs/*.md is checked by what it is, or
marked ``<!-- snippet: unchecked: REASON -->``; an unmarked block nothing
checks fails here, so no new snippet slips in unchecked.

Here: Python programs are run; TOML is parsed, and ``[tool.hubgen]`` loaded by
hubgen's configuration loader; shell commands (blocks, and inline commands in
the text) are checked against what exists (tests/docs/commands.py);
contract-error output is held to the analyzer's format and codes. A
document's project (blocks naming their file: the README's contract,
configuration, server and client) and TypeScript blocks are built, type-checked
and run by test_readme.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hubgen.config import load_config
from hubgen.contracts import ErrorCode
from tests.docs.commands import check_shell
from tests.docs.project import hubgen_table, is_config_fragment, replace_tables
from tests.docs.snippets import (
    DOCUMENTS,
    ROOT,
    InlineCommand,
    Snippet,
    all_inline_commands,
    all_snippets,
    parse,
    project_files,
)

SNIPPETS = all_snippets()
_ERROR_LINE = re.compile(
    r"^(?:[\w./-]+\.py:\d+:\d+: )?(?P<code>HG\d{3}) \S.*$",
)
_CODES = {code.value for code in ErrorCode}


def _documents_with_a_project() -> set[Path]:
    return {document for document in DOCUMENTS if project_files(document)}


def _is_contract_error_output(snippet: Snippet) -> bool:
    lines = snippet.text.strip().splitlines()
    return bool(lines) and all(_ERROR_LINE.match(line) for line in lines)


def how_checked(snippet: Snippet) -> str | None:
    """Which test checks the block, or None if none does."""
    if snippet.file is not None:
        return "test_readme.py (the document's project)"
    if snippet.kind in {"python", "toml", "sh"}:
        return "test_snippets.py"
    if snippet.kind == "ts" and snippet.document in _documents_with_a_project():
        return "test_readme.py (compiled against the project's generated package)"
    if snippet.kind == "output" and _is_contract_error_output(snippet):
        return "test_snippets.py (contract error output)"
    return None


def _ids(snippets: list[Snippet]) -> list[str]:
    return [snippet.where for snippet in snippets]


def _checked(kind: str) -> list[Snippet]:
    return [s for s in SNIPPETS if s.kind == kind and s.file is None and s.unchecked is None]


def test_the_documents_have_snippets_and_parse() -> None:
    assert len(SNIPPETS) > 20
    problems = [problem for document in DOCUMENTS for problem in parse(document)[2]]
    assert problems == []


def test_every_snippet_is_checked_or_marked_with_a_reason() -> None:
    unchecked = [
        f"{s.where}: a {s.kind or 'plain'} block nothing checks: make it checkable, or put "
        "<!-- snippet: unchecked: REASON --> on the line before its fence"
        for s in SNIPPETS
        if s.unchecked is None and how_checked(s) is None
    ]
    assert unchecked == []
    bad = [
        f"{s.where}: {s.directive!r}"
        for s in SNIPPETS
        if s.directive is not None
        and not (s.unchecked or (s.directive.startswith("given:") and s.given.strip()))
    ]
    assert bad == [], "a directive is 'unchecked: REASON' or 'given: CODE'"


def test_the_checker_refuses_an_unmarked_block_it_cannot_check(tmp_path: Path) -> None:
    document = tmp_path / "new.md"
    document.write_text(
        "# New\n\n```\nsome output\n```\n\n<!-- snippet: unchecked: a diagram -->\n"
        "```\nA --> B\n```\n\n```ruby\nputs 1\n```\n"
    )
    snippets = parse(document)[0]
    assert [how_checked(s) is None and s.unchecked is None for s in snippets] == [
        True,
        False,
        True,
    ]
    assert snippets[1].unchecked == "a diagram"


@pytest.mark.parametrize("snippet", _checked("python"), ids=_ids(_checked("python")))
def test_python_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(snippet.given + snippet.text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{snippet.where}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("snippet", _checked("toml"), ids=_ids(_checked("toml")))
def test_toml_snippet_parses_and_hubgen_loads_it(snippet: Snippet, tmp_path: Path) -> None:
    data = tomllib.loads(snippet.text)
    table = hubgen_table(data)
    if table is None:
        return  # TOML, and nothing of hubgen's: parsing is the check
    text = snippet.text
    if is_config_fragment(snippet):
        # a refinement of the document's project configuration
        base = project_files(snippet.document).get("pyproject.toml")
        assert base is not None, f"{snippet.where}: a [tool.hubgen.*] fragment without a project"
        text = replace_tables(base, snippet.text)
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.contracts == hubgen_table(tomllib.loads(text))["contracts"]  # type: ignore[index]


@pytest.mark.parametrize("snippet", _checked("sh"), ids=_ids(_checked("sh")))
def test_shell_snippet_names_what_exists(snippet: Snippet) -> None:
    assert check_shell(snippet.text) == [], snippet.where


INLINE = all_inline_commands()


@pytest.mark.parametrize("command", INLINE, ids=[c.where for c in INLINE])
def test_inline_command_names_what_exists(command: InlineCommand) -> None:
    assert check_shell(command.text) == [], command.where


_OUTPUT = [s for s in SNIPPETS if s.kind == "output" and s.unchecked is None and how_checked(s)]


@pytest.mark.parametrize("snippet", _OUTPUT, ids=_ids(_OUTPUT))
def test_contract_error_output_has_the_analyzer_s_form(snippet: Snippet) -> None:
    section = re.match(r"(HG\d{3})$", snippet.heading)
    for line in snippet.text.strip().splitlines():
        match = _ERROR_LINE.match(line)
        assert match is not None, f"{snippet.where}: not `file:line:col: HGnnn message`: {line}"
        assert match["code"] in _CODES, f"{snippet.where}: no such code {match['code']}"
        if section is not None:
            assert match["code"] == section[1], f"{snippet.where}: under {snippet.heading}"


def test_shell_checks_catch_what_the_readme_got_wrong() -> None:
    """The class of mistakes: a package name that is not on the index, zsh
    patterns, scripts, folders, subcommands and flags that do not exist."""
    assert check_shell("pip install hubgen[server]") == [
        "'[' in 'pip install hubgen[server]': quote the word (zsh)",
        "']' in 'pip install hubgen[server]': quote the word (zsh)",
        "`pip install hubgen[server]`: 'hubgen[server]' is a name on the package index, "
        "where hubgen is not yet: install from a checkout ('.[server]')",
    ]
    assert check_shell("pip install '.[server]'") == []
    assert check_shell("hubgen inspect > old.json") == []  # a redirection is no argument
    assert check_shell("pip install '.[servers]'") == [
        "`pip install .[servers]`: hubgen has no extra 'servers'"
    ]
    assert check_shell("scripts/tests")[0].startswith("`scripts/tests`: scripts/tests is not")
    assert check_shell("cd examples/chatter")[0].startswith("`cd examples/chatter`: no folder")
    assert "invalid choice: 'generat'" in check_shell("hubgen generat")[0]
    assert "unrecognized arguments: --chek" in check_shell("hubgen generate --chek")[0]
    assert check_shell("uvicorn chat.server:app --ws-per-message-deflat false") == [
        "`uvicorn chat.server:app --ws-per-message-deflat false`: no option "
        "--ws-per-message-deflat in `" + sys.executable + " -m uvicorn --help`"
    ]
    assert check_shell("uvicorn app:app --ws hubgen.server.wsprotocol:HubWebSocketProtocol") == []
    assert check_shell("uvicorn app:app --ws=hubgen.server.wsprotocol:HubWebsocketProtocol") == [
        "`uvicorn app:app --ws=hubgen.server.wsprotocol:HubWebsocketProtocol`: --ws "
        "'hubgen.server.wsprotocol:HubWebsocketProtocol' does not import: module "
        "'hubgen.server.wsprotocol' has no attribute 'HubWebsocketProtocol'"
    ]
    assert check_shell("cd examples/chat && ../../.venv/bin/python -m chat.client --usr a") == [
        "`../../.venv/bin/python -m chat.client --usr a`: no option --usr in `"
        + sys.executable
        + " -m chat.client --help`"
    ]
    assert check_shell("cd web/chat-client && npm run bild")[0].startswith(
        "`npm run bild`: no script 'bild'"
    )
    assert ROOT.name  # the checks above ran from the checkout
