"""Bring up the three backing services, reusing what is reachable and starting private instances otherwise."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.devstack import meilisearch, postgres, processes, redis
from services.devstack.envfile import write_env_file
from services.devstack.paths import env_file
from services.devstack.secrets import local_secrets


@dataclass
class Service:
    name: str
    url: str
    # Set only when THIS call started the process; reused servers (system or an earlier detached
    # run's) are never stopped by us.
    started: processes.Managed | None = None
    reused_from: str = ""


@dataclass
class Backing:
    postgres: Service
    redis: Service
    meili: Service
    meili_key: str
    started: list[processes.Managed] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "MEILI_URL": self.meili.url,
            "MEILI_MASTER_KEY": self.meili_key,
            "ARQ_QUEUE_NAME": os.environ.get("ARQ_QUEUE_NAME") or redis.queue_name(),
            **local_secrets(),
        }


def configured(var: str, default: str) -> str:
    return os.environ.get(var) or default


async def _reuse_or(
    name: str,
    url: str,
    probe: Callable[[str], Awaitable[bool]],
    start: Callable[[], Awaitable[tuple[str, processes.Managed]]],
) -> Service:
    """The reuse-vs-start decision, in order: the configured URL, a private instance an earlier
    detached run left up (pid file), else a new private instance."""
    if await probe(url):
        return Service(name, url, reused_from="configured")
    recorded = processes.find_recorded(name)
    if recorded is not None and recorded.url and await probe(recorded.url):
        return Service(name, recorded.url, reused_from="pid file")
    new_url, managed = await start()
    return Service(name, new_url, started=managed)


async def ensure_postgres(url: str) -> Service:
    async def start() -> tuple[str, processes.Managed]:
        started = await postgres.start_private(postgres.database_name(url))
        return started.url, started.managed

    service = await _reuse_or("postgres", url, postgres.probe, start)
    if service.started is None:
        if service.reused_from == "pid file":
            service.url = postgres.with_database(service.url, postgres.database_name(url))
        await postgres.ensure_database(service.url)
    return service


async def ensure_redis(url: str) -> Service:
    async def start() -> tuple[str, processes.Managed]:
        started = await redis.start_private(redis.db_index(url))
        return started.url, started.managed

    service = await _reuse_or("redis", url, redis.probe, start)
    if service.reused_from == "pid file":
        host, port = redis.host_port(service.url)
        service.url = f"redis://{host}:{port}/{redis.db_index(url)}"
    return service


async def ensure_meili(url: str) -> tuple[Service, str]:
    async def start() -> tuple[str, processes.Managed]:
        started = await meilisearch.start_private()
        return started.url, started.managed

    service = await _reuse_or("meilisearch", url, meilisearch.probe, start)
    # A configured server comes with its key in the environment; a private one keeps its generated key on disk.
    key = os.environ.get("MEILI_MASTER_KEY", "") if service.reused_from == "configured" else meilisearch.master_key()
    return service, key


async def bring_up() -> Backing:
    pg_task = asyncio.ensure_future(ensure_postgres(configured("DATABASE_URL", postgres.default_url())))
    rd_task = asyncio.ensure_future(ensure_redis(configured("REDIS_URL", redis.default_url())))
    ms_task = asyncio.ensure_future(ensure_meili(configured("MEILI_URL", meilisearch.DEFAULT_URL)))
    await asyncio.wait([pg_task, rd_task, ms_task])
    errors = [t.exception() for t in (pg_task, rd_task, ms_task) if t.exception() is not None]
    if errors:
        # Don't leave half a stack running behind an error message.
        survivors = [t.result() for t in (pg_task, rd_task) if t.exception() is None]
        if ms_task.exception() is None:
            survivors.append(ms_task.result()[0])
        for svc in survivors:
            if svc.started is not None:
                processes.stop(svc.started)
        error = errors[0]
        assert error is not None
        raise error
    meili, key = ms_task.result()
    services = [pg_task.result(), rd_task.result(), meili]
    started = [svc.started for svc in services if svc.started is not None]
    return Backing(pg_task.result(), rd_task.result(), meili, key, started)


def describe(backing: Backing) -> list[str]:
    lines = []
    for svc in (backing.postgres, backing.redis, backing.meili):
        if svc.started:
            how = f"started (pid {svc.started.pid}, log {svc.started.log})"
        else:
            how = f"reused ({svc.reused_from})"
        lines.append(f"devstack: {svc.name}: {how}")
    return lines


def write_env(
    backing: Backing, extra: dict[str, str] | None = None, path: Path | None = None
) -> dict[str, str]:
    values = {**backing.env(), **(extra or {})}
    write_env_file(path or env_file(), values)
    return values
