"""SQL for API keys."""

from __future__ import annotations

from datetime import datetime
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


async def list_keys(conn: asyncpg.Connection, org_id: UUID, *, after: tuple[datetime, UUID] | None,
                    limit: int) -> list[asyncpg.Record]:
    """The organisation's keys, oldest first, from after `after` (created_at, id) on."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, org_id, prefix, label, created_at, revoked_at FROM api_keys
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
            ORDER BY created_at, id LIMIT $4""",
        org_id, after[0] if after else None, after[1] if after else None, limit,
    )
    return rows


async def revoke_key(conn: asyncpg.Connection, *, org_id: UUID, key_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE id = $1 AND org_id = $2
        RETURNING id, org_id, prefix, label, created_at, revoked_at""",
        key_id, org_id,
    )


async def revoke_active_keys_labelled(conn: asyncpg.Connection, *, org_id: UUID, label: str) -> None:
    """Revoke the organisation's still-active keys carrying `label` (a command rotating the key it issues)."""
    await conn.execute(
        """UPDATE api_keys SET revoked_at = now()
            WHERE org_id = $1 AND label = $2 AND revoked_at IS NULL""",
        org_id, label,
    )


_DEVSTACK_ADMIN_LOCK_KEY = 7236118400002  # pg advisory lock: `bashu admin ensure-demo-admin`, one at a time


async def lock_devstack_admin_setup(conn: asyncpg.Connection) -> None:
    """Serialise `ensure-demo-admin` runs until the transaction ends (one admin organisation, one live key)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _DEVSTACK_ADMIN_LOCK_KEY)
