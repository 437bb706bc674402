"""`bashu index rebuild`: the indexes rebuilt from PostgreSQL alone, after Meilisearch lost them."""

from __future__ import annotations

import asyncpg
import httpx

from matching.documents import JOBS_INDEX_SETTINGS
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.indexing.rebuild import RebuiltIndex, rebuild_indexes
from tests.conftest import MakeOrg
from tests.services.api.worker_profiles.test_worker_profiles import worker_body
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle
from tests.services.indexing.test_sync import JOB


async def test_a_lost_index_is_rebuilt_from_postgresql(client: httpx.AsyncClient, make_org: MakeOrg,
                                                       settings: ApiSettings, db: asyncpg.Connection) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    kept = (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).json()["id"]
    closed = (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).json()["id"]
    assert (await client.post(f"/v1/jobs/{closed}/close", headers=enterprise.headers)).status_code == 200
    worker = (await client.post("/v1/workers", json=worker_body(), headers=broker.headers)).json()["id"]
    await run_worker_burst(settings)
    await settle(settings)

    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        for kind in ("jobs", "workers"):
            task = await search.index(index_name(settings.meili_index_prefix, kind)).delete()
            await search.wait_for_task(task.task_uid)
        assert await document_ids(settings, "jobs") == set()
        # Meanwhile a running worker's write recreated one bare (it had the index cached as ready).
        await search.create_index(index_name(settings.meili_index_prefix, "jobs"), primary_key="id")

        rebuilt = await rebuild_indexes(settings, ["jobs", "workers"])

        assert rebuilt == [RebuiltIndex(kind="jobs", upserted=1, deleted=1, failed_tasks=0),
                           RebuiltIndex(kind="workers", upserted=1, deleted=0, failed_tasks=0)]
        assert await document_ids(settings, "jobs") == {kept}  # the closed posting stays out
        assert await document_ids(settings, "workers") == {worker}
        # Searchable as before: the index came back with its settings, not bare.
        current = await search.index(index_name(settings.meili_index_prefix, "jobs")).get_settings()
        assert set(current.filterable_attributes or []) == set(JOBS_INDEX_SETTINGS["filterableAttributes"])
        assert current.synonyms  # the catalogue's, not only the structural settings
    finally:
        await search.aclose()


async def test_one_kind_only(settings: ApiSettings, db: asyncpg.Connection) -> None:
    rebuilt = await rebuild_indexes(settings, ["jobs"])
    assert [r.kind for r in rebuilt] == ["jobs"]
    assert await document_ids(settings, "workers") == set()  # untouched: not even created
