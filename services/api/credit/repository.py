"""SQL for the credit ledger, the published broker list and the grade effects' holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import asyncpg

from services.api.pagination import Position

_EVENT_COLUMNS = "id, org_id, points, reason, source, ref_id, actor_org_id, at"


async def insert_event(conn: asyncpg.Connection, *, org_id: UUID, points: int, reason: str, source: str,
                       ref_id: str | None, actor_org_id: UUID | None) -> asyncpg.Record | None:
    """The new event, or None when an event for (org, source, ref) exists already (idempotent recording)."""
    return await conn.fetchrow(
        f"""INSERT INTO credit_events (org_id, points, reason, source, ref_id, actor_org_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (org_id, source, ref_id) WHERE ref_id IS NOT NULL DO NOTHING
            RETURNING {_EVENT_COLUMNS}""",
        org_id, points, reason, source, ref_id, actor_org_id)


# Two-key advisory lock (namespace, org): one hand-written entry in an organisation's ledger at a time, so two
# identical entries sent at once cannot both find the other missing.
_MANUAL_LOCK_NAMESPACE = 7_236_122


async def has_recent_manual_event(conn: asyncpg.Connection, *, org_id: UUID, points: int, reason: str,
                                  source: str, actor_org_id: UUID, within: timedelta) -> bool:
    """Whether `actor_org_id` wrote this very entry (no ref_id) in the last `within`; the lock is held until the
    transaction ends, so the answer stays true for the insert that follows."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _MANUAL_LOCK_NAMESPACE, str(org_id))
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM credit_events
                           WHERE org_id = $1 AND source = $2 AND points = $3 AND reason = $4 AND ref_id IS NULL
                             AND actor_org_id = $5 AND at > now() - $6::interval)""",
        org_id, source, points, reason, actor_org_id, within)
    return found


async def points_of(conn: asyncpg.Connection, org_id: UUID) -> int:
    value = await conn.fetchval("SELECT COALESCE(sum(points), 0)::int FROM credit_events WHERE org_id = $1", org_id)
    return int(value)


async def points_of_many(conn: asyncpg.Connection, org_ids: Sequence[UUID]) -> dict[UUID, int]:
    rows = await conn.fetch(
        """SELECT org_id, sum(points)::int AS points FROM credit_events
            WHERE org_id = ANY($1::uuid[]) GROUP BY org_id""", list(org_ids))
    return {r["org_id"]: r["points"] for r in rows}


async def ledger(conn: asyncpg.Connection, org_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM credit_events WHERE org_id = $1 ORDER BY at DESC, id DESC", org_id))


async def get_org(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, type, name, unified_social_credit_code, province, licence_number, licence_issuer_province,
                  licence_valid_until, created_at FROM organisations WHERE id = $1""", org_id)


async def brokers_page(conn: asyncpg.Connection, *, base_score: int, province: str | None, low: int | None,
                       high: int | None, after: Position | None, limit: int | None) -> list[asyncpg.Record]:
    """Brokers with their derived score, newest first; `limit + 1` rows (None: all, for the export).

    `province`: the organisation's own province, else the province that issued its licence. `low`/`high`:
    the score range [low, high) of the asked grade.
    """
    return list(await conn.fetch(
        """SELECT * FROM (
               SELECT o.id, o.name, o.unified_social_credit_code, o.licence_number, o.licence_issuer_province,
                      o.licence_valid_until, COALESCE(o.province, o.licence_issuer_province) AS province,
                      o.created_at, $1::int + COALESCE(l.points, 0) AS score, COALESCE(l.events, 0) AS events,
                      l.last_event_at
                 FROM organisations o
                 LEFT JOIN LATERAL (SELECT sum(e.points)::int AS points, count(*)::int AS events,
                                           max(e.at) AS last_event_at
                                      FROM credit_events e WHERE e.org_id = o.id) l ON true
                WHERE o.type = 'broker'
                  AND ($2::text IS NULL OR COALESCE(o.province, o.licence_issuer_province) = $2)) AS b
            WHERE ($3::int IS NULL OR score >= $3) AND ($4::int IS NULL OR score < $4)
              AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $7""",
        base_score, province, low, high, after.created_at if after else None, after.id if after else None,
        None if limit is None else limit + 1))


# ------------------------------------------------------------------------------- effects on other domains


async def hold_worker_profile(conn: asyncpg.Connection, worker_id: UUID) -> None:
    await conn.execute("UPDATE worker_profiles SET held_for_review = true WHERE id = $1", worker_id)


async def release_worker_profile(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    """The profile after release, or None if it is not held (or does not exist)."""
    return await conn.fetchrow(
        """UPDATE worker_profiles SET held_for_review = false, updated_at = now()
            WHERE id = $1 AND held_for_review RETURNING id, broker_org_id""", worker_id)


async def held_profiles_page(conn: asyncpg.Connection, *, after: Position | None,
                             limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT w.id, w.broker_org_id, o.name AS broker_name, w.created_at FROM worker_profiles w
             JOIN organisations o ON o.id = w.broker_org_id
            WHERE w.held_for_review AND w.status <> 'erased'
              AND ($1::timestamptz IS NULL OR (w.created_at, w.id) < ($1, $2::uuid))
            ORDER BY w.created_at DESC, w.id DESC LIMIT $3""",
        after.created_at if after else None, after.id if after else None, limit + 1))


async def fake_postings_upheld(conn: asyncpg.Connection, org_id: UUID) -> int:
    """Distinct postings of an enterprise with an upheld `fake` report."""
    value = await conn.fetchval(
        """SELECT count(DISTINCT target_id)::int FROM reports
            WHERE target_org_id = $1 AND target_kind = 'job' AND reason = 'fake' AND status = 'upheld'""", org_id)
    return int(value)
