"""The public contract of /v1/webhooks, /v1/notifications and /v1/subscriptions."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from standardwebhooks import Webhook

from services.api.notifications import service
from services.api.notifications.schemas import SubscriptionQuery
from tests.conftest import MakeOrg
from tests.services.api.notifications.conftest import Record, register_webhook, uuid_of


async def test_create_webhook_shows_a_generated_secret_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                           db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    created = await register_webhook(client, broker, "http://127.0.0.1:9/hook", ["match.created", "job.closed"])
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a valid Standard Webhooks secret
    assert created["status"] == "active"
    assert created["events"] == ["match.created", "job.closed"]
    listed = (await client.get("/v1/webhooks", headers=broker.headers)).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None
    assert "secret" not in listed["items"][0]
    one = (await client.get(f"/v1/webhooks/{created['id']}", headers=broker.headers)).json()
    assert "secret" not in one
    # At rest the secret is encrypted.
    stored = await db.fetchval("SELECT secret_enc FROM webhook_endpoints WHERE id = $1", uuid.UUID(created["id"]))
    assert created["secret"].encode() not in stored


async def test_an_idempotent_replay_returns_the_secret_without_storing_it_in_clear(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    body = {"url": "http://127.0.0.1:9/hook", "events": ["match.created"]}
    headers = {**enterprise.headers, "Idempotency-Key": "hook-1"}
    first = await client.post("/v1/webhooks", headers=headers, json=body)
    again = await client.post("/v1/webhooks", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert await db.fetchval("SELECT count(*) FROM webhook_endpoints") == 1
    stored = await db.fetchval("SELECT response_body::text FROM idempotency_records WHERE key = 'hook-1'")
    assert first.json()["secret"] not in stored


async def test_a_given_secret_is_kept_and_a_malformed_one_refused(client: httpx.AsyncClient,
                                                                make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    secret = service.generate_secret()
    created = await register_webhook(client, broker, "http://127.0.0.1:9/h", secret=secret)
    assert created["secret"] == secret
    bad = await client.post("/v1/webhooks", headers=broker.headers,
                            json={"url": "http://127.0.0.1:9/h", "events": ["match.created"],
                                  "secret": "not-a-standard-webhooks-secret-at-all"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "secret"


async def test_an_unknown_event_is_named_but_not_echoed_whole(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    events = ["match.create", "x" * 5000, "打13912345678"]
    bad = await client.post("/v1/webhooks", headers=broker.headers, json={"url": "http://127.0.0.1:9/h",
                                                                          "events": events})
    assert bad.status_code == 422, bad.text
    [error] = bad.json()["errors"]
    assert error["field"] == "events"
    assert "match.create" in error["message"]
    assert "x" * 41 not in bad.text
    assert "13912345678" not in bad.text


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/hook",               # http to anything but loopback
    "https://10.1.2.3/hook",              # private
    "https://192.168.1.10/hook",
    "https://172.16.0.1/hook",
    "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
    "https://[fd00::1]/hook",             # unique local IPv6
    "https://[::ffff:192.168.0.1]/hook",  # IPv4-mapped private
    "https://100.64.0.1/hook",            # shared address space
    "https://224.0.0.1/hook",             # multicast
    "https://0.0.0.0/hook",
    "https://240.0.0.1/hook",             # reserved
    "https://user:pw@127.0.0.1/hook",     # credentials
    "ftp://127.0.0.1/hook",
])
async def test_unsafe_urls_are_refused(client: httpx.AsyncClient, make_org: MakeOrg, url: str) -> None:
    broker = await make_org("broker")
    response = await client.post("/v1/webhooks", headers=broker.headers, json={"url": url, "events": ["match.created"]})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"


async def test_unknown_events_are_refused(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    response = await client.post("/v1/webhooks", headers=broker.headers,
                                 json={"url": "http://127.0.0.1:9/h", "events": ["everything"]})
    assert response.status_code == 422


async def test_webhooks_belong_to_their_organisation(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    a, b = await make_org("broker"), await make_org("broker")
    created = await register_webhook(client, a, "http://127.0.0.1:9/h")
    assert (await client.get(f"/v1/webhooks/{created['id']}", headers=b.headers)).status_code == 404
    assert (await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=b.headers)).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{created['id']}", headers=b.headers)).status_code == 404
    assert (await client.get("/v1/webhooks", headers=b.headers)).json()["items"] == []
    assert (await client.delete(f"/v1/webhooks/{created['id']}", headers=a.headers)).status_code == 204
    assert (await client.get(f"/v1/webhooks/{created['id']}", headers=a.headers)).status_code == 404


async def test_kiosks_have_no_notifications(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    kiosk = await make_org("kiosk")
    assert (await client.get("/v1/notifications", headers=kiosk.headers)).status_code == 403
    assert (await client.post("/v1/webhooks", headers=kiosk.headers,
                              json={"url": "http://127.0.0.1:9/h", "events": ["match.created"]})).status_code == 403
    assert (await client.get("/v1/notifications")).status_code == 401


async def test_inbox_pages_newest_first_and_marks_read(client: httpx.AsyncClient, make_org: MakeOrg,
                                                      record: Record) -> None:
    broker, other = await make_org("broker"), await make_org("broker")
    job_ids = [uuid.uuid4() for _ in range(5)]

    async def work(conn: asyncpg.Connection, pending: object) -> None:
        for job_id in job_ids:
            await service.record_match_notification(
                conn, pending, recipient_org_id=uuid_of(broker), job_id=job_id,  # type: ignore[arg-type]
                worker_id=uuid.uuid4(), score=0.8, direction="job_for_worker", summary={"title": "电焊工"})

    await record(work)
    page1 = (await client.get("/v1/notifications?limit=3", headers=broker.headers)).json()
    assert len(page1["items"]) == 3
    assert page1["next_cursor"]
    page2 = (await client.get(f"/v1/notifications?limit=3&cursor={page1['next_cursor']}",
                              headers=broker.headers)).json()
    assert len(page2["items"]) == 2
    assert page2["next_cursor"] is None
    seen = [i["job_id"] for i in page1["items"] + page2["items"]]
    assert sorted(seen) == sorted(str(j) for j in job_ids)
    item = page1["items"][0]
    assert item["event"] == "match.created"
    assert item["data"]["title"] == "电焊工"
    assert item["read_at"] is None
    # Another organisation sees none of it and cannot mark it read.
    assert (await client.get("/v1/notifications", headers=other.headers)).json()["items"] == []
    assert (await client.post(f"/v1/notifications/{item['id']}/read", headers=other.headers)).status_code == 404
    read = await client.post(f"/v1/notifications/{item['id']}/read", headers=broker.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    unread = (await client.get("/v1/notifications?unread=true&limit=100", headers=broker.headers)).json()
    assert len(unread["items"]) == 4
    # A cursor of one list is refused on another.
    bad = await client.get(f"/v1/notifications?unread=true&cursor={page1['next_cursor']}", headers=broker.headers)
    assert bad.status_code == 422


async def test_subscriptions_crud_and_roles(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    enterprise = await make_org("enterprise", contact={"phone": "13800138000"})
    body = {"kind": "jobs", "query": {"q": "电焊", "adcode": ["500107"], "work_type": "daily", "wage_min": 200,
                                      "wage_unit": "day", "benefits": ["包吃"]},
            "channel": "webhook", "digest": "hourly"}
    created = await client.post("/v1/subscriptions", headers=broker.headers, json=body)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["query"]["adcode"] == ["500107"]
    assert sub["digest"] == "hourly"
    assert sub["channel"] == "webhook"
    listed = (await client.get("/v1/subscriptions", headers=broker.headers)).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    # Enterprises subscribe to workers, brokers to jobs.
    assert (await client.post("/v1/subscriptions", headers=enterprise.headers, json=body)).status_code == 403
    workers = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                json={"kind": "workers", "query": {"occupation_code": "6-18-02"}, "channel": "sms"})
    assert workers.status_code == 201, workers.text
    # SMS needs a contact phone, and one that can take a text.
    no_phone = await client.post("/v1/subscriptions", headers=broker.headers, json={**body, "channel": "sms"})
    assert no_phone.status_code == 422
    office = await make_org("enterprise", contact={"phone": "023-68000000"})
    landline = await client.post("/v1/subscriptions", headers=office.headers,
                                 json={"kind": "workers", "query": {"occupation_code": "6-18-02"}, "channel": "sms"})
    assert landline.status_code == 422, landline.text
    assert "fixed line" in landline.json()["errors"][0]["message"]
    hotline = await make_org("enterprise", contact={"phone": "400-820-8820"})
    service = await client.post("/v1/subscriptions", headers=hotline.headers,
                                json={"kind": "workers", "query": {"occupation_code": "6-18-02"}, "channel": "sms"})
    assert service.status_code == 422, service.text
    assert "400/800" in service.json()["errors"][0]["message"]  # not told it is a fixed line
    bad = await client.post("/v1/subscriptions", headers=broker.headers,
                            json={**body, "query": {"adcode": ["5001"]}})
    assert bad.status_code == 422
    # 1e400 is infinity to a JSON reader: it was stored as no wage filter at all (every posting notified).
    infinite = await client.post("/v1/subscriptions", headers={**broker.headers, "Content-Type": "application/json"},
                                 content=b'{"kind": "jobs", "query": {"wage_min": 1e400}}')
    assert infinite.status_code == 422, infinite.text
    assert (await client.get(f"/v1/subscriptions/{sub['id']}", headers=enterprise.headers)).status_code == 404
    assert (await client.delete(f"/v1/subscriptions/{sub['id']}", headers=broker.headers)).status_code == 204
    assert (await client.get("/v1/subscriptions", headers=broker.headers)).json()["items"] == []


@pytest.mark.parametrize("adcode", ["999999", "５００１０７", "٥٠٠١٠٧"])
async def test_a_subscription_to_an_unknown_county_is_refused(client: httpx.AsyncClient, make_org: MakeOrg,
                                                              db: asyncpg.Connection, adcode: str) -> None:
    # Six digits that name no county (or six non-ASCII digits, which the pattern's \d accepts) were stored, and
    # the subscription then never fitted anything: the broker believed it was watching 九龙坡 and heard nothing.
    broker = await make_org("broker")
    refused = await client.post("/v1/subscriptions", headers=broker.headers,
                                json={"kind": "jobs", "query": {"q": "电焊", "adcode": ["500107", adcode]}})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["query.adcode"]
    assert await db.fetchval("SELECT count(*) FROM notification_subscriptions") == 0
    # A city or province is an area too, as is any code some county lies in (500100: Chongqing's districts).
    wider = await client.post("/v1/subscriptions", headers=broker.headers,
                              json={"kind": "jobs", "query": {"adcode": ["500000", "510100", "500100", "500107"]}})
    assert wider.status_code == 201, wider.text


async def test_a_blank_q_is_stored_as_no_q(client: httpx.AsyncClient, make_org: MakeOrg,
                                            db: asyncpg.Connection) -> None:
    # Kiosk search, whose filters a jobs subscription repeats, reads a blank q as no words; "  " was stored as
    # q = "" and shown back as a filter of nothing.
    broker = await make_org("broker")
    for blank in ("  ", "\u3000", "", "\u200b"):
        created = await client.post("/v1/subscriptions", headers=broker.headers,
                                    json={"kind": "jobs", "query": {"q": blank, "adcode": ["500107"]}})
        assert created.status_code == 201, created.text
        assert created.json()["query"]["q"] is None
        stored = await db.fetchval("SELECT query FROM notification_subscriptions WHERE id = $1",
                                   uuid.UUID(created.json()["id"]))
        assert stored == {"adcode": ["500107"]}
    # A query stored so before is read back the same way.
    assert SubscriptionQuery.model_validate({"q": ""}).q is None


async def test_authorities_do_not_subscribe_to_jobs(client: httpx.AsyncClient, make_org: MakeOrg,
                                                    db: asyncpg.Connection) -> None:
    # Postings are announced to the brokers who have workers for them (product.md); an authority maintains the
    # catalogue, reads figures and manages licences and credit, and reviews held postings through GET /v1/jobs.
    authority = await make_org("authority", province="CQ")
    refused = await client.post("/v1/subscriptions", headers=authority.headers,
                                json={"kind": "jobs", "query": {"q": "电焊"}})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await db.fetchval("SELECT count(*) FROM notification_subscriptions") == 0


def test_a_worker_without_consent_never_fits_a_subscription() -> None:
    # An enterprise's standing "workers" subscription is a search by other means: a profile whose worker did not
    # agree to be shown to enterprises must not be announced, however well it fits.
    worker = {"status": "available", "consent_share_with_enterprises": True, "home_adcode": "500107",
              "current_adcode": None, "desired_adcodes": [], "work_types": ["full_time"],
              "occupation_codes": ["6-18-02-04"], "occupation_terms": ["电焊工"], "skills": ["氩弧焊"],
              "certificates": ["焊工证"], "labour_brand": None}
    query = SubscriptionQuery.model_validate({"occupation_code": "6-18-02", "adcode": ["500107"], "q": "焊"})
    assert service.worker_matches_query(worker, query)
    assert not service.worker_matches_query({**worker, "consent_share_with_enterprises": False}, query)


async def test_a_jobs_subscription_takes_kiosk_searchs_place_and_date_filters(client: httpx.AsyncClient,
                                                                              make_org: MakeOrg) -> None:
    # api.md: a subscription's query has the same filters as search; near/radius_km/start_within_days were
    # refused as unknown fields, so a kiosk query could not be kept as a standing one.
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    query = {"q": "电焊", "near": "29.5,106.45", "radius_km": 15, "start_within_days": 3}
    created = await client.post("/v1/subscriptions", headers=broker.headers, json={"kind": "jobs", "query": query})
    assert created.status_code == 201, created.text
    assert {k: created.json()["query"][k] for k in query} == query
    for body, field in (
            ({"kind": "jobs", "query": {"near": "29.5,106.45"}}, "query.radius_km"),  # no order to keep: a filter
            ({"kind": "jobs", "query": {"radius_km": 15}}, "query.near"),
            ({"kind": "jobs", "query": {"near": "north", "radius_km": 15}}, "query.near"),
            ({"kind": "jobs", "query": {"start_within_days": 400}}, "query.start_within_days")):
        refused = await client.post("/v1/subscriptions", headers=broker.headers, json=body)
        assert refused.status_code == 422, body
        assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text
    # A profile has no place or start date of that kind: said so, not ignored.
    refused = await client.post("/v1/subscriptions", headers=enterprise.headers, json={
        "kind": "workers", "query": {"near": "29.5,106.45", "radius_km": 15}})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["query.near", "query.radius_km"]


async def test_a_filter_that_would_filter_nothing_is_refused(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # worker_matches_query reads no pay or benefits: a workers subscription with them was stored (201) and then
    # notified every worker as if they were not there. A unit without an amount filters nothing either.
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    for query, fields in (({"wage_min": 5000}, ["query.wage_min"]),
                          ({"wage_min": 5000, "wage_unit": "month"}, ["query.wage_min", "query.wage_unit"]),
                          ({"benefits": ["包住"], "q": "焊"}, ["query.benefits"])):
        refused = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                    json={"kind": "workers", "query": query})
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == fields, refused.text
        assert refused.json()["errors"][0]["message"] == "仅用于岗位订阅 / only for job subscriptions"
    alone = await client.post("/v1/subscriptions", headers=broker.headers,
                              json={"kind": "jobs", "query": {"wage_unit": "day"}})
    assert alone.status_code == 422, alone.text
    assert [e["field"] for e in alone.json()["errors"]] == ["query.wage_unit"]
    # What a profile does have still works, and pay and benefits still do for postings.
    assert (await client.post("/v1/subscriptions", headers=enterprise.headers, json={
        "kind": "workers", "query": {"q": "焊", "adcode": ["500107"]}})).status_code == 201
    assert (await client.post("/v1/subscriptions", headers=broker.headers, json={
        "kind": "jobs", "query": {"wage_min": 200, "wage_unit": "day", "benefits": ["包住"]}})).status_code == 201


def test_place_and_date_filters_over_a_posting() -> None:
    from datetime import date

    from matching.regions import load_regions

    jiulongpo = load_regions().get("500107")
    assert jiulongpo is not None
    job = {"status": "open", "adcode": "500107", "lat": None, "lng": None, "work_type": "daily",
           "wage_min": 200, "wage_max": 300, "wage_unit": "day", "benefits": [], "occupation_code": "6-30-05-01",
           "title": "招聘电焊工", "description": "", "start_date": date(2026, 3, 5)}
    here = f"{jiulongpo.lat},{jiulongpo.lng}"

    def fits(posting: dict[str, object] = job, today: date = date(2026, 3, 1), **filters: object) -> bool:
        return service.job_matches_query(posting, SubscriptionQuery.model_validate(filters), today=today)

    assert fits(near=here, radius_km=5)  # placed at its county's centre, as its search document is
    assert not fits(near="30.66,104.06", radius_km=50)  # Chengdu, ~270 km away
    in_chengdu = {**job, "lat": 30.66, "lng": 104.06}  # its own coordinates win over its county's
    assert not fits(in_chengdu, near=here, radius_km=5)
    assert fits(in_chengdu, near="30.66,104.06", radius_km=5)
    assert fits(start_within_days=4)
    assert fits(start_within_days=7)
    assert not fits(start_within_days=3)
    assert fits(today=date(2026, 3, 2), start_within_days=3)


def test_a_wage_filter_compares_pay_as_kiosk_search_does() -> None:
    """api.md: a subscription takes the same filters as search, and kiosk search compares monthly equivalents
    (a bare amount: 1,000 or more a month, less a day), so a daily wish is met by a better monthly wage."""
    from datetime import date

    def posting(low: float, high: float, unit: str) -> dict[str, object]:
        return {"status": "open", "adcode": "500107", "lat": None, "lng": None, "work_type": "full_time",
                "wage_min": low, "wage_max": high, "wage_unit": unit, "benefits": [], "occupation_code": "6-18-02-04",
                "title": "招聘电焊工", "description": "", "start_date": date(2026, 3, 5)}

    def fits(job: dict[str, object], **filters: object) -> bool:
        return service.job_matches_query(job, SubscriptionQuery.model_validate(filters), today=date(2026, 3, 1))

    monthly, daily, hourly = posting(8000, 9000, "month"), posting(280, 300, "day"), posting(20, 25, "hour")
    assert fits(monthly, wage_min=200, wage_unit="day")  # 9,000 a month is well over 200 a day
    assert fits(daily, wage_min=5000, wage_unit="month")  # 300 a day is about 6,500 a month
    assert fits(daily, wage_min=5000)  # a bare 5000 is a monthly wish
    assert fits(monthly, wage_min=250)  # a bare 250 is a daily one
    assert fits(daily, wage_min=300, wage_unit="day")
    assert not fits(daily, wage_min=301, wage_unit="day")
    assert not fits(hourly, wage_min=300)  # 25 an hour is 200 a day
    assert not fits(monthly, wage_min=10000, wage_unit="month")
    # Piece rates have no monthly equivalent: they meet only a piece-rate wish.
    piece = posting(2, 3, "piece")
    assert not fits(piece, wage_min=2)
    assert fits(piece, wage_min=2, wage_unit="piece")
    assert not fits(monthly, wage_min=2, wage_unit="piece")


async def test_preferences(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    assert (await client.get("/v1/notifications/preferences", headers=broker.headers)).json() == {
        "digest": "instant", "sms_to_workers": False}
    put = await client.put("/v1/notifications/preferences", headers=broker.headers,
                           json={"digest": "daily", "sms_to_workers": True})
    assert put.status_code == 200
    assert put.json() == {"digest": "daily", "sms_to_workers": True}
    refused = await client.put("/v1/notifications/preferences", headers=enterprise.headers,
                               json={"digest": "daily", "sms_to_workers": True})
    assert refused.status_code == 422
