"""Placements whose worker left the market after the proposal (profile set inactive or placed by the broker, or
erased), and arrivals confirmed before the job starts: refused with a 409 problem saying why, nothing changed."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.api.worker_profiles import repository as workers_repository
from tests.conftest import OrgKey, start_date_in
from tests.services.api.placements.support import act, hired_placement, make_job, make_worker, propose


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == 409
    return body


async def _state(db: asyncpg.Connection, placement_id: str, worker_id: str, job_id: str) -> tuple[Any, ...]:
    """Everything a transition could have written."""
    placement = await db.fetchrow("SELECT status, accepted_at, hired_at, arrived_at FROM placements WHERE id = $1",
                                  placement_id)
    events = await db.fetchval("SELECT count(*) FROM placement_events WHERE placement_id = $1", placement_id)
    worker = await db.fetchval("SELECT status FROM worker_profiles WHERE id = $1", worker_id)
    job = await db.fetchval("SELECT status FROM job_postings WHERE id = $1", job_id)
    return tuple(placement.values()) if placement else (), events, worker, job


async def _accepted(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey, job_id: str,
                    worker_id: str) -> str:
    created = await propose(client, broker, job_id, worker_id)
    assert created.status_code == 201, created.text
    accepted = await act(client, enterprise, created.json()["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    pid: str = created.json()["id"]
    return pid


@pytest.mark.parametrize("status", ["inactive", "placed"])
async def test_hire_of_a_worker_set_unavailable_is_refused(client: httpx.AsyncClient, broker: OrgKey,
                                                           enterprise: OrgKey, db: asyncpg.Connection,
                                                           status: str) -> None:
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise, headcount=1)
    pid = await _accepted(client, enterprise, broker, job["id"], worker["id"])
    patched = await client.patch(f"/v1/workers/{worker['id']}", json={"status": status}, headers=broker.headers)
    assert patched.status_code == 200, patched.text

    shown = await client.get(f"/v1/placements/{pid}", headers=enterprise.headers)
    assert "hire" not in shown.json()["next_actions"]  # not offered, since it would be refused
    before = await _state(db, pid, worker["id"], job["id"])
    refused = refusal(await act(client, enterprise, pid, "hire"))
    assert (refused["reason"], refused["worker_status"]) == ("worker_not_available", status)
    assert f"the worker's profile is {status}" in refused["detail"]
    # Nothing changed: the placement is still accepted, the profile keeps its status, the posting (headcount 1)
    # was not closed as filled.
    assert await _state(db, pid, worker["id"], job["id"]) == before
    assert before[0][0] == "accepted"
    assert before[3] == "open"

    # Back on the market: the hire goes through.
    again = await client.patch(f"/v1/workers/{worker['id']}", json={"status": "available"}, headers=broker.headers)
    assert again.status_code == 200, again.text
    assert (await act(client, enterprise, pid, "hire")).status_code == 200


async def test_accept_of_a_proposal_whose_worker_was_set_inactive_is_refused(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    created = await propose(client, broker, job["id"], worker["id"])
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    patched = await client.patch(f"/v1/workers/{worker['id']}", json={"status": "inactive"}, headers=broker.headers)
    assert patched.status_code == 200, patched.text

    assert "accept" not in (await client.get(f"/v1/placements/{pid}", headers=enterprise.headers)).json()[
        "next_actions"]
    before = await _state(db, pid, worker["id"], job["id"])
    refused = refusal(await act(client, enterprise, pid, "accept"))
    assert (refused["reason"], refused["worker_status"]) == ("worker_not_available", "inactive")
    assert await _state(db, pid, worker["id"], job["id"]) == before


async def test_erasure_ends_the_persons_proposals_and_acceptances(client: httpx.AsyncClient, broker: OrgKey,
                                                                  enterprise: OrgKey,
                                                                  db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    first = await make_job(client, enterprise, headcount=1)
    second = await make_job(client, enterprise)
    accepted = await _accepted(client, enterprise, broker, first["id"], worker["id"])
    proposed = (await propose(client, enterprise, second["id"], worker["id"])).json()["id"]

    assert (await client.delete(f"/v1/workers/{worker['id']}", headers=broker.headers)).status_code == 200

    for pid, was in ((accepted, "accepted"), (proposed, "proposed")):
        shown = (await client.get(f"/v1/placements/{pid}", headers=enterprise.headers)).json()
        assert (shown["status"], shown["end_reason"], shown["next_actions"]) == ("ended", "other", [])
        last = shown["events"][-1]
        assert (last["action"], last["from_status"], last["by"]) == ("end", was, None)
        assert last["detail"]["worker_erased"] is True
    # The hire a stale client still sends is refused, and the posting keeps its headcount.
    refused = refusal(await act(client, enterprise, accepted, "hire"))
    assert refused["reason"] == "invalid_transition"
    assert await db.fetchval("SELECT status FROM job_postings WHERE id = $1", first["id"]) == "open"


async def test_hire_of_an_erased_worker_left_accepted_is_refused(client: httpx.AsyncClient, broker: OrgKey,
                                                                 enterprise: OrgKey, db: asyncpg.Connection) -> None:
    """An acceptance an erasure did not end (written before erasures ended them, or committed just after one):
    the hire is still refused and writes nothing."""
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise, headcount=1)
    pid = await _accepted(client, enterprise, broker, job["id"], worker["id"])
    await workers_repository.erase(db, worker["id"])  # the profile's part of an erasure, placements untouched

    before = await _state(db, pid, worker["id"], job["id"])
    refused = refusal(await act(client, enterprise, pid, "hire"))
    assert (refused["reason"], refused["worker_status"]) == ("worker_not_available", "erased")
    assert "erased" in refused["detail"]
    assert await _state(db, pid, worker["id"], job["id"]) == before


async def test_arrival_before_the_job_starts_is_refused(client: httpx.AsyncClient, broker: OrgKey,
                                                        enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise, start_date=start_date_in(3))
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    pid = placement["id"]

    assert placement["next_actions"] == ["end"]  # the enterprise's
    shown = (await client.get(f"/v1/placements/{pid}", headers=broker.headers)).json()
    assert shown["next_actions"] == ["end"]  # no arrival offered that would be refused
    before = await _state(db, pid, worker["id"], job["id"])
    refused = refusal(await act(client, broker, pid, "arrive", {"note": "提前到了"}))
    assert (refused["reason"], refused["confirmable_from"]) == ("before_start_date", start_date_in(3))
    assert start_date_in(3) in refused["detail"]
    assert await _state(db, pid, worker["id"], job["id"]) == before

    # The enterprise brings the start forward (the posting's date as it is now counts): the arrival goes through.
    moved = await client.patch(f"/v1/jobs/{job['id']}", json={"start_date": start_date_in(0)},
                               headers=enterprise.headers)
    assert moved.status_code == 200, moved.text
    shown = (await client.get(f"/v1/placements/{pid}", headers=broker.headers)).json()
    assert shown["next_actions"] == ["arrive", "end"]
    arrived = await act(client, broker, pid, "arrive")
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "arrived"


async def test_an_erased_persons_hired_placement_still_records_the_arrival(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> None:
    """The hire happened: the placement goes on (figures count arrivals), as ARCHITECTURE's erasure says."""
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise, start_date=start_date_in(0))
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    assert (await client.delete(f"/v1/workers/{worker['id']}", headers=broker.headers)).status_code == 200
    shown = (await client.get(f"/v1/placements/{placement['id']}", headers=broker.headers)).json()
    assert shown["status"] == "hired"
    arrived = await act(client, broker, placement["id"], "arrive")
    assert arrived.status_code == 200, arrived.text


async def test_accept_and_hire_after_the_consent_to_share_was_withdrawn_are_refused(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A profile without consent to share is never shown to enterprises; one proposed before the broker withdrew it
    # could still be accepted and hired, handing the enterprise someone who said no.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise, headcount=1)
    pid = await _accepted(client, enterprise, broker, job["id"], worker["id"])
    proposed = await propose(client, broker, (await make_job(client, enterprise))["id"], worker["id"])
    assert proposed.status_code == 201, proposed.text
    withdrawn = {"share_with_enterprises": False, "contact_by_sms": True, "given_at": "2025-11-20T10:00:00+08:00"}
    patched = await client.patch(f"/v1/workers/{worker['id']}", json={"consent": withdrawn}, headers=broker.headers)
    assert patched.status_code == 200, patched.text

    shown = await client.get(f"/v1/placements/{pid}", headers=enterprise.headers)
    assert "hire" not in shown.json()["next_actions"]
    before = await _state(db, pid, worker["id"], job["id"])
    refused = refusal(await act(client, enterprise, pid, "hire"))
    assert (refused["reason"], refused["worker_status"]) == ("worker_not_available", "not_shared")
    assert "no longer consents to sharing" in refused["detail"]
    assert await _state(db, pid, worker["id"], job["id"]) == before
    other = await client.get(f"/v1/placements/{proposed.json()['id']}", headers=enterprise.headers)
    assert "accept" not in other.json()["next_actions"]
    assert refusal(await act(client, enterprise, proposed.json()["id"], "accept"))["worker_status"] == "not_shared"


async def test_an_enterprise_cannot_propose_a_profile_held_for_review(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # Held profiles are not shown to enterprises; a refusal naming their status (409) said there was one.
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    await db.execute("UPDATE worker_profiles SET held_for_review = true WHERE id = $1", worker["id"])
    response = await propose(client, enterprise, job["id"], worker["id"])
    assert response.status_code == 404, response.text
    assert await db.fetchval("SELECT count(*) FROM placements") == 0


async def test_accept_after_the_posting_expired_is_refused_before_the_sweep(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    created = await propose(client, broker, job["id"], worker["id"])
    assert created.status_code == 201, created.text
    # Past its expiry, not yet swept (the sweep runs every minute): it only looks open.
    await db.execute("UPDATE job_postings SET expires_at = now() - interval '1 second' WHERE id = $1", job["id"])
    refused = refusal(await act(client, enterprise, created.json()["id"], "accept"))
    assert (refused["reason"], refused["job_status"]) == ("job_not_open", "expired")
    assert await db.fetchval("SELECT status FROM placements WHERE id = $1", created.json()["id"]) == "proposed"
