"""The built wheel carries everything: `pip install` it into a fresh virtualenv
and `hubgen generate` works there, templates included."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CONSTRAINTS = ROOT / "scripts" / "constraints.txt"

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT)
    (built,) = out.glob("hubgen-*.whl")
    return built


def example_dependencies(extra: str | None = None) -> list[str]:
    """What the chat example's pyproject.toml asks for besides hubgen itself
    (for ``extra``: what that extra adds)."""
    with (ROOT / "examples" / "chat" / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    requirements: list[str] = (
        project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    )
    return [r for r in requirements if re.split(r"[^A-Za-z0-9._-]", r)[0].lower() != "hubgen"]


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hubgen/py.typed" in names
    assert any(n.startswith("hubgen/templates/typescript/") for n in names)
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "hubgen = hubgen.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_generates_the_chat_example(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, f"{wheel}[server]")
    # and the example's own dependencies (PyJWT), as scripts/bootstrap installs them
    run(python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, *example_dependencies())

    project = tmp_path / "chat"
    shutil.copytree(
        ROOT / "examples" / "chat",
        project,
        ignore=shutil.ignore_patterns("generated", "__pycache__", "node_modules"),
    )
    result = run(env_dir / "bin" / "hubgen", "generate", cwd=project)
    assert "created" in result.stdout + result.stderr
    for name in ("chat_hub_server.py", "chat_hub_client.py", "chat_hub_binders.py"):
        generated = project / "chat" / "generated" / name
        assert (
            generated.read_text()
            == (ROOT / "examples" / "chat" / "chat" / "generated" / name).read_text()
        )
    assert (project / "web" / "chat-client" / "src" / "chatHub.ts").exists()
    # the generated server imports and serves with nothing but the wheel and
    # the example's dependencies installed
    run(
        python,
        "-c",
        "from chat.server import create_app; app = create_app(); print(app.state.hub)",
        cwd=project,
    )
    run(env_dir / "bin" / "hubgen", "generate", "--check", cwd=project)
    # the example's own tests (hubgen.testing, from the wheel) pass as they are
    run(python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, *example_dependencies("test"))
    run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
