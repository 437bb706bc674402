"""Placement reminders (cron): ask the broker to confirm arrival (from the job's start date) and retention at 30
and 90 days after arrival.

Each reminder is written once (unique per placement and kind) into `placement_reminders`, the broker's list at
`GET /v1/placements/reminders`; the transition it asks for, or the end of the placement, resolves it. The
notifications inbox is built separately: once it offers a recording function, this is the one place to call it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from services.api.placements import repository
from workers.context import resources_of

log = structlog.get_logger("bashu.worker.placements")

CHINA_TZ = ZoneInfo("Asia/Shanghai")
BATCH = 500


async def write_due_reminders(conn: asyncpg.Connection, *, today: date) -> int:
    """Write every reminder due by `today` (a date in China) not written before; return how many were written."""
    written = 0
    while True:
        async with conn.transaction():
            due = await repository.due_reminders(conn, today=today, limit=BATCH)
            for row in due:
                if await repository.insert_reminder(conn, placement_id=row["placement_id"],
                                                    broker_org_id=row["broker_org_id"], kind=row["kind"],
                                                    due_on=row["due_on"]) is not None:
                    written += 1
        if len(due) < BATCH:
            return written


async def placement_reminders(ctx: dict[str, Any]) -> int:
    resources = resources_of(ctx)
    async with resources.pool.acquire() as conn:
        written = await write_due_reminders(conn, today=datetime.now(CHINA_TZ).date())
    if written:
        log.info("placements.reminders_written", count=written)
    return written
