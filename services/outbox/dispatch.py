"""Enqueueing outbox rows to arq. Never raises: a row that could not be enqueued stays for the reconciler."""

from __future__ import annotations

import asyncpg
import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from services.outbox import repository

log = structlog.get_logger("bashu.outbox")

PROCESS_OUTBOX = "process_outbox"


def outbox_job_id(outbox_id: int, queue_name: str = "") -> str:
    # A stable job id: arq refuses a second enqueue of a job that is queued or running, so the reconciler and
    # the after-commit path can both try without doubling work. arq's job keys (`arq:job:<id>`) are global to
    # the Redis database, not per queue: without the queue name, outbox row 1 of one stack (or test database)
    # silently blocks row 1 of every other stack sharing the Redis until the stale key expires (a day).
    return f"{queue_name}:outbox:{outbox_id}" if queue_name else f"outbox:{outbox_id}"


async def release_dead_runs(redis: ArqRedis, outbox_ids: list[int]) -> None:
    """Let arq run these rows' jobs again now: their runs died with their worker (its lease lapsed), and arq
    would otherwise hold each job id as in progress until its job timeout. The job itself is still on arq's
    queue (arq takes a job off only when it ends), so the next poll of any worker starts it: one job per row,
    never a second id running beside the first when arq lets it go. Rows run inside another job
    (`process_now`) have no job of their own; `enqueue_outbox` then creates it."""
    queue = redis.default_queue_name
    await redis.delete(*(in_progress_key_prefix + outbox_job_id(outbox_id, queue) for outbox_id in outbox_ids))


async def enqueue_outbox(redis: ArqRedis, outbox_ids: list[int], *, defer_seconds: float | None = None) -> list[int]:
    """Enqueue each id (to run `defer_seconds` from now when given); return those that reached Redis."""
    sent: list[int] = []
    for outbox_id in outbox_ids:
        try:
            await redis.enqueue_job(PROCESS_OUTBOX, outbox_id,
                                    _job_id=outbox_job_id(outbox_id, redis.default_queue_name),
                                    _defer_by=defer_seconds)
        except Exception as exc:  # Redis down or slow: the reconciler will pick the row up
            log.warning("outbox.enqueue_failed", outbox_id=outbox_id, error=type(exc).__name__)
            continue
        sent.append(outbox_id)
    return sent


async def enqueue_committed(redis: ArqRedis, conn: asyncpg.Connection, outbox_ids: list[int], *,
                            defer_seconds: float | None = None) -> list[int]:
    """Enqueue rows whose transaction has committed and record which reached arq; the others stay for the
    reconciler. A deferred row counts as enqueued from when it is due, so the reconciler does not take its wait
    for a lost job. Returns the ids that reached Redis."""
    if not outbox_ids:
        return []
    sent = await enqueue_outbox(redis, outbox_ids, defer_seconds=defer_seconds)
    if sent:
        await repository.mark_enqueued(conn, sent, due_in_seconds=defer_seconds or 0.0)
    return sent
