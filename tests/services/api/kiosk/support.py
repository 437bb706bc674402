"""Putting job postings straight into a test's jobs index (production settings and documents), for kiosk
search tests that need many postings in precise states without going through the posting API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from meilisearch_python_sdk.models.settings import MeilisearchSettings

from matching.catalogue import load_initial_catalogue
from matching.documents import job_document, jobs_index_settings
from matching.facts import JobFacts, Wage
from matching.geo import GeoPoint
from matching.regions import load_regions
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings

TIMEOUT_MS = 60_000


def job(title: str, adcode: str, code: str | None, **overrides: Any) -> JobFacts:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()), "title": title, "description": overrides.pop("description", title),
        "occupation_code": code, "headcount": 3, "adcode": adcode, "wage": Wage(200, 260, "day"),
        "work_type": "full_time", "start_date": date.today() + timedelta(days=3), "posted_at": now,
        "expires_at": now + timedelta(days=30), "updated_at": now,
    }
    fields.update(overrides)
    return JobFacts(**fields)


def point(lat: float, lng: float) -> GeoPoint:
    return GeoPoint(lat, lng)


async def index_jobs(settings: ApiSettings, jobs: Iterable[JobFacts]) -> list[dict[str, Any]]:
    """Create the test's jobs index with the production settings and add the postings' documents."""
    catalogue, regions = load_initial_catalogue(), load_regions()
    documents = [job_document(j, catalogue, regions) for j in jobs]
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        uid = index_name(settings.meili_index_prefix, "jobs")
        index = await client.create_index(
            uid, primary_key="id", settings=MeilisearchSettings.model_validate(jobs_index_settings(catalogue, regions)),
            wait=True, timeout_in_ms=TIMEOUT_MS)
        task = await index.add_documents(documents, primary_key="id")
        done = await client.wait_for_task(task.task_uid, timeout_in_ms=TIMEOUT_MS)
        assert done.status == "succeeded", done.error
    finally:
        await client.aclose()
    return documents
