"""Placements acting on other domains: worker status and search, the broker's inbox, the credit ledger and the
posting's remaining headcount in search."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from services.api.credit.service import record_credit_event
from services.api.settings import ApiSettings
from tests.conftest import OrgKey, start_date_in
from tests.services.api.placements.support import act, hired_placement, make_job, make_worker, start_today
from tests.services.indexing.pipeline import document_ids, get_document, run_worker_burst, settle
from workers.placement_tasks import write_due_reminders


async def worker_status(client: httpx.AsyncClient, broker: OrgKey, worker_id: str) -> tuple[str, bool]:
    response = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["searchable"]


async def indexed_workers(settings: ApiSettings) -> set[str]:
    await run_worker_burst(settings)
    await settle(settings)
    return await document_ids(settings, "workers")


async def test_a_hire_places_the_worker_out_of_search_and_the_end_brings_them_back(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, settings: ApiSettings) -> None:
    job = await make_job(client, enterprise, headcount=3, start_date=start_date_in(0))  # arrival confirmed below
    worker = await make_worker(client, broker)
    bystander = await make_worker(client, broker)
    assert {worker["id"], bystander["id"]} <= await indexed_workers(settings)

    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    assert await worker_status(client, broker, worker["id"]) == ("placed", False)
    indexed = await indexed_workers(settings)
    assert worker["id"] not in indexed
    assert bystander["id"] in indexed

    # A placed worker cannot be proposed elsewhere.
    other_job = await make_job(client, enterprise)
    refused = await client.post("/v1/placements", json={"job_id": other_job["id"], "worker_id": worker["id"]},
                                headers=broker.headers)
    assert (refused.status_code, refused.json().get("reason")) == (409, "worker_not_available")

    assert (await act(client, broker, placement["id"], "arrive")).status_code == 200
    ended = await act(client, enterprise, placement["id"], "end", {"reason": "left"})
    assert ended.status_code == 200, ended.text
    assert await worker_status(client, broker, worker["id"]) == ("available", True)
    assert worker["id"] in await indexed_workers(settings)


async def test_ending_before_the_hire_leaves_the_status_alone(client: httpx.AsyncClient, broker: OrgKey,
                                                              enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise)
    worker = await make_worker(client, broker)
    proposed = await client.post("/v1/placements", json={"job_id": job["id"], "worker_id": worker["id"]},
                                 headers=broker.headers)
    await db.execute("UPDATE worker_profiles SET status = 'inactive' WHERE id = $1::uuid", worker["id"])
    assert (await act(client, enterprise, proposed.json()["id"], "end", {"reason": "declined"})).status_code == 200
    assert await worker_status(client, broker, worker["id"]) == ("inactive", False)


async def test_a_worker_set_inactive_or_erased_while_employed_is_not_made_available(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> None:
    job = await make_job(client, enterprise, headcount=3)
    inactive = await make_worker(client, broker)
    erased = await make_worker(client, broker)
    first = await hired_placement(client, enterprise, broker, job["id"], inactive["id"])
    second = await hired_placement(client, enterprise, broker, job["id"], erased["id"])
    patched = await client.patch(f"/v1/workers/{inactive['id']}", json={"status": "inactive"},
                                 headers=broker.headers)
    assert patched.status_code == 200, patched.text
    assert (await client.delete(f"/v1/workers/{erased['id']}", headers=broker.headers)).status_code == 200

    for placement in (first, second):
        assert (await act(client, enterprise, placement["id"], "end", {"reason": "no_show"})).status_code == 200
    assert (await worker_status(client, broker, inactive["id"]))[0] == "inactive"
    assert (await worker_status(client, broker, erased["id"]))[0] == "erased"


async def inbox(client: httpx.AsyncClient, org: OrgKey, event: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/notifications", params={"limit": 100}, headers=org.headers)
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["event"] == event]


async def test_reminders_land_in_the_brokers_inbox_once(client: httpx.AsyncClient, broker: OrgKey,
                                                        enterprise: OrgKey, db: asyncpg.Connection,
                                                        settings: ApiSettings) -> None:
    start = date.fromisoformat(start_date_in(4))
    job = await make_job(client, enterprise, start_date=start.isoformat())
    worker = await make_worker(client, broker)
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    pid = placement["id"]

    assert await write_due_reminders(db, today=start) == 1
    notices = await inbox(client, broker, "placement.reminder")
    assert len(notices) == 1
    notice = notices[0]
    assert (notice["job_id"], notice["worker_id"], notice["subject_id"]) == (job["id"], worker["id"],
                                                                            f"{pid}:confirm_arrival")
    assert notice["data"]["kind"] == "confirm_arrival"
    assert notice["data"]["due_on"] == start.isoformat()
    assert await inbox(client, enterprise, "placement.reminder") == []
    # The reminder list keeps working.
    listed = (await client.get("/v1/placements/reminders", headers=broker.headers)).json()["items"]
    assert [(r["kind"], r["placement_id"]) for r in listed] == [("confirm_arrival", pid)]

    # Once per reminder: another run, and a run that finds the reminder unmarked (a crash between the two
    # writes), record nothing new.
    assert await write_due_reminders(db, today=start + timedelta(days=1)) == 0
    await db.execute("UPDATE placement_reminders SET notified_at = NULL WHERE placement_id = $1::uuid", pid)
    await write_due_reminders(db, today=start + timedelta(days=1))
    assert len(await inbox(client, broker, "placement.reminder")) == 1
    # The notice's dispatch row is handled by the notification worker (inbox only: nothing to push).
    await run_worker_burst(settings, outbox_stale_after_seconds=0.01)
    assert await db.fetchval(
        """SELECT count(*) FROM outbox WHERE topic = 'notification.dispatch' AND done_at IS NULL
              AND entity_id = $1""", notice["id"]) == 0

    # The next reminder (retention at 30 days) is a second notice.
    await start_today(db, job["id"])
    assert (await act(client, broker, pid, "arrive")).status_code == 200
    arrived_on = (await db.fetchval("SELECT arrived_at FROM placements WHERE id = $1::uuid", pid)).date()
    assert await write_due_reminders(db, today=arrived_on + timedelta(days=31)) == 1
    kinds = sorted(n["data"]["kind"] for n in await inbox(client, broker, "placement.reminder"))
    assert kinds == ["confirm_arrival", "confirm_retention_30"]


async def test_retention_at_90_days_credits_the_broker_once(client: httpx.AsyncClient, broker: OrgKey,
                                                            enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise, start_date=start_date_in(0))
    worker = await make_worker(client, broker)
    pid = (await hired_placement(client, enterprise, broker, job["id"], worker["id"]))["id"]
    assert (await act(client, broker, pid, "arrive")).status_code == 200

    async def ledger() -> list[dict[str, Any]]:
        response = await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)
        assert response.status_code == 200, response.text
        return [e for e in response.json()["ledger"] if e["source"] == "placement_retained"]

    await db.execute("UPDATE placements SET arrived_at = now() - interval '91 days' WHERE id = $1::uuid", pid)
    assert (await act(client, broker, pid, "retain", {"milestone": 30})).status_code == 200
    assert await ledger() == []  # 30 days earn nothing
    before = (await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)).json()["score"]
    assert (await act(client, broker, pid, "retain", {"milestone": 90})).status_code == 200
    entries = await ledger()
    assert [e["points"] for e in entries] == [2]
    after = (await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)).json()["score"]
    assert after == before + 2
    assert await db.fetchval(
        "SELECT count(*) FROM credit_events WHERE source = 'placement_retained' AND ref_id = $1", pid) == 1
    # The enterprise's ledger is untouched.
    assert await db.fetchval("SELECT count(*) FROM credit_events WHERE org_id = $1::uuid", enterprise.org_id) == 0

    # Recording it again (a retried transition) is a no-op: one event per placement.
    again = await record_credit_event(db, uuid.UUID(broker.org_id), 2, "again", "placement_retained", uuid.UUID(pid))
    assert again is None
    assert len(await ledger()) == 1


async def test_job_documents_show_the_headcount_still_open(client: httpx.AsyncClient, broker: OrgKey,
                                                           enterprise: OrgKey, settings: ApiSettings) -> None:
    job = await make_job(client, enterprise, headcount=3)
    workers = [await make_worker(client, broker) for _ in range(3)]

    async def indexed_headcount() -> int | None:
        await run_worker_burst(settings)
        await settle(settings)
        if job["id"] not in await document_ids(settings, "jobs"):
            return None
        headcount: int = (await get_document(settings, "jobs", job["id"]))["headcount"]
        return headcount

    assert await indexed_headcount() == 3
    first = await hired_placement(client, enterprise, broker, job["id"], workers[0]["id"])
    assert await indexed_headcount() == 2
    await hired_placement(client, enterprise, broker, job["id"], workers[1]["id"])
    assert await indexed_headcount() == 1
    # A hire counts against the headcount even when the worker leaves later.
    assert (await act(client, enterprise, first["id"], "end", {"reason": "no_show"})).status_code == 200
    assert await indexed_headcount() == 1
    # The posting itself keeps its full headcount; the last hire fills it and it leaves search.
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json()["headcount"] == 3
    await hired_placement(client, enterprise, broker, job["id"], workers[2]["id"])
    assert await indexed_headcount() is None
