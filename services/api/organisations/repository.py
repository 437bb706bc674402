"""SQL for organisations."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.api.organisations import contact
from services.api.organisations.schemas import Licence, OrgCreate

_COLUMNS = """id, type, name, unified_social_credit_code, province, licence_number, licence_issuer_province,
              licence_valid_until, kiosk_adcode, contact, contact_enc, created_at"""


async def insert(conn: asyncpg.Connection, body: OrgCreate, *, org_id: UUID | None = None,
                 contact_enc: bytes | None = None) -> asyncpg.Record:
    """`contact_enc` is the contact person's fields of `body.contact` sealed for `org_id` (organisations/contact.py);
    only the organisation's public fields are written in clear (a CHECK of migration 0010 refuses the others)."""
    public_contact, personal = contact.split(body.contact)
    if personal and contact_enc is None:
        raise ValueError("the contact person's fields must be sealed before they are stored")
    row = await conn.fetchrow(
        f"""INSERT INTO organisations (id, type, name, unified_social_credit_code, province, licence_number,
                   licence_issuer_province, licence_valid_until, contact, contact_enc, kiosk_adcode)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_COLUMNS}""",
        org_id or uuid4(), body.type, body.name, body.unified_social_credit_code, body.province,
        body.licence.number if body.licence else None,
        body.licence.issuer_province if body.licence else None,
        body.licence.valid_until if body.licence else None,
        public_contact, contact_enc, body.kiosk_adcode,
    )
    assert row is not None
    return row


async def get(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE id = $1", org_id)


async def sealed_contact(conn: asyncpg.Connection, org_id: UUID) -> bytes | None:
    blob: bytes | None = await conn.fetchval("SELECT contact_enc FROM organisations WHERE id = $1", org_id)
    return blob


async def find_by_name(conn: asyncpg.Connection, org_type: str, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE type = $1 AND name = $2", org_type, name)


# Rows written before migration 0010 hold the contact person's fields in clear in `contact`.
_CLEAR_PERSONAL = "contact ?| array['name', 'phone', 'email']"


async def lock_clear_contacts(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Rows whose contact still holds personal fields in clear, locked for sealing (a concurrent sealer skips
    them; the condition is checked again on the locked row, so a row sealed meanwhile is not returned)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT id, contact, contact_enc FROM organisations WHERE {_CLEAR_PERSONAL}
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""", limit)
    return rows


async def store_sealed_contact(conn: asyncpg.Connection, org_id: UUID, *, public_contact: dict[str, Any],
                               contact_enc: bytes | None) -> None:
    await conn.execute("UPDATE organisations SET contact = $2, contact_enc = $3 WHERE id = $1",
                       org_id, public_contact, contact_enc)


async def count_clear_contacts(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval(f"SELECT count(*) FROM organisations WHERE {_CLEAR_PERSONAL}")
    return count


async def get_for_update(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE id = $1 FOR UPDATE", org_id)


async def record_licence(conn: asyncpg.Connection, org_id: UUID, licence: Licence, *,
                         changed_by: UUID) -> asyncpg.Record:
    """Store the broker's licence, and the one it replaces in `licence_changes` (the caller holds the row's
    lock: `get_for_update`). Returns the organisation's row."""
    await conn.execute(
        """INSERT INTO licence_changes (org_id, number, issuer_province, valid_until, previous_number,
                                        previous_issuer_province, previous_valid_until, changed_by)
           SELECT id, $2, $3, $4, licence_number, licence_issuer_province, licence_valid_until, $5
             FROM organisations WHERE id = $1""",
        org_id, licence.number, licence.issuer_province, licence.valid_until, changed_by)
    row = await conn.fetchrow(
        f"""UPDATE organisations SET licence_number = $2, licence_issuer_province = $3, licence_valid_until = $4
             WHERE id = $1 RETURNING {_COLUMNS}""",
        org_id, licence.number, licence.issuer_province, licence.valid_until)
    assert row is not None
    return row


async def licence_changes(conn: asyncpg.Connection, org_id: UUID, *, before_id: int | None,
                          limit: int) -> list[asyncpg.Record]:
    """The broker's recorded licence changes, newest first, from before `before_id` on."""
    return list(await conn.fetch(
        """SELECT id, number, issuer_province, valid_until, previous_number, previous_issuer_province,
                  previous_valid_until, changed_by, changed_at
             FROM licence_changes WHERE org_id = $1 AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3""", org_id, before_id, limit))
