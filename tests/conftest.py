from __future__ import annotations

import sys
from pathlib import Path

# The chat example is a project of its own (examples/chat); its package `chat`
# is imported by the end-to-end tests as the example's users would.
sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "chat"))
