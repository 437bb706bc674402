"""Enqueueing outbox rows to arq. Never raises: a row that could not be enqueued stays for the reconciler."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from services.outbox import repository

log = structlog.get_logger("bashu.outbox")

PROCESS_OUTBOX = "process_outbox"

# Topics whose jobs go ahead of the queue: what search shows must follow a record at once (a posting closed or
# filled leaves the kiosk and matches, an erased or withdrawn profile leaves the index), while arq runs its
# queue first in, first out. Behind a backlog (an import's matching, a catalogue publication's re-matching, a
# demo load) a closed posting stayed searchable for minutes (5 min measured after `make run`'s demo load).
# These jobs are short (one document each), so letting them pass delays the backlog by little.
AHEAD_TOPICS = frozenset({"job.index", "worker.index"})
AHEAD_OF_QUEUE = timedelta(hours=12)
AHEAD_JOB_EXPIRES = timedelta(days=1)


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


async def enqueue_outbox(redis: ArqRedis, outbox_ids: list[int], *, defer_seconds: float | None = None,
                        ahead: Collection[int] = ()) -> list[int]:
    """Enqueue each id (to run `defer_seconds` from now when given; those in `ahead` before every job queued in
    the last AHEAD_OF_QUEUE); return those that reached Redis."""
    sent: list[int] = []
    for outbox_id in outbox_ids:
        when: dict[str, Any] = {"_defer_by": defer_seconds}
        if outbox_id in ahead and not defer_seconds:
            # arq runs due jobs in score order and a job's score is when it is due, so a job due in the past runs
            # before everything queued since. The job key's lifetime is given outright: arq counts its default
            # (a day) from the due time, which would leave the job less than that. (arq's own log line for such a
            # job reads `delayed=43200…s`: that is this offset, not a wait.)
            when = {"_defer_until": datetime.now(UTC) - AHEAD_OF_QUEUE, "_expires": AHEAD_JOB_EXPIRES}
        try:
            await redis.enqueue_job(PROCESS_OUTBOX, outbox_id,
                                    _job_id=outbox_job_id(outbox_id, redis.default_queue_name), **when)
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
    topics = await repository.topics_of(conn, outbox_ids)
    sent = await enqueue_outbox(redis, outbox_ids, defer_seconds=defer_seconds,
                                ahead={i for i in outbox_ids if topics.get(i) in AHEAD_TOPICS})
    if sent:
        await repository.mark_enqueued(conn, sent, due_in_seconds=defer_seconds or 0.0)
    return sent
