"""Housekeeping: expired idempotency records and old done outbox rows are purged, the rest kept."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import OrgKey
from workers import maintenance_tasks
from workers.context import WorkerResources
from workers.maintenance_tasks import purge_done_outbox, purge_idempotency_records
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


async def test_done_outbox_rows_past_retention_are_purged_in_batches_and_undone_rows_never(
        settings: ApiSettings, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {
        "old_done": "now() - interval '8 days'", "old_done_2": "now() - interval '30 days'",
        "old_done_3": "now() - interval '169 hours'", "recent_done": "now() - interval '6 days'",
        "old_undone": None, "new_undone": None,
    }
    for entity, done_at in rows.items():
        await db.execute(f"INSERT INTO outbox (topic, entity_id, created_at, done_at) "
                         f"VALUES ('job.index', $1, now() - interval '40 days', {done_at or 'NULL'})", entity)
    monkeypatch.setattr(maintenance_tasks, "OUTBOX_PURGE_BATCH", 2)  # three old rows: two batches
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=1)
    try:
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused by this job
        assert resources.settings.outbox_retention_hours == 168
        assert await purge_done_outbox({"resources": resources}) == 3
        assert await purge_done_outbox({"resources": resources}) == 0
    finally:
        await pool.close()
    left = {r["entity_id"] for r in await db.fetch("SELECT entity_id FROM outbox")}
    assert left == {"recent_done", "old_undone", "new_undone"}
