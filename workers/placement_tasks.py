"""Placement reminders (cron): ask the broker to confirm arrival (from the job's start date) and retention at 30
and 90 days after arrival.

Each reminder is written once (unique per placement and kind) into `placement_reminders`, the broker's list at
`GET /v1/placements/reminders`; the transition it asks for, or the end of the placement, resolves it. Each open
reminder is also recorded once in the broker's inbox (`GET /v1/notifications`, event `placement.reminder`, inbox
only) through the notifications domain's `record_notification`, unique per (broker, event, job, worker,
`<placement id>:<kind>`); `notified_at` marks it done in the same transaction, so a reminder whose notice was
not recorded yet (a crash in between, or one written before the inbox existed) is picked up by the next run.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
import structlog

from services.api.china_calendar import CHINA_TZ
from services.api.database import PendingWork
from services.api.notifications.service import record_notification
from services.api.placements import repository
from services.outbox.dispatch import enqueue_committed
from services.outbox.recorder import OutboxRecorder
from workers.context import resources_of

log = structlog.get_logger("bashu.worker.placements")

BATCH = 500
REMINDER_EVENT = "placement.reminder"
REMINDER_TEXT = {
    "confirm_arrival": "请确认求职者已到岗 / please confirm the worker's arrival",
    "confirm_retention_30": "请确认求职者到岗满30天仍在岗 / please confirm the worker is still employed at 30 days",
    "confirm_retention_90": "请确认求职者到岗满90天仍在岗 / please confirm the worker is still employed at 90 days",
}


async def notify_reminders(conn: asyncpg.Connection, outbox: OutboxRecorder) -> int:
    """Record each open reminder not yet in the broker's inbox; return how many notices were recorded."""
    recorded = 0
    while True:
        async with conn.transaction():
            rows = await repository.unnotified_reminders(conn, limit=BATCH)
            for row in rows:
                notification_id = await record_notification(
                    conn, outbox, recipient_org_id=row["broker_org_id"], event=REMINDER_EVENT, job_id=row["job_id"],
                    worker_id=row["worker_id"], subject_id=f"{row['placement_id']}:{row['kind']}", channels=(),
                    payload={"placement_id": str(row["placement_id"]), "kind": row["kind"],
                             "due_on": row["due_on"].isoformat(), "job_id": str(row["job_id"]),
                             "worker_id": str(row["worker_id"]), "message": REMINDER_TEXT[row["kind"]]})
                if notification_id is not None:
                    recorded += 1
            if rows:
                await repository.mark_reminders_notified(conn, [r["id"] for r in rows], datetime.now(CHINA_TZ))
        if len(rows) < BATCH:
            return recorded


async def write_due_reminders(conn: asyncpg.Connection, *, today: date, outbox: OutboxRecorder | None = None) -> int:
    """Write every reminder due by `today` (a date in China) not written before, and record the open ones in the
    brokers' inboxes (outbox rows through `outbox`; without one they wait for the reconciler); return how many
    reminders were written."""
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
            break
    await notify_reminders(conn, outbox if outbox is not None else PendingWork())
    return written


async def placement_reminders(ctx: dict[str, Any]) -> int:
    resources = resources_of(ctx)
    pending = PendingWork()
    async with resources.pool.acquire() as conn:
        written = await write_due_reminders(conn, today=datetime.now(CHINA_TZ).date(), outbox=pending)
        # Committed: hand the inbox notices to the notification worker now.
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)
    if written:
        log.info("placements.reminders_written", count=written)
    return written
