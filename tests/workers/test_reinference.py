"""Occupations inferred from free text follow the inference and the catalogue as they are now: at the deploy that
improved inference (migration 0022) and after a catalogue publication, stored postings and profiles are inferred
again, re-indexed and matched, without anyone editing them."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.api.jobs import repository as jobs_repository
from services.api.settings import ApiSettings
from services.db.migrate import MIGRATIONS_DIR
from tests.conftest import MakeOrg, OrgKey, start_date_in
from tests.services.api.catalogue.conftest import (  # noqa: F401 - fixtures used by name
    CHEF,
    SAMPLE_ENTRIES,
    WELDER,
    approve_and_publish,
    cq,
    entry_body,
    new_draft,
    sample_version,
    sc,
)
from tests.services.api.worker_profiles.test_worker_profiles import worker_body
from tests.services.indexing.pipeline import get_document, reconcile, run_worker_burst, settle
from workers import reinference_tasks

LATHE = "6-18-01-01"  # 车工
CATCH_ALL = "6-25-03-00"  # what 操作工 alone stands for, and what 数控车床操作工 was inferred as before
FORKLIFT = "6-30-05-01"
STAMPS = "SELECT id, updated_at FROM job_postings UNION ALL SELECT id, updated_at FROM worker_profiles ORDER BY id"


def posting(title: str, **overrides: Any) -> dict[str, Any]:
    return {"title": title, "description": "两班倒，包吃住", "headcount": 2, "adcode": "500107",
            "wage": {"min": 6500, "max": 8000, "unit": "month"}, "work_type": "full_time",
            "start_date": start_date_in(10), **overrides}


async def _post(client: httpx.AsyncClient, org: OrgKey, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


async def test_the_deploy_infers_stored_occupations_again(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reinference_tasks, "REINFER_PAGE", 1)  # the walk goes on past full pages
    monkeypatch.setattr(reinference_tasks, "time_budget", lambda resources: 0.0)  # and hands over after each
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    lathe = await _post(client, enterprise, "/v1/jobs", posting("数控车床操作工"))
    chosen = await _post(client, enterprise, "/v1/jobs", posting("数控车床操作工", occupation_code=CATCH_ALL))
    forklift = await _post(client, enterprise, "/v1/jobs", posting("叉车司机"))
    worker = await _post(client, broker, "/v1/workers", worker_body(occupations=["数控车床", FORKLIFT]))
    # What the previous release stored and indexed for them (the API and worker above run this release).
    await db.execute("UPDATE job_postings SET occupation_code = $2 WHERE id = $1", lathe, CATCH_ALL)
    await db.execute(
        """UPDATE worker_profiles SET occupations = $2, occupation_codes = $3, occupation_terms = $4 WHERE id = $1""",
        worker, [{"input": "数控车床", "code": None, "inferred": False},
                 {"input": FORKLIFT, "code": FORKLIFT, "inferred": False}], [FORKLIFT], ["数控车床"])
    await run_worker_burst(settings)
    await settle(settings)
    assert (await get_document(settings, "jobs", lathe))["occupation_code"] == CATCH_ALL
    assert (await get_document(settings, "workers", worker))["occupation_codes"] == [FORKLIFT]
    stamps = await db.fetch(STAMPS)
    last_row = await db.fetchval("SELECT max(id) FROM outbox")

    # The deploy: the migration as the runner applies it (the test database was migrated while empty, and an empty
    # database gets no row), then the worker's reconciler and the worker.
    await db.execute((MIGRATIONS_DIR / "0022_occupations_inferred_again.sql").read_text(encoding="utf-8"))
    rows = await db.fetch("SELECT id, entity_id FROM outbox WHERE topic = 'occupations.reinfer'")
    assert [r["entity_id"] for r in rows] == [""]
    assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 1
    await run_worker_burst(settings)
    await settle(settings)

    job = (await client.get(f"/v1/jobs/{lathe}", headers=enterprise.headers)).json()
    assert (job["occupation_code"], job["occupation_name"], job["occupation_inferred"]) == (LATHE, "车工", True)
    assert (await get_document(settings, "jobs", lathe))["occupation_code"] == LATHE
    profile = (await client.get(f"/v1/workers/{worker}", headers=broker.headers)).json()
    assert [(o["input"], o["code"], o["inferred"]) for o in profile["occupations"]] == [
        ("数控车床", LATHE, True), (FORKLIFT, FORKLIFT, False)]
    assert profile["occupation_codes"] == [LATHE, FORKLIFT]
    assert (await get_document(settings, "workers", worker))["occupation_codes"] == [LATHE, FORKLIFT]
    assert await db.fetchval("SELECT occupation_terms FROM worker_profiles WHERE id = $1", worker) == []
    # A code the enterprise chose stays, and so does an inference that gives the same code.
    assert await db.fetchval("SELECT occupation_code FROM job_postings WHERE id = $1", chosen) == CATCH_ALL
    assert await db.fetchval("SELECT occupation_code FROM job_postings WHERE id = $1", forklift) == FORKLIFT
    # Only what changed is indexed and matched again; nobody edited anything, so nothing looks newly updated.
    topics = await db.fetch("SELECT topic, entity_id, done_at FROM outbox WHERE id > $1"
                            " AND topic IN ('job.index', 'worker.index') ORDER BY id", last_row)
    assert [(r["topic"], r["entity_id"]) for r in topics] == [("job.index", lathe), ("worker.index", worker)]
    assert all(r["done_at"] is not None for r in topics)
    assert await db.fetch(STAMPS) == stamps
    walk = await db.fetch("SELECT entity_id, done_at FROM outbox WHERE topic = 'occupations.reinfer' ORDER BY id")
    assert len(walk) > 2  # handed over
    assert all(r["done_at"] is not None for r in walk)
    # The lathe operator's matches now reach the worker who turns lathes.
    matches = await client.get(f"/v1/jobs/{lathe}/matches", headers=enterprise.headers)
    assert matches.status_code == 200, matches.text
    assert worker in [m["worker"]["id"] for m in matches.json()["items"]]


async def test_an_edit_committed_meanwhile_is_not_overwritten(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    lathe = await _post(client, enterprise, "/v1/jobs", posting("数控车床操作工"))
    edited = await client.patch(f"/v1/jobs/{lathe}", json={"title": "叉车司机"}, headers=enterprise.headers)
    assert edited.status_code == 200, edited.text
    # What the walk read before the edit: the old title, and the code the old release gave it.
    assert not await jobs_repository.set_inferred_code(db, lathe, LATHE, was=CATCH_ALL, title="数控车床操作工",
                                                        description="两班倒，包吃住")
    assert await db.fetchval("SELECT occupation_code FROM job_postings WHERE id = $1", lathe) == FORKLIFT


async def test_a_publication_infers_stored_text_again_with_the_new_aliases(
        sample_version: int, client: httpx.AsyncClient, cq: OrgKey, sc: OrgKey,  # noqa: F811
        make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    # The sample catalogue knows 焊工 only as 焊接工: 烧电焊的 names no trade, so the posting is the cook's.
    job = await _post(client, enterprise, "/v1/jobs", posting("烧电焊的 厨师"))
    worker = await _post(client, broker, "/v1/workers", worker_body(occupations=["烧电焊的"]))
    assert (await client.get(f"/v1/jobs/{job}", headers=enterprise.headers)).json()["occupation_code"] == CHEF
    before = (await client.get(f"/v1/workers/{worker}", headers=broker.headers)).json()["occupations"]
    assert [(o["input"], o["code"]) for o in before] == [("烧电焊的", None)]
    await run_worker_burst(settings)

    draft = await new_draft(client, cq)
    put = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=sc.headers,
                           json=entry_body(SAMPLE_ENTRIES[0], aliases=["焊接工", "烧电焊的"]))
    assert put.status_code == 200, put.text
    assert (await approve_and_publish(client, draft, cq, sc)).status_code == 200
    await run_worker_burst(settings)
    await settle(settings)

    # The title names both trades now; the first named wins the tie (occupation_inference.infer_from_posting).
    assert (await client.get(f"/v1/jobs/{job}", headers=enterprise.headers)).json()["occupation_code"] == WELDER
    assert (await get_document(settings, "jobs", job))["occupation_code"] == WELDER
    after = (await client.get(f"/v1/workers/{worker}", headers=broker.headers)).json()["occupations"]
    assert [(o["input"], o["code"], o["inferred"]) for o in after] == [("烧电焊的", WELDER, True)]
    assert (await get_document(settings, "workers", worker))["occupation_codes"] == [WELDER]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'occupations.reinfer' AND done_at IS NULL") == 0


def test_a_cursor_this_code_did_not_write_is_refused() -> None:
    for entity_id in ("postings:", "jobs:not-a-uuid"):
        with pytest.raises(reinference_tasks.UnknownCursor):
            reinference_tasks._cursor(entity_id)
    assert reinference_tasks._cursor("") == ("jobs", None)
    assert reinference_tasks._cursor("workers:") == ("workers", None)

