"""Reports from the field: filing (any key, kiosk included), bad input, de-duplication, decisions and what the
reported party can and cannot see."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.reports.support import decide, post_job, report

CONTACT = "13800001111 王大姐"


@pytest.fixture
async def enterprise(make_org: MakeOrg) -> OrgKey:
    return await make_org("enterprise", name="重庆某某机械有限公司")


@pytest.fixture
async def broker(make_org: MakeOrg) -> OrgKey:
    return await make_org("broker", name="云阳县劳务经纪人")


@pytest.fixture
async def kiosk(make_org: MakeOrg) -> OrgKey:
    return await make_org("kiosk", name="九龙坡零工市场一号机")


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="CQ")


async def test_kiosk_reports_a_job_with_encrypted_contact(client: httpx.AsyncClient, kiosk: OrgKey,
                                                          enterprise: OrgKey, authority: OrgKey,
                                                          db: asyncpg.Connection) -> None:
    job = await post_job(client, enterprise)
    response = await report(client, kiosk, "job", job["id"], "fees", text="面试要交300元体检费", contact=CONTACT)
    assert response.status_code == 201, response.text
    filed = response.json()
    assert filed["target"] == {"kind": "job", "id": job["id"]}
    assert (filed["reason"], filed["status"], filed["has_contact"], filed["duplicate"]) == ("fees", "open", True, False)
    assert "contact" not in filed  # not echoed, not even to the reporter

    stored = await db.fetchrow("SELECT reporter_org_id, target_org_id, contact_enc FROM reports")
    assert str(stored["reporter_org_id"]) == kiosk.org_id
    assert str(stored["target_org_id"]) == enterprise.org_id
    assert CONTACT.encode() not in bytes(stored["contact_enc"])
    assert b"13800001111" not in bytes(stored["contact_enc"])

    # The authority sees who reported and the contact; the read is audited.
    listed = await client.get("/v1/reports", params={"status": "open"}, headers=authority.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["reporter_org_id"], item["contact"], item["text"]) == (kiosk.org_id, CONTACT, "面试要交300元体检费")
    assert item["target_org_id"] == enterprise.org_id
    audit = await db.fetchrow("SELECT org_id, subject_kind, fields FROM pii_access_log")
    assert (str(audit["org_id"]), audit["subject_kind"], audit["fields"]) == (authority.org_id, "report", ["contact"])
    # HEAD decrypts and records nothing (it was answered as a GET without content, and audited as a read).
    for path, allowed in (("/v1/reports", "GET, POST"), (f"/v1/reports/{filed['id']}", "GET")):
        head = await client.head(path, params={"status": "open"}, headers=authority.headers)
        assert (head.status_code, head.content, head.headers["allow"]) == (405, b"", allowed), path
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 1

    # A report without contact from a kiosk is fine too.
    plain = await report(client, kiosk, "job", job["id"], "filled")
    assert plain.status_code == 201, plain.text
    assert plain.json()["has_contact"] is False


async def test_reports_on_organisations(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey) -> None:
    assert (await report(client, enterprise, "broker", broker.org_id, "holds_id")).status_code == 201
    assert (await report(client, broker, "enterprise", enterprise.org_id, "unpaid")).status_code == 201


async def test_bad_targets_are_refused(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey,
                                       kiosk: OrgKey, db: asyncpg.Connection) -> None:
    job = await post_job(client, enterprise)
    own_job = await report(client, enterprise, "job", job["id"])
    assert own_job.status_code == 422
    assert own_job.json()["errors"][0]["field"] == "target.id"
    assert (await report(client, broker, "broker", broker.org_id)).status_code == 422  # itself
    assert (await report(client, kiosk, "job", str(uuid.uuid4()))).status_code == 422  # unknown posting
    assert (await report(client, kiosk, "broker", str(uuid.uuid4()))).status_code == 422  # unknown broker
    assert (await report(client, kiosk, "broker", enterprise.org_id)).status_code == 422  # wrong kind
    assert (await report(client, kiosk, "enterprise", kiosk.org_id)).status_code == 422  # not reportable
    bad_reason = await report(client, kiosk, "job", job["id"], "ugly")
    assert bad_reason.status_code == 422
    # The contact is stored encrypted, so PostgreSQL's own refusal of U+0000 never sees it.
    control = await report(client, kiosk, "job", job["id"], "fees", contact="138\u0000\u0007x")
    assert control.status_code == 422
    assert control.json()["errors"][0]["field"] == "contact"
    assert bad_reason.headers["content-type"].startswith("application/problem+json")
    unauthenticated = await client.post("/v1/reports", json={"target": {"kind": "job", "id": job["id"]},
                                                             "reason": "fake"})
    assert unauthenticated.status_code == 401
    assert await db.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_held_posting_is_reported_on_as_an_unknown_one(
    client: httpx.AsyncClient, enterprise: OrgKey, kiosk: OrgKey, broker: OrgKey, authority: OrgKey,
    db: asyncpg.Connection,
) -> None:
    # A posting waiting for review is not public. A report on it was filed (201) where an unknown id is a 422,
    # which told any key that the id is a posting.
    held = await post_job(client, enterprise, description="工厂招熟练电焊工，限男性，包吃包住。")
    assert held["status"] == "pending_review", held
    for reporter in (kiosk, broker):
        on_held = await report(client, reporter, "job", held["id"])
        on_unknown = await report(client, reporter, "job", str(uuid.uuid4()))
        assert on_held.status_code == on_unknown.status_code == 422, on_held.text
        assert on_held.headers["content-type"] == on_unknown.headers["content-type"]
        # The same body but for the request's own id.
        assert {**on_held.json(), "request_id": None} == {**on_unknown.json(), "request_id": None}
    assert await db.fetchval("SELECT count(*) FROM reports") == 0
    # Its enterprise is told it is its own; an authority, which reads it for review, may report it.
    own = await report(client, enterprise, "job", held["id"])
    assert own.status_code == 422
    assert "own" in own.json()["detail"]
    assert (await report(client, authority, "job", held["id"])).status_code == 201


async def test_same_report_while_open_is_deduplicated(client: httpx.AsyncClient, kiosk: OrgKey, broker: OrgKey,
                                                      enterprise: OrgKey, authority: OrgKey,
                                                      db: asyncpg.Connection) -> None:
    job = await post_job(client, enterprise)
    first = await report(client, kiosk, "job", job["id"], "fake")
    again = await report(client, kiosk, "job", job["id"], "fake", text="又一个人来说是假的")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    # Another reason, or another reporter, is another report.
    assert (await report(client, kiosk, "job", job["id"], "fees")).status_code == 201
    assert (await report(client, broker, "job", job["id"], "fake")).status_code == 201
    assert await db.fetchval("SELECT count(*) FROM reports") == 3
    assert await db.fetchval("SELECT repeat_count FROM reports WHERE id = $1", uuid.UUID(first.json()["id"])) == 1

    # Once decided, the same report can be filed again (a new case).
    await decide(client, authority, first.json()["id"], "dismissed", "无法核实")
    assert (await report(client, kiosk, "job", job["id"], "fake")).status_code == 201


async def test_idempotency_key_replays_the_first_response(client: httpx.AsyncClient, kiosk: OrgKey,
                                                          enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await post_job(client, enterprise)
    body = {"target": {"kind": "job", "id": job["id"]}, "reason": "fake"}
    headers = {**kiosk.headers, "Idempotency-Key": "kiosk-tap-1"}
    first = await client.post("/v1/reports", json=body, headers=headers)
    second = await client.post("/v1/reports", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert await db.fetchval("SELECT repeat_count FROM reports") == 0
    other = await client.post("/v1/reports", json={**body, "reason": "fees"}, headers=headers)
    assert other.status_code == 409


async def test_only_authorities_list_and_decide(client: httpx.AsyncClient, kiosk: OrgKey, broker: OrgKey,
                                                enterprise: OrgKey, authority: OrgKey) -> None:
    filed = (await report(client, kiosk, "broker", broker.org_id, "fees")).json()
    for caller in (kiosk, broker, enterprise):
        assert (await client.get("/v1/reports", headers=caller.headers)).status_code == 403
        decision = await client.post(f"/v1/reports/{filed['id']}/decision",
                                     json={"outcome": "dismissed", "note": "x"}, headers=caller.headers)
        assert decision.status_code == 403
    no_note = await client.post(f"/v1/reports/{filed['id']}/decision", json={"outcome": "upheld"},
                                headers=authority.headers)
    assert no_note.status_code == 422
    decided = await decide(client, authority, filed["id"], "dismissed", "查无实据")
    assert decided["decision"]["outcome"] == "dismissed"
    twice = await client.post(f"/v1/reports/{filed['id']}/decision", json={"outcome": "upheld", "note": "x"},
                              headers=authority.headers)
    assert twice.status_code == 409
    # The problem's `status` is the HTTP status (RFC 9457); the report's is an extension member.
    assert (twice.json()["status"], twice.json()["report_status"]) == (409, "dismissed")
    unknown = await client.post(f"/v1/reports/{uuid.uuid4()}/decision", json={"outcome": "upheld", "note": "x"},
                                headers=authority.headers)
    assert unknown.status_code == 404
    # The reporter may follow its own report; the reported broker may not see it at all.
    own = await client.get(f"/v1/reports/{filed['id']}", headers=kiosk.headers)
    assert own.status_code == 200
    assert own.json()["status"] == "dismissed"
    assert "reporter_org_id" not in own.json()
    assert (await client.get(f"/v1/reports/{filed['id']}", headers=broker.headers)).status_code == 404


async def test_reported_broker_never_learns_who_reported(client: httpx.AsyncClient, kiosk: OrgKey, broker: OrgKey,
                                                         enterprise: OrgKey, authority: OrgKey) -> None:
    filed = await report(client, kiosk, "broker", broker.org_id, "holds_id", text="扣了我的身份证不还",
                         contact=CONTACT)
    assert filed.status_code == 201
    await decide(client, authority, filed.json()["id"], "upheld", f"已联系举报人 {CONTACT}，情况属实")
    enterprise_report = await report(client, enterprise, "broker", broker.org_id, "fees")
    await decide(client, authority, enterprise_report.json()["id"], "upheld", "核实")

    # Everything the broker can reach about itself.
    seen: list[str] = []
    for path in ("/v1/credit/" + broker.org_id, "/v1/reports/" + filed.json()["id"],
                 "/v1/reports/" + enterprise_report.json()["id"], "/v1/reports", "/v1/orgs/" + broker.org_id):
        response = await client.get(path, headers=broker.headers)
        seen.append(response.text)
        if "/credit/" in path:
            assert response.status_code == 200, response.text
            ledger = response.json()["ledger"]
            assert {e["source"] for e in ledger} == {"report_upheld"}
            assert any("扣押证件" in e["reason"] for e in ledger)
    everything = "\n".join(seen)
    kiosk_name = (await client.get(f"/v1/orgs/{kiosk.org_id}", headers=kiosk.headers)).json()["name"]
    enterprise_name = (await client.get(f"/v1/orgs/{enterprise.org_id}", headers=enterprise.headers)).json()["name"]
    for secret in (kiosk.org_id, enterprise.org_id, kiosk_name, enterprise_name, "13800001111", "王大姐",
                   "扣了我的身份证不还", "已联系举报人"):
        assert secret not in everything
