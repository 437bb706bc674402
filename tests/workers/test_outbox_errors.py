"""A failing outbox handler leaves the row for the reconciler, recording the error's type but never its text."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.api.redis_connection import create_arq_redis
from services.api.settings import ApiSettings
from services.outbox import repository
from workers.context import WorkerResources
from workers.outbox import OUTBOX_HANDLERS, process_now, process_outbox
from workers.settings import WorkerSettings


class HandlerExploded(RuntimeError):
    pass


async def test_failure_is_recorded_without_the_message(settings: ApiSettings, db: asyncpg.Connection) -> None:
    async def explode(_resources: WorkerResources, entity_id: str) -> None:
        raise HandlerExploded(f"row for 身份证 500107199001011234 / {entity_id}")

    OUTBOX_HANDLERS["test.explode"] = explode
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        outbox_id = await repository.record(db, "test.explode", "e-1")
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused here
        assert await process_outbox({"resources": resources}, outbox_id) == "failed"
    finally:
        del OUTBOX_HANDLERS["test.explode"]
        await pool.close()
    row = await db.fetchrow("SELECT attempts, done_at, last_error FROM outbox WHERE id = $1", outbox_id)
    assert row["attempts"] == 1
    assert row["done_at"] is None
    assert row["last_error"].endswith("HandlerExploded")
    assert "500107" not in row["last_error"]


async def test_rows_processed_in_the_job_that_committed_them(settings: ApiSettings, db: asyncpg.Connection) -> None:
    """`process_now`: a failing row is left for the reconciler (failed, marked enqueued, never raised to the
    caller, whose own work is committed) and the rows after it are still processed."""
    seen: list[str] = []

    async def explode(_resources: WorkerResources, entity_id: str) -> None:
        seen.append(entity_id)
        raise HandlerExploded(entity_id)

    async def note(_resources: WorkerResources, entity_id: str) -> None:
        seen.append(entity_id)

    OUTBOX_HANDLERS["test.explode"] = explode
    OUTBOX_HANDLERS["test.note"] = note
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        ids = [await repository.record(db, "test.note", "a"), await repository.record(db, "test.explode", "b"),
               await repository.record(db, "test.note", "c")]
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused here
        await process_now(resources, ids, budget_seconds=60)
        await process_now(resources, ids, budget_seconds=60)  # run twice (a retried caller): done rows skipped
    finally:
        del OUTBOX_HANDLERS["test.explode"]
        del OUTBOX_HANDLERS["test.note"]
        await pool.close()
    assert seen == ["a", "b", "c", "b"]
    rows = {r["id"]: r for r in await db.fetch(
        "SELECT id, attempts, done_at, enqueued_at FROM outbox WHERE id = ANY($1::bigint[])", ids)}
    assert [rows[i]["done_at"] is not None for i in ids] == [True, False, True]
    assert rows[ids[1]]["attempts"] == 2
    assert all(r["enqueued_at"] is not None for r in rows.values())  # the reconciler waits its delay first


async def test_rows_past_the_budget_go_to_arq(settings: ApiSettings, db: asyncpg.Connection) -> None:
    seen: list[str] = []

    async def note(_resources: WorkerResources, entity_id: str) -> None:
        seen.append(entity_id)

    OUTBOX_HANDLERS["test.note"] = note
    ws = WorkerSettings(**settings.model_dump())
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    redis = create_arq_redis(str(ws.redis_url), queue_name=ws.arq_queue_name)
    try:
        ids = [await repository.record(db, "test.note", e) for e in ("a", "b", "c")]
        resources = WorkerResources(settings=ws, pool=pool, redis=redis, search=None)  # type: ignore[arg-type]
        await process_now(resources, ids, budget_seconds=0)  # the first row always runs here
        queued = {job.kwargs.get("outbox_id", job.args[0] if job.args else None)
                  for job in await redis.queued_jobs(queue_name=ws.arq_queue_name)}
    finally:
        del OUTBOX_HANDLERS["test.note"]
        await redis.aclose(close_connection_pool=True)
        await pool.close()
    assert seen == ["a"]
    assert queued >= set(ids[1:])
    assert ids[0] not in queued
    done = await db.fetch("SELECT id FROM outbox WHERE id = ANY($1::bigint[]) AND done_at IS NOT NULL", ids)
    assert [r["id"] for r in done] == [ids[0]]


async def test_a_run_that_never_reports_back_counts_as_an_attempt(settings: ApiSettings,
                                                                 db: asyncpg.Connection) -> None:
    """arq's job timeout cancels a handler (or the worker dies) before it can record a failure: the run was
    counted when it started, so the reconciler backs off instead of re-running it every round for ever."""
    async def hang(_resources: WorkerResources, entity_id: str) -> None:
        await asyncio.sleep(3600)

    OUTBOX_HANDLERS["test.hang"] = hang
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        outbox_id = await repository.record(db, "test.hang", "h-1")
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused here
        for _ in range(2):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(process_outbox({"resources": resources}, outbox_id), timeout=0.5)
    finally:
        del OUTBOX_HANDLERS["test.hang"]
        await pool.close()
    row = await db.fetchrow("SELECT attempts, done_at FROM outbox WHERE id = $1", outbox_id)
    assert (row["attempts"], row["done_at"]) == (2, None)
    # Started just now, second attempt: not due again for 2^2 × the base delay.
    assert outbox_id not in await repository.stale(db, older_than_seconds=1, limit=1000)
    await db.execute("UPDATE outbox SET enqueued_at = now() - interval '5 seconds' WHERE id = $1", outbox_id)
    assert outbox_id in await repository.stale(db, older_than_seconds=1, limit=1000)


async def test_the_reconciler_waits_longer_after_each_attempt_and_never_takes_done_rows(
        db: asyncpg.Connection) -> None:
    fresh, tried, done = [await repository.record(db, "test.note", e) for e in ("f", "t", "d")]
    await db.execute("UPDATE outbox SET enqueued_at = now() - interval '3 seconds' WHERE id = ANY($1::bigint[])",
                     [fresh, tried, done])
    await db.execute("UPDATE outbox SET attempts = 3 WHERE id = $1", tried)  # due after 2^3 × 1 s
    await repository.mark_done(db, done)
    assert set(await repository.stale(db, older_than_seconds=1, limit=1000)) & {fresh, tried, done} == {fresh}
