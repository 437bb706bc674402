"""SQL for idempotency records."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

# Two-key advisory lock (namespace, hash of org and key); must differ from the other two-key users (7_236_118 to
# 7_236_122: imports, indexing, notifications, credit).
_KEY_LOCK_NAMESPACE = 7_236_123


async def lock_key(conn: asyncpg.Connection, *, org_id: UUID, key: str) -> None:
    """Hold the organisation's key until the transaction ends: a second request with it waits here for the first
    to commit (then finds its record) or roll back (then creates itself)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _KEY_LOCK_NAMESPACE, f"{org_id}:{key}")


async def find(conn: asyncpg.Connection, *, org_id: UUID, key: str, ttl_hours: int) -> asyncpg.Record | None:
    # Expired records are removed lazily, so a key may be reused after the TTL as the contract says.
    await conn.execute(
        """DELETE FROM idempotency_records
            WHERE org_id = $1 AND key = $2 AND created_at < now() - make_interval(hours => $3)""",
        org_id, key, ttl_hours,
    )
    return await conn.fetchrow(
        """SELECT method, path, request_hash, status_code, response_body
             FROM idempotency_records WHERE org_id = $1 AND key = $2""",
        org_id, key,
    )


async def insert(conn: asyncpg.Connection, *, org_id: UUID, key: str, method: str, path: str,
                 request_hash: bytes, status_code: int, response_body: Any) -> None:
    await conn.execute(
        """INSERT INTO idempotency_records (org_id, key, method, path, request_hash, status_code, response_body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        org_id, key, method, path, request_hash, status_code, response_body,
    )


async def purge_expired(conn: asyncpg.Connection, *, ttl_hours: int) -> int:
    """Delete records past the TTL (they can no longer be replayed, and some hold encrypted secrets)."""
    status = await conn.execute(
        "DELETE FROM idempotency_records WHERE created_at < now() - make_interval(hours => $1)", ttl_hours)
    return int(status.split()[-1])


async def sealed_records(conn: asyncpg.Connection, *, after: tuple[UUID, str] | None,
                         limit: int) -> list[asyncpg.Record]:
    """Stored responses holding a sealed value, in key order after `after` (the key rotation pages through)."""
    org_id, key = after if after is not None else (UUID(int=0), "")
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT org_id, key, response_body FROM idempotency_records
            WHERE jsonb_path_exists(response_body::jsonb, '$.*.sealed') AND (org_id, key) > ($1, $2)
            ORDER BY org_id, key LIMIT $3""",
        org_id, key, limit)
    return rows


async def replace_response(conn: asyncpg.Connection, *, org_id: UUID, key: str, old: Any, new: Any) -> bool:
    """Store `new` only if the record still holds `old` (it may have been purged meanwhile). The column is json
    (the text as sent, migration 0019), which has no equality: compared as jsonb."""
    status: str = await conn.execute(
        """UPDATE idempotency_records SET response_body = $4
            WHERE org_id = $1 AND key = $2 AND response_body::jsonb = $3::jsonb""",
        org_id, key, old, new)
    return status != "UPDATE 0"
