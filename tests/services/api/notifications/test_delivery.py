"""Delivery through the real worker, PostgreSQL, Redis and an HTTP receiver on 127.0.0.1: signatures, retries,
timeouts, failure and manual retry, disabling; and, step by step with a controllable clock, the daily cap,
digests, SMS consent and quiet hours."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from services.api.database import PendingWork
from services.api.notifications import delivery, service
from services.api.organisations import contact
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.notifications.conftest import (
    FakeSms,
    MakeDelivery,
    ManualClock,
    Record,
    RunWorker,
    register_webhook,
    uuid_of,
    wait_until,
)
from tests.services.api.notifications.receiver import Receiver, Reply

CN = ZoneInfo("Asia/Shanghai")


def match(org: OrgKey, job_id: UUID | None = None, worker_id: UUID | None = None, **kw: Any) -> Any:
    async def work(conn: asyncpg.Connection, pending: PendingWork) -> UUID | None:
        return await service.record_match_notification(
            conn, pending, recipient_org_id=uuid_of(org), job_id=job_id or uuid.uuid4(),
            worker_id=worker_id or uuid.uuid4(), score=kw.pop("score", 0.82),
            direction=kw.pop("direction", "worker_for_job"),
            reasons=[{"code": "occupation", "text": "工种一致", "weight": 0.35}],
            summary=kw.pop("summary", {"title": "电焊工", "adcode": "500107",
                                       "wage": {"min": 300, "max": 400, "unit": "day"}}), **kw)

    return work


async def deliveries(client: httpx.AsyncClient, org: OrgKey, webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhooks/{webhook_id}/deliveries?limit=100", headers=org.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# ------------------------------------------------------------------------------------------ through arq


async def test_a_match_is_delivered_signed_and_verifies_with_the_standard_library(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    job_id, worker_id = uuid.uuid4(), uuid.uuid4()
    notification_id = await record(match(enterprise, job_id, worker_id))
    await run_worker()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.verified
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "match.created"
    assert payload["data"]["notification_id"] == str(notification_id)
    assert payload["data"]["job_id"] == str(job_id)
    assert payload["data"]["worker_id"] == str(worker_id)
    assert request.message_id == f"msg_{notification_id.hex}"
    [item] = await deliveries(client, enterprise, hook["id"])
    assert item["status"] == "delivered"
    assert item["attempts"] == 1
    assert item["last_status_code"] == 200
    assert item["message_id"] == request.message_id


async def test_each_attempt_checks_the_address_again(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, monkeypatch: pytest.MonkeyPatch) -> None:
    # The URL was checked when registered, but its name may later resolve elsewhere (DNS rebinding) and the stored
    # URL may change: every attempt resolves and checks again and never connects to a private address.
    answer = {"address": "93.184.216.34"}  # public while the endpoint is registered

    async def getaddrinfo(host: str, port: int, **_kw: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, "https://hooks.example.cn/bashu")
    connections: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        connections.append(str(request.url))
        return httpx.Response(200)

    clock = ManualClock(datetime.now(CN))
    d = await make_delivery(clock=clock)
    d = dataclasses.replace(d, http=httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    try:
        answer["address"] = "10.0.0.7"  # the name now points inside the network
        await delivery.dispatch(d, await record(match(enterprise)), deliver_now=True)
        assert connections == []
        assert (await db.fetchval("SELECT last_error FROM webhook_deliveries")).startswith("refused:")

        # The stored URL itself changed to a private address.
        await db.execute("UPDATE webhook_endpoints SET url = 'https://10.20.30.40/hook' WHERE id = $1",
                         UUID(hook["id"]))
        clock.advance(minutes=1)  # past the retry's backoff
        assert await delivery.deliver_webhook(d, await db.fetchval("SELECT id FROM webhook_deliveries")) == "pending"
        assert connections == []
        attempts = await db.fetch("SELECT error FROM webhook_delivery_attempts ORDER BY id")
        assert [a["error"].startswith("refused:") for a in attempts] == [True, True]
    finally:
        await d.http.aclose()


async def test_recording_the_same_match_twice_notifies_once(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    hook = await register_webhook(client, broker, receiver.url)
    receiver.secret = hook["secret"]
    job_id, worker_id = uuid.uuid4(), uuid.uuid4()
    first = await record(match(broker, job_id, worker_id, direction="job_for_worker"))
    again = await record(match(broker, job_id, worker_id, direction="job_for_worker", score=0.9))
    assert first is not None
    assert again is None
    await run_worker()
    await run_worker()  # a second pass (re-dispatch, sweeper) changes nothing
    assert await db.fetchval("SELECT count(*) FROM notifications") == 1
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 1
    assert list(receiver.accepted.values()) == [1]
    assert not receiver.duplicates


async def test_a_500_is_retried_with_backoff_and_accepted_once(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    receiver.behaviour = lambda _r, nth: Reply(500 if nth == 1 else 200)
    await record(match(enterprise))
    await run_worker()

    ids = {r.message_id for r in receiver.requests}
    assert len(ids) == 1  # the same webhook-id on the retry
    assert [r.verified for r in receiver.requests] == [True, True]
    assert sum(receiver.accepted.values()) == 1
    [item] = await deliveries(client, enterprise, hook["id"])
    assert item["status"] == "delivered"
    assert item["attempts"] == 2
    assert [a["status_code"] for a in item["attempt_log"]] == [500, 200]
    assert item["attempt_log"][0]["error"] == "HTTP 500"


async def test_a_hanging_receiver_times_out_fails_and_can_be_retried_by_hand(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    receiver.behaviour = lambda _r, _nth: Reply(200, delay=5)  # far past the 0.3 s timeout
    await record(match(enterprise))
    await run_worker(webhook_timeout_seconds=0.3, webhook_max_attempts=2)

    [item] = await deliveries(client, enterprise, hook["id"])
    assert item["status"] == "failed"
    assert item["attempts"] == 2
    assert item["last_error"] == "timeout after 0.3s"
    assert [a["error"] for a in item["attempt_log"]] == ["timeout after 0.3s"] * 2
    failed_ids = {r.message_id for r in receiver.requests}

    # Only failed deliveries can be retried by hand; then with the same webhook-id.
    receiver.behaviour = lambda _r, _nth: Reply(200)
    retry = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{item['id']}/retry", headers=enterprise.headers)
    assert retry.status_code == 202, retry.text
    assert retry.json()["status"] == "pending"
    again = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{item['id']}/retry", headers=enterprise.headers)
    assert again.status_code == 409
    await run_worker()
    [item] = await deliveries(client, enterprise, hook["id"])
    assert item["status"] == "delivered"
    assert set(receiver.accepted) == failed_ids
    assert len(item["attempt_log"]) == 3
    other = await make_org("enterprise")
    assert (await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{item['id']}/retry",
                              headers=other.headers)).status_code == 404


async def test_an_endpoint_that_keeps_failing_is_disabled_with_a_notice_in_the_inbox(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver) -> None:
    broker = await make_org("broker")
    hook = await register_webhook(client, broker, receiver.url)
    receiver.behaviour = lambda _r, _nth: Reply(503)
    for _ in range(3):
        await record(match(broker, direction="job_for_worker"))
    await run_worker(webhook_disable_min_failures=3, webhook_disable_after_seconds=0, webhook_max_attempts=5)

    webhook = (await client.get(f"/v1/webhooks/{hook['id']}", headers=broker.headers)).json()
    assert webhook["status"] == "disabled"
    assert "3" in webhook["disabled_reason"]
    items = await deliveries(client, broker, hook["id"])
    assert {i["status"] for i in items} == {"failed"}
    inbox = (await client.get("/v1/notifications?limit=100", headers=broker.headers)).json()["items"]
    notices = [n for n in inbox if n["event"] == "webhook.disabled"]
    assert len(notices) == 1
    assert notices[0]["data"]["webhook_id"] == hook["id"]

    # Retrying needs the endpoint enabled again; then it goes through.
    retry_url = f"/v1/webhooks/{hook['id']}/deliveries/{items[0]['id']}/retry"
    assert (await client.post(retry_url, headers=broker.headers)).status_code == 409
    enabled = await client.post(f"/v1/webhooks/{hook['id']}/enable", headers=broker.headers)
    assert enabled.json()["status"] == "active"
    receiver.behaviour = lambda _r, _nth: Reply(200)
    assert (await client.post(retry_url, headers=broker.headers)).status_code == 202
    await run_worker()
    assert (await deliveries(client, broker, hook["id"]))[0]["status"] in {"delivered", "failed"}
    assert sum(receiver.accepted.values()) == 1


async def test_enabling_an_active_endpoint_does_not_forgive_its_failures(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,
        receiver: Receiver, db: asyncpg.Connection) -> None:
    # Calling enable on a timer must not keep a failing endpoint from ever being disabled.
    broker = await make_org("broker")
    hook = await register_webhook(client, broker, receiver.url)
    receiver.behaviour = lambda _r, _nth: Reply(503)
    for _ in range(2):
        await record(match(broker, direction="job_for_worker"))
    await run_worker(webhook_disable_min_failures=3, webhook_disable_after_seconds=0, webhook_max_attempts=1)
    before = await db.fetchrow("SELECT status, consecutive_failures, failing_since FROM webhook_endpoints")
    assert (before["status"], before["consecutive_failures"]) == ("active", 2)

    enabled = await client.post(f"/v1/webhooks/{hook['id']}/enable", headers=broker.headers)
    assert enabled.status_code == 200, enabled.text
    after = await db.fetchrow("SELECT status, consecutive_failures, failing_since FROM webhook_endpoints")
    assert dict(after) == dict(before)
    await record(match(broker, direction="job_for_worker"))  # the third failure in a row disables it
    await run_worker(webhook_disable_min_failures=3, webhook_disable_after_seconds=0, webhook_max_attempts=1)
    webhook = (await client.get(f"/v1/webhooks/{hook['id']}", headers=broker.headers)).json()
    assert webhook["status"] == "disabled"


async def test_deleting_a_webhook_cancels_its_pending_deliveries(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    notification_id = await record(match(enterprise))
    d = await make_delivery(clock=ManualClock(datetime.now(CN)))
    await delivery.dispatch(d, notification_id)
    assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=enterprise.headers)).status_code == 204
    delivery_id = await db.fetchval("SELECT id FROM webhook_deliveries")
    assert await delivery.deliver_webhook(d, delivery_id) == "skipped"
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "cancelled"
    assert receiver.requests == []


async def test_dispatch_delivers_now_once_and_a_second_dispatch_sends_nothing_more(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    notification_id = await record(match(enterprise))
    d = await make_delivery(clock=ManualClock(datetime.now(CN)))
    # No arq worker: the attempt is made by dispatch itself.
    assert await delivery.dispatch(d, notification_id, deliver_now=True) == "dispatched"
    assert [r.message_id for r in receiver.requests] == [f"msg_{notification_id.hex}"]
    assert receiver.requests[0].verified
    [item] = await deliveries(client, enterprise, hook["id"])
    assert (item["status"], item["attempts"]) == ("delivered", 1)
    # A re-run (the outbox row retried after a crash) finds nothing pending.
    assert await delivery.dispatch(d, notification_id, deliver_now=True) == "again"
    assert len(receiver.requests) == 1
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 1


async def test_a_failed_direct_attempt_is_left_to_a_deferred_retry(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver, run_worker: RunWorker) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    receiver.behaviour = lambda _r, nth: Reply(500 if nth == 1 else 200)
    notification_id = await record(match(enterprise))
    d = await make_delivery(clock=ManualClock(datetime.now(CN)))
    await delivery.dispatch(d, notification_id, deliver_now=True)
    row = await db.fetchrow("SELECT status, attempts, last_status_code FROM webhook_deliveries")
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
    await run_worker()  # the retry was enqueued with its backoff, as after any failed attempt
    assert list(receiver.accepted.values()) == [1]
    assert (await deliveries(client, enterprise, hook["id"]))[0]["status"] == "delivered"


# ------------------------------------------------------------------------ step by step, controllable clock


async def _deliver_all(d: delivery.Delivery, db: asyncpg.Connection) -> None:
    for row in await db.fetch("SELECT id FROM webhook_deliveries WHERE status = 'pending'"):
        await delivery.deliver_webhook(d, row["id"])


async def _dispatch_all(d: delivery.Delivery, db: asyncpg.Connection) -> None:
    for row in await db.fetch("SELECT id FROM notifications WHERE dispatched_at IS NULL ORDER BY created_at"):
        await delivery.dispatch(d, row["id"])


async def test_the_daily_cap_folds_the_rest_into_the_next_daily_digest(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url, ["match.created"])
    receiver.secret = hook["secret"]
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=CN))
    d = await make_delivery(clock=clock, notification_daily_cap=2, digest_daily_hour=8)
    for _ in range(5):
        await record(match(enterprise, now=clock.now()))
        clock.advance(minutes=1)
    await _dispatch_all(d, db)
    await _deliver_all(d, db)
    # Two at once; three held.
    assert len(receiver.accepted) == 2
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE digest_id IS NULL") == 3

    # Later the same day: nothing is due yet (the daily digest goes at 08:00).
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 0
    # The next morning: one digest with the three.
    clock.set(datetime(2026, 3, 3, 8, 0, 30, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    assert await delivery.build_due_digests(d) == 0  # never twice
    await _deliver_all(d, db)
    assert len(receiver.accepted) == 3
    digest = orjson.loads(receiver.requests[-1].body)
    assert digest["type"] == "notifications.digest"
    assert digest["data"]["count"] == 3
    assert digest["data"]["period"] == "daily"
    assert {i["type"] for i in digest["data"]["items"]} == {"match.created"}
    assert receiver.requests[-1].verified
    # The inbox has all five regardless.
    inbox = (await client.get("/v1/notifications?limit=100", headers=enterprise.headers)).json()["items"]
    assert len(inbox) == 5
    # A new day, a new allowance.
    await record(match(enterprise, now=clock.now()))
    await _dispatch_all(d, db)
    await _deliver_all(d, db)
    assert len(receiver.accepted) == 4


async def test_hourly_digest_preference(client: httpx.AsyncClient, make_org: MakeOrg, record: Record,
                                        db: asyncpg.Connection, make_delivery: MakeDelivery,
                                        receiver: Receiver) -> None:
    broker = await make_org("broker")
    hook = await register_webhook(client, broker, receiver.url, ["match.created", "import.finished"])
    receiver.secret = hook["secret"]
    assert (await client.put("/v1/notifications/preferences", headers=broker.headers,
                             json={"digest": "hourly"})).status_code == 200
    clock = ManualClock(datetime(2026, 3, 2, 14, 10, tzinfo=CN))
    d = await make_delivery(clock=clock)
    for _ in range(4):
        await record(match(broker, direction="job_for_worker", now=clock.now()))
        clock.advance(minutes=5)
    # Operational events are not held.
    import_id = uuid.uuid4()

    async def finished(conn: asyncpg.Connection, pending: PendingWork) -> Any:
        return await service.record_import_finished(conn, pending, org_id=uuid_of(broker), import_id=import_id,
                                                    summary={"status": "completed", "created": 10}, now=clock.now())

    await record(finished)
    await _dispatch_all(d, db)
    await _deliver_all(d, db)
    assert [orjson.loads(r.body)["type"] for r in receiver.requests] == ["import.finished"]
    assert await delivery.build_due_digests(d) == 0  # still 14:xx
    clock.set(datetime(2026, 3, 2, 15, 0, 5, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    await _deliver_all(d, db)
    digest = orjson.loads(receiver.requests[-1].body)
    assert digest["type"] == "notifications.digest"
    assert digest["data"]["count"] == 4
    assert digest["data"]["period"] == "hourly"


async def _worker_profile(client: httpx.AsyncClient, broker: OrgKey, *, sms: bool, id_seq: str) -> UUID:
    from tests.services.api.worker_profiles.test_worker_profiles import make_id_number, worker_body

    body = worker_body(id_number=make_id_number(seq=id_seq), phone=f"139{id_seq}45678",
                       occupations=["6-30-05-01"],
                       consent={"share_with_enterprises": True, "contact_by_sms": sms,
                                "given_at": "2025-11-20T10:00:00+08:00"})
    response = await client.post("/v1/workers", json=body, headers=broker.headers)
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def test_sms_only_with_consent_and_held_through_quiet_hours(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    broker = await make_org("broker")
    assert (await client.put("/v1/notifications/preferences", headers=broker.headers,
                             json={"sms_to_workers": True})).status_code == 200
    consenting = await _worker_profile(client, broker, sms=True, id_seq="123")
    refusing = await _worker_profile(client, broker, sms=False, id_seq="125")
    clock = ManualClock(datetime(2026, 3, 2, 23, 15, tzinfo=CN))  # quiet hours
    sms = FakeSms(fail_first=1)
    d = await make_delivery(clock=clock, sms=sms)
    await record(match(broker, worker_id=consenting, direction="job_for_worker", now=clock.now()))
    await record(match(broker, worker_id=refusing, direction="job_for_worker", now=clock.now()))
    await _dispatch_all(d, db)

    rows = await db.fetch("SELECT id, worker_id, next_attempt_at, text FROM sms_messages")
    assert [r["worker_id"] for r in rows] == [consenting]  # no consent, no SMS
    [message] = rows
    assert message["next_attempt_at"] == datetime(2026, 3, 3, 8, 0, tzinfo=CN)
    assert "电焊工" in message["text"]
    assert "1391" not in message["text"]
    assert await delivery.send_sms(d, message["id"]) == "quiet"
    assert sms.sent == []

    clock.set(datetime(2026, 3, 3, 8, 0, 1, tzinfo=CN))
    assert await delivery.send_sms(d, message["id"]) == "pending"  # the gateway failed once: retried later
    clock.advance(minutes=5)
    assert await delivery.send_sms(d, message["id"]) == "sent"
    assert await delivery.send_sms(d, message["id"]) == "skipped"  # never twice
    assert [(phone, msg_id) for phone, _text, msg_id in sms.sent] == [("13912345678", str(message["id"]))]
    # Reading the phone to text it is audited (each attempt read it).
    assert await db.fetchval(
        "SELECT count(*) FROM pii_access_log WHERE subject_id = $1 AND purpose = 'sms_notification'", consenting) == 2


async def test_a_match_text_names_the_posting_and_its_pay_as_match_notices_carry_them(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    # The shape workers/match_tasks.py records: the posting under `job`, the masked profile under `worker`. The
    # text read the title and wage at the top level, so every worker got "有适合您的岗位：新岗位" and no pay.
    broker = await make_org("broker")
    await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": True})
    worker_id = await _worker_profile(client, broker, sms=True, id_seq="131")
    d = await make_delivery(clock=ManualClock(datetime(2026, 3, 3, 10, 0, tzinfo=CN)), sms=FakeSms())
    summary = {"job": {"title": "招聘电焊工（九龙坡）", "wage": {"min": 300, "max": 400, "unit": "day"},
                       "county": {"adcode": "500107", "name": "九龙坡区"}},
               "worker": {"id": str(worker_id), "occupations": [{"code": "6-18-02-04", "name": "焊工"}]},
               "distance_km": 3.2, "transfer": True}
    await record(match(broker, worker_id=worker_id, direction="job_for_worker", summary=summary, now=d.clock.now()))
    await _dispatch_all(d, db)
    text = await db.fetchval("SELECT text FROM sms_messages")
    assert text == "【巴蜀劳务桥】有适合您的岗位：招聘电焊工（九龙坡），300-400元/天。详情请联系您的劳务经纪人。"


def test_a_workers_subscription_text_does_not_call_a_person_a_job() -> None:
    text = delivery.sms_text({"event": "subscription.matched",
                              "payload": {"kind": "workers", "worker_id": str(uuid.uuid4()),
                                          "occupation_codes": ["6-18-02-04"]}})
    assert "新岗位" not in text
    assert "求职者" in text


async def test_consent_withdrawn_before_sending_cancels_the_sms(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    broker = await make_org("broker")
    await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": True})
    worker_id = await _worker_profile(client, broker, sms=True, id_seq="127")
    clock = ManualClock(datetime(2026, 3, 2, 23, 15, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms)
    await record(match(broker, worker_id=worker_id, direction="job_for_worker", now=clock.now()))
    await _dispatch_all(d, db)
    await db.execute("UPDATE worker_profiles SET consent_contact_by_sms = false WHERE id = $1", worker_id)
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=CN))
    sms_id = await db.fetchval("SELECT id FROM sms_messages")
    assert await delivery.send_sms(d, sms_id) == "cancelled"
    assert sms.sent == []


async def test_texts_held_through_the_night_count_against_the_day_they_go_out(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    # Cap 2. Two fitting jobs at 23:15 and two more at 07:00 the next morning: all are sent when the quiet hours end
    # at 08:00. Counted against the day they were recorded, four texts arrived together that morning.
    broker = await make_org("broker")
    await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": True})
    worker_id = await _worker_profile(client, broker, sms=True, id_seq="133")
    clock = ManualClock(datetime(2026, 3, 2, 23, 15, tzinfo=CN))
    d = await make_delivery(clock=clock, sms=FakeSms(), sms_daily_cap=2)
    for at in (datetime(2026, 3, 2, 23, 15, tzinfo=CN), datetime(2026, 3, 3, 7, 0, tzinfo=CN)):
        clock.set(at)
        for _ in range(2):
            await record(match(broker, worker_id=worker_id, direction="job_for_worker", now=clock.now()))
        await _dispatch_all(d, db)
    texts = await db.fetch("SELECT next_attempt_at FROM sms_messages WHERE digest_id IS NULL")
    assert [t["next_attempt_at"] for t in texts] == [datetime(2026, 3, 3, 8, 0, tzinfo=CN)] * 2
    # The other two wait for the daily digest, as any text over the cap does.
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE channel = 'sms'") == 2


async def test_a_broker_turning_texts_to_workers_off_stops_the_ones_waiting(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    # Texts recorded at night wait for 08:00; a broker that turned sms_to_workers off at 23:30 still had its workers
    # texted in the morning.
    broker = await make_org("broker")
    await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": True})
    worker_id = await _worker_profile(client, broker, sms=True, id_seq="135")
    clock = ManualClock(datetime(2026, 3, 2, 23, 15, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms)
    await record(match(broker, worker_id=worker_id, direction="job_for_worker", now=clock.now()))
    await _dispatch_all(d, db)
    sms_id = await db.fetchval("SELECT id FROM sms_messages")
    off = await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": False})
    assert off.status_code == 200, off.text
    clock.set(datetime(2026, 3, 3, 8, 0, 1, tzinfo=CN))
    assert await delivery.send_sms(d, sms_id) == "cancelled"
    assert sms.sent == []
    assert await db.fetchval("SELECT count(*) FROM pii_access_log WHERE subject_id = $1", worker_id) == 0


async def test_the_sms_daily_cap_per_worker(client: httpx.AsyncClient, make_org: MakeOrg, record: Record,
                                           db: asyncpg.Connection, make_delivery: MakeDelivery) -> None:
    broker = await make_org("broker")
    await client.put("/v1/notifications/preferences", headers=broker.headers, json={"sms_to_workers": True})
    worker_id = await _worker_profile(client, broker, sms=True, id_seq="129")
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms, sms_daily_cap=2)
    for _ in range(4):
        await record(match(broker, worker_id=worker_id, direction="job_for_worker", now=clock.now()))
    await _dispatch_all(d, db)
    for row in await db.fetch("SELECT id FROM sms_messages"):
        await delivery.send_sms(d, row["id"])
    assert len(sms.sent) == 2
    clock.set(datetime(2026, 3, 3, 8, 0, 30, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    digest_sms = await db.fetchval("SELECT id FROM sms_messages WHERE digest_id IS NOT NULL")
    assert await delivery.send_sms(d, digest_sms) == "sent"
    assert "2个" in sms.sent[-1][1]


async def test_expiring_postings_are_announced_once(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection, make_delivery: MakeDelivery) -> None:
    enterprise = await make_org("enterprise")
    now = datetime.now(CN)
    job_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO job_postings (id, org_id, status, title, occupation_code, headcount, adcode, wage_min,
                                     wage_max, wage_unit, work_type, start_date, expires_at)
           VALUES ($1, $2, 'open', '电焊工', '6-30-05-01', 3, '500107', 300, 400, 'day', 'daily', $3, $4)""",
        job_id, uuid_of(enterprise), now.date(), now + timedelta(hours=20))
    d = await make_delivery(clock=ManualClock(now))
    assert await delivery.announce_expiring_postings(d) == 1
    assert await delivery.announce_expiring_postings(d) == 0
    [item] = (await client.get("/v1/notifications", headers=enterprise.headers)).json()["items"]
    assert item["event"] == "job.expiring"
    assert item["job_id"] == str(job_id)


async def test_a_posting_that_fits_a_subscription_is_notified_once_per_organisation(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection) -> None:
    enterprise, broker, other = await make_org("enterprise"), await make_org("broker"), await make_org("broker")
    fits = {"kind": "jobs", "query": {"q": "电焊", "adcode": ["500100"], "work_type": "daily", "wage_min": 250,
                                      "wage_unit": "day", "benefits": ["包吃"], "occupation_code": "6-30-05"},
            "channel": "webhook", "digest": "hourly"}
    for body in (fits, {**fits, "channel": "inbox", "digest": "instant"}):
        assert (await client.post("/v1/subscriptions", headers=broker.headers, json=body)).status_code == 201
    misses = {**fits, "query": {**fits["query"], "benefits": ["包住"]}}
    assert (await client.post("/v1/subscriptions", headers=other.headers, json=misses)).status_code == 201
    job_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO job_postings (id, org_id, status, title, description, occupation_code, headcount, adcode,
                                     wage_min, wage_max, wage_unit, work_type, start_date, benefits, expires_at)
           VALUES ($1, $2, 'open', '招聘电焊工', '日结，包吃', '6-30-05-01', 3, '500107', 280, 320, 'day', 'daily',
                   current_date, '{包吃}', now() + interval '10 days')""", job_id, uuid_of(enterprise))

    async def work(conn: asyncpg.Connection, pending: PendingWork) -> list[UUID]:
        return await service.record_subscription_matches_for_job(conn, pending, job_id)

    assert len(await record(work)) == 1
    assert await record(work) == []  # re-indexed or matched again: nothing new
    [n] = await db.fetch("SELECT * FROM notifications")
    assert n["recipient_org_id"] == uuid_of(broker)
    assert n["event"] == "subscription.matched"
    assert n["digest"] == "instant"  # the most immediate of the fitting subscriptions
    assert n["channels"] == ["webhook"]
    assert len(n["payload"]["subscription_ids"]) == 2
    assert n["payload"]["title"] == "招聘电焊工"


async def test_an_organisation_s_own_sms_goes_to_its_encrypted_contact_phone(
        make_org: MakeOrg, record: Record, db: asyncpg.Connection, make_delivery: MakeDelivery) -> None:
    enterprise = await make_org("enterprise", contact={"name": "冉经理", "phone": "13800138000"})
    phoneless = await make_org("enterprise")
    office = await make_org("enterprise", contact={"phone": "023-68000000"})  # a fixed line cannot take a text
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms)

    def subscription_hit(org: OrgKey) -> Any:
        async def work(conn: asyncpg.Connection, pending: PendingWork) -> UUID | None:
            return await service.record_notification(
                conn, pending, recipient_org_id=uuid_of(org), event="subscription.match", job_id=uuid.uuid4(),
                payload={"title": "电焊工"}, channels=("sms",), sms_to_org=True, now=clock.now())
        return work

    await record(subscription_hit(enterprise))
    await record(subscription_hit(phoneless))
    await record(subscription_hit(office))
    await _dispatch_all(d, db)
    rows = {r["org_id"]: r["id"] for r in await db.fetch("SELECT id, org_id FROM sms_messages")}
    assert set(rows) == {uuid_of(enterprise), uuid_of(phoneless), uuid_of(office)}
    assert await delivery.send_sms(d, rows[uuid_of(enterprise)]) == "sent"
    assert [phone for phone, _text, _id in sms.sent] == ["13800138000"]  # decrypted from contact_enc
    assert await db.fetchval(  # and that read is audited
        "SELECT count(*) FROM pii_access_log WHERE subject_kind = 'organisation_contact' AND subject_id = $1 "
        "AND purpose = 'sms_notification'", uuid_of(enterprise)) == 1
    assert await delivery.send_sms(d, rows[uuid_of(phoneless)]) == "cancelled"  # no phone on file: nothing to text
    assert await delivery.send_sms(d, rows[uuid_of(office)]) == "cancelled"
    assert len(sms.sent) == 1
    assert await db.fetchval("SELECT count(*) FROM pii_access_log WHERE subject_id = $1", uuid_of(office)) == 0


async def test_hourly_text_digests_wait_out_the_quiet_hours_as_one(
        make_org: MakeOrg, record: Record, db: asyncpg.Connection, make_delivery: MakeDelivery) -> None:
    # An organisation's hourly SMS subscription, hits at 22:30 and 00:30: each hour's digest was built at once and
    # held to 08:00, so the night's digests (up to ten) all arrived together then. Now the holds wait, and the first
    # run after the quiet hours sends one digest of everything.
    enterprise = await make_org("enterprise", contact={"name": "冉经理", "phone": "13800138000"})
    clock = ManualClock(datetime(2026, 3, 2, 22, 30, tzinfo=CN))
    d = await make_delivery(clock=clock, sms=FakeSms())

    def hit() -> Any:
        async def work(conn: asyncpg.Connection, pending: PendingWork) -> UUID | None:
            return await service.record_notification(
                conn, pending, recipient_org_id=uuid_of(enterprise), event=service.SUBSCRIPTION_EVENT,
                job_id=uuid.uuid4(), payload={"kind": "jobs", "title": "电焊工"}, digest="hourly", channels=("sms",),
                sms_to_org=True, now=clock.now())
        return work

    await record(hit())
    await _dispatch_all(d, db)
    clock.set(datetime(2026, 3, 2, 23, 0, 30, tzinfo=CN))
    await delivery.build_due_digests(d)
    clock.set(datetime(2026, 3, 3, 0, 30, tzinfo=CN))
    await record(hit())
    await _dispatch_all(d, db)
    clock.set(datetime(2026, 3, 3, 1, 0, 30, tzinfo=CN))
    await delivery.build_due_digests(d)
    assert await db.fetchval("SELECT count(*) FROM sms_messages") == 0

    clock.set(datetime(2026, 3, 3, 8, 0, 30, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    [text] = await db.fetch("SELECT text, next_attempt_at FROM sms_messages")
    assert "2条" in text["text"]
    assert text["next_attempt_at"] == clock.now()


async def test_a_mobile_stored_before_contact_phones_were_normalised_still_gets_its_texts(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    # Registration stores contact phones normalised since 1ba7692; one stored before is sealed as typed
    # (138-0013-8000) and no migration can rewrite it. It is a mobile all the same: its SMS subscription went
    # on being texted before, and was cancelled as if the phone were a fixed line.
    legacy = await make_org("enterprise", contact={"phone": "13800138001"})
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms)
    await db.execute("UPDATE organisations SET contact_enc = $2 WHERE id = $1", uuid_of(legacy),
                     contact.seal(d.cipher, uuid_of(legacy), {"phone": "+86 138-0013-8001"}))
    subscribed = await client.post("/v1/subscriptions", headers=legacy.headers, json={
        "kind": "workers", "query": {"occupation_code": "6-18-02"}, "channel": "sms"})
    assert subscribed.status_code == 201, subscribed.text  # not "a fixed line, which cannot take a text"

    async def subscription_hit(conn: asyncpg.Connection, pending: PendingWork) -> UUID | None:
        return await service.record_notification(
            conn, pending, recipient_org_id=uuid_of(legacy), event="subscription.match", job_id=uuid.uuid4(),
            payload={"title": "电焊工"}, channels=("sms",), sms_to_org=True, now=clock.now())

    await record(subscription_hit)
    await _dispatch_all(d, db)
    sms_id = await db.fetchval("SELECT id FROM sms_messages WHERE org_id = $1", uuid_of(legacy))
    assert await delivery.send_sms(d, sms_id) == "sent"
    assert [phone for phone, _text, _id in sms.sent] == ["13800138001"]


async def test_deleting_the_last_sms_subscription_stops_the_texts_already_waiting(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery) -> None:
    # An organisation that deleted its SMS subscription at 23:30 (its way to opt out) was still texted at 08:00: the
    # text held through the quiet hours and the notices held for the daily digest went out regardless.
    enterprise = await make_org("enterprise", contact={"name": "冉经理", "phone": "13800138002"})
    ids = []
    for digest in ("instant", "daily"):
        made = await client.post("/v1/subscriptions", headers=enterprise.headers, json={
            "kind": "workers", "query": {"occupation_code": "6-18-02"}, "channel": "sms", "digest": digest})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    inbox_only = await client.post("/v1/subscriptions", headers=enterprise.headers, json={"kind": "workers"})
    clock = ManualClock(datetime(2026, 3, 2, 23, 15, tzinfo=CN))
    sms = FakeSms()
    d = await make_delivery(clock=clock, sms=sms)
    for digest in ("instant", "daily"):
        async def hit(conn: asyncpg.Connection, pending: PendingWork, digest: str = digest) -> UUID | None:
            return await service.record_notification(
                conn, pending, recipient_org_id=uuid_of(enterprise), event=service.SUBSCRIPTION_EVENT,
                worker_id=uuid.uuid4(), payload={"kind": "workers"}, digest=digest, channels=("sms",),
                sms_to_org=True, now=clock.now())
        await record(hit)
    await _dispatch_all(d, db)
    sms_id = await db.fetchval("SELECT id FROM sms_messages WHERE status = 'pending'")
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE channel = 'sms'") == 1

    # Neither an inbox subscription nor one of two SMS subscriptions stops the texts: the other still wants them.
    for subscription_id in (inbox_only.json()["id"], ids[0]):
        gone = await client.delete(f"/v1/subscriptions/{subscription_id}", headers=enterprise.headers)
        assert gone.status_code == 204, gone.text
    assert await db.fetchval("SELECT status FROM sms_messages WHERE id = $1", sms_id) == "pending"
    gone = await client.delete(f"/v1/subscriptions/{ids[1]}", headers=enterprise.headers)
    assert gone.status_code == 204, gone.text
    assert await db.fetchval("SELECT status FROM sms_messages WHERE id = $1", sms_id) == "cancelled"
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE channel = 'sms'") == 0

    clock.set(datetime(2026, 3, 3, 8, 0, 30, tzinfo=CN))
    assert await delivery.send_sms(d, sms_id) == "skipped"
    await delivery.build_due_digests(d)
    assert sms.sent == []
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE recipient_org_id = $1",
                             uuid_of(enterprise)) == 2  # still in the inbox


async def _shared_worker(client: httpx.AsyncClient, broker: OrgKey, n: int) -> UUID:
    from tests.services.api.matches.test_matches import worker_body

    created = await client.post("/v1/workers", json=worker_body(n), headers=broker.headers)
    assert created.status_code == 201, created.text
    return UUID(created.json()["id"])


async def _enterprise_on_hourly_digests(client: httpx.AsyncClient, make_org: MakeOrg,
                                        receiver: Receiver) -> tuple[OrgKey, OrgKey]:
    """(an enterprise whose match notices wait for an hourly digest to `receiver`'s webhook, a broker)."""
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    hook = await register_webhook(client, enterprise, receiver.url, ["match.created"])
    receiver.secret = hook["secret"]
    assert (await client.put("/v1/notifications/preferences", headers=enterprise.headers,
                             json={"digest": "hourly"})).status_code == 200
    return enterprise, broker


async def test_notices_about_a_person_erased_or_withdrawn_meanwhile_are_not_pushed(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    # Notices wait (an hourly digest here; the daily cap does the same): by the time they are pushed, the person
    # may have been erased or have withdrawn consent to being shown to enterprises.
    enterprise, broker = await _enterprise_on_hourly_digests(client, make_org, receiver)
    erased, withdrawn, kept = [await _shared_worker(client, broker, n) for n in (201, 202, 203)]
    clock = ManualClock(datetime(2026, 3, 2, 14, 10, tzinfo=CN))
    d = await make_delivery(clock=clock)
    for worker_id in (erased, withdrawn, kept):
        await record(match(enterprise, worker_id=worker_id, now=clock.now()))
    await _dispatch_all(d, db)
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE digest_id IS NULL") == 3

    assert (await client.delete(f"/v1/workers/{erased}", headers=broker.headers)).status_code == 200
    assert (await client.patch(f"/v1/workers/{withdrawn}", headers=broker.headers, json={"consent": {
        "share_with_enterprises": False, "contact_by_sms": False,
        "given_at": "2025-11-21T10:00:00+08:00"}})).status_code == 200
    clock.set(datetime(2026, 3, 2, 15, 0, 5, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    await _deliver_all(d, db)
    digest = orjson.loads(receiver.requests[-1].body)
    assert digest["data"]["count"] == 1
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE digest_id IS NULL") == 0

    # Recorded, then the person erased before the push: inbox only.
    late = await _shared_worker(client, broker, 204)
    await client.put("/v1/notifications/preferences", headers=enterprise.headers, json={"digest": "instant"})
    await record(match(enterprise, worker_id=late, now=clock.now()))
    assert (await client.delete(f"/v1/workers/{late}", headers=broker.headers)).status_code == 200
    await _dispatch_all(d, db)
    await _deliver_all(d, db)
    assert len(receiver.requests) == 1  # the digest only


async def test_notices_recorded_before_the_broker_s_licence_lapsed_are_not_pushed_after_it(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    # A lapsed broker's profiles are not offered to enterprises; notices about them that wait for a digest (or
    # for their dispatch) are judged on the day they are pushed, in China. The broker's own notices still go.
    enterprise, broker = await _enterprise_on_hourly_digests(client, make_org, receiver)
    held, instant = await _shared_worker(client, broker, 231), await _shared_worker(client, broker, 232)
    await db.execute("UPDATE organisations SET licence_valid_until = '2026-03-02' WHERE id = $1::uuid",
                     broker.org_id)
    clock = ManualClock(datetime(2026, 3, 2, 23, 10, tzinfo=CN))  # the licence's last day
    d = await make_delivery(clock=clock)
    await record(match(enterprise, worker_id=held, now=clock.now()))
    await _dispatch_all(d, db)
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE digest_id IS NULL") == 1

    clock.set(datetime(2026, 3, 3, 0, 0, 5, tzinfo=CN))  # lapsed: the digest is due, its only notice dropped
    await delivery.build_due_digests(d)
    await client.put("/v1/notifications/preferences", headers=enterprise.headers, json={"digest": "instant"})
    await record(match(enterprise, worker_id=instant, now=datetime(2026, 3, 2, 23, 50, tzinfo=CN)))
    await _dispatch_all(d, db)  # recorded on the last day, dispatched after it
    await _deliver_all(d, db)
    assert receiver.requests == []
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE recipient_org_id = $1::uuid",
                             enterprise.org_id) == 2  # both stay in the inbox they were recorded in
    assert await db.fetchval("SELECT count(*) FROM notification_holds WHERE digest_id IS NULL") == 0


async def test_erasure_strips_the_person_from_notices_webhook_bodies_and_digests(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        make_delivery: MakeDelivery, receiver: Receiver) -> None:
    # A notice copies the person's profile (trades, skills, home county …) into the inbox row, its webhook body
    # and any digest that folds it in. Erasing the profile must reach all three copies.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    hook = await register_webhook(client, enterprise, receiver.url, ["match.created"])
    receiver.secret = hook["secret"]
    assert (await client.put("/v1/notifications/preferences", headers=broker.headers,
                             json={"sms_to_workers": True})).status_code == 200
    gone = await _worker_profile(client, broker, sms=True, id_seq="211")
    kept = await _shared_worker(client, broker, 212)
    clock = ManualClock(datetime(2026, 3, 2, 14, 10, tzinfo=CN))
    d = await make_delivery(clock=clock)

    def about(worker_id: UUID, marker: str, org: OrgKey = enterprise, **kw: Any) -> Any:
        summary = {"job": {"title": "电焊工", "adcode": "500107"},
                   "worker": {"id": str(worker_id), "skills": [marker], "home_county": {"adcode": "500230"}},
                   "distance_km": 12.5, "transfer": True}
        return match(org, worker_id=worker_id, summary=summary, now=clock.now(), **kw)

    # At once: a push still to be made (not delivered yet).
    await record(about(gone, "甲的技能一"))
    # The broker's own notice about the person, with a text to them still to be sent.
    await record(about(gone, "甲的技能四", broker, direction="job_for_worker", sms_consent=True))
    await _dispatch_all(d, db)
    # Held for a digest that is built before the erasure, with another person's notice beside it.
    await client.put("/v1/notifications/preferences", headers=enterprise.headers, json={"digest": "hourly"})
    await record(about(gone, "甲的技能二"))
    await record(about(kept, "乙的技能"))
    # Held, and the erasure comes before the digest is built.
    await _dispatch_all(d, db)
    clock.set(datetime(2026, 3, 2, 15, 0, 5, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 1
    await record(about(gone, "甲的技能三"))
    await _dispatch_all(d, db)
    assert await db.fetchval("SELECT count(*) FROM sms_messages WHERE status = 'pending'") == 1
    # A notice about the person that copies nothing of the profile: the broker still has to act on it.
    reminder = {"kind": "arrival_due", "placement_id": str(uuid.uuid4()), "due_on": "2026-03-09",
                "message": "请确认到岗", "worker_id": str(gone)}

    async def remind(conn: asyncpg.Connection, pending: PendingWork) -> UUID | None:
        return await service.record_notification(conn, pending, recipient_org_id=uuid_of(broker),
                                                 event="placement.reminder", payload=reminder, worker_id=gone,
                                                 channels=(), now=clock.now())

    await record(remind)

    assert (await client.delete(f"/v1/workers/{gone}", headers=broker.headers)).status_code == 200
    assert await db.fetchval("SELECT payload FROM notifications WHERE event = 'placement.reminder'") == reminder

    # Nothing of the person is left in any copy; the other person's notice is untouched.
    for table, column in (("notifications", "payload::text"), ("webhook_deliveries", "body")):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE {column} LIKE '%甲的技能%'") == 0, table
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE {column} LIKE '%500230%' "
                                 f"AND {column} NOT LIKE '%乙的技能%'") == 0, table
    inbox = (await client.get("/v1/notifications?limit=100", headers=enterprise.headers)).json()["items"]
    about_gone = [n["data"] for n in inbox if n["worker_id"] == str(gone)]
    assert len(about_gone) == 3
    for payload in about_gone:
        assert payload["worker"] == {"id": str(gone), "erased": True}
        assert payload["job"] == {"title": "电焊工", "adcode": "500107"}
        assert not {"score", "reasons", "distance_km", "transfer"} & payload.keys()
    [kept_notice] = [n["data"] for n in inbox if n["worker_id"] == str(kept)]
    assert kept_notice["worker"]["skills"] == ["乙的技能"]
    assert kept_notice["score"] == 0.82
    # The push still to come about the person is cancelled, as is the text to them.
    [cancelled] = await db.fetch("SELECT status, last_error FROM webhook_deliveries WHERE digest_id IS NULL")
    assert (cancelled["status"], cancelled["last_error"]) == ("cancelled", "person erased")
    assert await db.fetchval("SELECT count(*) FROM sms_messages WHERE status = 'pending'") == 0

    # The digest goes out with the other person's notice as it was and only the tombstone of this one.
    await _deliver_all(d, db)
    [sent] = receiver.requests
    assert sent.verified
    items = {i["data"]["worker_id"]: i["data"] for i in orjson.loads(sent.body)["data"]["items"]}
    assert items[str(gone)]["worker"] == {"id": str(gone), "erased": True}
    assert items[str(kept)]["worker"]["skills"] == ["乙的技能"]
    # The notice held when the person was erased is not folded into a later digest.
    clock.set(datetime(2026, 3, 2, 16, 0, 5, tzinfo=CN))
    assert await delivery.build_due_digests(d) == 0


async def test_a_subscription_notice_recorded_while_the_person_is_erased_keeps_nothing_of_them(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection,
        database_url: str) -> None:
    # The `worker.matched` job reads the profile and copies it into a subscription notice. An erasure running
    # at that moment strips the notices it finds; one recorded from the row as it was before the erasure
    # committed, but after the erasure looked, must not keep the person's skills and counties.
    from services.api.notifications import erasure
    from services.api.worker_profiles import repository as workers_repository
    from services.db.pool import connect

    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    assert (await client.post("/v1/subscriptions", headers=enterprise.headers, json={
        "kind": "workers", "query": {"q": "氩弧焊"}, "channel": "inbox", "digest": "instant"})).status_code == 201
    worker_id = await _shared_worker(client, broker, 221)

    async def work(conn: asyncpg.Connection, pending: PendingWork) -> list[UUID]:
        return await service.record_subscription_matches_for_worker(conn, pending, worker_id)

    eraser = await connect(database_url)
    try:
        async with eraser.transaction():
            # erase_worker's steps, left uncommitted while the subscription job runs
            assert await workers_repository.get(eraser, worker_id, for_update=True) is not None
            await workers_repository.erase(eraser, worker_id)
            await erasure.forget_worker(eraser, worker_id)
            subscriptions = asyncio.ensure_future(record(work))
            pid = db.get_server_pid()

            async def finished_or_waiting_for_the_erasure() -> bool:
                return subscriptions.done() or bool(await eraser.fetchval(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid))

            await wait_until(finished_or_waiting_for_the_erasure)
        await subscriptions
    finally:
        await eraser.close()

    assert await db.fetchval("SELECT count(*) FROM notifications WHERE worker_id = $1 "
                             "AND (payload ? 'skills' OR payload::text LIKE '%500107%')", worker_id) == 0


async def test_a_lapsed_brokers_profile_is_not_sent_to_subscribers(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, db: asyncpg.Connection) -> None:
    # `worker.matched` may run after the licence lapsed (queued across midnight, or a lapse since match_worker
    # ran): the subscription notice is then not recorded. The licence's last day is a date in China.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    assert (await client.post("/v1/subscriptions", headers=enterprise.headers, json={
        "kind": "workers", "query": {"q": "氩弧焊"}, "channel": "inbox", "digest": "instant"})).status_code == 201
    worker_id = await _shared_worker(client, broker, 223)
    await db.execute("UPDATE organisations SET licence_valid_until = '2026-03-01' WHERE id = $1::uuid",
                     broker.org_id)

    def at(moment: datetime) -> Any:
        async def work(conn: asyncpg.Connection, pending: PendingWork) -> list[UUID]:
            return await service.record_subscription_matches_for_worker(conn, pending, worker_id, now=moment)
        return work

    # 2 March 00:30 in China is still 1 March in UTC: lapsed.
    assert await record(at(datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("UTC")))) == []
    assert len(await record(at(datetime(2026, 3, 1, 23, 30, tzinfo=CN)))) == 1  # its last day
