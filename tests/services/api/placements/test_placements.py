"""Placements: lifecycle rules (allowed and refused transitions, by which party), transfer marking, headcount →
close and leaving search, bad input, visibility, audit trail, reminders."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.china_calendar import CHINA_TZ
from services.api.settings import ApiSettings
from tests.conftest import LICENCE_VALID_UNTIL, MakeOrg, OrgKey, start_date_in
from tests.services.api.pages import read_pages
from tests.services.api.placements.support import (
    act,
    fresh_id_number,
    hired_placement,
    make_job,
    make_worker,
    propose,
    start_today,
)
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle
from workers.placement_tasks import write_due_reminders


def problem_reason(response: httpx.Response) -> str | None:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    # `status` is the HTTP status (RFC 9457), never the placement's (that is `placement_status`).
    assert response.json()["status"] == response.status_code, response.text
    reason: str | None = response.json().get("reason")
    return reason


async def test_full_lifecycle_by_the_allowed_parties(client: httpx.AsyncClient, broker: OrgKey,
                                                     enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker, home="500235")  # 云阳县 (CQ)
    job = await make_job(client, enterprise, adcode="500107", headcount=3,  # 九龙坡区 (CQ)
                         start_date=start_date_in(0))  # starts today: the arrival may be confirmed

    created = await propose(client, enterprise, job["id"], worker["id"])
    assert created.status_code == 201, created.text
    placement = created.json()
    assert placement["status"] == "proposed"
    assert placement["proposed_by"] == "enterprise"
    assert (placement["transfer"], placement["cross_province"]) == (True, False)
    assert placement["origin"] == {"adcode": "500235", "name": "云阳县", "province": "CQ"}
    assert placement["destination"]["adcode"] == "500107"
    assert placement["next_actions"] == ["end"]  # the proposer cannot accept its own proposal
    pid = placement["id"]

    # The proposer may not accept; the other side may.
    refused = await act(client, enterprise, pid, "accept")
    assert refused.status_code == 403  # who may take a step is a permission (api.md: 403), not a state (409)
    assert problem_reason(refused) == "wrong_party"
    assert refused.json()["allowed"] == ["broker"]
    # Hiring before acceptance is an impossible transition.
    early = await act(client, enterprise, pid, "hire")
    assert (early.status_code, problem_reason(early)) == (409, "invalid_transition")

    accepted = await act(client, broker, pid, "accept", {"note": "工人同意"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"

    # Only the enterprise hires.
    by_broker = await act(client, broker, pid, "hire")
    assert (by_broker.status_code, problem_reason(by_broker)) == (403, "wrong_party")
    hired = await act(client, enterprise, pid, "hire")
    assert hired.status_code == 200, hired.text
    assert hired.json()["status"] == "hired"
    assert hired.json()["hired_at"] is not None

    # Only the broker confirms arrival.
    by_enterprise = await act(client, enterprise, pid, "arrive")
    assert (by_enterprise.status_code, problem_reason(by_enterprise)) == (403, "wrong_party")
    assert by_enterprise.json()["detail"].endswith("only the broker may confirm the worker's arrival")
    arrived = await act(client, broker, pid, "arrive")
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "arrived"

    # Retention at 30 days: refused before the date, skipping to 90 is refused.
    too_early = await act(client, broker, pid, "retain", {"milestone": 30})
    assert (too_early.status_code, problem_reason(too_early)) == (409, "too_early")
    assert "confirmable_from" in too_early.json()
    skip = await act(client, broker, pid, "retain", {"milestone": 90})
    assert (skip.status_code, problem_reason(skip)) == (409, "invalid_transition")
    bad_milestone = await act(client, broker, pid, "retain", {"milestone": 60})
    assert bad_milestone.status_code == 422

    # Move the arrival back in time (our own table) instead of waiting a month.
    await db.execute("UPDATE placements SET arrived_at = now() - interval '31 days' WHERE id = $1", pid)
    retained = await act(client, broker, pid, "retain", {"milestone": 30})
    assert retained.status_code == 200, retained.text
    assert retained.json()["status"] == "retained_30"
    not_yet_90 = await act(client, broker, pid, "retain", {"milestone": 90})
    assert (not_yet_90.status_code, problem_reason(not_yet_90)) == (409, "too_early")
    await db.execute("UPDATE placements SET arrived_at = now() - interval '91 days' WHERE id = $1", pid)
    retained_90 = await act(client, broker, pid, "retain", {"milestone": 90})
    assert retained_90.status_code == 200, retained_90.text
    assert retained_90.json()["status"] == "retained_90"

    # End needs a reason that fits the state.
    wrong_reason = await act(client, enterprise, pid, "end", {"reason": "declined"})
    assert wrong_reason.status_code == 422
    ended = await act(client, enterprise, pid, "end", {"reason": "contract_completed", "note": "合同期满"})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["end_reason"]) == ("ended", "contract_completed")
    again = await act(client, broker, pid, "end", {"reason": "other"})
    assert (again.status_code, problem_reason(again)) == (409, "invalid_transition")
    assert again.json()["placement_status"] == "ended"

    # The audit trail: every transition, who, when.
    detail = await client.get(f"/v1/placements/{pid}", headers=broker.headers)
    assert detail.status_code == 200
    events = detail.json()["events"]
    assert [(e["action"], e["to_status"], e["by"]) for e in events] == [
        ("propose", "proposed", "enterprise"), ("accept", "accepted", "broker"), ("hire", "hired", "enterprise"),
        ("arrive", "arrived", "broker"), ("retain", "retained_30", "broker"), ("retain", "retained_90", "broker"),
        ("end", "ended", "enterprise")]
    assert events[1]["detail"] == {"note": "工人同意"}
    with pytest.raises(asyncpg.PostgresError):
        await db.execute("DELETE FROM placement_events WHERE placement_id = $1", pid)
    # The one change allowed (erasure): removing a note, nothing else with it, nothing else instead; and only
    # once the person is erased (a live person's trail keeps its notes).
    for change in ("detail = detail || '{\"note\": \"改过\"}'", "detail = '{\"other\": 1}'", "at = now()",
                   "detail = detail - 'note', to_status = 'hired'", "detail = detail - 'note'"):
        with pytest.raises(asyncpg.PostgresError):
            await db.execute(f"UPDATE placement_events SET {change} WHERE placement_id = $1 AND action = 'accept'",
                             pid)
    assert (await client.delete(f"/v1/workers/{worker['id']}", headers=broker.headers)).status_code == 200
    assert (await client.get(f"/v1/placements/{pid}", headers=broker.headers)).json()["events"][1]["detail"] == {}
    for change in ("detail = detail || '{\"note\": \"改过\"}'", "at = now()"):
        with pytest.raises(asyncpg.PostgresError):
            await db.execute(f"UPDATE placement_events SET {change} WHERE placement_id = $1 AND action = 'accept'",
                             pid)


async def test_broker_proposal_is_accepted_by_the_enterprise_and_declined(client: httpx.AsyncClient,
                                                                          broker: OrgKey,
                                                                          enterprise: OrgKey) -> None:
    worker = await make_worker(client, broker, home="511322")  # 营山县 (SC)
    job = await make_job(client, enterprise, adcode="500107")
    created = await propose(client, broker, job["id"], worker["id"])
    assert created.status_code == 201, created.text
    placement = created.json()
    assert (placement["proposed_by"], placement["transfer"], placement["cross_province"]) == ("broker", True, True)
    broker_self_accept = await act(client, broker, placement["id"], "accept")
    assert (broker_self_accept.status_code, problem_reason(broker_self_accept)) == (403, "wrong_party")
    declined = await act(client, enterprise, placement["id"], "end", {"reason": "declined"})
    assert declined.status_code == 200
    # After an ended placement the pair may be proposed again.
    again = await propose(client, broker, job["id"], worker["id"])
    assert again.status_code == 201, again.text


async def test_a_broker_whose_licence_lapsed_proposes_nothing_new(client: httpx.AsyncClient, broker: OrgKey,
                                                                  enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker, home="511322")
    job = await make_job(client, enterprise, adcode="500107")
    under_way = await propose(client, broker, job["id"], worker["id"])
    assert under_way.status_code == 201, under_way.text
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1::uuid",
                     broker.org_id)
    other_job = await make_job(client, enterprise, adcode="500107")
    refused = await propose(client, broker, other_job["id"], worker["id"])
    assert refused.status_code == 403
    assert problem_reason(refused) == "licence_expired"
    # Nor may the enterprise accept the proposal made before the lapse: that would start a placement all the same.
    accepted = await act(client, enterprise, under_way.json()["id"], "accept")
    assert (accepted.status_code, problem_reason(accepted)) == (409, "broker_licence_expired")
    assert await db.fetchval("SELECT status FROM placements WHERE id = $1::uuid", under_way.json()["id"]) == "proposed"


async def test_a_broker_whose_licence_lapsed_cannot_accept_an_enterprise_s_proposal(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # Proposed while the broker was licensed; accepting it after the lapse would start a placement all the same.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    proposal = await propose(client, enterprise, job["id"], worker["id"])
    assert proposal.status_code == 201, proposal.text
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1::uuid",
                     broker.org_id)
    seen = await client.get(f"/v1/placements/{proposal.json()['id']}", headers=broker.headers)
    assert "accept" not in seen.json()["next_actions"]
    refused = await act(client, broker, proposal.json()["id"], "accept")
    assert (refused.status_code, problem_reason(refused)) == (403, "licence_expired")
    assert await db.fetchval("SELECT status FROM placements WHERE id = $1::uuid", proposal.json()["id"]) == "proposed"
    await db.execute("UPDATE organisations SET licence_valid_until = $2 WHERE id = $1::uuid",
                     broker.org_id, date.fromisoformat(LICENCE_VALID_UNTIL))
    renewed = await act(client, broker, proposal.json()["id"], "accept")
    assert renewed.status_code == 200, renewed.text


async def test_an_enterprise_cannot_start_a_placement_with_a_lapsed_brokers_worker(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # The enterprise knows the worker from matches seen before the lapse; its proposal would let the lapsed
    # broker start a placement by accepting it.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1::uuid",
                     broker.org_id)
    refused = await propose(client, enterprise, job["id"], worker["id"])
    assert (refused.status_code, problem_reason(refused)) == (409, "broker_licence_expired")
    assert await db.fetchval("SELECT count(*) FROM placements") == 0
    await db.execute("UPDATE organisations SET licence_valid_until = '2099-01-01' WHERE id = $1::uuid",
                     broker.org_id)
    renewed = await propose(client, enterprise, job["id"], worker["id"])
    assert renewed.status_code == 201, renewed.text


async def test_same_county_is_not_a_transfer(client: httpx.AsyncClient, broker: OrgKey,
                                             enterprise: OrgKey) -> None:
    worker = await make_worker(client, broker, home="500107")
    job = await make_job(client, enterprise, adcode="500107")
    placement = (await propose(client, broker, job["id"], worker["id"])).json()
    assert (placement["transfer"], placement["cross_province"]) == (False, False)


async def test_hires_reduce_headcount_and_the_last_one_closes_the_posting(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise, headcount=2)
    workers = [await make_worker(client, broker) for _ in range(3)]
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")

    first = await hired_placement(client, enterprise, broker, job["id"], workers[0]["id"])
    assert first["status"] == "hired"
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json()["status"] == "open"
    # A third proposal waits while one headcount is open; the second hire fills the posting.
    third = await propose(client, broker, job["id"], workers[2]["id"])
    assert third.status_code == 201
    assert (await act(client, enterprise, third.json()["id"], "accept")).status_code == 200
    await hired_placement(client, enterprise, broker, job["id"], workers[1]["id"])

    posting = await db.fetchrow("SELECT status, closed_reason FROM job_postings WHERE id = $1::uuid", job["id"])
    assert (posting["status"], posting["closed_reason"]) == ("closed", "filled")
    outbox = await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'job.index' AND entity_id = $1", job["id"])
    assert outbox >= 2  # created + closed

    # The filled posting leaves search.
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] not in await document_ids(settings, "jobs")

    # No more hires or proposals on it: the acceptance waiting for the last headcount ended with the posting.
    over = await act(client, enterprise, third.json()["id"], "hire")
    assert (over.status_code, problem_reason(over)) == (409, "invalid_transition")
    closed = await propose(client, broker, job["id"], (await make_worker(client, broker))["id"])
    assert (closed.status_code, problem_reason(closed)) == (409, "job_not_open")


async def test_retention_is_confirmable_on_the_whole_day_the_refusal_and_the_reminder_name(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise, start_date=start_date_in(0))
    worker = await make_worker(client, broker)
    pid = (await hired_placement(client, enterprise, broker, job["id"], worker["id"]))["id"]
    assert (await act(client, broker, pid, "arrive")).status_code == 200
    today = datetime.now(CHINA_TZ).date()

    # Arrived 29 days ago (China), just after midnight: told to come back tomorrow, whatever the hour now.
    await db.execute("UPDATE placements SET arrived_at = $2 WHERE id = $1::uuid", pid,
                     datetime.combine(today - timedelta(days=29), time(0, 0, 1), CHINA_TZ))
    early = await act(client, broker, pid, "retain", {"milestone": 30})
    assert (early.status_code, problem_reason(early)) == (409, "too_early")
    assert early.json()["confirmable_from"] == (today + timedelta(days=1)).isoformat()

    # Arrived 30 days ago late in the evening: today is the day named, and the day the reminder falls due, so the
    # broker may confirm now (not only from 23:59 on).
    await db.execute("UPDATE placements SET arrived_at = $2 WHERE id = $1::uuid", pid,
                     datetime.combine(today - timedelta(days=30), time(23, 59, 59), CHINA_TZ))
    assert await write_due_reminders(db, today=today) == 1
    shown = await client.get(f"/v1/placements/{pid}", headers=broker.headers)
    assert "retain:30" in shown.json()["next_actions"]
    retained = await act(client, broker, pid, "retain", {"milestone": 30})
    assert retained.status_code == 200, retained.text
    assert retained.json()["status"] == "retained_30"


async def test_a_persons_numbers_in_a_note_are_read_as_written_only_by_the_workers_broker(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, make_org: MakeOrg) -> None:
    # Brokers type the person's ID or mobile number into notes; the enterprise read them raw in the placement's
    # events and end_note, though it never sees a worker's raw ID number or phone (product.md).
    authority = await make_org("authority")
    job = await make_job(client, enterprise, start_date=start_date_in(0))
    worker = await make_worker(client, broker)
    pid = (await hired_placement(client, enterprise, broker, job["id"], worker["id"]))["id"]
    id_number = fresh_id_number()
    arrived = await act(client, broker, pid, "arrive", {"note": f"已到岗，身份证{id_number}，电话138 1234 5678"})
    assert arrived.status_code == 200, arrived.text
    ended = await act(client, broker, pid, "end", {"reason": "left", "note": "本人来电 13812345678 辞职"})
    assert ended.status_code == 200, ended.text

    def notes(placement: dict[str, Any]) -> list[str]:
        # The arrival's and the end's notes in the events, then the placement's end_note.
        return [e["detail"]["note"] for e in placement["events"] if "note" in e["detail"]] + [placement["end_note"]]

    as_broker = (await client.get(f"/v1/placements/{pid}", headers=broker.headers)).json()
    assert notes(as_broker) == [f"已到岗，身份证{id_number}，电话138 1234 5678", *["本人来电 13812345678 辞职"] * 2]
    for reader in (enterprise, authority):
        shown = (await client.get(f"/v1/placements/{pid}", headers=reader.headers)).json()
        assert notes(shown) == [f"已到岗，身份证{id_number[:6]}********{id_number[-4:]}，电话138****5678",
                                *["本人来电 138****5678 辞职"] * 2]
        listed = (await client.get("/v1/placements", headers=reader.headers)).json()["items"]
        assert [p["end_note"] for p in listed if p["id"] == pid] == ["本人来电 138****5678 辞职"]
    assert ended.json()["end_note"] == "本人来电 13812345678 辞职"  # the broker's own answer


async def test_bad_input_and_visibility(client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey,
                                        make_org: MakeOrg) -> None:
    other_broker = await make_org("broker")
    other_enterprise = await make_org("enterprise")
    authority = await make_org("authority")
    kiosk = await make_org("kiosk")
    worker = await make_worker(client, broker)
    no_consent = await make_worker(client, broker, consent=False)
    job = await make_job(client, enterprise)

    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await propose(client, broker, unknown, worker["id"])).status_code == 404
    assert (await propose(client, broker, job["id"], unknown)).status_code == 404
    # Neither side: another broker's worker, another enterprise's job → 404, never a hint it exists.
    assert (await propose(client, other_broker, job["id"], worker["id"])).status_code == 404
    assert (await propose(client, other_enterprise, job["id"], worker["id"])).status_code == 404
    # A worker without consent: the broker is told why; an enterprise cannot see the worker at all.
    refused = await propose(client, broker, job["id"], no_consent["id"])
    assert refused.status_code == 422
    assert problem_reason(refused) == "no_consent"
    assert (await propose(client, enterprise, job["id"], no_consent["id"])).status_code == 404
    # Roles that never propose.
    assert (await propose(client, authority, job["id"], worker["id"])).status_code == 403
    assert (await propose(client, kiosk, job["id"], worker["id"])).status_code == 403
    bad_body = await client.post("/v1/placements", json={"job_id": "nope"}, headers=broker.headers)
    assert bad_body.status_code == 422

    created = await propose(client, broker, job["id"], worker["id"])
    pid = created.json()["id"]
    duplicate = await propose(client, broker, job["id"], worker["id"])
    assert (duplicate.status_code, problem_reason(duplicate)) == (409, "duplicate")
    # A placement is invisible to organisations that are neither side; authorities read but do not act.
    assert (await client.get(f"/v1/placements/{pid}", headers=other_broker.headers)).status_code == 404
    assert (await act(client, other_enterprise, pid, "accept")).status_code == 404
    assert (await client.get(f"/v1/placements/{pid}", headers=authority.headers)).status_code == 200
    assert (await act(client, authority, pid, "accept")).status_code == 403
    assert (await act(client, enterprise, unknown, "accept")).status_code == 404

    # A closed posting takes no proposals.
    closed_job = await make_job(client, enterprise)
    assert (await client.post(f"/v1/jobs/{closed_job['id']}/close", headers=enterprise.headers)).status_code == 200
    closed = await propose(client, broker, closed_job["id"], (await make_worker(client, broker))["id"])
    assert (closed.status_code, problem_reason(closed)) == (409, "job_not_open")


async def test_a_held_posting_is_unknown_to_brokers(client: httpx.AsyncClient, broker: OrgKey,
                                                    enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A posting waiting for an authority's review is not public: a broker gets the same 404 as for a posting that
    # does not exist (not a 409 "not open" that would confirm it is there), and no placement is written.
    worker = await make_worker(client, broker)
    held = await client.post("/v1/jobs", json={
        "title": "招聘电焊工", "description": "工厂招熟练电焊工，限男性，包吃包住。", "occupation_code": "6-18-02-04",
        "headcount": 2, "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time", "start_date": start_date_in(4)}, headers=enterprise.headers)
    assert held.json()["status"] == "pending_review", held.text
    refused = await propose(client, broker, held.json()["id"], worker["id"])
    assert refused.status_code == 404, refused.text
    assert problem_reason(refused) is None
    assert await db.fetchval("SELECT count(*) FROM placements") == 0


async def test_an_erased_worker_is_refused_for_its_state_to_its_broker_and_unknown_to_others(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, make_org: MakeOrg,
        db: asyncpg.Connection) -> None:
    # Its broker still reads the tombstone (GET 200, PATCH 409 `erased`), so a proposal with it is refused for
    # the profile's state, as for any worker who is not available, not with the 404 of an unknown profile.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    assert (await client.delete(f"/v1/workers/{worker['id']}", headers=broker.headers)).status_code == 200
    refused = await propose(client, broker, job["id"], worker["id"])
    assert (refused.status_code, problem_reason(refused)) == (409, "worker_not_available")
    assert refused.json()["worker_status"] == "erased"
    # Anyone else cannot tell it from a profile that never existed.
    assert (await propose(client, enterprise, job["id"], worker["id"])).status_code == 404
    assert (await propose(client, await make_org("broker"), job["id"], worker["id"])).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM placements") == 0


async def test_idempotency_key_replays_the_proposal(client: httpx.AsyncClient, broker: OrgKey,
                                                   enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    body = {"job_id": job["id"], "worker_id": worker["id"]}
    headers = {**broker.headers, "Idempotency-Key": "p-1"}
    first = await client.post("/v1/placements", json=body, headers=headers)
    second = await client.post("/v1/placements", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await db.fetchval("SELECT count(*) FROM placements") == 1


async def test_lists_show_each_party_its_own_and_authorities_all(client: httpx.AsyncClient, broker: OrgKey,
                                                                 enterprise: OrgKey, make_org: MakeOrg) -> None:
    other_broker = await make_org("broker")
    authority = await make_org("authority")
    job = await make_job(client, enterprise, adcode="500107", headcount=5)
    mine = await make_worker(client, broker, home="500235")
    theirs = await make_worker(client, other_broker, home="511322")
    p1 = (await propose(client, broker, job["id"], mine["id"])).json()
    p2 = (await propose(client, other_broker, job["id"], theirs["id"])).json()
    await act(client, enterprise, p2["id"], "accept")

    def ids(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids(await client.get("/v1/placements", headers=broker.headers)) == {p1["id"]}
    assert ids(await client.get("/v1/placements", headers=other_broker.headers)) == {p2["id"]}
    assert ids(await client.get("/v1/placements", headers=enterprise.headers)) == {p1["id"], p2["id"]}
    assert ids(await client.get("/v1/placements", headers=authority.headers)) == {p1["id"], p2["id"]}
    assert ids(await client.get("/v1/placements?status=accepted", headers=authority.headers)) == {p2["id"]}
    assert ids(await client.get("/v1/placements?from_adcode=510000", headers=authority.headers)) == {p2["id"]}
    assert ids(await client.get("/v1/placements?from_adcode=500235&to_adcode=500107",
                                headers=authority.headers)) == {p1["id"]}
    page = await client.get("/v1/placements?limit=1", headers=authority.headers)
    assert len(page.json()["items"]) == 1
    assert page.json()["next_cursor"]
    rest = await client.get(f"/v1/placements?limit=1&cursor={page.json()['next_cursor']}", headers=authority.headers)
    assert ids(rest) | ids(page) == {p1["id"], p2["id"]}
    # A cursor read off another organisation's list is a mistake, told as one (it would page through a list whose
    # order position it does not belong to).
    foreign = await client.get(f"/v1/placements?limit=1&cursor={page.json()['next_cursor']}", headers=broker.headers)
    assert foreign.status_code == 422, foreign.text
    assert (await client.get("/v1/placements?from_adcode=12", headers=authority.headers)).status_code == 422


async def test_a_hired_person_is_made_available_by_ending_the_placement_not_by_a_patch(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> None:
    job = await make_job(client, enterprise, headcount=2)
    worker = await make_worker(client, broker)
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    back = await client.patch(f"/v1/workers/{worker['id']}", json={"status": "available"}, headers=broker.headers)
    assert (back.status_code, problem_reason(back)) == (409, "placement_open")
    profile = (await client.get(f"/v1/workers/{worker['id']}", headers=broker.headers)).json()
    assert (profile["status"], profile["searchable"]) == ("placed", False)
    # Other edits still go through.
    assert (await client.patch(f"/v1/workers/{worker['id']}", json={"skills": ["氩弧焊"]},
                               headers=broker.headers)).status_code == 200
    ended = await act(client, broker, placement["id"], "end", {"reason": "no_show"})
    assert ended.status_code == 200, ended.text
    profile = (await client.get(f"/v1/workers/{worker['id']}", headers=broker.headers)).json()
    assert profile["status"] == "available"


async def test_area_filters_take_full_width_digits_and_groupings_and_refuse_empty_areas(
    client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, make_org: MakeOrg,
) -> None:
    # ５００２３５ (typed with a Chinese input method) and GB/T 2260's 500100 / 500200 (Chongqing's districts /
    # counties, which the kiosk and subscriptions take) matched nothing, as did codes no county lies in: an
    # authority read "no placements" where there were some, or where it had mistyped.
    other_broker = await make_org("broker")
    authority = await make_org("authority")
    job = await make_job(client, enterprise, adcode="500107", headcount=5)  # 九龙坡区, a district
    county = await make_worker(client, broker, home="500235")  # 云阳县, a county
    sichuan = await make_worker(client, other_broker, home="511322")
    p1 = (await propose(client, broker, job["id"], county["id"])).json()
    p2 = (await propose(client, other_broker, job["id"], sichuan["id"])).json()

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/v1/placements?{query}", headers=authority.headers)
        assert response.status_code == 200, (query, response.text)
        return {item["id"] for item in response.json()["items"]}

    assert await ids("from_adcode=５００２３５") == {p1["id"]}
    assert await ids("from_adcode=500200") == {p1["id"]}
    assert await ids("from_adcode=500100") == set()
    assert await ids("to_adcode=500100") == {p1["id"], p2["id"]}
    assert await ids("to_adcode=５００１００&from_adcode=５１１３００") == {p2["id"]}
    for query, fields in (("from_adcode=999999", ["from_adcode"]), ("to_adcode=500300", ["to_adcode"]),
                          ("from_adcode=٥٠٠٢٣٥&to_adcode=510199", ["from_adcode", "to_adcode"])):
        refused = await client.get(f"/v1/placements?{query}", headers=authority.headers)
        assert refused.status_code == 422, (query, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == fields
        assert "/" in refused.json()["errors"][0]["message"]  # 中文 / English


async def test_reminders_ask_the_broker_at_the_right_dates(client: httpx.AsyncClient, broker: OrgKey,
                                                           enterprise: OrgKey, db: asyncpg.Connection,
                                                           settings: ApiSettings) -> None:
    start = date.fromisoformat(start_date_in(4))
    job = await make_job(client, enterprise, start_date=start.isoformat())
    worker = await make_worker(client, broker)
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    pid = placement["id"]

    async def reminders() -> list[tuple[str, str]]:
        response = await client.get("/v1/placements/reminders", headers=broker.headers)
        assert response.status_code == 200, response.text
        return [(r["kind"], r["due_on"]) for r in response.json()["items"]]

    assert await write_due_reminders(db, today=start - timedelta(days=1)) == 0
    assert await reminders() == []
    assert await write_due_reminders(db, today=start) == 1
    assert await write_due_reminders(db, today=start + timedelta(days=1)) == 0  # once only
    assert await reminders() == [("confirm_arrival", start.isoformat())]

    await start_today(db, job["id"])
    assert (await act(client, broker, pid, "arrive")).status_code == 200
    assert await reminders() == []  # resolved by the arrival
    arrived_on = (await db.fetchval("SELECT arrived_at FROM placements WHERE id = $1::uuid", pid)).date()
    assert await write_due_reminders(db, today=arrived_on + timedelta(days=29)) == 0
    assert await write_due_reminders(db, today=arrived_on + timedelta(days=31)) == 1
    assert [k for k, _ in await reminders()] == ["confirm_retention_30"]
    # Enterprises have no reminder list.
    assert (await client.get("/v1/placements/reminders", headers=enterprise.headers)).status_code == 403


async def test_the_arrival_reminder_follows_a_postponed_start(client: httpx.AsyncClient, broker: OrgKey,
                                                               enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # One of two hired, the enterprise postpones the start by a week: the broker was still asked to confirm the
    # arrival on the old date, a week before the job begins.
    start = date.fromisoformat(start_date_in(4))
    job = await make_job(client, enterprise, headcount=2, start_date=start.isoformat())
    worker = await make_worker(client, broker)
    await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    later = start + timedelta(days=7)
    moved = await client.patch(f"/v1/jobs/{job['id']}", json={"start_date": later.isoformat()},
                               headers=enterprise.headers)
    assert moved.status_code == 200, moved.text
    assert await write_due_reminders(db, today=start) == 0
    assert await write_due_reminders(db, today=later) == 1
    listed = await client.get("/v1/placements/reminders", headers=broker.headers)
    assert [(r["kind"], r["due_on"]) for r in listed.json()["items"]] == [("confirm_arrival", later.isoformat())]


async def test_reminders_are_paged_by_due_date_completely(client: httpx.AsyncClient, broker: OrgKey,
                                                          enterprise: OrgKey, make_org: MakeOrg,
                                                          db: asyncpg.Connection) -> None:
    # More than a page of open reminders (the list answered the first 100 and had no cursor: the 101st was never
    # seen), with due dates shared across page boundaries so the id breaks ties.
    job = await make_job(client, enterprise, headcount=9)
    placement_ids = []
    for _ in range(9):
        worker = await make_worker(client, broker)
        created = await propose(client, broker, job["id"], worker["id"])
        assert created.status_code == 201, created.text
        placement_ids.append(created.json()["id"])
    base = date.fromisoformat(start_date_in(4))
    kinds = ("confirm_arrival", "confirm_retention_30", "confirm_retention_90")
    for i, pid in enumerate(placement_ids):
        for k, kind in enumerate(kinds):
            await db.execute(
                """INSERT INTO placement_reminders (placement_id, broker_org_id, kind, due_on, resolved_at)
                   VALUES ($1::uuid, $2::uuid, $3, $4, CASE WHEN $5 THEN now() END)""",
                pid, broker.org_id, kind, base + timedelta(days=(i + k) % 4), i == 0 and k == 0)
    expected = [r["id"] for r in await db.fetch(
        """SELECT id FROM placement_reminders WHERE broker_org_id = $1::uuid AND resolved_at IS NULL
            ORDER BY due_on, id""", broker.org_id)]
    assert len(expected) == 26

    async def every_page(**params: str) -> tuple[list[int], list[int]]:
        pages = await read_pages(client, "/v1/placements/reminders", broker.headers, **params)
        return [item["id"] for page in pages for item in page["items"]], [len(page["items"]) for page in pages]

    # Default page: 20 (api.md), then the rest; every open reminder once, in order, none resolved.
    seen, sizes = await every_page()
    assert (seen, sizes) == (expected, [20, 6])
    seen, sizes = await every_page(limit="7")
    assert (seen, sizes) == (expected, [7, 7, 7, 5])
    assert (await every_page(limit="26"))[1] == [26]  # an exact last page ends with a null cursor

    first = (await client.get("/v1/placements/reminders", params={"limit": "5"}, headers=broker.headers)).json()
    cursor = first["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = f"{payload}.{('A' if signature[0] != 'A' else 'B')}{signature[1:]}"
    for bad in (tampered, "eyJmb3JnZWQiOnRydWV9.c2lnbmF0dXJl"):
        refused = await client.get("/v1/placements/reminders", params={"cursor": bad}, headers=broker.headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["cursor"]
    # Another broker's list is another list: its cursor is refused, not read from that position on.
    other = await make_org("broker")
    refused = await client.get("/v1/placements/reminders", params={"cursor": cursor}, headers=other.headers)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["cursor"]


async def test_a_note_with_u0000_is_refused_before_it_reaches_postgresql(client: httpx.AsyncClient, broker: OrgKey,
                                                                        enterprise: OrgKey) -> None:
    # The note goes into jsonb, which cannot hold U+0000; PostgreSQL's refusal quoted the JSON before it (here a
    # name and a phone) in the server's error log. Refused by the schema now, naming the field.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    pid = (await propose(client, enterprise, job["id"], worker["id"])).json()["id"]
    for action, body in (("accept", {"note": "张德旺 13912345678\u0000"}),
                         ("end", {"reason": "declined", "note": "\u0000"})):
        refused = await act(client, broker, pid, action, body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["note"], refused.text
    accepted = await act(client, broker, pid, "accept", {"note": "已联系"})
    assert accepted.status_code == 200, accepted.text
