"""Supply–demand figures (cron): recompute the open month and quarter into the snapshot tables, and freeze the
periods that have ended (services/api/stats/service.py says how)."""

from __future__ import annotations

from typing import Any

from services.api.stats import service
from workers.context import resources_of


async def refresh_figures(ctx: dict[str, Any]) -> int:
    """Returns the number of periods computed (frozen ones are skipped)."""
    resources = resources_of(ctx)
    async with resources.pool.acquire() as conn:
        outcomes = await service.refresh(conn)
    return sum(1 for o in outcomes if o.status != "skipped_frozen")
