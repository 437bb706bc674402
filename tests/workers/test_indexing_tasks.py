"""The indexing handlers through the real outbox: a lost arq job is repaired by the reconciler."""

from __future__ import annotations

import asyncpg
import httpx
from arq.constants import job_key_prefix

from services.api.redis_connection import create_arq_redis
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, start_date_in
from tests.services.indexing.pipeline import document_ids, reconcile, run_worker_burst, settle

JOB = {
    "title": "招聘叉车司机", "description": "物流园开叉车的，有叉车证", "headcount": 2, "adcode": "500112",
    "wage": {"min": 6000, "max": 7500, "unit": "month"}, "work_type": "full_time", "start_date": start_date_in(13),
}


async def lose_queued_jobs(settings: ApiSettings, *, expected: int) -> None:
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        members = await redis.zrange(settings.arq_queue_name, 0, -1)
        assert len(members) == expected
        for member in members:
            name = member.decode() if isinstance(member, bytes) else member
            await redis.zrem(settings.arq_queue_name, name)
            await redis.delete(job_key_prefix + name)
    finally:
        await redis.aclose(close_connection_pool=True)


async def test_reconciler_repairs_a_lost_indexing_job(client: httpx.AsyncClient, make_org: MakeOrg,
                                                      settings: ApiSettings, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    response = await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    outbox = await db.fetchrow("SELECT id, enqueued_at, done_at FROM outbox WHERE entity_id = $1", job_id)
    assert outbox is not None
    assert outbox["enqueued_at"] is not None
    assert outbox["done_at"] is None

    # Redis loses the job (a flush, a failover) after the API enqueued it.
    await lose_queued_jobs(settings, expected=1)

    await run_worker_burst(settings)  # nothing queued: the posting stays unindexed
    await settle(settings)
    assert job_id not in await document_ids(settings, "jobs")
    assert await db.fetchval("SELECT done_at FROM outbox WHERE id = $1", outbox["id"]) is None

    # The reconciler (cron) re-enqueues rows left undone; the handler indexes the row.
    assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 1
    await run_worker_burst(settings)
    await settle(settings)
    assert job_id in await document_ids(settings, "jobs")
    assert await db.fetchval("SELECT done_at FROM outbox WHERE id = $1", outbox["id"]) is not None


async def test_a_row_never_enqueued_is_indexed_by_the_reconciler(client: httpx.AsyncClient, make_org: MakeOrg,
                                                                 settings: ApiSettings, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    job_id = (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).json()["id"]
    # As if Redis had been down at commit time: the row exists, no arq job does.
    await lose_queued_jobs(settings, expected=1)
    await db.execute("UPDATE outbox SET enqueued_at = NULL")
    assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 1
    await run_worker_burst(settings)
    await settle(settings)
    assert job_id in await document_ids(settings, "jobs")


async def test_handlers_are_idempotent(client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings,
                                       db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    job_id = (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).json()["id"]
    await client.post(f"/v1/jobs/{job_id}/close", headers=enterprise.headers)
    # Both rows processed, in order or not, twice: the index follows the current row (closed → absent).
    await run_worker_burst(settings)
    await db.execute("UPDATE outbox SET done_at = NULL, enqueued_at = NULL")
    assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 2
    await run_worker_burst(settings)
    await settle(settings)
    assert await document_ids(settings, "jobs") == set()
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0
