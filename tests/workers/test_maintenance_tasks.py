"""Housekeeping: expired idempotency records are purged, live ones kept."""

from __future__ import annotations

import asyncpg
import httpx

from services.api.settings import ApiSettings
from tests.conftest import OrgKey
from workers.context import WorkerResources
from workers.maintenance_tasks import purge_idempotency_records
from workers.settings import WorkerSettings


async def test_expired_idempotency_records_are_purged(client: httpx.AsyncClient, admin: OrgKey,
                                                      settings: ApiSettings, db: asyncpg.Connection) -> None:
    for key in ("old", "fresh"):
        response = await client.post("/v1/orgs", json={"type": "enterprise", "name": f"企业-{key}"},
                                     headers={**admin.headers, "Idempotency-Key": key})
        assert response.status_code == 201
    await db.execute("UPDATE idempotency_records SET created_at = now() - interval '25 hours' WHERE key = 'old'")
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=1)
    try:
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused by this job
        assert await purge_idempotency_records({"resources": resources}) == 1
    finally:
        await pool.close()
    assert [r["key"] for r in await db.fetch("SELECT key FROM idempotency_records")] == ["fresh"]
