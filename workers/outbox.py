"""Processing outbox rows by topic, and the reconciler that re-enqueues what was lost.

Jobs take an outbox id, never a payload; a handler must be safe to run twice (arq re-runs a job after a
crash), which is why every handler works from the current state in PostgreSQL, not from a snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import structlog

from services.outbox import repository
from services.outbox.dispatch import enqueue_committed, enqueue_outbox, release_dead_runs
from workers.context import WorkerResources, resources_of
from workers.lease import expired_leases

log = structlog.get_logger("bashu.worker.outbox")

OutboxHandler = Callable[[WorkerResources, str], Awaitable[None]]

# topic → handler; domain modules register theirs in workers/handlers.py.
OUTBOX_HANDLERS: dict[str, OutboxHandler] = {}


def outbox_handler(topic: str) -> Callable[[OutboxHandler], OutboxHandler]:
    def register(handler: OutboxHandler) -> OutboxHandler:
        OUTBOX_HANDLERS[topic] = handler
        return handler

    return register


POISONED_AFTER_ATTEMPTS = repository.STUCK_AFTER_ATTEMPTS
# A row whose worker died is handed over at once this many times; after that (a row that kills its worker:
# an out-of-memory import, say) it waits for the reconciler's growing delay like a failure.
RESCUED_UP_TO_ATTEMPTS = 3


class UnknownTopic(RuntimeError):
    pass


def _error_label(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


async def process_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    resources = resources_of(ctx)
    try:
        return await _process(resources, outbox_id)
    except asyncio.CancelledError:
        # arq cancelled the job: at shutdown it puts it back on its queue to run again under this same id (past
        # max_tries, and after arq's timeout, the reconciler's delay retries the row). A claim left behind would
        # make the reconciler hand the row to a second job as soon as this process gives up its lease at
        # shutdown, and both would run it at once. (Rows run by `process_now` keep theirs: no arq job of their
        # own comes back for them.)
        if resources.lease is not None:
            with contextlib.suppress(Exception):  # the database gone too: the rescue takes over, as after a kill
                async with resources.pool.acquire(timeout=5) as conn:
                    await repository.release_claim(conn, outbox_id, resources.lease.instance_id)
        raise


async def _process(resources: WorkerResources, outbox_id: int,
                   handlers: Mapping[str, OutboxHandler] | None = None) -> str:
    async with resources.pool.acquire() as conn:
        row = await repository.claim(conn, outbox_id, resources.lease.instance_id if resources.lease else None)
    if row is None:
        return "skipped"  # done (or gone) already
    handler = (handlers or {}).get(row["topic"]) or OUTBOX_HANDLERS.get(row["topic"])
    try:
        if handler is None:
            raise UnknownTopic(row["topic"])
        await handler(resources, row["entity_id"])
    except Exception as exc:
        async with resources.pool.acquire() as conn:
            # Only the type: exception messages (database errors above all) may quote personal data.
            await repository.mark_failed(conn, outbox_id, _error_label(exc))
        if row["attempts"] >= POISONED_AFTER_ATTEMPTS:
            # Still retried (at the longest delay), but someone has to look: an alert, not a warning.
            log.error("outbox.poisoned", outbox_id=outbox_id, topic=row["topic"], attempts=row["attempts"],
                      error=type(exc).__name__)
        else:
            log.warning("outbox.failed", outbox_id=outbox_id, topic=row["topic"], error=type(exc).__name__)
        return "failed"  # the reconciler retries it later with a growing delay
    async with resources.pool.acquire() as conn:
        await repository.mark_done(conn, outbox_id)
    return "done"


async def process_now(resources: WorkerResources, outbox_ids: list[int], *, budget_seconds: float,
                      handlers: Mapping[str, OutboxHandler] | None = None) -> None:
    """Process outbox rows the calling job has just committed, in this job, one after the other, instead of
    through arq: each arq hop costs a poll delay and a queue round trip, and the chain posting → notification
    → webhook is latency the recipient sees.

    Nothing is weaker than with an arq job: the rows are committed first, marked enqueued (so the reconciler
    leaves them alone while we work), then processed exactly as `process_outbox` would (done, or failed and
    retried later). If this process dies half-way, the reconciler re-enqueues whatever is left undone. Never
    raises: the caller's own work is done and committed, and its outbox row must not fail because of these.

    Once `budget_seconds` have gone (a receiver that hangs until its timeout, say), the rows not started yet
    are enqueued to arq instead: the caller's job ends in bounded time and other workers can share the rest.
    `handlers` may replace a topic's handler for this call (rows re-run later by arq get the registered one)."""
    if not outbox_ids:
        return
    deadline = time.monotonic() + budget_seconds
    try:
        async with resources.pool.acquire() as conn:
            await repository.mark_enqueued(conn, outbox_ids)
        for done, outbox_id in enumerate(outbox_ids):
            if done and time.monotonic() > deadline:
                await enqueue_outbox(resources.redis, outbox_ids[done:])
                return
            await _process(resources, outbox_id, handlers)
    except Exception as exc:
        log.warning("outbox.process_now_failed", outbox_ids=outbox_ids, error=type(exc).__name__)


async def reconcile_outbox(ctx: dict[str, Any]) -> int:
    """Re-enqueue what was lost: runs whose worker died (at once), then rows left undone past their delay.
    Returns how many rows went back to arq."""
    resources = resources_of(ctx)
    async with resources.pool.acquire() as conn:
        rescued = await rescue_dead_claims(resources, conn)
        ids = await repository.stale(conn, older_than_seconds=resources.settings.outbox_stale_after_seconds,
                                     limit=resources.settings.outbox_reconcile_batch)
        if not ids:
            return rescued
        sent = await enqueue_committed(resources.redis, conn, ids)
    log.info("outbox.reconciled", re_enqueued=len(sent))
    return rescued + len(sent)


async def rescue_dead_claims(resources: WorkerResources, conn: asyncpg.Connection) -> int:
    """Run again now the rows claimed by worker processes whose lease lapsed; the number handed over. arq would
    run the dead process's job again only after its job timeout (its id stays marked in progress): a killed
    worker's import, say, would sit for ten minutes."""
    claimed = await repository.claims(conn, max_attempts=RESCUED_UP_TO_ATTEMPTS,
                                      limit=resources.settings.outbox_reconcile_batch)
    if not claimed:
        return 0
    dead = await expired_leases(resources.redis, (r["claimed_by"] for r in claimed))
    released = await repository.release_dead_claims(
        conn, [(r["id"], r["claimed_by"]) for r in claimed if r["claimed_by"] in dead])
    if not released:
        return 0
    ids = [r["id"] for r in released]
    # Released rows that fail to reach Redis here have `enqueued_at` restarted: the stale path retries them
    # (once arq's in-progress mark has expired, if it could not be removed).
    try:
        await release_dead_runs(resources.redis, ids)
    except Exception as exc:
        log.warning("outbox.release_failed", rows=len(ids), error=type(exc).__name__)
        return 0
    sent = await enqueue_outbox(resources.redis, ids)
    log.warning("outbox.rescued", rows=len(sent), dead_workers=len(dead))
    return len(sent)
