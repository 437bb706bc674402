"""Outbox jobs racing each other and the API: a job that read an entity before a later change must not leave
its older state in the index, and a withdrawal of consent during matching must stop the notices."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.jobs import repository as jobs_repository
from services.api.settings import ApiSettings
from services.api.worker_profiles import repository as workers_repository
from tests.conftest import MakeOrg, start_date_in
from tests.services.api.worker_profiles.test_worker_profiles import worker_body
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle
from workers.context import WorkerResources
from workers.outbox import _process

# How long the later job gets to run to its end before the earlier one is released. Without the ordering lock
# it finishes in well under this; with it, it waits for the earlier job whatever this is.
LATER_JOB_HEAD_START = 2.0


def hold_after_first_read(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> tuple[asyncio.Event,
                                                                                             asyncio.Event]:
    """The first call of module.name reads its rows, then waits until `release` is set (a slow job)."""
    original = getattr(module, name)
    read, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def held(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        rows = await original(*args, **kwargs)
        if calls == 1:
            read.set()
            await release.wait()
        return rows

    monkeypatch.setattr(module, name, held)
    return read, release


async def let_the_later_job_run_first(resources: WorkerResources, earlier: asyncio.Task[str], later_row: int,
                                      release: asyncio.Event) -> None:
    """The later change's job gets a head start while the earlier one is held after its read; then both end."""
    later = asyncio.create_task(_process(resources, later_row))
    await asyncio.wait([later], timeout=LATER_JOB_HEAD_START)
    release.set()
    assert await earlier == "done"
    assert await later == "done"


async def test_an_index_job_that_read_before_an_erasure_does_not_put_the_person_back(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        resources: WorkerResources, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = await make_org("broker")
    created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    await run_worker_burst(settings)
    await settle(settings)
    assert worker_id in await document_ids(settings, "workers")

    patched = await client.patch(f"/v1/workers/{worker_id}", json={"experience_years": 9}, headers=broker.headers)
    assert patched.status_code == 200, patched.text
    patch_row = await db.fetchval("SELECT max(id) FROM outbox WHERE entity_id = $1", worker_id)
    read, release = hold_after_first_read(monkeypatch, workers_repository, "get_many_for_index")

    async def erase_when_read() -> int:
        await read.wait()
        erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
        assert erased.status_code == 200, erased.text
        row: int = await db.fetchval("SELECT max(id) FROM outbox WHERE entity_id = $1 AND topic = 'worker.index'",
                                     worker_id)
        return row

    eraser = asyncio.create_task(erase_when_read())
    earlier = asyncio.create_task(_process(resources, patch_row))
    await let_the_later_job_run_first(resources, earlier, await eraser, release)
    await settle(settings)
    assert worker_id not in await document_ids(settings, "workers"), "the erased person is searchable again"


JOB = {"title": "招聘叉车司机", "description": "物流园开叉车的，有叉车证", "headcount": 2, "adcode": "500112",
       "wage": {"min": 6000, "max": 7500, "unit": "month"}, "work_type": "full_time", "start_date": start_date_in(13)}


async def test_an_index_job_that_read_before_a_close_does_not_reopen_the_posting_in_search(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        resources: WorkerResources, monkeypatch: pytest.MonkeyPatch) -> None:
    enterprise = await make_org("enterprise")
    created = await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    await run_worker_burst(settings)
    await settle(settings)
    assert job_id in await document_ids(settings, "jobs")

    patched = await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 3}, headers=enterprise.headers)
    assert patched.status_code == 200, patched.text
    patch_row = await db.fetchval("SELECT max(id) FROM outbox WHERE topic = 'job.index' AND entity_id = $1", job_id)
    read, release = hold_after_first_read(monkeypatch, jobs_repository, "get_many")
    earlier = asyncio.create_task(_process(resources, patch_row))
    await read.wait()
    closed = await client.post(f"/v1/jobs/{job_id}/close", headers=enterprise.headers)
    assert closed.status_code == 200, closed.text
    close_row = await db.fetchval("SELECT max(id) FROM outbox WHERE topic = 'job.index' AND entity_id = $1", job_id)
    await let_the_later_job_run_first(resources, earlier, close_row, release)
    await settle(settings)
    assert job_id not in await document_ids(settings, "jobs"), "the closed posting is searchable again"


async def test_a_withdrawal_of_consent_during_matching_stops_the_enterprise_notice(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        resources: WorkerResources, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.api.matches import service as matches
    from tests.services.api.matches.test_matches import job_body
    from tests.services.api.matches.test_matches import worker_body as match_worker_body

    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    job = await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)
    assert job.status_code == 201, job.text
    await run_worker_burst(settings)
    await settle(settings)
    worker = await client.post("/v1/workers", json=match_worker_body(101), headers=broker.headers)
    assert worker.status_code == 201, worker.text
    worker_id = worker.json()["id"]
    row = await db.fetchval("SELECT max(id) FROM outbox WHERE topic = 'worker.index' AND entity_id = $1", worker_id)

    # The profile's index job has read it and is ranking postings …
    original = matches.rank_jobs_for_worker
    ranking, release = asyncio.Event(), asyncio.Event()

    async def slow_rank(*args: Any, **kwargs: Any) -> Any:
        ranked = await original(*args, **kwargs)
        ranking.set()
        await release.wait()
        return ranked

    monkeypatch.setattr(matches, "rank_jobs_for_worker", slow_rank)
    indexing = asyncio.create_task(_process(resources, row))
    await ranking.wait()
    # … when the broker records that the person withdrew consent to being shown to enterprises.
    withdrawn = await client.patch(f"/v1/workers/{worker_id}", headers=broker.headers, json={"consent": {
        "share_with_enterprises": False, "contact_by_sms": False, "given_at": "2025-11-21T10:00:00+08:00"}})
    assert withdrawn.status_code == 200, withdrawn.text
    release.set()
    assert await indexing == "done"
    told = await db.fetch("SELECT recipient_org_id FROM notifications WHERE event = 'match.created' "
                          "AND worker_id = $1", worker_id)
    assert told == [], "an enterprise was told about a person who had withdrawn consent"


async def test_matching_still_tells_the_enterprise_when_nothing_changed(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    # The counterpart of the test above: the same pair, consent kept, gets its notice.
    from tests.services.api.matches.test_matches import job_body
    from tests.services.api.matches.test_matches import worker_body as match_worker_body

    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    assert (await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)).status_code == 201
    await run_worker_burst(settings)
    await settle(settings)
    worker = await client.post("/v1/workers", json=match_worker_body(101), headers=broker.headers)
    assert worker.status_code == 201, worker.text
    await run_worker_burst(settings)
    told = await db.fetch("SELECT recipient_org_id FROM notifications WHERE event = 'match.created' "
                          "AND worker_id = $1", worker.json()["id"])
    assert [r["recipient_org_id"] for r in told] == [uuid.UUID(enterprise.org_id)]
