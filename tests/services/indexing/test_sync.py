"""services/indexing: documents follow the current rows, catalogue re-indexing, index settings, no PII."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any, cast

import asyncpg
import httpx
import pytest
from meilisearch_python_sdk.models.settings import MeilisearchSettings

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.documents import JOBS_INDEX_SETTINGS, WORKERS_INDEX_SETTINGS
from matching.regions import load_regions
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.db.pool import create_pool
from services.indexing.documents import PersonalDataInDocument, checked
from services.indexing.sync import Indexer
from tests.conftest import MakeOrg, start_date_in
from tests.services.api.worker_profiles.test_worker_profiles import worker_body
from tests.services.indexing.pipeline import get_document, run_worker_burst, settle

JOB = {
    "title": "招聘电焊工", "description": "熟练电焊工", "headcount": 3, "adcode": "500107",
    "wage": {"min": 7000, "max": 9000, "unit": "month"}, "work_type": "full_time", "start_date": start_date_in(13),
}
WELDER = "6-18-02-04"


def test_documents_with_personal_keys_are_refused() -> None:
    with pytest.raises(PersonalDataInDocument) as caught:
        checked({"id": "x", "phone": "13812345678"})
    assert "13812345678" not in str(caught.value)
    assert checked({"id": "x", "title": "焊工"}) == {"id": "x", "title": "焊工"}


def test_both_builders_refuse_a_document_with_personal_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # The facts carry no personal data today, but the check is the last line if a later change to the document
    # builders lets a phone through: both the job and the worker path must run it, not only `checked` itself.
    from services.indexing import documents

    def leaky(_facts: object, _catalogue: object, _regions: object) -> dict[str, Any]:
        return {"id": "x", "title": "焊工", "phone": "13812345678"}

    monkeypatch.setattr(documents, "job_facts", lambda _record: None)
    monkeypatch.setattr(documents, "worker_facts", lambda _record, _today: None)
    monkeypatch.setattr(documents, "job_document", leaky)
    monkeypatch.setattr(documents, "worker_document", leaky)
    catalogue, regions, record = load_initial_catalogue(), load_regions(), cast(Any, {})
    with pytest.raises(PersonalDataInDocument, match="phone"):
        documents.build_job_document(record, catalogue, regions)
    with pytest.raises(PersonalDataInDocument, match="phone"):
        documents.build_worker_document(record, catalogue, regions, date(2026, 1, 1))


def test_geo_is_never_filterable_or_sortable() -> None:
    assert "_geo" not in JOBS_INDEX_SETTINGS["filterableAttributes"]
    assert "_geo" not in JOBS_INDEX_SETTINGS["sortableAttributes"]


async def test_reindex_by_occupation_codes_applies_a_new_catalogue(client: httpx.AsyncClient, make_org: MakeOrg,
                                                                   settings: ApiSettings,
                                                                   db: asyncpg.Connection) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    job_id = (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).json()["id"]
    worker = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    worker_id = worker.json()["id"]
    await run_worker_burst(settings)
    await settle(settings)
    assert (await get_document(settings, "jobs", job_id))["occupation_name"] == "焊工"

    initial = load_initial_catalogue()
    renamed = Catalogue(2, [dataclasses.replace(e, name="焊接工（新）", aliases=(*e.aliases, "焊匠"))
                            if e.occupation_code == WELDER else e for e in initial.entries])
    client_ = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=2)
    try:
        indexer = Indexer(client_, settings.meili_index_prefix)
        result = await indexer.reindex_by_occupation_codes(pool, [WELDER], renamed, load_regions(), date.today())
        assert (result.upserted, result.deleted) == (2, 0)
        await settle(settings)
        assert await indexer.failed_task_uids(result.task_uids) == []
    finally:
        await pool.close()
        await client_.aclose()
    job_doc = await get_document(settings, "jobs", job_id)
    assert job_doc["occupation_name"] == "焊接工（新）"
    assert "焊匠" in job_doc["occupation_aliases"]
    worker_doc = await get_document(settings, "workers", worker_id)
    assert "焊接工（新）" in worker_doc["occupation_names"]
    for secret in ("张德旺", "13812345678", "腰不好"):
        assert secret not in str(worker_doc)


async def test_bare_index_gets_its_settings_back(settings: ApiSettings, db: asyncpg.Connection) -> None:
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    uid = index_name(settings.meili_index_prefix, "jobs")
    try:
        # Another process created the index without settings (e.g. the catalogue handler's ensure_index).
        await client.create_index(uid, primary_key="id", wait=True)
        indexer = Indexer(client, settings.meili_index_prefix)
        await indexer.ensure_index("jobs", load_initial_catalogue(), load_regions())
        await settle(settings)
        current = await client.index(uid).get_settings()
        assert set(current.filterable_attributes or []) == set(JOBS_INDEX_SETTINGS["filterableAttributes"])
        assert current.searchable_attributes == JOBS_INDEX_SETTINGS["searchableAttributes"]
    finally:
        await client.aclose()


async def test_a_workers_index_searchable_by_text_is_made_filter_only(settings: ApiSettings,
                                                                      db: asyncpg.Connection) -> None:
    # Indexes deployed before workers stopped being searchable by text carry the old searchable fields and
    # prefixes; the first worker start puts them right (Meilisearch then re-indexes them once, cheaper).
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    uid = index_name(settings.meili_index_prefix, "workers")
    try:
        await client.create_index(uid, primary_key="id", wait=True)
        old = {**WORKERS_INDEX_SETTINGS, "searchableAttributes": ["occupation_names", "skills"],
               "prefixSearch": "indexingTime", "facetSearch": True}
        task = await client.index(uid).update_settings(MeilisearchSettings.model_validate(old))
        await client.wait_for_task(task.task_uid)
        await Indexer(client, settings.meili_index_prefix).ensure_index("workers", load_initial_catalogue(),
                                                                        load_regions())
        current = await client.index(uid).get_settings()
        assert current.searchable_attributes == []
        assert (current.prefix_search, current.facet_search) == ("disabled", False)
        assert set(current.filterable_attributes or []) == set(WORKERS_INDEX_SETTINGS["filterableAttributes"])
    finally:
        await client.aclose()
