"""The catalogue drives search: a publication changes what Meilisearch finds, through the real outbox and
worker, without restarting anything."""

from __future__ import annotations

import asyncpg
import httpx

from matching.catalogue import Catalogue
from services.api.catalogue.reference import reference_regions
from services.api.catalogue.runtime import load_published
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from tests.conftest import MEILI_MASTER_KEY, MEILI_URL, MakeOrg, OrgKey, start_date_in
from tests.services.api.catalogue.conftest import (  # noqa: F401 - fixtures used by name
    CHEF,
    FOUNDRY,
    SAMPLE_ENTRIES,
    WELDER,
    approve_and_publish,
    cq,
    entry_body,
    new_draft,
    sample_catalogue,
    sample_version,
    sc,
)
from tests.services.indexing.pipeline import get_document, run_worker_burst, settle
from workers.catalogue_tasks import affected_codes

WELDER_POSTINGS = [
    {"id": "j1", "title": "招聘电焊工 包吃住"},
    {"id": "j2", "title": "急招电焊工 日结300"},
    {"id": "j3", "title": "焊工 长期工 五险一金"},
    {"id": "j4", "title": "烧电焊的师傅 来就上班"},
    {"id": "j5", "title": "电焊工学徒 包教包会"},
]
OTHER_POSTINGS = [{"id": "j6", "title": "叉车司机 包住"}, {"id": "j7", "title": "川菜厨师 月休四天"}]
TIMEOUT_MS = 60_000


async def _ids(client: object, uid: str, query: str) -> set[str]:
    result = await client.index(uid).search(query, limit=50)  # type: ignore[attr-defined]
    return {hit["id"] for hit in result.hits}


async def test_search_finds_every_welder_posting_only_after_the_publication(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,  # noqa: F811
    settings: ApiSettings, db: asyncpg.Connection,
) -> None:
    search = create_search_client(MEILI_URL, MEILI_MASTER_KEY, timeout_seconds=30)
    jobs = index_name(settings.meili_index_prefix, "jobs")
    workers = index_name(settings.meili_index_prefix, "workers")
    try:
        await search.create_index(jobs, primary_key="id", wait=True, timeout_in_ms=TIMEOUT_MS)
        task = await search.index(jobs).add_documents(WELDER_POSTINGS + OTHER_POSTINGS)
        assert (await search.wait_for_task(task.task_uid, timeout_in_ms=TIMEOUT_MS)).status == "succeeded"
        welder_ids = {d["id"] for d in WELDER_POSTINGS}

        # Before: 电焊工 is segmented 电焊/工 and nothing says it is a 焊工, so most postings are missed.
        before = await _ids(search, jobs, "焊工")
        assert before != welder_ids
        assert len(before & welder_ids) <= 2

        draft = await new_draft(client, cq)
        put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=sc.headers,
                               json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工", "烧电焊的"]))
        assert put.status_code == 200, put.text
        assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200

        await run_worker_burst(settings)

        done = await db.fetchval(
            "SELECT done_at IS NOT NULL FROM outbox WHERE topic = 'catalogue.published' AND entity_id = $1",
            str(draft))
        assert done is True
        _, _, published = await load_published(db)
        assert "烧电焊的" in published.kept_whole_words()
        # After: every welder posting, and nothing else.
        assert await _ids(search, jobs, "焊工") == welder_ids
        assert await _ids(search, jobs, "电焊工") == welder_ids
        # The jobs index carries the settings; the workers index was created (primary key id) but, searched by
        # filters only, gets no words (a dictionary would make Meilisearch re-index every profile for nothing).
        for uid in (jobs, workers):
            assert (await search.get_index(uid)).primary_key == "id"
        synonyms = await search.index(jobs).get_synonyms() or {}
        assert "电焊工" in synonyms["焊工"]
        assert "焊工" in synonyms["烧电焊的"]
        # The published catalogue's dictionary, trimmed to the words Meilisearch would cut wrongly
        # (matching/index_dictionary.py): not every alias.
        dictionary = await search.index(jobs).get_word_dictionary()
        assert sorted(dictionary) == sorted(published.meilisearch_dictionary(reference_regions()))
        assert not await search.index(workers).get_synonyms()
        assert not await search.index(workers).get_word_dictionary()
    finally:
        await search.aclose()


async def test_the_handler_is_idempotent_and_applies_the_current_version(
    sample_version: int, settings: ApiSettings, db: asyncpg.Connection,  # noqa: F811
) -> None:
    # Two outbox rows for the same version (a redelivery) and the worker run twice: same settings.
    from services.api.redis_connection import create_arq_redis
    from services.outbox import repository as outbox_repository
    from services.outbox.dispatch import enqueue_outbox

    ids = [await outbox_repository.record(db, "catalogue.published", str(sample_version)) for _ in range(2)]
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        assert await enqueue_outbox(redis, ids) == ids
    finally:
        await redis.aclose(close_connection_pool=True)
    await run_worker_burst(settings)
    await run_worker_burst(settings)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NOT NULL AND id = ANY($1)", ids) == 2
    search = create_search_client(MEILI_URL, MEILI_MASTER_KEY)
    try:
        synonyms = await search.index(index_name(settings.meili_index_prefix, "jobs")).get_synonyms() or {}
        assert synonyms["焊工"] == ["焊接工"]
        assert synonyms["厨师"] == ["中式烹调师", "炒菜师傅"]
    finally:
        await search.aclose()


def test_affected_codes_follow_document_fields() -> None:
    older = sample_catalogue()
    import dataclasses

    changed = [dataclasses.replace(e, aliases=(*e.aliases, "电焊工")) if e.occupation_code == WELDER
               else dataclasses.replace(e, notes="only a note") if e.occupation_code == CHEF
               else dataclasses.replace(e, replaced_by=WELDER) if e.occupation_code == FOUNDRY
               else e for e in SAMPLE_ENTRIES]
    newer = Catalogue(2, changed)
    assert affected_codes(older, newer) == {WELDER, FOUNDRY}
    assert affected_codes(None, older) == {e.occupation_code for e in SAMPLE_ENTRIES}


async def test_documents_of_changed_trades_are_reindexed_after_a_publication(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,  # noqa: F811
    settings: ApiSettings, make_org: MakeOrg,
) -> None:
    enterprise = await make_org("enterprise")
    posted = await client.post("/v1/jobs", headers=enterprise.headers, json={
        "title": "招聘焊工 3名", "description": "璧山汽配厂，二保焊，包吃包住。", "occupation_code": WELDER,
        "headcount": 3, "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time", "start_date": start_date_in(4), "benefits": ["包吃", "包住"]})
    assert posted.status_code == 201, posted.text
    job_id = posted.json()["id"]
    await run_worker_burst(settings)
    await settle(settings)
    before = await get_document(settings, "jobs", job_id)
    assert before["occupation_aliases"] == ["焊接工"]
    assert before["shortage_level"] == 1

    draft = await new_draft(client, cq)
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                           json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "电焊工"], shortage_level=2))
    assert put.status_code == 200, put.text
    assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200
    await run_worker_burst(settings)
    await settle(settings)
    after = await get_document(settings, "jobs", job_id)
    assert after["occupation_aliases"] == ["焊接工", "电焊工"]
    assert after["shortage_level"] == 2
