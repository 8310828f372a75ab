"""bench.instructions counts the server's instructions per call under callgrind."""

from __future__ import annotations

import re

import pytest

from bench.instructions import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("argv", "unit"),
    [
        (["--calls", "100", "--connections", "2"], "call"),
        (["--scenario", "broadcast", "--receivers", "5", "--messages", "5"], "delivered message"),
    ],
)
def test_counts_instructions(
    argv: list[str], unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(argv)
    line = capsys.readouterr().out.strip()
    found = re.fullmatch(rf"hubgen \w+ json: ([\d,]+) instructions per {unit}", line)
    assert found, line
    # a call takes tens of thousands of instructions at least, and far fewer than
    # the tens of millions that a miscount (startup included) would show
    assert 10_000 < int(found[1].replace(",", "")) < 5_000_000
