"""docs/diff.md: every rule is explained there, and its first example prints
exactly the report the page shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hubgen.compat import RULES
from tests.docs.snippets import ROOT, parse

PAGE = ROOT / "docs" / "diff.md"


def test_every_rule_has_a_section_and_nothing_else_does() -> None:
    text = PAGE.read_text(encoding="utf-8")
    rules_part = text.split("\n## The rules\n", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^### (\S+)$", rules_part, flags=re.MULTILINE)
    assert headings == list(RULES)


def test_the_first_example_prints_the_report_shown(tmp_path: Path) -> None:
    snippets = [s for s in parse(PAGE)[0] if s.heading == "A first diff"]
    program, output = (s for s in snippets if s.kind in {"python", "output"})
    assert program.kind == "python"
    assert output.kind == "output"
    script = tmp_path / "example.py"
    script.write_text(program.text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == output.text
