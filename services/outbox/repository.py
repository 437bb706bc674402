"""SQL for the outbox."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

# From this attempt on an undone row counts as stuck (the worker logs `outbox.poisoned`, `bashu outbox stuck`
# lists it): its retry delay has reached the reconciler's longest (2^8 × the base), so it has been failing for
# hours. It is still retried at that pace; nothing is dropped.
STUCK_AFTER_ATTEMPTS = 9


async def record(conn: asyncpg.Connection, topic: str, entity_id: str) -> int:
    outbox_id: int = await conn.fetchval(
        "INSERT INTO outbox (topic, entity_id) VALUES ($1, $2) RETURNING id", topic, entity_id)
    return outbox_id


async def get(conn: asyncpg.Connection, outbox_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, topic, entity_id, attempts, done_at FROM outbox WHERE id = $1", outbox_id)


async def claim(conn: asyncpg.Connection, outbox_id: int, claimer: str | None = None) -> asyncpg.Record | None:
    """The row, if still undone, with this run counted as an attempt (and `enqueued_at` restarted) before the
    handler runs: a run that never reports back (arq's job timeout, a killed worker) backs off like a failure
    instead of being re-run by every reconciler round. `claimer` names the worker process running it (its
    lease, workers/lease.py), so a run whose process died can be handed over at once (`release_dead_claims`)."""
    return await conn.fetchrow(
        """UPDATE outbox SET attempts = attempts + 1, enqueued_at = now(), claimed_by = $2
            WHERE id = $1 AND done_at IS NULL
        RETURNING id, topic, entity_id, attempts""", outbox_id, claimer)


async def mark_enqueued(conn: asyncpg.Connection, ids: list[int], *, due_in_seconds: float = 0.0) -> None:
    """`due_in_seconds`: the jobs were deferred; the reconciler's clock starts when they are due, so it does not
    take them for lost while they wait."""
    await conn.execute("UPDATE outbox SET enqueued_at = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[])",
                       ids, due_in_seconds)


async def topics_of(conn: asyncpg.Connection, ids: list[int]) -> dict[int, str]:
    rows = await conn.fetch("SELECT id, topic FROM outbox WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r["topic"] for r in rows}


async def mark_done(conn: asyncpg.Connection, outbox_id: int) -> None:
    await conn.execute("UPDATE outbox SET done_at = now(), last_error = NULL, claimed_by = NULL WHERE id = $1",
                       outbox_id)


async def mark_failed(conn: asyncpg.Connection, outbox_id: int, error: str) -> None:
    """The attempt was counted by `claim`."""
    await conn.execute("UPDATE outbox SET last_error = $2, claimed_by = NULL WHERE id = $1", outbox_id, error[:2000])


async def release_claim(conn: asyncpg.Connection, outbox_id: int, claimer: str) -> None:
    """Give up this claimer's claim on a run that ended without reporting back (cancelled); a claim taken
    since by another run stays."""
    await conn.execute("UPDATE outbox SET claimed_by = NULL WHERE id = $1 AND claimed_by = $2", outbox_id, claimer)


async def claims(conn: asyncpg.Connection, *, max_attempts: int, limit: int) -> list[asyncpg.Record]:
    """Undone rows a run has claimed and not reported back on (id, claimed_by), tried at most `max_attempts`
    times: the candidates for a hand-over when their worker is gone."""
    return list(await conn.fetch(
        """SELECT id, claimed_by FROM outbox
            WHERE done_at IS NULL AND claimed_by IS NOT NULL AND attempts <= $1
            ORDER BY id LIMIT $2""", max_attempts, limit))


async def release_dead_claims(conn: asyncpg.Connection, dead: Sequence[tuple[int, str]]) -> list[asyncpg.Record]:
    """Drop the claims of runs whose worker is gone ((id, claimer) pairs), restarting their `enqueued_at`
    as the caller enqueues them again; a row claimed anew or finished meanwhile is left alone. Returns
    (id, attempts) of the rows released."""
    if not dead:
        return []
    return list(await conn.fetch(
        """UPDATE outbox o SET claimed_by = NULL, enqueued_at = now()
             FROM unnest($1::bigint[], $2::text[]) AS d(id, claimer)
            WHERE o.id = d.id AND o.claimed_by = d.claimer AND o.done_at IS NULL
        RETURNING o.id, o.attempts""", [i for i, _ in dead], [c for _, c in dead]))


async def stale(conn: asyncpg.Connection, *, older_than_seconds: float, limit: int) -> list[int]:
    """Undone rows never enqueued, or enqueued (or last started) long enough ago that the job must have been
    lost, failed or timed out: the delay doubles with each attempt, up to 2^8 times the base."""
    rows = await conn.fetch(
        """SELECT id FROM outbox
            WHERE done_at IS NULL
              AND coalesce(enqueued_at, created_at)
                  < now() - make_interval(secs => $1 * power(2, least(attempts, 8)))
            ORDER BY id LIMIT $2""",
        older_than_seconds, limit,
    )
    return [r["id"] for r in rows]


async def purge_done(conn: asyncpg.Connection, *, older_than_hours: int, limit: int) -> int:
    """Delete up to `limit` rows done more than `older_than_hours` ago, oldest first; the number deleted.
    Undone rows are never touched (the reconciler still owes them a job)."""
    # `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the latter was planned as a hash join over the whole table
    # (383 ms a batch on 2 million rows, against 28 ms by primary key).
    status = await conn.execute(
        """DELETE FROM outbox WHERE id = ANY(ARRAY(
               SELECT id FROM outbox
                WHERE done_at IS NOT NULL AND done_at < now() - make_interval(hours => $1)
                ORDER BY done_at LIMIT $2))""",
        older_than_hours, limit)
    return int(status.split()[-1])


async def stuck(conn: asyncpg.Connection, *, min_attempts: int, limit: int) -> list[asyncpg.Record]:
    """Undone rows that failed at least `min_attempts` times, oldest first."""
    return list(await conn.fetch(
        """SELECT id, topic, entity_id, attempts, created_at, enqueued_at, last_error FROM outbox
            WHERE done_at IS NULL AND attempts >= $1 ORDER BY id LIMIT $2""", min_attempts, limit))


async def retry_soon(conn: asyncpg.Connection, ids: Sequence[int]) -> list[int]:
    """Start the backoff of these undone rows again (after the cause is fixed): the reconciler's next run
    enqueues them. Returns the ids that were undone."""
    rows = await conn.fetch(
        """UPDATE outbox SET attempts = 0, enqueued_at = NULL
            WHERE id = ANY($1) AND done_at IS NULL RETURNING id""", list(ids))
    return sorted(r["id"] for r in rows)
