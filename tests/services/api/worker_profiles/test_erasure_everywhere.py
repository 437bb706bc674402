"""Erasure reaches every table: after a person's profile went through matching, notices, a full-data read and a
placement with notes, DELETE leaves no trace of what identifies them anywhere in PostgreSQL (issue 4: "erasure
leaving nothing in PostgreSQL or Meilisearch").

The scan reads every table of the schema as text, so a table added later that copies the person is caught
without this test knowing about it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import asyncpg
import httpx

from services.api.auth.caller import Caller
from services.api.database import PendingWork
from services.api.placements import service as placements_service
from services.api.settings import ApiSettings
from services.api.worker_profiles.repository import ERASED_PURPOSE
from services.api.worker_profiles.service import build_context, read_personal_data
from tests.conftest import OrgKey
from tests.services.api.imports.rows import to_csv, worker_row
from tests.services.api.notifications.conftest import FAST
from tests.services.api.placements.support import act, make_job, start_today
from tests.services.api.worker_profiles.test_worker_profiles import ID_NUMBER, NAME, PHONE, worker_body
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle

# What the broker and the enterprise wrote about the person in free text, each naming them.
NOTES = {
    "profile": "腰不好，不做重体力",
    "purpose": f"给{NAME}打电话确认到岗",
    "hire": f"{NAME}本人同意，下周可到岗",
    "accept": f"已约{NAME}面试",
    "end": f"{NAME}因腰伤未到岗",
}


async def every_table_text(db: asyncpg.Connection) -> dict[str, str]:
    tables = await db.fetch(
        """SELECT quote_ident(table_name) AS name FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'""")
    assert len(tables) > 20  # the scan really sees the schema
    dump = {}
    for table in tables:
        rows = await db.fetch(f"SELECT t::text AS line FROM {table['name']} t")
        dump[table["name"]] = "\n".join(r["line"] for r in rows)
    return dump


async def done_or_waiting_for_a_lock(task: asyncio.Future[Any], db: asyncpg.Connection) -> None:
    """Until `task` is done or another session waits for a lock (this test's open transaction): the condition
    is polled, no timing is asserted."""
    while not task.done():
        if await db.fetchval("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid())"):
            return
        await asyncio.sleep(0.01)


async def test_erasure_leaves_nothing_that_names_the_person_in_any_table(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    created = await client.post("/v1/workers", json=worker_body(external_ref="crm-77", notes=NOTES["profile"]),
                                headers={**broker.headers, "Idempotency-Key": "everywhere-1"})
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    masked_phone = created.json()["phone"]
    job = await make_job(client, enterprise)
    # Matching, its notices (the enterprise's inbox copies the profile) and the index.
    await run_worker_burst(settings)
    await settle(settings)
    assert worker_id in await document_ids(settings, "workers")
    read = await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": NOTES["purpose"]},
                            headers=broker.headers)
    assert read.status_code == 200, read.text
    proposed = await client.post("/v1/placements", json={"job_id": job["id"], "worker_id": worker_id},
                                 headers=broker.headers)
    assert proposed.status_code == 201, proposed.text
    placement_id = proposed.json()["id"]
    assert (await act(client, enterprise, placement_id, "accept", {"note": NOTES["accept"]})).status_code == 200
    assert (await act(client, enterprise, placement_id, "hire", {"note": NOTES["hire"]})).status_code == 200
    ended = await act(client, enterprise, placement_id, "end", {"reason": "no_show", "note": NOTES["end"]})
    assert ended.status_code == 200, ended.text
    await run_worker_burst(settings)

    before = await every_table_text(db)
    # The scan finds the person before erasure: it would find what erasure missed.
    assert any(NAME in text for text in before.values())
    assert any(NOTES["end"] in text for text in before.values())

    erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert erased.status_code == 200, erased.text
    await run_worker_burst(settings)
    await settle(settings)
    assert worker_id not in await document_ids(settings, "workers")

    secrets = [NAME, ID_NUMBER, PHONE, masked_phone, ID_NUMBER[:6] + "********" + ID_NUMBER[-4:], "crm-77",
               *NOTES.values()]
    left = {(table, secret) for table, text in (await every_table_text(db)).items() for secret in secrets
            if secret in text}
    assert left == set()
    # What stays is pseudonymous and needed: the placement (figures, credit) still names its tombstone.
    placement = await db.fetchrow("SELECT worker_id, status, end_reason, end_note FROM placements WHERE id = $1",
                                  uuid.UUID(placement_id))
    assert placement is not None
    assert (str(placement["worker_id"]), placement["status"], placement["end_reason"]) == (
        worker_id, "ended", "no_show")
    # The audit log keeps who read what and when; its free-text reason may name the person, so it goes.
    audit = await db.fetch("SELECT fields, purpose FROM pii_access_log WHERE subject_id = $1",
                           uuid.UUID(worker_id))
    assert [(list(a["fields"]), a["purpose"]) for a in audit] == [(["name", "id_number", "phone", "notes"],
                                                                   ERASED_PURPOSE)]
    shown = (await client.get(f"/v1/placements/{placement_id}", headers=enterprise.headers)).json()
    assert shown["end_note"] is None
    assert [e["detail"] for e in shown["events"]] == [{"transfer": True, "cross_province": False}, {},
                                                      {"open_headcount_after": 1}, {"reason": "no_show"}]


async def proposed_placement(client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> tuple[str, str]:
    """A profile of the broker's proposed for a posting of the enterprise's: (worker id, placement id)."""
    created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    job = await make_job(client, enterprise)
    proposed = await client.post("/v1/placements", json={"job_id": job["id"], "worker_id": worker_id},
                                 headers=broker.headers)
    assert proposed.status_code == 201, proposed.text
    placement_id = proposed.json()["id"]
    return worker_id, placement_id


async def test_notes_written_on_a_placement_after_the_erasure_are_not_kept(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A hired placement outlives the erasure and its steps go on (a proposal or acceptance ends with it: nobody
    # can be hired through it any more); erasure stripped the notes once, so a note written afterwards would stay
    # for ever.
    worker_id, placement_id = await proposed_placement(client, broker, enterprise)
    assert (await act(client, enterprise, placement_id, "accept")).status_code == 200
    assert (await act(client, enterprise, placement_id, "hire")).status_code == 200
    assert (await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)).status_code == 200
    job_id = await db.fetchval("SELECT job_id FROM placements WHERE id = $1::uuid", placement_id)
    await start_today(db, str(job_id))
    arrived = await act(client, broker, placement_id, "arrive", {"note": NOTES["hire"]})
    assert arrived.status_code == 200, arrived.text
    ended = await act(client, enterprise, placement_id, "end", {"reason": "left", "note": NOTES["end"]})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["end_note"]) == ("ended", None)
    left = {(table, secret) for table, text in (await every_table_text(db)).items()
            for secret in (NAME, NOTES["hire"], NOTES["end"]) if secret in text}
    assert left == set()


async def test_a_note_written_while_the_erasure_runs_is_stripped_by_it(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A transition still open when the erasure starts: its note must not outlive the erasure (the erasure
    # waits for it, then strips it).
    worker_id, placement_id = await proposed_placement(client, broker, enterprise)
    actor = placements_service.Actor(org_id=uuid.UUID(enterprise.org_id), key_id=None, role="enterprise")
    transition = db.transaction()
    await transition.start()
    try:
        await placements_service.end(db, actor, uuid.UUID(placement_id), reason="declined", outbox=PendingWork(),
                                     note=NOTES["end"])
        erasure = asyncio.ensure_future(client.delete(f"/v1/workers/{worker_id}", headers=broker.headers))
        await done_or_waiting_for_a_lock(erasure, db)
    finally:
        await transition.commit()
    assert (await erasure).status_code == 200
    row = await db.fetchrow("SELECT status, end_note FROM placements WHERE id = $1", uuid.UUID(placement_id))
    assert row is not None
    assert (row["status"], row["end_note"]) == ("ended", None)
    details = [e["detail"] for e in await db.fetch(
        "SELECT detail FROM placement_events WHERE placement_id = $1 ORDER BY id", uuid.UUID(placement_id))]
    assert all("note" not in detail for detail in details), details


async def test_a_read_under_way_when_the_erasure_starts_loses_its_purpose_too(
        client: httpx.AsyncClient, broker: OrgKey, settings: ApiSettings, db: asyncpg.Connection) -> None:
    # The read's log line (its purpose names the person) is written in the read's transaction: an erasure that
    # does not wait for it cannot replace the purpose, and nothing would later.
    created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    assert created.status_code == 201, created.text
    worker_id = uuid.UUID(created.json()["id"])
    key_id = await db.fetchval("SELECT id FROM api_keys WHERE org_id = $1::uuid", broker.org_id)
    caller = Caller(org_id=uuid.UUID(broker.org_id), role="broker", key_id=key_id, province=None,
                    licence_valid_until=date(2099, 12, 31), kiosk_adcode=None)
    ctx = await build_context(settings, {}, PendingWork())
    read = db.transaction()
    await read.start()
    try:
        shown = await read_personal_data(db, ctx, caller, worker_id, purpose=NOTES["purpose"], request_id=None)
        assert shown.name == NAME
        erasure = asyncio.ensure_future(client.delete(f"/v1/workers/{worker_id}", headers=broker.headers))
        await done_or_waiting_for_a_lock(erasure, db)
    finally:
        await read.commit()
    assert (await erasure).status_code == 200
    assert [r["purpose"] for r in await db.fetch("SELECT purpose FROM pii_access_log WHERE subject_id = $1",
                                                 worker_id)] == [ERASED_PURPOSE]


async def test_erasure_of_an_imported_person_with_webhooks_subscriptions_and_texts(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    # The paths the first test does not take: the person came in through two imports (the second merged into the
    # profile), the enterprise has a webhook and a "workers" subscription, the broker texts its workers.
    person = worker_row(41, 姓名="钟小燕", 技能="氩弧焊;二保焊", 同意时间="2026/1/15")
    person["工种"] = "焊工"
    preferences = await client.put("/v1/notifications/preferences", headers=broker.headers,
                                   json={"digest": "instant", "sms_to_workers": True})
    assert preferences.status_code == 200, preferences.text
    hook = await client.post("/v1/webhooks", headers=enterprise.headers,
                             json={"url": "http://127.0.0.1:9/h", "events": ["match.created", "subscription.matched"]})
    assert hook.status_code == 201, hook.text
    subscribed = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                   json={"kind": "workers", "query": {"occupation_code": "6-18-02"}})
    assert subscribed.status_code == 201, subscribed.text
    await make_job(client, enterprise)
    for sheet in ({**person}, {**person, "技能": "氩弧焊;二保焊;气割"}):
        upload = await client.post("/v1/workers/imports", content=to_csv([sheet]).encode(),
                                   headers={**broker.headers, "Content-Type": "text/csv"})
        assert upload.status_code == 202, upload.text
        await run_worker_burst(settings, **FAST)
    await settle(settings)
    worker_id = await db.fetchval("SELECT id::text FROM worker_profiles WHERE broker_org_id = $1::uuid",
                                  broker.org_id)
    assert worker_id is not None
    consent = await client.patch(f"/v1/workers/{worker_id}", headers=broker.headers,
                                 json={"consent": {"share_with_enterprises": True, "contact_by_sms": True,
                                                   "given_at": "2026-01-15T10:00:00+08:00"}})
    assert consent.status_code == 200, consent.text
    await run_worker_burst(settings, **FAST)
    events = {r["event"] for r in await db.fetch(
        "SELECT event FROM notifications WHERE recipient_org_id = $1::uuid", enterprise.org_id)}
    assert events == {"match.created", "subscription.matched"}, events
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") > 0
    secrets = [person["姓名"], person["身份证号"], person["手机号"], "EXT-41"]
    # The scan sees the person before erasure (the external reference is stored as given).
    assert any("EXT-41" in text for text in (await every_table_text(db)).values())

    erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert erased.status_code == 200, erased.text
    await run_worker_burst(settings, **FAST)
    left = {(table, secret) for table, text in (await every_table_text(db)).items() for secret in secrets
            if secret in text}
    assert left == set()
