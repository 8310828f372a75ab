"""The hubgen server under benchmark on Redis: the same hub as
``bench.apps.hubgen_app``, with a :class:`~hubgen.server.redis.RedisLifetimeManager`.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/0 uvicorn bench.apps.hubgen_redis_app:app

``BENCH_REDIS_URL`` (required) is the Redis to use; ``BENCH_REDIS_HEALTH``
(optional) the seconds between the backplane's health-check PINGs (default
5, the backplane's own), and ``BENCH_KEEP_ALIVE`` the server's pings, as in
``hubgen_app``. ``bench.instructions`` sets both to an hour: under valgrind a
run lasts about fifty times as long, and pings every few seconds of that
would be counted as work per message that they are not. The route's lifespan
connects to Redis and subscribes before uvicorn listens.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from hubgen.server import HubRoute
from hubgen.server.redis import RedisBackplane, RedisLifetimeManager

from .hubgen_app import BenchHub, options


def create_app() -> Starlette:
    url = os.environ.get("BENCH_REDIS_URL")
    if not url:
        raise RuntimeError(
            "bench.apps.hubgen_redis_app needs BENCH_REDIS_URL (redis://host:port/db)"
        )
    health = float(os.environ.get("BENCH_REDIS_HEALTH") or 5.0)
    backplane = RedisBackplane(url, health_interval=health)
    route = HubRoute(
        "/hub",
        BenchHub,
        options=options(),
        lifetime=RedisLifetimeManager(backplane),
    )
    return Starlette(routes=[route], lifespan=route.lifespan)


app = create_app()
