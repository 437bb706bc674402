"""SQL for job postings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.api.pagination import Position

# `effective_status`: a posting past its expiry reads as expired even before the periodic sweep marks it.
_COLUMNS = """id, org_id, status, external_ref, title, description, occupation_code, occupation_inferred, headcount,
              adcode, address, lat, lng, wage_min, wage_max, wage_unit, work_type, start_date, end_date, benefits,
              required_certificates, age_min, age_max, contact, expires_at, compliance_findings,
              approved_findings, review_decision, review_note, reviewed_by_org_id, reviewed_at, closed_at,
              closed_reason, created_at, updated_at,
              CASE WHEN status IN ('open', 'pending_review') AND expires_at <= now() THEN 'expired'
                   ELSE status END AS effective_status,
              -- issue 9 (credit): the enterprise's ledger points (→ its grade)
              (SELECT COALESCE(sum(e.points), 0)::int FROM credit_events e
                WHERE e.org_id = job_postings.org_id) AS credit_points"""


def open_headcount_sql(posting: str = "job_postings") -> str:
    """The headcount not yet taken by hires (placements, migration 0006; a hire counts even if the worker left
    later), as a SQL expression over the posting row named `posting` (a table name or alias). The one definition
    of the remaining headcount: search documents, kiosk hits and the kiosk's detail views all show it."""
    if not posting.isidentifier() or posting == "hires":
        raise ValueError(f"not a usable alias for a posting row: {posting!r}")
    return f"""greatest(0, {posting}.headcount - (SELECT count(*) FROM placements hires
                                             WHERE hires.job_id = {posting}.id AND hires.hired_at IS NOT NULL))::int"""


@dataclass(frozen=True, slots=True)
class JobRow:
    """The values a posting is written with (create and update)."""

    status: str
    external_ref: str | None
    title: str
    description: str
    occupation_code: str
    occupation_inferred: bool
    headcount: int
    adcode: str
    address: str | None
    lat: float | None
    lng: float | None
    wage_min: float
    wage_max: float
    wage_unit: str
    work_type: str
    start_date: date
    end_date: date | None
    benefits: list[str]
    required_certificates: list[str]
    age_min: int | None
    age_max: int | None
    contact: dict[str, Any] | None
    expires_at: datetime
    compliance_findings: list[dict[str, Any]]

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _WRITE_FIELDS)


_WRITE_FIELDS: tuple[str, ...] = tuple(JobRow.__dataclass_fields__)


async def insert(conn: asyncpg.Connection, job_id: UUID, org_id: UUID, row: JobRow) -> asyncpg.Record:
    names = ", ".join(_WRITE_FIELDS)
    params = ", ".join(f"${i}" for i in range(3, len(_WRITE_FIELDS) + 3))
    record = await conn.fetchrow(
        f"INSERT INTO job_postings (id, org_id, {names}) VALUES ($1, $2, {params}) RETURNING {_COLUMNS}",
        job_id, org_id, *row.values())
    assert record is not None
    return record


async def update(conn: asyncpg.Connection, job_id: UUID, row: JobRow) -> asyncpg.Record:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_WRITE_FIELDS, start=2))
    record = await conn.fetchrow(
        f"UPDATE job_postings SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        job_id, *row.values())
    assert record is not None
    return record


async def get(conn: asyncpg.Connection, job_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM job_postings WHERE id = $1{lock}", job_id)


async def get_many(conn: asyncpg.Connection, job_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """The indexer's read. `open_headcount`: the headcount not yet taken by hires (`open_headcount_sql`), what
    search documents and kiosk hits show."""
    return list(await conn.fetch(
        f"""SELECT {_COLUMNS}, {open_headcount_sql()} AS open_headcount
              FROM job_postings WHERE id = ANY($1::uuid[])""", list(job_ids)))


async def find_by_external_ref(conn: asyncpg.Connection, org_id: UUID, external_ref: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM job_postings WHERE org_id = $1 AND external_ref = $2",
                               org_id, external_ref)


async def find_identical(conn: asyncpg.Connection, org_id: UUID, row: JobRow) -> asyncpg.Record | None:
    """A live posting of `org_id` with exactly these contents (a re-imported row without external_ref)."""
    return await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM job_postings
             WHERE org_id = $1 AND status IN ('open', 'pending_review') AND external_ref IS NULL
               AND title = $2 AND description = $3 AND occupation_code = $4 AND headcount = $5 AND adcode = $6
               AND address IS NOT DISTINCT FROM $7 AND wage_min = $8 AND wage_max = $9 AND wage_unit = $10
               AND work_type = $11 AND start_date = $12 AND end_date IS NOT DISTINCT FROM $13
               AND benefits = $14 AND required_certificates = $15
               AND age_min IS NOT DISTINCT FROM $16 AND age_max IS NOT DISTINCT FROM $17
             ORDER BY created_at LIMIT 1""",
        org_id, row.title, row.description, row.occupation_code, row.headcount, row.adcode, row.address,
        row.wage_min, row.wage_max, row.wage_unit, row.work_type, row.start_date, row.end_date, row.benefits,
        row.required_certificates, row.age_min, row.age_max)


async def list_page(conn: asyncpg.Connection, *, org_id: UUID | None, status: str | None,
                    after: Position | None, limit: int) -> list[asyncpg.Record]:
    """Newest first, `limit + 1` rows. `org_id` None: every organisation's (authorities)."""
    return list(await conn.fetch(
        f"""SELECT * FROM (SELECT {_COLUMNS} FROM job_postings WHERE ($1::uuid IS NULL OR org_id = $1)) AS j
             WHERE ($2::text IS NULL OR effective_status = $2)
               AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
             ORDER BY created_at DESC, id DESC LIMIT $5""",
        org_id, status, after.created_at if after else None, after.id if after else None, limit + 1))


async def set_review(conn: asyncpg.Connection, job_id: UUID, *, status: str, decision: str, note: str,
                     reviewer: UUID, approved_findings: list[dict[str, Any]],
                     closed_reason: str | None) -> asyncpg.Record:
    record = await conn.fetchrow(
        f"""UPDATE job_postings SET status = $2, review_decision = $3, review_note = $4, reviewed_by_org_id = $5,
                   reviewed_at = now(), approved_findings = $6, closed_reason = $7,
                   closed_at = CASE WHEN $2 = 'closed' THEN now() ELSE closed_at END, updated_at = now()
             WHERE id = $1 RETURNING {_COLUMNS}""",
        job_id, status, decision, note, reviewer, approved_findings, closed_reason)
    assert record is not None
    return record


async def close(conn: asyncpg.Connection, job_id: UUID, *, reason: str = "closed_by_owner") -> asyncpg.Record:
    """`reason`: closed_by_owner, or filled (placements: the last open headcount was hired; migration 0006)."""
    record = await conn.fetchrow(
        f"""UPDATE job_postings SET status = 'closed', closed_at = now(), closed_reason = $2,
                   updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}""", job_id, reason)
    assert record is not None
    return record


async def expires_at_of(conn: asyncpg.Connection, job_id: UUID) -> datetime | None:
    expires_at: datetime | None = await conn.fetchval("SELECT expires_at FROM job_postings WHERE id = $1", job_id)
    return expires_at


async def open_now(conn: asyncpg.Connection, job_ids: Sequence[UUID]) -> set[UUID]:
    """Of these postings, the ones open and unexpired now (`effective_status = 'open'`, what makes a posting
    indexable), read here because the jobs index lags the row."""
    rows = await conn.fetch(
        """SELECT id FROM job_postings
            WHERE id = ANY($1::uuid[]) AND status = 'open' AND expires_at > now()""",
        list(job_ids))
    return {r["id"] for r in rows}


async def mark_expired(conn: asyncpg.Connection, *, limit: int) -> list[UUID]:
    """Live postings past their expiry become `expired`; returns their ids (oldest expiry first)."""
    rows = await conn.fetch(
        """UPDATE job_postings SET status = 'expired', updated_at = now()
            WHERE id IN (SELECT id FROM job_postings
                          WHERE status IN ('open', 'pending_review') AND expires_at <= now()
                          ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING id""", limit)
    return [r["id"] for r in rows]


async def ids_with_occupations(conn: asyncpg.Connection, codes: Sequence[str], *, after: UUID | None,
                               limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM job_postings
            WHERE occupation_code = ANY($1::text[]) AND status = 'open' AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""", list(codes), after, limit)
    return [r["id"] for r in rows]


async def inferred_live_page(conn: asyncpg.Connection, *, after: UUID | None, limit: int) -> list[asyncpg.Record]:
    """Live postings (open or held for review) whose occupation was inferred, by id (keyset), with what it was
    inferred from: for inferring them again (workers/reinference_tasks.py)."""
    records: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, title, description, occupation_code FROM job_postings
            WHERE occupation_inferred AND status IN ('open', 'pending_review') AND ($1::uuid IS NULL OR id > $1)
            ORDER BY id LIMIT $2""", after, limit)
    return records


async def set_inferred_code(conn: asyncpg.Connection, job_id: UUID, code: str, *, was: str, title: str,
                            description: str) -> bool:
    """Set a live posting's inferred occupation, only if it still reads as it did when inferred again (same title,
    description and code, still inferred): an edit committed meanwhile inferred from its own text and wins.
    `updated_at` stays: nobody edited the posting (it orders postings for newness)."""
    status: str = await conn.execute(
        """UPDATE job_postings SET occupation_code = $2
            WHERE id = $1 AND occupation_inferred AND occupation_code = $3 AND title = $4 AND description = $5
              AND status IN ('open', 'pending_review')""", job_id, code, was, title, description)
    return status == "UPDATE 1"


async def ids_after(conn: asyncpg.Connection, *, after: UUID | None, limit: int) -> list[UUID]:
    rows = await conn.fetch("SELECT id FROM job_postings WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
                            after, limit)
    return [r["id"] for r in rows]
