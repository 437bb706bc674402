"""Enqueueing outbox rows to arq. Never raises: a row that could not be enqueued stays for the reconciler."""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis

log = structlog.get_logger("bashu.outbox")

PROCESS_OUTBOX = "process_outbox"


def outbox_job_id(outbox_id: int, queue_name: str = "") -> str:
    # A stable job id: arq refuses a second enqueue of a job that is queued or running, so the reconciler and
    # the after-commit path can both try without doubling work. arq's job keys (`arq:job:<id>`) are global to
    # the Redis database, not per queue: without the queue name, outbox row 1 of one stack (or test database)
    # silently blocks row 1 of every other stack sharing the Redis until the stale key expires (a day).
    return f"{queue_name}:outbox:{outbox_id}" if queue_name else f"outbox:{outbox_id}"


def rescue_job_id(outbox_id: int, attempts: int, queue_name: str = "") -> str:
    # A row whose worker died mid-run: arq still holds the dead run's job id (queued, marked in progress until
    # its job timeout), so the hand-over needs an id of its own, one per attempt. When the old job runs at
    # last (arq's job timeout + 10 s after the dead run started), it skips the row if the hand-over finished
    # it; a hand-over still running then (a long import resumed) is run a second time alongside.
    return f"{outbox_job_id(outbox_id, queue_name)}:rescue:{attempts}"


async def enqueue_outbox(redis: ArqRedis, outbox_ids: list[int], *, defer_seconds: float | None = None,
                         rescued_attempts: dict[int, int] | None = None) -> list[int]:
    """Enqueue each id (to run `defer_seconds` from now when given); return those that reached Redis.
    `rescued_attempts` (id → attempts) marks rows handed over from a dead worker: they get `rescue_job_id`s."""
    sent: list[int] = []
    for outbox_id in outbox_ids:
        queue = redis.default_queue_name
        job_id = (outbox_job_id(outbox_id, queue) if rescued_attempts is None
                  else rescue_job_id(outbox_id, rescued_attempts[outbox_id], queue))
        try:
            await redis.enqueue_job(PROCESS_OUTBOX, outbox_id, _job_id=job_id, _defer_by=defer_seconds)
        except Exception as exc:  # Redis down or slow: the reconciler will pick the row up
            log.warning("outbox.enqueue_failed", outbox_id=outbox_id, error=type(exc).__name__)
            continue
        sent.append(outbox_id)
    return sent
