"""Effects of credit on the other domains: the grade on profiles and postings, a grade-D broker's new profiles
held for review (and out of the index until released), an upheld report removing the posting, an enterprise
with two postings upheld as fake having new postings held, a posting rejected in review costing points."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.reports.support import decide, post_job, report, uphold_report, worker_body
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="CQ")


@pytest.fixture
async def kiosk(make_org: MakeOrg) -> OrgKey:
    return await make_org("kiosk")


async def ledger(client: httpx.AsyncClient, authority: OrgKey, org_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/credit/{org_id}", headers=authority.headers)
    assert response.status_code == 200, response.text
    credit: dict[str, Any] = response.json()
    return credit


async def test_grade_d_broker_has_new_profiles_held_until_released(
        client: httpx.AsyncClient, make_org: MakeOrg, authority: OrgKey, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    good, bad = await make_org("broker"), await make_org("broker")
    before = await client.post("/v1/workers", json=worker_body(1), headers=bad.headers)
    assert before.status_code == 201, before.text
    assert (before.json()["held_for_review"], before.json()["credit_grade"]) == (False, "A")

    adjusted = await client.post(f"/v1/credit/{bad.org_id}/adjustments", headers=authority.headers,
                                 json={"points": -45, "reason": "多次扣押务工人员身份证，查实"})
    assert adjusted.json()["grade"] == "D"

    held = await client.post("/v1/workers", json=worker_body(2), headers=bad.headers)
    assert held.status_code == 201, held.text
    held_out = held.json()
    assert (held_out["held_for_review"], held_out["searchable"], held_out["credit_grade"]) == (True, False, "D")
    fine = await client.post("/v1/workers", json=worker_body(3), headers=good.headers)
    assert (fine.json()["held_for_review"], fine.json()["credit_grade"]) == (False, "A")
    # Profiles registered before the broker fell to D are not touched.
    earlier = await client.get(f"/v1/workers/{before.json()['id']}", headers=bad.headers)
    assert (earlier.json()["held_for_review"], earlier.json()["credit_grade"]) == (False, "D")

    await run_worker_burst(settings)
    await settle(settings)
    assert await document_ids(settings, "workers") == {before.json()["id"], fine.json()["id"]}

    listed = await client.get("/v1/credit/held-profiles", headers=authority.headers)
    assert [i["worker_id"] for i in listed.json()["items"]] == [held.json()["id"]]
    assert (await client.get("/v1/credit/held-profiles", headers=bad.headers)).status_code == 403
    assert (await client.post(f"/v1/credit/held-profiles/{held.json()['id']}/release",
                              headers=bad.headers)).status_code == 403
    released = await client.post(f"/v1/credit/held-profiles/{held.json()['id']}/release", headers=authority.headers)
    assert released.status_code == 204
    again = await client.post(f"/v1/credit/held-profiles/{held.json()['id']}/release", headers=authority.headers)
    assert again.status_code == 404
    await run_worker_burst(settings)
    await settle(settings)
    assert held.json()["id"] in await document_ids(settings, "workers")
    assert (await client.get(f"/v1/workers/{held.json()['id']}", headers=bad.headers)).json()["searchable"] is True


async def test_grade_c_broker_profiles_are_not_held(client: httpx.AsyncClient, make_org: MakeOrg,
                                                    authority: OrgKey) -> None:
    # Only grade D holds new profiles; C (score 60–74 by default) is a warning shown in rankings, and holding its
    # profiles would keep workers of a still-trusted broker out of search.
    broker = await make_org("broker")
    adjusted = await client.post(f"/v1/credit/{broker.org_id}/adjustments", headers=authority.headers,
                                 json={"points": -30, "reason": "收取报名费，约谈后整改"})
    assert (adjusted.json()["score"], adjusted.json()["grade"]) == (70, "C"), adjusted.text
    created = await client.post("/v1/workers", json=worker_body(4), headers=broker.headers)
    assert created.status_code == 201, created.text
    assert (created.json()["held_for_review"], created.json()["credit_grade"]) == (False, "C")


async def test_upheld_report_removes_the_posting_and_costs_points_once(
        client: httpx.AsyncClient, make_org: MakeOrg, kiosk: OrgKey, authority: OrgKey, settings: ApiSettings) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    job = await post_job(client, enterprise)
    assert job["credit_grade"] == "A"
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")

    first = await report(client, kiosk, "job", job["id"], "fake")
    second = await report(client, broker, "job", job["id"], "fake")
    await decide(client, authority, first.json()["id"])
    await decide(client, authority, second.json()["id"])
    removed = await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)
    assert removed.json()["status"] == "closed"
    credit = await ledger(client, authority, enterprise.org_id)
    assert [(e["source"], e["points"]) for e in credit["ledger"]] == [("report_upheld", -20)]  # once per posting
    assert job["title"] in credit["ledger"][0]["reason"]
    assert (credit["score"], credit["grade"]) == (80, "B")
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] not in await document_ids(settings, "jobs")

    # A dismissed report costs nothing; an upheld `unpaid` one on the enterprise costs, but removes nothing.
    other = await post_job(client, enterprise, title="招聘焊工 2名")
    dismissed = await report(client, kiosk, "job", other["id"], "fees")
    await decide(client, authority, dismissed.json()["id"], "dismissed", "查无实据")
    await uphold_report(client, kiosk, authority, "enterprise", enterprise.org_id, "unpaid")
    assert (await client.get(f"/v1/jobs/{other['id']}", headers=enterprise.headers)).json()["status"] == "open"
    credit = await ledger(client, authority, enterprise.org_id)
    assert credit["score"] == 100 - 20 - 15
    assert (await client.get(f"/v1/jobs/{other['id']}", headers=enterprise.headers)).json()["credit_grade"] == "C"


async def test_two_postings_upheld_as_fake_hold_new_postings(client: httpx.AsyncClient, make_org: MakeOrg,
                                                            kiosk: OrgKey, authority: OrgKey) -> None:
    enterprise = await make_org("enterprise")
    first, second = await post_job(client, enterprise), await post_job(client, enterprise, title="招聘焊工 3名")
    await uphold_report(client, kiosk, authority, "job", first["id"], "fake")
    # Other reasons do not count toward the hold.
    await uphold_report(client, kiosk, authority, "job", second["id"], "filled")
    after_one = await post_job(client, enterprise, title="招聘电焊工 8名")
    assert (after_one["status"], after_one["compliance"]) == ("open", [])

    await uphold_report(client, kiosk, authority, "job", after_one["id"], "fake")
    held = await post_job(client, enterprise, title="招聘电焊学徒")
    assert held["status"] == "pending_review"
    assert [f["rule_id"] for f in held["compliance"]] == ["credit.fake_postings_upheld"]
    # Another enterprise is not affected.
    assert (await post_job(client, await make_org("enterprise")))["status"] == "open"
    # An edit does not lift the hold: the posting stays out of search until an authority has looked at it.
    edited = await client.patch(f"/v1/jobs/{held['id']}", json={"headcount": 6}, headers=enterprise.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "pending_review"
    assert [f["rule_id"] for f in edited.json()["compliance"]] == ["credit.fake_postings_upheld"]

    # The authority reviews it like any held posting; rejecting it records `posting_removed`.
    approved = await client.post(f"/v1/jobs/{held['id']}/review", json={"decision": "approve", "note": "核实真实"},
                                 headers=authority.headers)
    assert approved.json()["status"] == "open", approved.text
    # Once approved, later edits keep it open (the approval covers the hold, as for any held finding).
    edited = await client.patch(f"/v1/jobs/{held['id']}", json={"headcount": 7}, headers=enterprise.headers)
    assert edited.json()["status"] == "open", edited.text
    again = await post_job(client, enterprise, title="招聘电焊工 1名")
    assert again["status"] == "pending_review"
    rejected = await client.post(f"/v1/jobs/{again['id']}/review", json={"decision": "reject", "note": "虚假"},
                                 headers=authority.headers)
    assert rejected.json()["status"] == "closed", rejected.text
    credit = await ledger(client, authority, enterprise.org_id)
    assert [e["source"] for e in credit["ledger"]].count("posting_removed") == 1
    assert credit["score"] == 100 - 20 - 3 - 20 - 10


async def test_grade_is_shown_on_postings_to_an_authority(client: httpx.AsyncClient, make_org: MakeOrg,
                                                          authority: OrgKey) -> None:
    enterprise = await make_org("enterprise")
    job = await post_job(client, enterprise)
    await client.post(f"/v1/credit/{enterprise.org_id}/adjustments", headers=authority.headers,
                      json={"points": -50, "reason": "拖欠工资，劳动监察查实"})
    seen = await client.get(f"/v1/jobs/{job['id']}", headers=authority.headers)
    assert seen.json()["credit_grade"] == "D"
    listed = await client.get("/v1/jobs", headers=authority.headers)
    assert {i["credit_grade"] for i in listed.json()["items"]} == {"D"}
