"""The import batch processor: a worker killed mid-import resumes from the last committed batch without
duplicates; one processor per import; long imports hand over to a fresh job."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from arq.constants import in_progress_key_prefix
from pydantic import BaseModel

from services.api.auth.caller import Caller
from services.api.imports import processing
from services.api.imports import repository as imports_repository
from services.api.imports.processing import BatchOutbox, ImportBusy, ImportEnv, process_import
from services.api.imports.service import PROCESS_TOPIC
from services.api.notifications.service import DISPATCH_TOPIC
from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.api.worker_profiles import repository as workers_repository
from services.db.pool import create_pool
from services.indexing import sync
from services.outbox.dispatch import outbox_job_id
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.imports.rows import many_worker_rows, to_csv, worker_row
from tests.services.api.matches.test_matches import job_body, worker_body
from tests.services.api.notifications.conftest import running_worker, wait_until
from tests.services.indexing.pipeline import document_ids, get_document, run_worker_burst, settle
from tests.workers.test_match_notifications import matches_in_inbox
from tests.workers.worker_process import kill_worker_once
from workers import import_tasks
from workers.context import WorkerResources
from workers.import_tasks import match_import, run_batch_follow_up
from workers.lease import expired_leases
from workers.outbox import OUTBOX_HANDLERS
from workers.settings import WorkerSettings


@pytest.fixture
async def env(settings: ApiSettings, db: asyncpg.Connection) -> AsyncIterator[ImportEnv]:
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=3)
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        yield ImportEnv(settings=settings, pool=pool, redis=redis, extensions={})
    finally:
        await redis.aclose(close_connection_pool=True)
        await pool.close()


async def _upload(client: httpx.AsyncClient, broker: OrgKey, rows: list[dict[str, Any]]) -> UUID:
    response = await client.post("/v1/workers/imports", content=to_csv(rows).encode(),
                                 headers={**broker.headers, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    return UUID(response.json()["import_id"])


async def _state(db: asyncpg.Connection, import_id: UUID) -> dict[str, Any]:
    row = await db.fetchrow("""SELECT status, total, created, updated, unchanged, rejected, checkpoint_row, batches
                               FROM imports WHERE id = $1""", import_id)
    assert row is not None
    return dict(row.items())


class WorkerDied(Exception):
    """Stands for the process dying in the middle of a batch (the batch's transaction never commits)."""


def _dying_on(external_ref: str) -> processing.SaverFactory:
    real = processing.SAVERS["workers"]

    async def factory(settings: ApiSettings, extensions: dict[str, Any], outbox: BatchOutbox) -> processing.RecordSaver:
        saver = await real(settings, extensions, outbox)

        async def dying(conn: asyncpg.Connection, caller: Caller, bodies: list[BaseModel],
                        prepared: Any) -> list[processing.Saved]:
            saved = await saver.save(conn, caller, bodies, prepared)  # written, then the process dies before commit
            if any(getattr(body, "external_ref", None) == external_ref for body in bodies):
                raise WorkerDied
            return saved

        return dataclasses.replace(saver, save=dying)

    return factory


@pytest.mark.parametrize("copy_threshold", [1, 10_000], ids=["copy", "executemany"])
async def test_killed_mid_import_resumes_without_duplicates(
    client: httpx.AsyncClient, make_org: MakeOrg, env: ImportEnv, db: asyncpg.Connection, settings: ApiSettings,
    monkeypatch: pytest.MonkeyPatch, copy_threshold: int,
) -> None:
    # Both ways new profiles are inserted (COPY through the staging table for import batches, executemany).
    monkeypatch.setattr(workers_repository, "COPY_THRESHOLD", copy_threshold)
    broker = await make_org("broker")
    rows = [worker_row(n) for n in range(1, 9)]
    rows[1]["手机号"] = "12345"  # row 3: a row error, in the first batch
    import_id = await _upload(client, broker, rows)

    # First batch (rows 2–4) commits, then the run stops as if the worker had been killed between batches.
    assert await process_import(env, import_id, batch_rows=3, max_batches=1) == "paused"
    state = await _state(db, import_id)
    assert state == {"status": "processing", "total": 3, "created": 2, "updated": 0, "unchanged": 0,
                     "rejected": 1, "checkpoint_row": 4, "batches": 1}
    # The broker follows the progress through the API while the import runs.
    progress = await client.get(f"/v1/workers/imports/{import_id}", headers=broker.headers)
    assert progress.status_code == 200, progress.text
    shown = progress.json()
    assert {k: shown[k] for k in ("status", "total", "created", "updated", "unchanged", "rejected")} == {
        "status": "processing", "total": 3, "created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert ([(e["row"], e["field"]) for e in shown["errors"]], shown["errors_total"]) == ([(3, "phone")], 1)

    # The next run dies in the middle of the second batch (rows 5–7, at row 6): nothing of it stays.
    real_saver = processing.SAVERS["workers"]
    monkeypatch.setitem(processing.SAVERS, "workers", _dying_on("EXT-5"))
    with pytest.raises(WorkerDied):
        await process_import(env, import_id, batch_rows=3)
    assert await _state(db, import_id) == state
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 2
    monkeypatch.setitem(processing.SAVERS, "workers", real_saver)

    # The outbox row of the import is still undone: the real worker picks the import up and finishes it.
    await run_worker_burst(settings)
    final = await _state(db, import_id)
    assert final["status"] == "completed"
    assert (final["total"], final["created"], final["rejected"], final["unchanged"]) == (8, 7, 1, 0)
    refs = [r["external_ref"] for r in await db.fetch("SELECT external_ref FROM worker_profiles ORDER BY 1")]
    assert refs == sorted(f"EXT-{n}" for n in range(1, 9) if n != 2)
    errors = await db.fetch("SELECT row_number, field FROM import_errors WHERE import_id = $1", import_id)
    assert [(e["row_number"], e["field"]) for e in errors] == [(3, "phone")]  # recorded once
    # Indexing went out per committed batch (rows 2–4 by the first run, 5–9 by the worker's full-size batch),
    # not one job per profile.
    batches = await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'import.batch'")
    assert batches == 2
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'worker.index'") == 0
    assert await db.fetchval("SELECT count(*) FROM import_chunks WHERE import_id = $1", import_id) == 0


async def test_a_worker_process_killed_mid_import_is_replaced_well_before_arqs_job_timeout(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, tmp_path: Path,
) -> None:
    """A real worker process SIGKILLed in the middle of a 15,000-row import. arq keeps the dead run's job marked
    in progress for its job timeout (600 s); the dead process's lease lapses in a second, and the next
    reconciler round hands the import to the new worker, which finishes it without duplicates."""
    broker = await make_org("broker")
    rows = many_worker_rows(3 * processing.BATCH_ROWS)
    import_id = await _upload(client, broker, rows)
    # Matching 15,000 profiles is not what this test is about (and would take minutes).
    quick = {"worker_lease_seconds": 1.0, "import_matching": False}

    async def first_batch_committed() -> bool:
        return bool(await db.fetchval("SELECT checkpoint_row > 0 FROM imports WHERE id = $1", import_id))

    await kill_worker_once(settings, tmp_path / "worker.log", first_batch_committed, within=120, **quick)

    died_at = await _state(db, import_id)
    assert died_at["status"] == "processing"
    assert 0 < died_at["created"] < len(rows)  # it really died mid-import
    run = await db.fetchrow("SELECT id, claimed_by FROM outbox WHERE topic = $1 AND entity_id = $2",
                            PROCESS_TOPIC, str(import_id))
    assert run["claimed_by"] is not None
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        # What kept a killed import waiting ten minutes: arq still holds the dead run's job as in progress.
        assert await redis.exists(in_progress_key_prefix + outbox_job_id(run["id"], settings.arq_queue_name))

        async def lease_lapsed() -> bool:
            return await expired_leases(redis, [run["claimed_by"]]) == {run["claimed_by"]}

        await wait_until(lease_lapsed, within=10)
    finally:
        await redis.aclose(close_connection_pool=True)

    # A new worker: its first reconciler round (at start) hands the import over.
    async with running_worker(settings, **quick):
        async def completed() -> bool:
            return bool(await db.fetchval("SELECT status = 'completed' FROM imports WHERE id = $1", import_id))

        await wait_until(completed, within=120)

    final = await _state(db, import_id)
    assert (final["total"], final["created"], final["rejected"]) == (len(rows), len(rows), 0)
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == len(rows)
    assert await db.fetchval("SELECT count(DISTINCT external_ref) FROM worker_profiles") == len(rows)


async def test_one_processor_per_import(
    client: httpx.AsyncClient, make_org: MakeOrg, env: ImportEnv,
) -> None:
    broker = await make_org("broker")
    import_id = await _upload(client, broker, [worker_row(1)])
    async with env.pool.acquire() as holder:
        assert await imports_repository.try_lock(holder, import_id)  # another worker holds the import
        with pytest.raises(ImportBusy):
            await process_import(env, import_id)
        await imports_repository.unlock(holder, import_id)
    assert await process_import(env, import_id) == "completed"
    assert await process_import(env, import_id) == "skipped"


async def test_long_import_hands_over_to_a_new_job(
    client: httpx.AsyncClient, make_org: MakeOrg, env: ImportEnv, db: asyncpg.Connection, settings: ApiSettings,
) -> None:
    broker = await make_org("broker")
    import_id = await _upload(client, broker, [worker_row(n) for n in range(1, 6)])
    assert await process_import(env, import_id, batch_rows=2, time_budget_seconds=0) == "continued"
    assert (await _state(db, import_id))["total"] == 2
    process_rows = await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'import.process'")
    assert process_rows == 2  # the upload's, and the hand-over
    await run_worker_burst(settings)
    final = await _state(db, import_id)
    assert (final["status"], final["total"], final["created"]) == ("completed", 5, 5)


# ------------------------------------------------------------------------------------------ matching


async def _import_ndjson(client: httpx.AsyncClient, org: OrgKey, kind: str, bodies: list[dict[str, Any]]) -> UUID:
    content = "\n".join(json.dumps(b, ensure_ascii=False) for b in bodies).encode()
    response = await client.post(f"/v1/{kind}/imports", content=content,
                                 headers={**org.headers, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 202, response.text
    return UUID(response.json()["import_id"])


async def _matches(client: httpx.AsyncClient, org: OrgKey) -> list[tuple[str, str, str]]:
    return sorted((n["job_id"], n["worker_id"], n["data"]["direction"]) for n in await matches_in_inbox(client, org))


async def _batch_ids(db: asyncpg.Connection, import_id: UUID) -> list[str]:
    rows = await db.fetch("SELECT entity_id FROM outbox WHERE topic = 'import.batch' AND entity_id LIKE $1",
                          f"{import_id}:%")
    return [r["entity_id"] for r in rows]


@asynccontextmanager
async def _worker_resources(settings: ApiSettings) -> AsyncIterator[WorkerResources]:
    """What a worker process holds, for calling its handlers directly (as a retried or duplicated job would)."""
    ws = WorkerSettings(**settings.model_dump())
    pool = await create_pool(str(ws.database_url), min_size=1, max_size=3)
    redis = create_arq_redis(str(ws.redis_url), queue_name=ws.arq_queue_name)
    search = create_search_client(ws.meili_url, ws.meili_master_key.get_secret_value())
    try:
        yield WorkerResources(settings=ws, pool=pool, redis=redis, search=search)
    finally:
        await search.aclose()
        await redis.aclose(close_connection_pool=True)
        await pool.close()


async def _rerun_follow_ups(settings: ApiSettings, import_id: UUID, entity_ids: list[str]) -> None:
    """The batches' indexing and the import's matching handled again, as a retried or duplicated outbox job
    would."""
    async with _worker_resources(settings) as resources:
        for entity_id in entity_ids:
            await run_batch_follow_up(resources, entity_id)
        await match_import(resources, f"{import_id}:1")


async def _open_posting(client: httpx.AsyncClient, make_org: MakeOrg,
                        settings: ApiSettings) -> tuple[OrgKey, OrgKey, str]:
    """An enterprise with one open, indexed welding posting, and a broker to import workers that fit it."""
    enterprise = await make_org("enterprise")
    broker = await make_org("broker")
    response = await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)
    assert response.status_code == 201, response.text
    await run_worker_burst(settings)
    return enterprise, broker, str(response.json()["id"])


async def test_imported_workers_are_matched_once_per_import(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, env: ImportEnv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)
    assert await _matches(client, enterprise) == []

    no_consent = {"share_with_enterprises": False, "contact_by_sms": False, "given_at": "2025-11-20T10:00:00+08:00"}
    welders = [worker_body(121, external_ref="W-1"), worker_body(123, external_ref="W-2"),
               worker_body(125, external_ref="W-3", consent=no_consent),
               worker_body(127, external_ref="W-4", occupations=["保姆"], certificates=[], skills=[])]
    import_id = await _import_ndjson(client, broker, "workers", welders)
    assert await process_import(env, import_id, batch_rows=2) == "completed"  # two batches
    await run_worker_burst(settings)

    ids = {r["external_ref"]: str(r["id"]) for r in await db.fetch(
        "SELECT id, external_ref FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id))}
    assert len(ids) == 4
    fitting = sorted([ids["W-1"], ids["W-2"]])  # not W-3 (no consent) nor W-4 (a nanny)
    told = await _matches(client, enterprise)
    assert told == [(job_id, worker_id, "worker_for_job") for worker_id in fitting]
    assert await _matches(client, broker) == []  # the uploading broker is not told about its own workers
    # One matching job for the import, none per profile.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'import.match'") == 1
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'worker.match'") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0

    # The batches' follow-ups handled again, the matching handing over to a new job after each record (as it
    # does before arq's timeout): nothing new.
    monkeypatch.setattr(import_tasks, "time_budget", lambda resources: 0.0)
    await _rerun_follow_ups(settings, import_id, await _batch_ids(db, import_id))
    await run_worker_burst(settings)
    assert await _matches(client, enterprise) == told
    handed_over = await db.fetch("SELECT entity_id, done_at FROM outbox WHERE topic = 'import.match' ORDER BY id")
    assert [r["entity_id"] for r in handed_over] == [f"{import_id}:1", f"{import_id}:1:1", f"{import_id}:2",
                                                     f"{import_id}:2:1"]  # a look at the budget per record
    assert all(r["done_at"] is not None for r in handed_over)


async def test_the_import_matching_job_fans_its_notifications_out_itself(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, env: ImportEnv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One arq job per notice (~20 per matched profile) queued ahead of interactive work in the load test: a
    # posting's `job.index` waited 2.5 min behind ~11,000 of them. The import's matching job fans them out
    # itself; only webhook attempts and SMS would be arq jobs.
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)
    through_arq: list[str] = []
    registered = OUTBOX_HANDLERS[DISPATCH_TOPIC]

    async def dispatch_job(resources: WorkerResources, entity_id: str) -> None:
        through_arq.append(entity_id)
        await registered(resources, entity_id)

    monkeypatch.setitem(OUTBOX_HANDLERS, DISPATCH_TOPIC, dispatch_job)
    welders = [worker_body(121 + 2 * n, external_ref=f"W-{n}") for n in range(3)]
    import_id = await _import_ndjson(client, broker, "workers", welders)
    assert await process_import(env, import_id) == "completed"
    await run_worker_burst(settings)

    ids = sorted(str(r["id"]) for r in await db.fetch(
        "SELECT id FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id)))
    assert await _matches(client, enterprise) == [(job_id, worker_id, "worker_for_job") for worker_id in ids]
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE event = 'match.created' "
                             "AND dispatched_at IS NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = $1 AND done_at IS NULL", DISPATCH_TOPIC) == 0
    matched = {str(r["id"]) for r in await db.fetch("SELECT id FROM notifications WHERE event = 'match.created'")}
    assert len(matched) == 3
    assert matched.isdisjoint(through_arq)  # (the import's own `import.finished` notice goes through arq)


async def test_an_import_waiting_for_its_matching_turn_gives_its_worker_slot_back(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thirteen `import.match` jobs once sat in all ten arq slots of a worker, each waiting for its turn, and
    # imports and postings queued behind them for minutes. The one that is not its turn hands over and ends.
    monkeypatch.setattr(import_tasks, "MATCH_DEFER_SECONDS", 1.0)
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)
    import_id = await _import_ndjson(client, broker, "workers", [worker_body(121, external_ref="W-1")])
    await run_worker_burst(WorkerSettings(**{**settings.model_dump(), "import_matching": False}))  # stored, not matched
    assert await _matches(client, enterprise) == []

    async with _worker_resources(settings) as resources:
        resources.extensions[import_tasks._MATCHING_IMPORTS_KEY] = {"another-import:1"}  # matching right now
        async with asyncio.timeout(5):  # returns at once, matching nothing
            await match_import(resources, f"{import_id}:1")
    assert await _matches(client, enterprise) == []
    handed_over = await db.fetch("SELECT entity_id, enqueued_at, done_at FROM outbox WHERE topic = 'import.match' "
                                 "ORDER BY id")
    assert [r["entity_id"] for r in handed_over][-1] == f"{import_id}:1"
    assert handed_over[-1]["enqueued_at"] is not None
    assert handed_over[-1]["done_at"] is None

    await run_worker_burst(settings)  # the handed-over row, MATCH_DEFER_SECONDS later, in a worker with no other import
    worker_id = str(await db.fetchval("SELECT id FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id)))
    assert await _matches(client, enterprise) == [(job_id, worker_id, "worker_for_job")]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0


_ARQ_ROUNDING = 0.001  # arq rounds a job's time to the millisecond


async def _scheduled_at(resources: WorkerResources, outbox_id: int) -> float:
    """When (epoch seconds) arq runs the outbox row's job."""
    queue_name = resources.settings.arq_queue_name
    score = await resources.redis.zscore(queue_name, outbox_job_id(outbox_id, queue_name))
    assert score is not None
    return float(score) / 1000


async def test_a_deferred_hand_over_is_not_taken_for_lost_while_it_waits(settings: ApiSettings,
                                                                          db: asyncpg.Connection) -> None:
    # The reconciler's clock for a deferred row starts when the row is due: from the enqueue, it would count the
    # wait as lateness and send the row to arq again before its job had even started.
    async with _worker_resources(settings) as resources:
        await import_tasks.hand_over(resources, import_tasks.MATCH_TOPIC, "deferred:1:1", defer_seconds=600)
    assert await db.fetchval("SELECT enqueued_at > now() + interval '590 seconds' FROM outbox "
                             "WHERE entity_id = 'deferred:1:1'")


async def test_imports_take_turns_at_matching(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A running import that hands over (time budget spent) while another import waits in this process queues
    # its next part behind the waiting one's (MATCH_DEFER_SECONDS later), instead of taking the slot again at
    # once for as long as it has records; with nobody waiting it goes on at once.
    monkeypatch.setattr(import_tasks, "time_budget", lambda resources: 0.0)
    _, broker, _ = await _open_posting(client, make_org, settings)
    import_id = await _import_ndjson(client, broker, "workers", [worker_body(121 + 2 * n, external_ref=f"W-{n}")
                                                                  for n in range(3)])
    await run_worker_burst(WorkerSettings(**{**settings.model_dump(), "import_matching": False}))  # stored, not matched

    async with _worker_resources(settings) as resources:
        await match_import(resources, f"{import_id}:1")  # nobody waiting: the next part at once
        enqueued_by = time.time()
        alone = await db.fetchrow("SELECT id, entity_id FROM outbox WHERE topic = 'import.match' "
                                  "ORDER BY id DESC LIMIT 1")
        assert alone["entity_id"] == f"{import_id}:1:1"
        assert await _scheduled_at(resources, alone["id"]) <= enqueued_by + _ARQ_ROUNDING

        resources.extensions[import_tasks._LAST_DEFERRAL_KEY] = asyncio.get_running_loop().time()  # one waits
        not_before = time.time()
        await match_import(resources, f"{import_id}:1:1")
        after_others = await db.fetchrow("SELECT id, entity_id FROM outbox WHERE topic = 'import.match' "
                                         "ORDER BY id DESC LIMIT 1")
        assert after_others["entity_id"] == f"{import_id}:1:2"
        # Bounded by the clock read around the call, not by now: a slow machine does not move the bound.
        due = not_before + import_tasks.MATCH_DEFER_SECONDS
        assert await _scheduled_at(resources, after_others["id"]) >= due - _ARQ_ROUNDING
        assert resources.extensions[import_tasks._MATCHING_IMPORTS_KEY] == set()  # the slot is free again


async def test_matching_hands_over_inside_a_batch(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, env: ImportEnv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One batch of three fitting welders, the budget spent after every record: each job matches one record and
    # hands the rest of the batch over (a 5,000-record batch with rests outlasts arq's job timeout otherwise, and
    # the cancelled job would start the same batch again).
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)
    welders = [worker_body(121 + 2 * n, external_ref=f"W-{n}") for n in range(3)]
    import_id = await _import_ndjson(client, broker, "workers", welders)
    monkeypatch.setattr(import_tasks, "MATCH_CHUNK", 1)
    monkeypatch.setattr(import_tasks, "time_budget", lambda resources: 0.0)
    assert await process_import(env, import_id) == "completed"
    await run_worker_burst(settings)

    handed_over = await db.fetch("SELECT entity_id, done_at FROM outbox WHERE topic = 'import.match' ORDER BY id")
    assert [r["entity_id"] for r in handed_over] == [f"{import_id}:1", f"{import_id}:1:1", f"{import_id}:1:2"]
    assert all(r["done_at"] is not None for r in handed_over)
    ids = sorted(str(r["id"]) for r in await db.fetch(
        "SELECT id FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id)))
    assert await _matches(client, enterprise) == [(job_id, worker_id, "worker_for_job") for worker_id in ids]


async def test_imported_postings_are_matched(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
) -> None:
    enterprise = await make_org("enterprise")
    broker = await make_org("broker")
    response = await client.post("/v1/workers", json=worker_body(131), headers=broker.headers)
    assert response.status_code == 201, response.text
    worker_id = response.json()["id"]
    await run_worker_burst(settings)

    import_id = await _import_ndjson(client, enterprise, "jobs", [job_body(external_ref="J-1")])
    await run_worker_burst(settings)
    job_id = str(await db.fetchval("SELECT id FROM job_postings WHERE org_id = $1", UUID(enterprise.org_id)))
    told = await _matches(client, broker)
    assert told == [(job_id, worker_id, "job_for_worker")]
    assert await _matches(client, enterprise) == []

    await _rerun_follow_ups(settings, import_id, await _batch_ids(db, import_id))
    await run_worker_burst(settings)
    assert await _matches(client, broker) == told


async def test_a_profile_that_fails_to_match_is_retried_alone(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, env: ImportEnv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One id failing in the import's matching holds up neither the others nor the import.match row: it gets a
    single-record `worker.match` row of its own, retried like any outbox row."""
    enterprise, broker, job_id = await _open_posting(client, make_org, settings)

    real, retry_topic = import_tasks.MATCHERS["worker.index"]
    failing: set[str] = set()

    async def first_profile_fails(resources: WorkerResources, entity_id: str, **kwargs: Any) -> None:
        if not failing:
            failing.add(entity_id)
        if entity_id in failing:
            raise RuntimeError("Meilisearch unreachable for this one")
        await real(resources, entity_id, **kwargs)

    monkeypatch.setitem(import_tasks.MATCHERS, "worker.index", (first_profile_fails, retry_topic))
    import_id = await _import_ndjson(client, broker, "workers", [worker_body(141, external_ref="W-1"),
                                                                  worker_body(143, external_ref="W-2")])
    assert await process_import(env, import_id, batch_rows=2) == "completed"
    await run_worker_burst(settings)  # the import's matching, then the failed id's own row (the real handler)

    [failed_id] = failing
    retries = await db.fetch("SELECT entity_id, done_at FROM outbox WHERE topic = 'worker.match'")
    assert [(r["entity_id"], r["done_at"] is not None) for r in retries] == [(failed_id, True)]
    assert await db.fetchval("SELECT done_at IS NOT NULL FROM outbox WHERE topic = 'import.match'") is True
    ids = sorted(str(r["id"]) for r in await db.fetch(
        "SELECT id FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id)))
    assert await _matches(client, enterprise) == [(job_id, worker_id, "worker_for_job") for worker_id in ids]


# ------------------------------------------------------------------------------------ indexing from memory


@pytest.fixture
async def search_env(env: ImportEnv, settings: ApiSettings) -> AsyncIterator[ImportEnv]:
    """The processor as the worker runs it: with a search client, so committed batches are indexed from memory."""
    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value(),
                                  timeout_seconds=30)
    try:
        yield dataclasses.replace(env, search=search)
    finally:
        await search.aclose()


async def _documents(settings: ApiSettings, worker_ids: list[str]) -> dict[str, dict[str, Any]]:
    present = await document_ids(settings, "workers")
    return {i: await get_document(settings, "workers", i) for i in sorted(worker_ids) if i in present}


async def test_batches_indexed_from_memory_get_the_documents_a_read_back_gives(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
    search_env: ImportEnv,
) -> None:
    broker = await make_org("broker")
    rows = [worker_row(n) for n in range(1, 6)]
    rows[2]["同意共享"] = "否"  # EXT-3: stored, never indexed
    first = await _upload(client, broker, rows)
    assert await process_import(search_env, first, batch_rows=2) == "completed"  # three batches
    # Re-uploaded with changes: EXT-1's wage changes (updated), EXT-2 withdraws consent (updated, leaves the
    # index), the rest is unchanged (no indexing at all).
    rows[0]["期望薪资"] = "6000-9000元/月"
    rows[1]["同意共享"] = "否"
    second = await _upload(client, broker, rows)
    assert await process_import(search_env, second, batch_rows=2) == "completed"
    for import_id, batches in ((first, 3), (second, 1)):
        notes = [await processing.indexed_note(search_env.redis, str(import_id), n) for n in range(1, batches + 1)]
        assert all(note is not None and note.topic == "worker.index" for note in notes)
    await run_worker_burst(settings)  # the batches' jobs: the writes are applied, nothing is read back
    await settle(settings)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0

    ids = {r["external_ref"]: str(r["id"]) for r in await db.fetch(
        "SELECT id, external_ref FROM worker_profiles WHERE broker_org_id = $1", UUID(broker.org_id))}
    from_memory = await _documents(settings, list(ids.values()))
    assert set(from_memory) == {ids["EXT-1"], ids["EXT-4"], ids["EXT-5"]}
    assert from_memory[ids["EXT-1"]]["expected_wage_min"] == 6000

    # The same batches indexed by reading their rows back (what a batch's job does without a usable note: here
    # every note names a task Meilisearch does not know) give the very same documents.
    for import_id, batches in ((first, 3), (second, 1)):
        for n in range(1, batches + 1):
            await search_env.redis.set(processing._indexed_key(str(import_id), n), json.dumps(
                {"topic": "worker.index", "task_uids": [2_000_000_000], "upserted": 1, "deleted": 0}))
    assert search_env.search is not None
    index = search_env.search.index(index_name(settings.meili_index_prefix, "workers"))
    await search_env.search.wait_for_task((await index.delete_all_documents()).task_uid)
    await _rerun_follow_ups(settings, second, await _batch_ids(db, first) + await _batch_ids(db, second))
    await settle(settings)
    assert await _documents(settings, list(ids.values())) == from_memory


async def test_a_failed_direct_index_write_leaves_the_batches_to_their_jobs(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings, env: ImportEnv,
) -> None:
    broker = await make_org("broker")
    import_id = await _upload(client, broker, [worker_row(n) for n in range(1, 4)])
    unreachable = create_search_client("http://127.0.0.1:9", "key", timeout_seconds=1)
    try:
        assert await process_import(dataclasses.replace(env, search=unreachable), import_id,
                                    batch_rows=2) == "completed"
    finally:
        await unreachable.aclose()
    assert await processing.indexed_note(env.redis, str(import_id), 1) is None
    await run_worker_burst(settings)  # the batches' jobs read their rows back and index them
    await settle(settings)
    ids = [str(r["id"]) for r in await db.fetch("SELECT id FROM worker_profiles WHERE broker_org_id = $1",
                                                UUID(broker.org_id))]
    assert len(ids) == 3
    assert set(await _documents(settings, ids)) == set(ids)


def _erasing_before_batch(client: httpx.AsyncClient, broker: OrgKey, settings: ApiSettings, external_ref: str,
                          erased: list[str]) -> processing.SaverFactory:
    """The worker saver, except that before the second batch is saved (the first is committed, its documents
    still pending in DirectIndex) the broker erases `external_ref` and the erasure's `worker.index` job runs."""
    real = processing.SAVERS["workers"]

    async def factory(api_settings: ApiSettings, extensions: dict[str, Any],
                      outbox: BatchOutbox) -> processing.RecordSaver:
        saver = await real(api_settings, extensions, outbox)
        calls = 0

        async def save(conn: asyncpg.Connection, caller: Caller, bodies: list[BaseModel],
                       prepared: Any) -> list[processing.Saved]:
            nonlocal calls
            calls += 1
            if calls == 2:
                erased.append(await _erase_now(conn, client, broker, settings, external_ref))
            return await saver.save(conn, caller, bodies, prepared)

        return dataclasses.replace(saver, save=save)

    return factory


async def _erase_now(conn: asyncpg.Connection, client: httpx.AsyncClient, broker: OrgKey, settings: ApiSettings,
                     external_ref: str, *, run_job: bool = True) -> str:
    """The broker erases the profile `external_ref` and (run_job) the erasure's `worker.index` job runs; its id."""
    worker_id = str(await conn.fetchval(
        "SELECT id FROM worker_profiles WHERE broker_org_id = $1 AND external_ref = $2",
        UUID(broker.org_id), external_ref))
    response = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert response.status_code == 200, response.text
    if run_job:
        await _run_outbox_rows(settings, "worker.index", worker_id)
    return worker_id


async def _run_outbox_rows(settings: ApiSettings, topic: str, entity_id: str) -> None:
    """The outbox rows of (topic, entity_id) handled now, as their arq jobs would (and marked done)."""
    from workers.outbox import _process

    async with _worker_resources(settings) as resources:
        async with resources.pool.acquire() as conn:
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM outbox WHERE topic = $1 AND entity_id = $2 AND done_at IS NULL", topic, entity_id)]
        assert ids
        for outbox_id in ids:
            assert await _process(resources, outbox_id) == "done"
        await settle(settings)


@pytest.mark.parametrize("moment", ["before_the_next_batch", "while_written"])
async def test_a_profile_erased_after_its_batch_committed_stays_out_of_the_index(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
    search_env: ImportEnv, monkeypatch: pytest.MonkeyPatch, moment: str,
) -> None:
    # Batches EXT-1, EXT-2 | EXT-3, EXT-4 are committed and wait in DirectIndex for more rows (written together
    # at the end). Meanwhile the broker erases a profile and the erasure's job removes it from the index; the
    # documents taken from memory at the commit must not bring it back (Meilisearch applies the later write
    # last). `before_the_next_batch`: EXT-1 is erased before the second batch is saved, so the first look
    # ("changed since its commit?") sees it: that batch gets no note and its job reads its rows again, after the
    # write. `while_written`: EXT-3 is erased after that look, just before the write from memory is queued; the
    # erasure's own index job cannot run in between (it waits for the index locks the write holds), so it
    # deletes the document after the write, and both batches keep their notes.
    broker = await make_org("broker")
    import_id = await _upload(client, broker, [worker_row(n) for n in range(1, 5)])
    erased: list[str] = []
    if moment == "before_the_next_batch":
        monkeypatch.setitem(processing.SAVERS, "workers",
                            _erasing_before_batch(client, broker, settings, "EXT-1", erased))
    else:
        class ErasingFirst(sync.Indexer):
            async def write_worker_rows(self, rows: Any, *args: Any) -> Any:
                if not erased:
                    erased.append(await _erase_now(db, client, broker, settings, "EXT-3", run_job=False))
                return await super().write_worker_rows(rows, *args)

        monkeypatch.setattr(sync, "indexer_for", lambda extensions, client, prefix: ErasingFirst(client, prefix))
    assert await process_import(search_env, import_id, batch_rows=2) == "completed"
    assert len(erased) == 1
    changed_batch = 1 if moment == "before_the_next_batch" else None
    for batch_no in (1, 2):  # the other batch(es) indexed from memory
        note = await processing.indexed_note(search_env.redis, str(import_id), batch_no)
        assert (note is None) is (batch_no == changed_batch)
    await run_worker_burst(settings)  # the batches' jobs (and the queued erasure job: already done, skipped)
    await settle(settings)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0

    ids = [str(r["id"]) for r in await db.fetch("SELECT id FROM worker_profiles WHERE broker_org_id = $1",
                                                UUID(broker.org_id))]
    assert erased[0] in ids
    assert set(await _documents(settings, ids)) == set(ids) - set(erased)


async def test_an_erasure_job_waits_for_a_write_from_memory_already_past_its_look(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, settings: ApiSettings,
    search_env: ImportEnv, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worst case for the write from memory: its batches' outbox rows were already run and done (the
    # reconciler enqueues a committed row once it is old enough, whether or not the write happened), so nothing
    # would repair a stale write. The erasure commits after the look and its job starts before the write is
    # queued: it must wait for the write (the index locks), then delete the document.
    broker = await make_org("broker")
    import_id = await _upload(client, broker, [worker_row(n) for n in range(1, 3)])
    erasure: list[asyncio.Task[None]] = []
    erased: list[str] = []

    class ErasingMeanwhile(sync.Indexer):
        async def write_worker_rows(self, rows: Any, *args: Any) -> Any:
            await db.execute("UPDATE outbox SET done_at = now() WHERE topic = 'import.batch'")
            erased.append(await _erase_now(db, client, broker, settings, "EXT-2", run_job=False))
            erasure.append(asyncio.create_task(_run_outbox_rows(settings, "worker.index", erased[0])))
            await asyncio.wait(erasure, timeout=2)  # without the locks it finishes in well under this
            return await super().write_worker_rows(rows, *args)

    monkeypatch.setattr(sync, "indexer_for", lambda extensions, client, prefix: ErasingMeanwhile(client, prefix))
    assert await process_import(search_env, import_id, batch_rows=2) == "completed"
    await erasure[0]
    await settle(settings)
    ids = [str(r["id"]) for r in await db.fetch("SELECT id FROM worker_profiles WHERE broker_org_id = $1",
                                                UUID(broker.org_id))]
    assert set(await _documents(settings, ids)) == set(ids) - set(erased)
