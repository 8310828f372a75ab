from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# Property tests judge what code does, never how fast: a deadline per example
# fails on a loaded machine (CI, or pytest-xdist's workers sharing two cores)
# for no fault of the code. No example database either: every run, on every
# worker, starts from the same nothing, and nothing is written to the tree.
settings.register_profile(
    "hubgen",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("hubgen")

# The chat example is a project of its own (examples/chat); its package `chat`
# is imported by the end-to-end tests as the example's users would.
sys.path.insert(0, str(Path(__file__).parents[1] / "examples" / "chat"))
