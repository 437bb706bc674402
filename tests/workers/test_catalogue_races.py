"""Catalogue publications racing the worker: a publication handled after the next one was published still
reaches the documents, and concurrent `catalogue.published` rows apply the search side one at a time."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import httpx
import pytest

from matching.catalogue import Catalogue
from services.api.catalogue import repository
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey, start_date_in
from tests.services.api.catalogue.conftest import (  # noqa: F401 - fixtures used by name
    CHEF,
    SAMPLE_ENTRIES,
    WELDER,
    approve_and_publish,
    cq,
    entry_body,
    new_draft,
    publish_catalogue,
    sample_catalogue,
    sample_version,
    sc,
)
from tests.services.indexing.pipeline import get_document, run_worker_burst, settle
from workers import catalogue_tasks
from workers.catalogue_tasks import apply_published_catalogue
from workers.context import WorkerResources


async def _post_welder_job(client: httpx.AsyncClient, make_org: MakeOrg) -> str:
    enterprise = await make_org("enterprise")
    posted = await client.post("/v1/jobs", headers=enterprise.headers, json={
        "title": "招聘焊工 3名", "description": "璧山汽配厂，二保焊，包吃包住。", "occupation_code": WELDER,
        "headcount": 3, "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time", "start_date": start_date_in(4), "benefits": ["包吃", "包住"]})
    assert posted.status_code == 201, posted.text
    job_id: str = posted.json()["id"]
    return job_id


async def _publish_welder_then_chef(client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey) -> tuple[int, int]:  # noqa: F811
    """v2 changes the welder; v3 (based on v2) changes only the chef."""
    v2 = await new_draft(client, cq)
    assert (await client.put(f"/v1/catalogue/drafts/{v2}/entries/{WELDER}", headers=cq.headers,
                             json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工"]))).status_code == 200
    assert (await approve_and_publish(client, v2, cq, sc)).status_code == 200
    v3 = await new_draft(client, cq)
    assert (await client.put(f"/v1/catalogue/drafts/{v3}/entries/{CHEF}", headers=sc.headers,
                             json=entry_body(SAMPLE_ENTRIES[2], shortage_level=3))).status_code == 200
    assert (await approve_and_publish(client, v3, cq, sc)).status_code == 200
    return v2, v3


async def test_a_publication_applied_after_the_next_one_still_reindexes_its_own_changes(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,  # noqa: F811
    settings: ApiSettings, make_org: MakeOrg, db: asyncpg.Connection, resources: WorkerResources,
) -> None:
    job_id = await _post_welder_job(client, make_org)
    await run_worker_burst(settings)
    # The fixture's version was recorded without being enqueued: its row, as the worker would run it.
    await apply_published_catalogue(resources, str(sample_version))
    await settle(settings)
    assert (await get_document(settings, "jobs", job_id))["occupation_aliases"] == ["焊接工"]

    # Both published before the worker gets to v2's row (worker busy/down, Meilisearch slow, or simply two
    # publications a few seconds apart).
    v2, v3 = await _publish_welder_then_chef(client, cq, sc)

    await run_worker_burst(settings)
    await settle(settings)
    doc = await get_document(settings, "jobs", job_id)
    assert doc["occupation_aliases"] == ["焊接工", "电焊工"], "v2's alias change never reached the document"
    done = await db.fetch("SELECT entity_id FROM outbox WHERE topic = 'catalogue.published' AND done_at IS NOT NULL")
    # (The fixture's row may be done too: the worker's reconciler enqueues it once it is old enough.)
    assert {str(v2), str(v3)} <= {r["entity_id"] for r in done}
    assert await repository.search_applied_version(db) == v3


async def test_rows_handled_concurrently_and_out_of_order_converge(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,  # noqa: F811
    settings: ApiSettings, make_org: MakeOrg, db: asyncpg.Connection, resources: WorkerResources,
) -> None:
    job_id = await _post_welder_job(client, make_org)
    await run_worker_burst(settings)
    await apply_published_catalogue(resources, str(sample_version))
    await settle(settings)
    v2, v3 = await _publish_welder_then_chef(client, cq, sc)

    # v3's row first, v2's at the same time and once more afterwards (a redelivery).
    await asyncio.gather(apply_published_catalogue(resources, str(v3)), apply_published_catalogue(resources, str(v2)))
    await apply_published_catalogue(resources, str(v2))
    await settle(settings)
    doc = await get_document(settings, "jobs", job_id)
    assert doc["occupation_aliases"] == ["焊接工", "电焊工"]
    assert await repository.search_applied_version(db) == v3


async def test_a_row_waits_for_the_one_applying_and_records_the_version_only_when_done(
    sample_version: int, settings: ApiSettings, db: asyncpg.Connection,  # noqa: F811
    resources: WorkerResources,
) -> None:
    # A fresh database: nothing applied yet.
    assert await repository.search_applied_version(db) is None
    await repository.lock_search_applying(db)  # another worker applying a publication
    try:
        task = asyncio.create_task(apply_published_catalogue(resources, str(sample_version)))
        await asyncio.sleep(1.0)
        assert not task.done()
        assert await repository.search_applied_version(db) is None
    finally:
        await repository.unlock_search_applying(db)
    await asyncio.wait_for(task, timeout=120)
    assert await repository.search_applied_version(db) == sample_version

    # The next publication while Meilisearch is unreachable: the handler fails before recording it, and the
    # retry re-indexes the changes since the version recorded.
    v2 = await publish_catalogue(db, Catalogue(2, [
        dataclasses.replace(e, aliases=(*e.aliases, "电焊工")) if e.occupation_code == WELDER else e
        for e in SAMPLE_ENTRIES]))
    assert await repository.lineage(db, v2, stop_at=sample_version) == [v2, sample_version]
    search = resources.search
    resources.search = create_search_client("http://127.0.0.1:9", "unused", timeout_seconds=1)
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 - whatever the client raises for a refused connection
            await apply_published_catalogue(resources, str(v2))
    finally:
        await resources.search.aclose()
        resources.search = search
    assert await repository.search_applied_version(db) == sample_version
    await apply_published_catalogue(resources, str(v2))
    assert await repository.search_applied_version(db) == v2


def test_changed_codes_are_the_union_of_every_version_since_the_applied_one() -> None:
    v1 = sample_catalogue()
    welder_alias = [dataclasses.replace(e, aliases=(*e.aliases, "电焊工")) if e.occupation_code == WELDER else e
                    for e in SAMPLE_ENTRIES]
    v2 = Catalogue(2, welder_alias)
    v3 = Catalogue(3, [dataclasses.replace(e, shortage_level=3) if e.occupation_code == CHEF else e
                       for e in welder_alias])
    assert catalogue_tasks.changed_codes([v1, v2, v3], complete=True) == {WELDER, CHEF}
    assert catalogue_tasks.changed_codes([v2, v3], complete=True) == {CHEF}
    assert catalogue_tasks.changed_codes([v3], complete=True) == set()
    # Nothing known to be applied: every code of the version published now.
    assert catalogue_tasks.changed_codes([v3], complete=False) == {e.occupation_code for e in SAMPLE_ENTRIES}
    # A change undone by the next version: documents indexed in between carry it, so it counts.
    v4 = Catalogue(4, [*SAMPLE_ENTRIES])
    assert WELDER in catalogue_tasks.changed_codes([v2, v3, v4], complete=True)
