"""SQL for the kiosk page: an open posting's public fields with its employer's name."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.api.jobs.repository import open_headcount_sql

# `open_headcount`: the headcount still open (less hires), the number search documents and kiosk hits show too.
# Public fields only: the posting's own recruiting contact, the employer's name, never its registration contact.
PUBLIC_JOB_COLUMNS = f"""j.id, j.title, j.description, j.occupation_code, {open_headcount_sql("j")} AS open_headcount,
       j.adcode, j.address, j.lat, j.lng, j.wage_min, j.wage_max, j.wage_unit, j.work_type, j.start_date, j.end_date,
       j.benefits, j.required_certificates, j.contact, j.created_at, o.name AS employer_name"""


async def fetch_open_job(conn: asyncpg.Connection, job_id: UUID) -> asyncpg.Record | None:
    """An open, unexpired posting with its employer's name; None for anything else (closed, held, expired)."""
    return await conn.fetchrow(
        f"""SELECT {PUBLIC_JOB_COLUMNS}
              FROM job_postings j JOIN organisations o ON o.id = j.org_id
             WHERE j.id = $1 AND j.status = 'open' AND j.expires_at > now()""",
        job_id)
