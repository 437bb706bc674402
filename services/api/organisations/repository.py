"""SQL for organisations."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from services.api.organisations.schemas import OrgCreate

_COLUMNS = """id, type, name, unified_social_credit_code, province, licence_number, licence_issuer_province,
              licence_valid_until, kiosk_adcode, created_at"""


async def insert(conn: asyncpg.Connection, body: OrgCreate) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""INSERT INTO organisations (id, type, name, unified_social_credit_code, province, licence_number,
                   licence_issuer_province, licence_valid_until, contact, kiosk_adcode)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_COLUMNS}""",
        uuid4(), body.type, body.name, body.unified_social_credit_code, body.province,
        body.licence.number if body.licence else None,
        body.licence.issuer_province if body.licence else None,
        body.licence.valid_until if body.licence else None,
        body.contact.model_dump(exclude_none=True), body.kiosk_adcode,
    )
    assert row is not None
    return row


async def get(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE id = $1", org_id)


async def find_by_name(conn: asyncpg.Connection, org_type: str, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE type = $1 AND name = $2", org_type, name)
