"""``python -m hubgen``: the ``hubgen`` command line."""

from __future__ import annotations

from hubgen.cli import main

raise SystemExit(main())
