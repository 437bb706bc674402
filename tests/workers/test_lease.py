"""Worker leases and the hand-over of runs whose worker died: the reconciler gives a row claimed by a process
whose lease lapsed to a new job at once, and leaves alone rows whose worker is alive, finished or failed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker

from services.api.settings import ApiSettings
from services.outbox import repository
from services.outbox.dispatch import enqueue_outbox, outbox_job_id
from tests.services.api.notifications.conftest import close_worker
from tests.services.indexing.pipeline import reconcile, run_worker_burst
from workers.context import WorkerResources
from workers.lease import WorkerLease, expired_leases, lease_key
from workers.outbox import OUTBOX_HANDLERS, RESCUED_UP_TO_ATTEMPTS, process_outbox
from workers.settings import WorkerSettings
from workers.worker_settings import build_worker_settings


@pytest.fixture
def noted() -> Iterator[list[str]]:
    seen: list[str] = []

    async def note(_resources: WorkerResources, entity_id: str) -> None:
        seen.append(entity_id)

    OUTBOX_HANDLERS["test.note"] = note
    yield seen
    del OUTBOX_HANDLERS["test.note"]


async def test_a_lease_lives_while_renewed_and_ends_with_its_process(redis: ArqRedis) -> None:
    lease = WorkerLease(redis, ttl_seconds=0.6)
    await lease.start()
    try:
        await asyncio.sleep(1.5)  # more than twice the period: only the renewals keep it
        assert await expired_leases(redis, [lease.instance_id]) == set()
    finally:
        await lease.stop()
    assert await expired_leases(redis, [lease.instance_id]) == {lease.instance_id}

    # A process that dies cannot delete its key: the lease lapses on its own one period after the last renewal.
    died = WorkerLease(redis, ttl_seconds=0.5)
    await redis.set(lease_key(died.instance_id), b"1", px=500)
    assert await expired_leases(redis, [died.instance_id]) == set()
    await asyncio.sleep(0.7)
    assert await expired_leases(redis, [died.instance_id]) == {died.instance_id}


async def test_a_run_whose_worker_died_runs_again_at_once(
        settings: ApiSettings, db: asyncpg.Connection, redis: ArqRedis, noted: list[str]) -> None:
    alive = WorkerLease(redis, ttl_seconds=30)
    await alive.start()
    try:
        dead_worker = uuid.uuid4().hex  # claimed runs, then was killed: its lease is gone
        running, orphaned, inline, finished, worn_out = [
            await repository.record(db, "test.note", e) for e in ("running", "orphaned", "inline", "finished",
                                                                 "worn-out")]
        await repository.claim(db, running, alive.instance_id)
        await repository.claim(db, orphaned, dead_worker)
        await repository.claim(db, inline, dead_worker)  # run inside another job (process_now): no job of its own
        await repository.claim(db, finished, dead_worker)
        await repository.mark_done(db, finished)
        # A row that has killed its worker time after time waits for the reconciler's growing delay instead.
        await db.execute("UPDATE outbox SET attempts = $2 WHERE id = $1", worn_out, RESCUED_UP_TO_ATTEMPTS)
        await repository.claim(db, worn_out, dead_worker)
        # What a killed worker leaves in arq: its job still queued and marked in progress for the job timeout.
        queue = settings.arq_queue_name
        dead_job = outbox_job_id(orphaned, queue)
        await redis.enqueue_job("process_outbox", orphaned, _job_id=dead_job)
        await redis.set(in_progress_key_prefix + dead_job, b"1", px=600_000)

        assert await reconcile(settings) == 2  # just claimed: none is stale by the usual delay yet
        rows = {r["id"]: r for r in await db.fetch("SELECT id, claimed_by, attempts FROM outbox")}
        assert rows[orphaned]["claimed_by"] is None
        assert rows[inline]["claimed_by"] is None
        assert rows[running]["claimed_by"] == alive.instance_id
        assert rows[worn_out]["claimed_by"] == dead_worker
        # The same job runs again (no second id beside it), the inline row gets its own.
        assert not await redis.exists(in_progress_key_prefix + dead_job)
        assert {job.job_id for job in await redis.queued_jobs(queue_name=queue)} == {
            dead_job, outbox_job_id(inline, queue)}

        await run_worker_burst(settings)
        assert sorted(noted) == ["inline", "orphaned"]
        done = await db.fetch("SELECT id FROM outbox WHERE done_at IS NOT NULL")
        assert {r["id"] for r in done} == {orphaned, inline, finished}
        assert await reconcile(settings) == 0  # handed over once, not every round
    finally:
        await alive.stop()


async def test_a_run_that_reports_back_gives_up_its_claim(settings: ApiSettings, db: asyncpg.Connection,
                                                          redis: ArqRedis, noted: list[str]) -> None:
    async def explode(_resources: WorkerResources, entity_id: str) -> None:
        raise RuntimeError(entity_id)

    OUTBOX_HANDLERS["test.explode"] = explode
    lease = WorkerLease(redis, ttl_seconds=30)
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        ok, failing = await repository.record(db, "test.note", "ok"), await repository.record(db, "test.explode", "x")
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool, redis=redis,
                                    search=None, lease=lease)  # type: ignore[arg-type]  # search unused
        assert await process_outbox({"resources": resources}, ok) == "done"
        assert await process_outbox({"resources": resources}, failing) == "failed"
    finally:
        del OUTBOX_HANDLERS["test.explode"]
        await pool.close()
    # The lease was never taken (as if the process were gone): still nothing to hand over, the runs ended.
    claims = await db.fetch("SELECT claimed_by FROM outbox WHERE id = ANY($1::bigint[])", [ok, failing])
    assert [r["claimed_by"] for r in claims] == [None, None]
    assert await reconcile(settings) == 0


async def test_a_job_arq_cancels_at_shutdown_is_run_again_by_arq_alone(
        settings: ApiSettings, db: asyncpg.Connection, redis: ArqRedis) -> None:
    """SIGTERM: arq cancels the jobs in flight and puts them back on its queue under their own ids, then the
    worker gives up its lease. The reconciler must not also hand those rows to new jobs: both would run the
    row at the same time (two imports, two parallel matching chains)."""
    started = asyncio.Event()

    async def long_run(_resources: WorkerResources, _entity_id: str) -> None:
        started.set()
        await asyncio.sleep(3600)

    OUTBOX_HANDLERS["test.long"] = long_run
    try:
        row = await repository.record(db, "test.long", "import")
        assert await enqueue_outbox(redis, [row]) == [row]
        options = build_worker_settings(WorkerSettings(**settings.model_dump()))
        worker = Worker(**{**options, "handle_signals": False, "poll_delay": 0.05})
        main = asyncio.create_task(worker.async_run())
        try:
            await asyncio.wait_for(started.wait(), 30)
            claimer = await db.fetchval("SELECT claimed_by FROM outbox WHERE id = $1", row)
            assert claimer is not None
            # While the worker lives, its run is left alone, however long it takes.
            assert await expired_leases(redis, [claimer]) == set()
            assert await reconcile(settings) == 0
            # What arq's SIGTERM handler does to this job: its run is cancelled, arq logs "cancelled, will be run
            # again" and requeues it. Only this job's coroutine is cancelled here: cancelling all of arq's tasks
            # may cut a Redis pipeline short (the cron job starting meanwhile) and leak its connection.
            worker.job_tasks[outbox_job_id(row, settings.arq_queue_name)].cancel()
            worker.burst, worker.max_burst_jobs = True, 0
            await asyncio.wait_for(main, 30)
        finally:
            await close_worker(worker)  # on_shutdown: the lease is given up
    finally:
        del OUTBOX_HANDLERS["test.long"]
    assert await expired_leases(redis, [claimer]) == {claimer}
    job_id = outbox_job_id(row, settings.arq_queue_name)
    assert await redis.zscore(settings.arq_queue_name, job_id) is not None  # arq runs it again itself
    assert not await redis.exists(in_progress_key_prefix + job_id)  # ... as soon as a worker polls
    assert await reconcile(settings) == 0  # no second job for the row
    assert await db.fetchval("SELECT claimed_by FROM outbox WHERE id = $1", row) is None


async def test_a_renewal_that_hangs_does_not_lose_the_lease(redis: ArqRedis,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The first renewal after the start hangs (a stalled Redis answers after its client's 5 s timeout); the
    # next one, a third of a period later, must still come before the lease runs out.
    real_set, calls = redis.set, 0

    async def stalling_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            await asyncio.sleep(5)
        return await real_set(*args, **kwargs)

    monkeypatch.setattr(redis, "set", stalling_once)
    lease = WorkerLease(redis, ttl_seconds=0.9)
    await lease.start()
    try:
        for _ in range(8):  # 1.6 s: past the stalled renewal and the period after it
            await asyncio.sleep(0.2)
            assert await expired_leases(redis, [lease.instance_id]) == set()
    finally:
        await lease.stop()
