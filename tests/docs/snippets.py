"""The code in the project's markdown: fenced blocks and inline commands.

Every fenced block of README.md and docs/*.md is checked by what it is
(tests/docs/test_snippets.py, test_readme.py). A block can carry a directive,
an HTML comment on the line right before its fence:

* ``<!-- snippet: unchecked: REASON -->``: not checked, and why;
* ``<!-- snippet: given: CODE -->``: checked with CODE put before it (names the
  snippet takes from its surroundings, e.g. ``declare function lines(): ...``).

A block whose first line names a file (``# chat/server.py``, ``# pyproject.toml``)
is part of that document's *project*: the blocks naming the same file are
joined, in order, into it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(?P<text>.*?)\s*-->\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")
_FILE = re.compile(r"^(?:#|//)\s*(?P<path>[\w.-]+(?:/[\w.-]+)*\.(?:py|toml|ts))\s*$")
_INLINE = re.compile(r"(?<!`)`(?P<code>[^`\n]+)`(?!`)")
#: Inline code that is a command to type, by how it starts.
_COMMAND_START = re.compile(
    r"^(?:scripts/|examples/chat/web/build|hubgen [a-z]|pip install |uvicorn |cd "
    r"|python3? -m |(?:\.\./)*\.venv/bin/)"
)

LANGUAGES = {
    "python": "python",
    "py": "python",
    "toml": "toml",
    "sh": "sh",
    "shell": "sh",
    "bash": "sh",
    "ts": "ts",
    "typescript": "ts",
    "": "output",
    "text": "output",
}


@dataclass(frozen=True)
class Snippet:
    """One fenced block of a markdown document."""

    document: Path
    line: int  #: of the opening fence, from 1
    info: str  #: the fence's info string
    text: str  #: the content, without the fence's indentation
    directive: str | None  #: the ``<!-- snippet: ... -->`` right before the fence
    heading: str  #: the nearest heading above

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        """python, toml, sh, ts, output; or the info string when unknown."""
        language = self.info.split()[0].lower() if self.info.strip() else ""
        return LANGUAGES.get(language, language)

    @cached_property
    def file(self) -> str | None:
        """The project file the block belongs to, named on its first line."""
        first = self.text.split("\n", 1)[0]
        match = _FILE.match(first)
        return match["path"] if match else None

    @property
    def unchecked(self) -> str | None:
        """The reason given for not checking it, if it is marked so."""
        if self.directive is not None and self.directive.startswith("unchecked:"):
            return self.directive.removeprefix("unchecked:").strip()
        return None

    @property
    def given(self) -> str:
        """Code the block is checked with, before it (``given:``)."""
        if self.directive is not None and self.directive.startswith("given:"):
            return self.directive.removeprefix("given:").strip() + "\n"
        return ""


@dataclass(frozen=True)
class InlineCommand:
    """A command written in running text, as inline code."""

    document: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def _dedent(lines: list[str], indent: str) -> str:
    return "\n".join(line.removeprefix(indent) for line in lines) + "\n"


def parse(document: Path) -> tuple[list[Snippet], list[InlineCommand], list[str]]:
    """The document's fenced blocks, its inline commands, and its problems
    (an unclosed fence, a directive that is not right before a fence)."""
    lines = document.read_text(encoding="utf-8").splitlines()
    snippets: list[Snippet] = []
    commands: list[InlineCommand] = []
    problems: list[str] = []
    heading = ""
    index = 0
    while index < len(lines):
        text = lines[index]
        fence = _FENCE.match(text)
        if fence is None:
            if (match := _HEADING.match(text)) is not None:
                heading = match["title"]
            elif _DIRECTIVE.match(text):
                following = lines[index + 1] if index + 1 < len(lines) else ""
                if not _FENCE.match(following):
                    problems.append(
                        f"{document.name}:{index + 1}: a snippet directive must be on the "
                        "line right before a fence"
                    )
            else:
                commands += [
                    InlineCommand(document, index + 1, match["code"])
                    for match in _INLINE.finditer(text)
                    if _COMMAND_START.match(match["code"])
                ]
            index += 1
            continue
        start = index
        closing = re.compile(rf"^[ \t]*{fence['fence']}`*\s*$")
        index += 1
        while index < len(lines) and not closing.match(lines[index]):
            index += 1
        if index == len(lines):
            problems.append(f"{document.name}:{start + 1}: the fence is never closed")
            break
        directive = _DIRECTIVE.match(lines[start - 1]) if start > 0 else None
        snippets.append(
            Snippet(
                document=document,
                line=start + 1,
                info=fence["info"].strip(),
                text=_dedent(lines[start + 1 : index], fence["indent"]),
                directive=directive["text"] if directive else None,
                heading=heading,
            )
        )
        index += 1
    return snippets, commands, problems


def all_snippets() -> list[Snippet]:
    return [snippet for document in DOCUMENTS for snippet in parse(document)[0]]


def all_inline_commands() -> list[InlineCommand]:
    return [command for document in DOCUMENTS for command in parse(document)[1]]


def project_files(document: Path) -> dict[str, str]:
    """The document's project: each named file, its blocks joined in order."""
    files: dict[str, str] = {}
    for snippet in parse(document)[0]:
        if snippet.file is not None and snippet.unchecked is None:
            joined = files.get(snippet.file)
            files[snippet.file] = snippet.text if joined is None else f"{joined}\n{snippet.text}"
    return files


def shell_commands(text: str) -> list[list[str]]:
    """The simple commands of shell text: lines (with ``\\`` continuations)
    split on ``&&``, ``||``, ``;`` and ``|``, parentheses, comments and
    redirections (``> file``) dropped."""
    commands: list[list[str]] = []
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        redirected = False  # the next word is a redirection's target, not an argument
        for token in lexer:
            if token in {"&&", "||", ";", "|", "(", ")"}:
                if current:
                    commands.append(current)
                current = []
            elif token in {">", ">>", "<", "&>"}:
                redirected = True
            elif redirected:
                redirected = False
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands


def unquoted_patterns(text: str) -> list[str]:
    """Pattern characters outside quotes (``[`` ``]`` ``*`` ``?``): zsh expands
    them and stops with "no matches found" when nothing matches."""
    found: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        quote = ""
        word_start = True
        for char in line:
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "#" and word_start:
                break  # a comment
            elif char in "[]*?":
                found.append(f"{char!r} in {line.strip()!r}")
            word_start = char.isspace()
    return found
