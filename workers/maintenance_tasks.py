"""Housekeeping crons that belong to no single domain."""

from __future__ import annotations

from typing import Any

import structlog

from services.api.idempotency import repository as idempotency_repository
from workers.context import resources_of

log = structlog.get_logger("bashu.worker.maintenance")


async def purge_idempotency_records(ctx: dict[str, Any]) -> int:
    resources = resources_of(ctx)
    async with resources.pool.acquire() as conn:
        purged = await idempotency_repository.purge_expired(conn, ttl_hours=resources.settings.idempotency_ttl_hours)
    if purged:
        log.info("idempotency.purged", records=purged)
    return purged
