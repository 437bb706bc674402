"""Redis: reuse a reachable server, or run a private, non-persistent one."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.devstack import paths, processes
from services.devstack.ports import free_loopback_port, is_port_open
from services.devstack.readiness import ServiceStartError, wait_ready


def default_url() -> str:
    """The machine's server, one of databases 1–15 by checkout (0 is left to whatever else uses the server):
    arq's cron job ids are global to a Redis database, so two stacks in one database skip each other's runs."""
    return f"redis://127.0.0.1:6379/{1 + int(paths.checkout_tag(), 16) % 15}"


def queue_name() -> str:
    """This checkout's arq queue (its job ids carry it too), in case two checkouts land on one database."""
    return f"bashu:{paths.checkout_tag()}:queue"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def db_index(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "0"


async def _ping(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        return bool(await client.ping())
    except (RedisError, OSError, TimeoutError):
        return False
    finally:
        await client.aclose()


async def probe(url: str) -> bool:
    host, port = host_port(url)
    if not is_port_open(host, port):
        return False
    if not await _ping(url):
        raise ServiceStartError(f"something listens at {host}:{port} but does not answer Redis PING at {url}")
    return True


@dataclass
class Started:
    url: str
    managed: processes.Managed
    popen: subprocess.Popen[bytes]


async def start_private(db: str, ready_within: float = 30.0) -> Started:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(server):
        raise ServiceStartError(
            "no redis-server binary and no Redis reachable; run `make install` as root, "
            "or `apt-get install redis-server`, or set REDIS_URL"
        )
    port = free_loopback_port()
    url = f"redis://127.0.0.1:{port}/{db}"
    workdir = paths.service_dir("redis")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "redis.log"
    managed, popen = processes.spawn(
        "redis",
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            # Queue and cache only: nothing here is worth writing to disk.
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--daemonize",
            "no",
        ],
        log=log,
        url=url,
    )
    try:
        await wait_ready("private Redis", lambda: _ping(url), popen, log, ready_within)
    except BaseException:
        processes.stop(managed)
        raise
    return Started(url, managed, popen)
