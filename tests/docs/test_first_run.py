"""What a new user's first run prints: ``scripts/test`` ends with every stage
and whether it ran, and ``scripts/serve-example`` says what it is doing.

The scripts run for real, in a copy of their folder whose tools (bootstrap,
ruff, mypy, hubgen, python) are stand-ins that log their arguments and fail
on demand: the real run takes 15 minutes and a gigabyte, and what is tested
here is the scripts' own control flow and what they print.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A tool in a venv: logs "<venv> <tool> <args>" (and "[HUBGEN_TEST_WS=…]"
#: when that is set) and fails when that line matches the glob $FAIL;
#: ``python -c`` prints the venv's Python version.
TOOL = r"""#!/usr/bin/env bash
tool=$(basename "$0")
venv=$(basename "$(dirname "$(dirname "$0")")")
line="$venv $tool $*${HUBGEN_TEST_WS:+ [HUBGEN_TEST_WS=$HUBGEN_TEST_WS]}"
echo "$line" >>"$CALLS"
if [ "$tool" = python ] && [ "${1:-}" = -c ]; then
  case $venv in .venv-3.13) echo 3.13.0 ;; *) echo 3.11.7 ;; esac
  exit 0
fi
case $line in $SLEEP) sleep 60 ;; esac
case $line in $FAIL) echo "$tool: failing as told" >&2; exit 3 ;; esac
exit 0
"""

#: scripts/bootstrap: makes the venv ($VENV, default .venv) of stand-in tools.
BOOTSTRAP = r"""#!/usr/bin/env bash
venv=${VENV:-.venv}
line="bootstrap $venv $*"
echo "$line" >>"$CALLS"
case $line in $FAIL) echo "bootstrap: failing as told" >&2; exit 3 ;; esac
mkdir -p "$venv/bin"
for tool in ruff mypy hubgen python; do cp "$TOOL" "$venv/bin/$tool"; done
"""

STAGES = [
    "install (scripts/bootstrap dev)",
    "lint (ruff check, ruff format --check)",
    "types (mypy --strict)",
    "generated code is current (hubgen generate --check)",
    "pytest (.venv)",
    "pytest on Python 3.13 (.venv-3.13), on hubgen's WebSocket protocol",
]


class Checkout:
    """A folder holding the real scripts/test and stand-ins for what it runs."""

    def __init__(self, tmp_path: Path, *, with_python_313: bool) -> None:
        self.root = tmp_path / "hubgen"
        (self.root / "scripts").mkdir(parents=True)
        (self.root / "examples" / "chat").mkdir(parents=True)
        shutil.copy(ROOT / "scripts" / "test", self.root / "scripts" / "test")
        self._script(self.root / "scripts" / "bootstrap", BOOTSTRAP)
        self.tool = self._script(tmp_path / "tool", TOOL)
        self.calls = tmp_path / "calls.log"
        self.calls.touch()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        # python3.13 on PATH: one that runs, or one that does not (hiding any real one)
        runs = "exit 0\n" if with_python_313 else "exit 1\n"
        self._script(bin_dir / "python3.13", f"#!/bin/sh\n{runs}")
        (tmp_path / "pyenv").mkdir()
        self.env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PYENV_ROOT": str(tmp_path / "pyenv"),
            "CALLS": str(self.calls),
            "TOOL": str(self.tool),
            "FAIL": "no such line",
            "SLEEP": "no such line",
        }

    @staticmethod
    def _script(path: Path, text: str) -> Path:
        path.write_text(text)
        path.chmod(0o755)
        return path

    def popen(self, *args: str, fail: str = "", sleep: str = "") -> subprocess.Popen[str]:
        env = dict(self.env)
        if fail:
            env["FAIL"] = fail
        if sleep:
            env["SLEEP"] = sleep
        return subprocess.Popen(
            [str(self.root / "scripts" / "test"), *args],
            cwd=self.root.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, *args: str, fail: str = "") -> tuple[int, str]:
        process = self.popen(*args, fail=fail)
        out, _ = process.communicate(timeout=60)
        return process.returncode, out

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines()


def summary(out: str) -> list[str]:
    """The lines after the summary's heading."""
    lines = out.splitlines()
    assert "== scripts/test: what ran" in lines, out
    return lines[lines.index("== scripts/test: what ran") + 1 :]


def line(outcome: str, stage: int, why: str = "") -> str:
    return f"  {outcome:<11} {STAGES[stage]}{why}"


def test_everything_ran_on_both_pythons(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path, with_python_313=True)
    code, out = checkout.run("-k", "echo")
    assert code == 0, out
    assert summary(out) == [
        line("passed", 0),
        line("passed", 1),
        line("passed", 2),
        line("passed", 3),
        line("passed", 4, ": Python 3.11.7"),
        line("passed", 5, ": Python 3.13.0"),
        "scripts/test: passed",
    ]
    calls = checkout.called()
    # test files in parallel, one worker more than there are cores; the
    # caller's own arguments last, so that `scripts/test -n 0` wins
    parallel = f"-n {len(os.sched_getaffinity(0)) + 1} --dist loadfile"  # nproc + 1
    assert f".venv python -m pytest -q -p no:cacheprovider {parallel} -k echo" in calls
    assert "bootstrap .venv-3.13 dev-python" in calls
    # the second Python's run serves WebSockets on hubgen's own protocol
    pytest = f"python -m pytest -q -p no:cacheprovider {parallel} -k echo"
    assert f".venv-3.13 {pytest} [HUBGEN_TEST_WS=owned]" in calls


def test_without_python_313_it_says_the_second_half_never_ran(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path, with_python_313=False)
    code, out = checkout.run()
    assert code == 0, out
    assert summary(out)[-2:] == [
        line("not run", 5, f": no python3.13 on PATH or in {tmp_path}/pyenv/versions"),
        "scripts/test: passed, but the tests did not run on Python 3.13 (see above)",
    ]
    assert not any(".venv-3.13" in call for call in checkout.called())


@pytest.mark.parametrize(
    ("fail", "stage"),
    [
        ("bootstrap .venv dev", 0),
        (".venv mypy hubgen tests*", 2),
        (".venv hubgen generate --check --config bench/*", 3),
        (".venv python -m pytest*", 4),
        (".venv-3.13 python -m pytest*", 5),
    ],
)
def test_a_failing_stage_stops_the_run_and_the_rest_is_named_not_run(
    tmp_path: Path, fail: str, stage: int
) -> None:
    checkout = Checkout(tmp_path, with_python_313=True)
    code, out = checkout.run(fail=fail)
    assert code == 1, out
    detail = {4: ": Python 3.11.7", 5: ": Python 3.13.0"}
    expected = [line("passed", i, detail.get(i, "")) for i in range(stage)]
    expected.append(line("failed", stage, detail.get(stage, "")))
    expected += [
        line("not run", i, f": {STAGES[stage]} failed") for i in range(stage + 1, len(STAGES))
    ]
    expected.append(f"scripts/test: FAILED at {STAGES[stage]}")
    assert summary(out) == expected
    # nothing ran after the failure
    assert fnmatch(checkout.called()[-1], fail), checkout.called()


def test_lint_reports_format_problems_even_when_the_check_fails(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path, with_python_313=True)
    code, out = checkout.run(fail=".venv ruff check .")
    assert code == 1, out
    assert ".venv ruff format --check ." in checkout.called()
    assert summary(out)[1] == line("failed", 1)


def test_an_interrupted_run_says_where_it_stopped(tmp_path: Path) -> None:
    checkout = Checkout(tmp_path, with_python_313=True)
    process = checkout.popen(sleep=".venv python -m pytest*")
    deadline = time.monotonic() + 30
    while not any("-m pytest" in call for call in checkout.called()):
        assert time.monotonic() < deadline, "pytest never started"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130, out
    assert summary(out)[4:] == [
        line("interrupted", 4),
        line("not run", 5, ": interrupted"),
        "scripts/test: interrupted",
    ]


#: A stand-in that says it ran: "[name args]".
STAND_IN = '#!/usr/bin/env bash\necho "[$(basename "$0") $*]"\n'


@pytest.mark.parametrize("node", [True, False])
def test_serve_example_says_what_it_does_before_each_step(tmp_path: Path, node: bool) -> None:
    root = tmp_path / "hubgen"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / "examples" / "chat" / "web").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "serve-example", root / "scripts")
    stand_ins = [
        root / "scripts" / "bootstrap",
        root / ".venv" / "bin" / "hubgen",
        root / ".venv" / "bin" / "python",
        root / "examples" / "chat" / "web" / "build",
    ]
    # PATH: the few system tools the script needs, and node/npm only when asked
    system = tmp_path / "system"
    system.mkdir()
    for tool in ("bash", "dirname", "basename"):
        found = shutil.which(tool)
        assert found is not None
        (system / tool).symlink_to(found)
    if node:
        stand_ins += [system / "node", system / "npm"]
    for path in stand_ins:
        path.write_text(STAND_IN)
        path.chmod(0o755)
    result = subprocess.run(
        [str(root / "scripts" / "serve-example"), "--port", "9000"],
        env={"PATH": str(system)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    # what the script says (stderr) and the steps it runs (stdout), as written
    web = (
        [
            "serve-example: building the web page (npm ci the first time, tsc, esbuild)",
            "[build ]",
        ]
        if node
        else ["serve-example: Node.js/npm not found; serving the hub without the web page"]
    )
    assert result.stdout.splitlines() == [
        "serve-example: installing hubgen and uvicorn into .venv (pinned versions; about half "
        "a minute the first time)",
        "[bootstrap ]",
        "serve-example: generating the chat server, Python client and TypeScript package from "
        "chat/contract.py",
        "[hubgen generate]",
        *web,
        "serve-example: starting the server (python -m chat.server --port 9000); Ctrl-C stops it",
        "[python -m chat.server --port 9000]",
    ]
