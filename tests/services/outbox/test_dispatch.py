"""Enqueueing committed outbox rows: index jobs go ahead of a backlog, checked on arq's queue and with a real
worker (burst mode, one job at a time)."""

from __future__ import annotations

import asyncpg
import pytest
from arq.connections import ArqRedis
from arq.constants import job_key_prefix

from services.api.settings import ApiSettings
from services.outbox import repository
from services.outbox.dispatch import AHEAD_TOPICS, enqueue_committed, outbox_job_id
from tests.services.indexing.pipeline import run_worker_burst
from workers.context import WorkerResources
from workers.handlers import load_handlers
from workers.outbox import OUTBOX_HANDLERS

BACKLOG = 30


async def _record(db: asyncpg.Connection, topic: str, count: int) -> list[int]:
    return [await repository.record(db, topic, f"entity-{topic}-{n}") for n in range(count)]


def test_the_ahead_topics_are_the_index_topics() -> None:
    from services.api.jobs.service import INDEX_TOPIC as JOB_INDEX
    from services.api.worker_profiles.service import INDEX_TOPIC as WORKER_INDEX

    load_handlers()
    assert {JOB_INDEX, WORKER_INDEX} == AHEAD_TOPICS
    assert OUTBOX_HANDLERS.keys() >= AHEAD_TOPICS


async def test_an_index_job_is_queued_before_a_backlog_sent_earlier(db: asyncpg.Connection, redis: ArqRedis,
                                                                    settings: ApiSettings) -> None:
    backlog = await _record(db, "job.matched", BACKLOG)
    assert await enqueue_committed(redis, db, backlog) == backlog
    closed = await _record(db, "job.index", 1)
    assert await enqueue_committed(redis, db, closed) == closed

    queue = [job_id.decode() for job_id in await redis.zrange(settings.arq_queue_name, 0, -1)]
    queue_name = settings.arq_queue_name
    # (Jobs queued in the same millisecond tie and Redis orders them by id, so the backlog's own order is not
    # asserted.)
    assert queue[0] == outbox_job_id(closed[0], queue_name)
    assert sorted(queue[1:]) == sorted(outbox_job_id(i, queue_name) for i in backlog)
    # arq counts a job key's default lifetime from when the job is due; the job sent ahead keeps a full day.
    ttl_ms = await redis.pttl(job_key_prefix + outbox_job_id(closed[0], queue_name))
    assert ttl_ms > 23 * 3600 * 1000
    # Marked enqueued like the others, so the reconciler does not take it for lost.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE enqueued_at IS NULL") == 0


async def test_a_deferred_index_job_still_waits(db: asyncpg.Connection, redis: ArqRedis,
                                                settings: ApiSettings) -> None:
    now_ids = await _record(db, "job.matched", 1)
    await enqueue_committed(redis, db, now_ids)
    later = await _record(db, "job.index", 1)
    await enqueue_committed(redis, db, later, defer_seconds=60)

    queue = [job_id.decode() for job_id in await redis.zrange(settings.arq_queue_name, 0, -1)]
    assert queue == [outbox_job_id(i, settings.arq_queue_name) for i in now_ids + later]
    assert await redis.zscore(settings.arq_queue_name, queue[1]) > await redis.zscore(settings.arq_queue_name,
                                                                                        queue[0]) + 50_000


async def test_a_worker_runs_the_index_job_before_the_backlog(db: asyncpg.Connection, redis: ArqRedis,
                                                              settings: ApiSettings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    async def record_run(resources: WorkerResources, entity_id: str) -> None:
        ran.append(entity_id)

    load_handlers()
    monkeypatch.setitem(OUTBOX_HANDLERS, "job.matched", record_run)
    monkeypatch.setitem(OUTBOX_HANDLERS, "job.index", record_run)
    await enqueue_committed(redis, db, await _record(db, "job.matched", BACKLOG))
    await enqueue_committed(redis, db, await _record(db, "job.index", 1))

    await run_worker_burst(settings, worker_max_jobs=1)

    assert len(ran) == BACKLOG + 1
    assert ran[0] == "entity-job.index-0"
    assert sorted(ran[1:]) == sorted(f"entity-job.matched-{n}" for n in range(BACKLOG))
