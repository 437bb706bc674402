"""A failing outbox handler leaves the row for the reconciler, recording the error's type but never its text."""

from __future__ import annotations

import asyncpg

from services.api.settings import ApiSettings
from services.outbox import repository
from workers.context import WorkerResources
from workers.outbox import OUTBOX_HANDLERS, process_outbox
from workers.settings import WorkerSettings


class HandlerExploded(RuntimeError):
    pass


async def test_failure_is_recorded_without_the_message(settings: ApiSettings, db: asyncpg.Connection) -> None:
    async def explode(_resources: WorkerResources, entity_id: str) -> None:
        raise HandlerExploded(f"row for 身份证 500107199001011234 / {entity_id}")

    OUTBOX_HANDLERS["test.explode"] = explode
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        outbox_id = await repository.record(db, "test.explode", "e-1")
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool,
                                    redis=None, search=None)  # type: ignore[arg-type]  # unused here
        assert await process_outbox({"resources": resources}, outbox_id) == "failed"
    finally:
        del OUTBOX_HANDLERS["test.explode"]
        await pool.close()
    row = await db.fetchrow("SELECT attempts, done_at, last_error FROM outbox WHERE id = $1", outbox_id)
    assert row["attempts"] == 1
    assert row["done_at"] is None
    assert row["last_error"].endswith("HandlerExploded")
    assert "500107" not in row["last_error"]
