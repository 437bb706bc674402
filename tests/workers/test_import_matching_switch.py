"""IMPORT_MATCHING=false (a backfill/migration switch, used while seeding the load-test corpus): a finished
import's `import.match` row is marked done without matching and `import.matching_skipped` is logged; the
same row handled with the default setting matches as usual."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import httpx
import pytest
import structlog
from pydantic import ValidationError

from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from services.db.pool import create_pool
from tests.conftest import MakeOrg
from tests.services.api.matches.test_matches import worker_body
from tests.services.indexing.pipeline import run_worker_burst
from tests.workers.test_import_tasks import _import_ndjson, _matches, _open_posting, _rerun_follow_ups
from workers.context import WorkerResources
from workers.import_tasks import match_import, rest_after
from workers.settings import WorkerSettings, load_worker_settings


def _switched_off(settings: ApiSettings) -> WorkerSettings:
    return WorkerSettings(**{**settings.model_dump(), "import_matching": False})


async def test_imports_are_not_matched_while_the_switch_is_off(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
) -> None:
    assert WorkerSettings(**settings.model_dump()).import_matching is True  # on unless switched off
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)

    off = _switched_off(settings)
    import_id = await _import_ndjson(client, broker, "workers", [worker_body(151, external_ref="W-1"),
                                                                  worker_body(153, external_ref="W-2")])
    await run_worker_burst(off)  # WorkerSettings are ApiSettings: the switch is kept

    # The import itself is untouched: stored and indexed; its matching row is done, nothing was matched.
    assert await db.fetchval("SELECT status FROM imports WHERE id = $1", import_id) == "completed"
    ids = sorted(str(r["id"]) for r in await db.fetch(
        "SELECT id FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id)))
    assert len(ids) == 2
    assert await db.fetchval("SELECT done_at IS NOT NULL FROM outbox WHERE topic = 'import.match'") is True
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic IN ('worker.match', 'worker.matched')") == 0
    assert await _matches(client, enterprise) == []

    # What the handler says when it skips (the worker's own logging is configured by its startup, so the
    # handler is called here directly, with the same settings).
    pool = await create_pool(str(off.database_url), min_size=1, max_size=2)
    redis = create_arq_redis(str(off.redis_url), queue_name=off.arq_queue_name)
    search = create_search_client(off.meili_url, off.meili_master_key.get_secret_value())
    try:
        with structlog.testing.capture_logs() as logs:
            await match_import(WorkerResources(settings=off, pool=pool, redis=redis, search=search),
                               f"{import_id}:1")
    finally:
        await search.aclose()
        await redis.aclose(close_connection_pool=True)
        await pool.close()
    assert [log for log in logs if log["event"].startswith("import.matching")] == [
        {"event": "import.matching_skipped", "import_id": str(import_id), "log_level": "info"}]
    assert await _matches(client, enterprise) == []

    # The same row handled with the default setting (the worker restarted without the switch): matched.
    await _rerun_follow_ups(settings, import_id, [])
    await run_worker_burst(settings)
    assert await _matches(client, enterprise) == [(job_id, worker_id, "worker_for_job") for worker_id in ids]


def test_import_matching_rests_in_proportion_to_its_work() -> None:
    assert rest_after(0.1, 0.25) == pytest.approx(0.3)   # busy 0.1 s of every 0.4 s
    assert rest_after(0.4, 0.25) == pytest.approx(1.2)   # a slower record (busy machine): a longer rest
    assert rest_after(0.1, 1.0) == 0.0                   # share 1: never rests


def test_import_match_share_must_be_a_share() -> None:
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValidationError):
            load_worker_settings(import_match_share=bad)
