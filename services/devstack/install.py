"""`make install`'s second half (after `uv sync`): the Meilisearch binary and Debian packages."""

from __future__ import annotations

import asyncio
import glob
import shutil

from services.devstack import meili_binary, postgres, redis
from services.devstack.stack import configured
from services.devstack.system_packages import Apt, install_browser_prerequisites


def _postgres_needed() -> bool:
    if glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        return False
    try:
        return not asyncio.run(postgres.probe(configured("DATABASE_URL", postgres.default_url())))
    except RuntimeError:
        return False  # something answers there; `up` will report the login problem


def _redis_needed() -> bool:
    if shutil.which("redis-server"):
        return False
    try:
        return not asyncio.run(redis.probe(configured("REDIS_URL", redis.default_url())))
    except RuntimeError:
        return False


def install() -> None:
    binary = meili_binary.install_binary()
    print(f"devstack: meilisearch {meili_binary.MEILI_VERSION} verified at {binary}", flush=True)
    apt = Apt()
    install_browser_prerequisites(apt)
    # Server packages only when nothing usable is reachable and there is nothing to start a private one from.
    if _postgres_needed():
        apt.install(["postgresql"], "a private PostgreSQL")
    if _redis_needed():
        apt.install(["redis-server"], "a private Redis")
