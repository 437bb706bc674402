"""SQL for the demo loader's own questions. It writes nothing: rows are created and changed through the domain
services (so encryption, compliance and outbox rows are the API's). The postings queries live here rather than in
services/api/jobs/repository.py because only the demo asks them (by its `demo-j-…` references)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

_LOCK_KEY = 7236118400007  # pg advisory lock: one demo load at a time


async def lock_demo_load(conn: asyncpg.Connection) -> None:
    """Until `unlock_demo_load` or the session ends (a load spans many transactions)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)


async def unlock_demo_load(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def job_refs(conn: asyncpg.Connection, org_id: UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT external_ref FROM job_postings WHERE org_id = $1 AND external_ref IS NOT NULL", org_id)
    return {r["external_ref"] for r in rows}


async def postings_to_renew(conn: asyncpg.Connection, org_id: UUID, *, ref_prefix: str,
                            expiring_before: datetime) -> list[UUID]:
    """The organisation's demo postings that are open or expired and end before `expiring_before` (held and
    closed ones stay as they are)."""
    rows = await conn.fetch(
        """SELECT id FROM job_postings
            WHERE org_id = $1 AND starts_with(external_ref, $2) AND status IN ('open', 'expired')
              AND expires_at < $3
            ORDER BY id""",
        org_id, ref_prefix, expiring_before)
    return [r["id"] for r in rows]
