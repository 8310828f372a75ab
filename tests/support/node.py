"""The Node packages tests use, installed from tests/node/package-lock.json."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

NODE_DIR = Path(__file__).parents[1] / "node"


@cache
def ensure_node_modules() -> Path:
    """Run ``npm ci`` in tests/node once if its packages are missing; return the folder."""
    marker = NODE_DIR / "node_modules" / "@microsoft" / "signalr-protocol-msgpack"
    if not marker.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
        )
    return NODE_DIR
