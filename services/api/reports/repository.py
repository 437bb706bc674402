"""SQL for reports, and the reads of other domains' rows that reports need (postings, organisations)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.api.pagination import Position

_COLUMNS = """r.id, r.reporter_org_id, r.reporter_key_id, r.target_kind, r.target_id, r.target_org_id, r.reason,
              r.text, r.contact_enc, r.status, r.repeat_count, r.decision_note, r.decided_by_org_id, r.decided_at,
              r.created_at, r.updated_at,
              ro.name AS reporter_org_name, ro.type AS reporter_org_type, tgt.name AS target_org_name"""
_FROM = """reports r JOIN organisations ro ON ro.id = r.reporter_org_id
                     JOIN organisations tgt ON tgt.id = r.target_org_id"""


async def posting_owner(conn: asyncpg.Connection, job_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, org_id, title, status,
                  CASE WHEN status IN ('open', 'pending_review') AND expires_at <= now() THEN 'expired'
                       ELSE status END AS effective_status
             FROM job_postings WHERE id = $1""", job_id)


async def organisation(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, type, name FROM organisations WHERE id = $1", org_id)


async def insert(conn: asyncpg.Connection, *, report_id: UUID, reporter_org_id: UUID, reporter_key_id: UUID,
                 target_kind: str, target_id: UUID, target_org_id: UUID, reason: str, text: str | None,
                 contact_enc: bytes | None) -> asyncpg.Record | None:
    """The new report, or None when this reporter has an open one for the same target and reason."""
    row = await conn.fetchrow(
        """INSERT INTO reports (id, reporter_org_id, reporter_key_id, target_kind, target_id, target_org_id, reason,
                                text, contact_enc)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (reporter_org_id, target_kind, target_id, reason) WHERE status = 'open' DO NOTHING
           RETURNING id""",
        report_id, reporter_org_id, reporter_key_id, target_kind, target_id, target_org_id, reason, text,
        contact_enc)
    return None if row is None else await get(conn, row["id"])


async def count_repeat(conn: asyncpg.Connection, *, reporter_org_id: UUID, target_kind: str, target_id: UUID,
                       reason: str) -> asyncpg.Record | None:
    """The reporter's open report of this target and reason, its repeat count raised by one."""
    row = await conn.fetchrow(
        """UPDATE reports SET repeat_count = repeat_count + 1, updated_at = now()
            WHERE reporter_org_id = $1 AND target_kind = $2 AND target_id = $3 AND reason = $4 AND status = 'open'
            RETURNING id""", reporter_org_id, target_kind, target_id, reason)
    return None if row is None else await get(conn, row["id"])


async def get(conn: asyncpg.Connection, report_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF r" if for_update else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE r.id = $1{lock}", report_id)


async def list_page(conn: asyncpg.Connection, *, status: str | None, target_kind: str | None,
                    target_org_id: UUID | None, after: Position | None, limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
             WHERE ($1::text IS NULL OR r.status = $1) AND ($2::text IS NULL OR r.target_kind = $2)
               AND ($3::uuid IS NULL OR r.target_org_id = $3)
               AND ($4::timestamptz IS NULL OR (r.created_at, r.id) < ($4, $5::uuid))
             ORDER BY r.created_at DESC, r.id DESC LIMIT $6""",
        status, target_kind, target_org_id, after.created_at if after else None, after.id if after else None,
        limit + 1))


async def decide(conn: asyncpg.Connection, report_id: UUID, *, outcome: str, note: str,
                 authority_org_id: UUID) -> None:
    await conn.execute(
        """UPDATE reports SET status = $2, decision_note = $3, decided_by_org_id = $4, decided_at = now(),
                   updated_at = now() WHERE id = $1""", report_id, outcome, note, authority_org_id)


async def remove_posting(conn: asyncpg.Connection, job_id: UUID) -> bool:
    """Close a live posting because an upheld report found it fake, fee-charging, holding IDs or filled."""
    row = await conn.fetchrow(
        """UPDATE job_postings SET status = 'closed', closed_at = now(), closed_reason = 'removed_after_report',
                   updated_at = now()
            WHERE id = $1 AND status IN ('open', 'pending_review', 'expired') RETURNING id""", job_id)
    return row is not None


async def log_contact_reads(conn: asyncpg.Connection, *, org_id: UUID, api_key_id: UUID, report_ids: list[UUID],
                            purpose: str, request_id: str | None) -> None:
    """Audit (clause 22): an authority read the reporters' contacts of these reports."""
    await conn.executemany(
        """INSERT INTO pii_access_log (org_id, api_key_id, subject_kind, subject_id, fields, purpose, request_id)
           VALUES ($1, $2, 'report', $3, ARRAY['contact'], $4, $5)""",
        [(org_id, api_key_id, report_id, purpose, request_id) for report_id in report_ids])
