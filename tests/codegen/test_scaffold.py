"""hubgen scaffold: an implementation skeleton, grown without touching user code."""

from __future__ import annotations

import difflib
from pathlib import Path

from .goldens import hubgen, prepare
from .support import mypy_problems, ruff_problems

HUB = "chat/hub.py"

GROWTH = '''

class Owner(BaseModel):
    name: str


@hubgen.hub(client=ChatClient)
class ChatHub(Protocol):
    """What clients may call on the server."""

    async def rooms(self, owner: Owner, *, limit: int = 5) -> list[str]:
        """Rooms ``owner`` created."""
        ...

    def owners(self) -> AsyncIterator[Owner]: ...
'''


def _grow_contract(project: Path) -> None:
    """Add two methods (one a stream) and a model to ChatHub."""
    contract = project / "chat/contract.py"
    source = contract.read_text()
    head, _, rest = source.partition("@hubgen.hub(client=ChatClient)\nclass ChatHub(Protocol):")
    _, _, methods = rest.partition('"""What clients may call on the server."""\n')
    grown = head.rstrip() + GROWTH.rstrip() + "\n" + methods
    contract.write_text(grown)


def _edit(text: str) -> str:
    """What a user does to the skeleton: comments, code, their own formatting."""
    text = text.replace(
        '"""The ChatHub implementation."""\n',
        '"""The ChatHub implementation."""\n# my comment, keep it   \n',
    )
    text = text.replace(
        '        """Post ``text`` to everyone, as "the caller"."""\n'
        "        raise NotImplementedError",
        '        """Post ``text`` to everyone, as "the caller"."""\n'
        "        # broadcast it\n"
        "        await self.clients.all.message_received(  # odd formatting on purpose\n"
        "            ChatMessage(author='me', text=text, sent_at=datetime.now(UTC)))",
    )
    text = text.replace(
        "from collections.abc import AsyncIterator\n",
        "from collections.abc import AsyncIterator\nfrom datetime import UTC, datetime\n",
    )
    return text + "\n    def helper(self) -> int:  # mine\n        return 42\n"


def test_scaffold_creates_then_grows_preserving_every_line(tmp_path: Path) -> None:
    project = prepare("chat", tmp_path)
    assert hubgen(project, "generate").returncode == 0

    created = hubgen(project, "scaffold", "ChatHub", HUB)
    assert created.returncode == 0, created.stderr
    assert "created chat/hub.py with 4 method stubs" in created.stdout
    hub = project / HUB
    assert ruff_problems(project, [HUB]) == []
    assert mypy_problems(project, [HUB]) is None, mypy_problems(project, [HUB])

    edited = _edit(hub.read_text())
    hub.write_text(edited)
    assert mypy_problems(project, [HUB]) is None, mypy_problems(project, [HUB])

    _grow_contract(project)
    assert hubgen(project, "generate").returncode == 0
    grown = hubgen(project, "scaffold", "ChatHub", HUB)
    assert grown.returncode == 0, grown.stderr
    assert "added to chat/hub.py: rooms, owners" in grown.stdout

    after = hub.read_text()
    before_lines = edited.splitlines(keepends=True)
    after_lines = after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before_lines, b=after_lines, autojunk=False)
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert ops, "nothing was added"
    assert all(op[0] == "insert" for op in ops), ops
    inserted = "".join("".join(after_lines[j1:j2]) for _, _, _, j1, j2 in ops)
    assert "from chat.contract import Owner\n" in inserted
    assert "    async def rooms(self, owner: Owner, *, limit: int = 5) -> list[str]:\n" in inserted
    assert '        """Rooms ``owner`` created."""\n' in inserted
    assert "    async def owners(self) -> AsyncIterator[Owner]:\n" in inserted
    assert "send" not in inserted
    assert mypy_problems(project, [HUB]) is None, mypy_problems(project, [HUB])

    again = hubgen(project, "scaffold", "ChatHub", HUB)
    assert again.returncode == 0
    assert "already has every method of ChatHub" in again.stdout
    assert hub.read_text() == after


def test_scaffold_errors(tmp_path: Path) -> None:
    project = prepare("chat", tmp_path)
    assert hubgen(project, "generate").returncode == 0
    unknown = hubgen(project, "scaffold", "NoSuchHub", HUB)
    assert unknown.returncode == 1
    assert "no hub named 'NoSuchHub' in the contract (hubs: ChatHub)" in unknown.stderr

    (project / HUB).write_text("class Unrelated:\n    pass\n")
    missing = hubgen(project, "scaffold", "ChatHub", HUB)
    assert missing.returncode == 1
    assert "no class deriving from ChatHubBase" in missing.stderr
    assert (project / HUB).read_text() == "class Unrelated:\n    pass\n"
