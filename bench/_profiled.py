"""uvicorn under cProfile, switched on by SIGUSR1 and off (and dumped) by
SIGUSR2: ``python -m bench._profiled OUT.pstats UVICORN-ARGS...``.
Used by ``python -m bench.instructions --profile``."""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

import uvicorn


def main() -> None:
    out = sys.argv[1]
    profile = cProfile.Profile()

    def start(_signal: int, _frame: FrameType | None) -> None:
        profile.enable()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        profile.disable()
        profile.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["uvicorn", *sys.argv[2:]]
    uvicorn.main()


if __name__ == "__main__":
    main()
