"""SQL for API keys."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg


async def find_active_key(conn: asyncpg.Connection, digest: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT k.id AS key_id, o.id AS org_id, o.type, o.province, o.licence_valid_until, o.kiosk_adcode
             FROM api_keys k JOIN organisations o ON o.id = k.org_id
            WHERE k.key_hash = $1 AND k.revoked_at IS NULL""",
        digest,
    )


async def insert_key(conn: asyncpg.Connection, *, org_id: UUID, prefix: str, digest: bytes,
                     label: str | None) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO api_keys (id, org_id, prefix, key_hash, label) VALUES ($1, $2, $3, $4, $5)
           RETURNING id, org_id, prefix, label, created_at, revoked_at""",
        uuid4(), org_id, prefix, digest, label,
    )
    assert row is not None
    return row


async def list_keys(conn: asyncpg.Connection, org_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, org_id, prefix, label, created_at, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY created_at",
        org_id,
    )


async def revoke_key(conn: asyncpg.Connection, *, org_id: UUID, key_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE id = $1 AND org_id = $2
        RETURNING id, org_id, prefix, label, created_at, revoked_at""",
        key_id, org_id,
    )
