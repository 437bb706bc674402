"""`bashu demo load` against the test database: creates through the services, and a second run changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.api.settings import ApiSettings
from services.demo.loader import DEMO_ORGS, load_demo


async def _counts(db: asyncpg.Connection) -> dict[str, int]:
    return {
        "orgs": await db.fetchval("SELECT count(*) FROM organisations"),
        "workers": await db.fetchval("SELECT count(*) FROM worker_profiles"),
        "jobs": await db.fetchval("SELECT count(*) FROM job_postings"),
        "outbox": await db.fetchval("SELECT count(*) FROM outbox"),
        "catalogue_versions": await db.fetchval("SELECT count(*) FROM catalogue_versions"),
        "live_keys": await db.fetchval("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"),
    }


async def test_demo_load_is_idempotent_and_goes_through_the_services(
    settings: ApiSettings, db: asyncpg.Connection, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    keys_file = tmp_path / "demo-keys.json"
    first = await load_demo(settings, workers=40, jobs=30, seed=11, keys_path=keys_file, enqueue=False)
    assert first.workers["created"] == 40
    assert sum(v for k, v in first.jobs.items() if k.startswith("created")) == 30
    assert first.catalogue_version == 1
    after_first = await _counts(db)
    assert after_first["orgs"] == len(DEMO_ORGS)
    assert after_first["workers"] == 40
    assert after_first["jobs"] == 30
    # One outbox row per profile and posting (plus the catalogue publication): the worker will index them.
    # (Distinct ids: other domains may record a second row for the same posting, e.g. a re-index.)
    for topic, table in (("worker.index", "worker_profiles"), ("job.index", "job_postings")):
        indexed = {r["entity_id"] for r in await db.fetch("SELECT entity_id FROM outbox WHERE topic = $1", topic)}
        assert indexed == {str(r["id"]) for r in await db.fetch(f"SELECT id FROM {table}")}
    # Postings are recorded (and enqueued) before profiles, so the kiosk fills first after `make run`.
    # (Each entity's first row: seeded placements add later rows for both.)
    last_posting = await db.fetchval("SELECT max(first) FROM (SELECT min(id) AS first FROM outbox "
                                     "WHERE topic = 'job.index' GROUP BY entity_id) AS postings")
    assert last_posting < await db.fetchval("SELECT min(id) FROM outbox WHERE topic = 'worker.index'")
    # Personal data is encrypted, never stored in clear.
    row = await db.fetchrow("SELECT name_enc, id_number_enc, phone_enc FROM worker_profiles LIMIT 1")
    assert all(isinstance(v, bytes) and len(v) > 16 for v in row.values())

    keys = json.loads(keys_file.read_text())
    assert set(keys) == set(DEMO_ORGS)
    me = await client.get("/v1/jobs", headers={"Authorization": f"Bearer {keys['enterprise_services']}"})
    assert me.status_code == 200, me.text

    second = await load_demo(settings, workers=40, jobs=30, seed=11, keys_path=keys_file, enqueue=False)
    assert second.workers == {"existing": 40}
    assert second.jobs["existing"] == 30
    assert second.org_ids == first.org_ids
    after_second = await _counts(db)
    assert after_second == after_first  # nothing created; one live demo key per organisation still

    new_keys = json.loads(keys_file.read_text())
    assert all(new_keys[name] != keys[name] for name in keys)  # fresh keys every run
    old = await client.get("/v1/jobs", headers={"Authorization": f"Bearer {keys['enterprise_services']}"})
    assert old.status_code == 401  # the previous run's demo keys are revoked
    new = await client.get("/v1/workers", headers={"Authorization": f"Bearer {new_keys['broker_cq']}"})
    assert new.status_code == 200, new.text
    assert new.json()["items"]
    assert all(item["id_number"].count("*") >= 8 for item in new.json()["items"])  # answered masked


async def test_demo_load_renews_demo_postings_that_ended_or_are_about_to(
    settings: ApiSettings, db: asyncpg.Connection, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    keys_file = tmp_path / "demo-keys.json"
    await load_demo(settings, workers=0, jobs=12, seed=5, keys_path=keys_file, enqueue=False)
    jobs = [r["id"] for r in await db.fetch("SELECT id FROM job_postings WHERE status = 'open' ORDER BY id")]
    assert len(jobs) >= 6
    expired, unswept, ending, later, held, closed = jobs[:6]
    # A month later: one swept to expired, one past its expiry before the sweep saw it, one ending tomorrow,
    # one with three weeks left; a held and a closed posting past their expiry.
    await db.execute("UPDATE job_postings SET status = 'expired', expires_at = now() - interval '2 days' "
                     "WHERE id = $1", expired)
    await db.execute("UPDATE job_postings SET expires_at = now() - interval '1 hour' WHERE id = $1", unswept)
    await db.execute("UPDATE job_postings SET expires_at = now() + interval '1 day' WHERE id = $1", ending)
    await db.execute("UPDATE job_postings SET expires_at = now() + interval '21 days' WHERE id = $1", later)
    await db.execute("UPDATE job_postings SET status = 'pending_review', expires_at = now() - interval '1 day' "
                     "WHERE id = $1", held)
    await db.execute("UPDATE job_postings SET status = 'closed', expires_at = now() - interval '1 day' "
                     "WHERE id = $1", closed)
    untouched = set(jobs[6:])
    await db.execute("UPDATE job_postings SET expires_at = now() + interval '20 days' WHERE id = ANY($1)",
                     list(untouched))
    before = {r["id"]: r for r in await db.fetch("SELECT id, status, expires_at FROM job_postings")}
    outbox_before = await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'job.index'")

    second = await load_demo(settings, workers=0, jobs=12, seed=5, keys_path=keys_file, enqueue=False)
    assert second.renewals == {"renewed": 3}
    after = {r["id"]: r for r in await db.fetch("SELECT id, status, expires_at FROM job_postings")}
    now = await db.fetchval("SELECT now()")
    for job_id in (expired, unswept, ending):
        assert after[job_id]["status"] == "open"
        assert after[job_id]["expires_at"] > now + timedelta(days=settings.job_default_ttl_days - 1)
    for job_id in (later, held, closed, *untouched):
        assert (after[job_id]["status"], after[job_id]["expires_at"]) == (before[job_id]["status"],
                                                                          before[job_id]["expires_at"])
    # Re-indexed the way an update is: one job.index outbox row per renewed posting.
    renewed_rows = await db.fetch("SELECT entity_id FROM outbox WHERE topic = 'job.index' ORDER BY id OFFSET $1",
                                  outbox_before)
    assert sorted(r["entity_id"] for r in renewed_rows) == sorted(str(j) for j in (expired, unswept, ending))
    # The kiosk shows the posting again.
    kiosk_key = json.loads(keys_file.read_text())["kiosk_jiulongpo"]
    detail = await client.get(f"/v1/kiosk/jobs/{expired}", headers={"Authorization": f"Bearer {kiosk_key}"})
    assert detail.status_code == 200, detail.text

    third = await load_demo(settings, workers=0, jobs=12, seed=5, keys_path=keys_file, enqueue=False)
    assert third.renewals == {}
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'job.index'") == outbox_before + 3


async def test_the_demo_s_index_jobs_are_spread_out_so_a_developer_s_next_write_is_not_queued_behind_them(
    settings: ApiSettings, db: asyncpg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.api.redis_connection import create_arq_redis
    from services.demo import loader
    from services.outbox import repository as outbox_repository
    from services.outbox.dispatch import enqueue_outbox, outbox_job_id

    monkeypatch.setattr(loader, "BATCH", 10)
    # One row a second: batches due 0, 10, 20 and 30 s after they are sent, so the few seconds a loaded machine
    # takes between sending them (and before the checks below) cannot blur the pacing being checked.
    monkeypatch.setattr(loader, "DEMO_INDEX_ROWS_PER_SECOND", 1.0)
    await load_demo(settings, workers=20, jobs=20, seed=3, keys_path=tmp_path / "k.json")
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        # (The seeded placements' own rows are left to the reconciler, as before.)
        rows = await db.fetch("SELECT id FROM outbox WHERE topic IN ('job.index', 'worker.index') "
                              "AND enqueued_at IS NOT NULL ORDER BY id")
        assert len(rows) == 40
        due = {r["id"]: await redis.zscore(settings.arq_queue_name, outbox_job_id(r["id"], settings.arq_queue_name))
               for r in rows}
        assert None not in due.values()
        # Batch after batch, a row a second: four batches of ten, due 0, 10, 20 and 30 s after they are sent (plus the
        # time between sending them). The first, due at once, goes ahead of arq's queue like any index row sent
        # undeferred (services/outbox/dispatch.py::AHEAD_TOPICS): due in the past, before all the others.
        scores = sorted(due.values())  # type: ignore[type-var]
        assert scores[9] < scores[10] - 3600_000, scores
        spread = (scores[-1] - scores[10]) / 1000  # type: ignore[operator]
        assert 20 <= spread <= 35, spread
        # Something a developer does now is due before the demo's later batches.
        mine = await outbox_repository.record(db, "job.index", "00000000-0000-0000-0000-000000000001")
        assert await enqueue_outbox(redis, [mine]) == [mine]
        score = await redis.zscore(settings.arq_queue_name, outbox_job_id(mine, settings.arq_queue_name))
        assert sum(1 for s in due.values() if s > score) >= 10  # type: ignore[operator]
        # The reconciler does not take the rows still waiting to be due for lost (and enqueue them again)
        # meanwhile. (Not the first batch, due at once, nor the catalogue row: on a slow machine they may already
        # be older than this, and the reconciler would rightly take them.)
        waiting = {i for i, s in due.items() if s > score}  # type: ignore[operator]
        stale = await outbox_repository.stale(db, older_than_seconds=0.5, limit=100)
        assert set(stale) & waiting == set()
    finally:
        await redis.aclose(close_connection_pool=True)
