"""The reuse-vs-start decision and the private instances, against real servers started here."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from services.devstack import meilisearch, postgres, processes, stack
from services.devstack.ports import free_loopback_port
from services.devstack.readiness import ServiceStartError


@pytest.fixture
async def cleanup(state_dir: Path) -> AsyncIterator[list[stack.Service]]:
    started: list[stack.Service] = []
    yield started
    for svc in started:
        if svc.started is not None:
            processes.stop(svc.started)


def closed_port() -> int:
    return free_loopback_port()  # nothing listens there: the "unreachable configured URL" case


async def test_unreachable_redis_gets_a_private_instance_then_is_reused(
    cleanup: list[stack.Service],
) -> None:
    configured = f"redis://127.0.0.1:{closed_port()}/3"
    svc = await stack.ensure_redis(configured)
    cleanup.append(svc)

    assert svc.started is not None
    assert svc.url != configured
    assert svc.url.startswith("redis://127.0.0.1:")
    assert svc.url.endswith("/3")
    client = aioredis.Redis.from_url(svc.url)
    try:
        assert await client.ping()
        assert (await client.config_get("save"))["save"] == ""
    finally:
        await client.aclose()

    # Now that URL is reachable: configured there, it is reused and not ours to stop.
    again = await stack.ensure_redis(svc.url)
    assert again.started is None
    assert again.reused_from == "configured"
    # Configured elsewhere (unreachable), the instance recorded in the pid file is reused.
    processes.record([svc.started])
    recorded = await stack.ensure_redis(configured)
    assert recorded.started is None
    assert recorded.reused_from == "pid file"
    assert recorded.url == svc.url


async def test_unreachable_postgres_gets_a_private_cluster_with_the_database(
    cleanup: list[stack.Service],
) -> None:
    try:
        postgres.server_bin_dir()
    except ServiceStartError:
        pytest.skip("no PostgreSQL server binaries (a reachable server made `make install` skip them)")
    configured = f"postgresql://postgres@127.0.0.1:{closed_port()}/bashu_devstack_check"
    try:
        svc = await stack.ensure_postgres(configured)
        cleanup.append(svc)
        assert svc.started is not None
        assert postgres.database_name(svc.url) == "bashu_devstack_check"
        conn = await asyncpg.connect(svc.url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "bashu_devstack_check"
            assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        finally:
            await conn.close()
        # The existing database is kept, not re-created.
        await postgres.ensure_database(svc.url)
    finally:
        for item in cleanup:
            if item.started is not None:
                processes.stop(item.started)
        # As root the cluster may live in /var/tmp (pytest's tmp is not traversable by `postgres`).
        cluster = postgres.cluster_dir()
        fallback = cluster.parent.name.startswith("bashu-devstack-")
        shutil.rmtree(cluster.parent if fallback else cluster, ignore_errors=True)


async def test_private_meilisearch_answers_health_and_requires_the_key(
    meili_bin: Path, state_dir: Path
) -> None:
    started = await meilisearch.start_private(binary=meili_bin, data_root=state_dir / "meili")
    try:
        assert started.url.startswith("http://127.0.0.1:")
        assert (state_dir / "meili.key").read_text().strip() == started.key
        async with httpx.AsyncClient(base_url=started.url, timeout=5) as client:
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.json() == {"status": "available"}
            assert (await client.get("/indexes")).status_code == 401
            authorised = await client.get("/indexes", headers={"Authorization": f"Bearer {started.key}"})
            assert authorised.status_code == 200
    finally:
        processes.stop(started.managed)
    assert started.popen.returncode is not None


async def test_unreachable_meilisearch_url_is_not_reused(meili_bin: Path) -> None:
    assert not await meilisearch.probe(f"http://127.0.0.1:{closed_port()}")
