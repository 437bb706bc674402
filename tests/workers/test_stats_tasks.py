"""The figures and reminder crons as the worker runs them (arq ctx with the worker's resources)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.api.settings import ApiSettings
from services.db.pool import create_pool
from workers.context import WorkerResources
from workers.placement_tasks import placement_reminders
from workers.settings import load_worker_settings
from workers.stats_tasks import refresh_figures


async def test_crons_run_with_worker_resources(settings: ApiSettings, db: asyncpg.Connection) -> None:
    worker_settings = load_worker_settings(**settings.model_dump())
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        ctx: dict[str, Any] = {"resources": WorkerResources(settings=worker_settings, pool=pool, redis=None,  # type: ignore[arg-type]
                                                            search=None)}  # type: ignore[arg-type]
        computed = await refresh_figures(ctx)
        assert computed >= 2  # the open month and quarter (and the previous ones, frozen)
        frozen = await db.fetchval("SELECT count(*) FROM stats_periods WHERE frozen_at IS NOT NULL")
        assert frozen >= 1
        # A second run recomputes only what is still open.
        assert await refresh_figures(ctx) == 2
        assert await placement_reminders(ctx) == 0
    finally:
        await pool.close()
