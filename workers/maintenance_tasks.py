"""Housekeeping crons that belong to no single domain."""

from __future__ import annotations

import time
from typing import Any

import structlog

from services.api.idempotency import repository as idempotency_repository
from services.outbox import repository as outbox_repository
from workers.context import resources_of

log = structlog.get_logger("bashu.worker.maintenance")


async def purge_idempotency_records(ctx: dict[str, Any]) -> int:
    resources = resources_of(ctx)
    async with resources.pool.acquire() as conn:
        purged = await idempotency_repository.purge_expired(conn, ttl_hours=resources.settings.idempotency_ttl_hours)
    if purged:
        log.info("idempotency.purged", records=purged)
    return purged


# Rows per DELETE: short transactions, so the purge never holds locks the outbox's writers wait on for long.
OUTBOX_PURGE_BATCH = 10_000
OUTBOX_PURGE_BUDGET_SECONDS = 120.0


async def purge_done_outbox(ctx: dict[str, Any]) -> int:
    """Done outbox rows past the retention period, deleted in batches (imports alone write a few per batch and
    while they wait their turn for matching: without this the table only grows)."""
    resources = resources_of(ctx)
    purged = 0
    until = time.monotonic() + OUTBOX_PURGE_BUDGET_SECONDS
    async with resources.pool.acquire() as conn:
        while True:
            deleted = await outbox_repository.purge_done(
                conn, older_than_hours=resources.settings.outbox_retention_hours, limit=OUTBOX_PURGE_BATCH)
            purged += deleted
            if deleted < OUTBOX_PURGE_BATCH or time.monotonic() >= until:
                break  # a backlog is worked off over the next hours, never near arq's job timeout
    if purged:
        log.info("outbox.purged", rows=purged)
    return purged
