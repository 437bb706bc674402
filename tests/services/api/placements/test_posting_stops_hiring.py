"""A posting that stops taking hires (filled, closed by its owner, expired) takes its proposals and acceptances
with it: they end in the closing transaction, say why in their audit trail, their brokers are told, and
`next_actions` never offers a hire that would be refused."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.placements import service
from services.api.placements.schemas import PlacementCreate
from services.api.placements.service import Actor
from services.api.settings import ApiSettings
from services.db.pool import connect
from tests.conftest import OrgKey
from tests.services.api.placements.support import act, hired_placement, make_job, make_worker, propose
from tests.workers.test_job_closed import expire, job_closed, sweep_expired

# Every test takes `db`: it empties the tables afterwards, so the hires made here leave no due reminders behind.


async def open_pair(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey,
                    job_id: str) -> tuple[str, str]:
    """A proposal still waiting and one accepted, both by the broker."""
    proposed = await propose(client, broker, job_id, (await make_worker(client, broker))["id"])
    accepted = await propose(client, broker, job_id, (await make_worker(client, broker))["id"])
    assert (proposed.status_code, accepted.status_code) == (201, 201)
    assert (await act(client, enterprise, accepted.json()["id"], "accept")).status_code == 200
    return proposed.json()["id"], accepted.json()["id"]


async def placement(client: httpx.AsyncClient, org: OrgKey, placement_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/placements/{placement_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def assert_ended_by_posting(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey,
                                  placement_id: str, was: str, why: str) -> None:
    for org in (enterprise, broker):
        seen = await placement(client, org, placement_id)
        assert (seen["status"], seen["end_reason"], seen["next_actions"]) == ("ended", "other", []), seen
        assert why in seen["end_note"]
        last = seen["events"][-1]
        assert (last["action"], last["from_status"], last["to_status"], last["by"]) == ("end", was, "ended", None)
        assert last["detail"]["posting_closed"] == why


async def test_the_hire_that_fills_a_posting_ends_its_other_proposals_and_acceptances(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise, headcount=1)
    proposed, accepted = await open_pair(client, enterprise, broker, job["id"])
    await hired_placement(client, enterprise, broker, job["id"], (await make_worker(client, broker))["id"])

    await assert_ended_by_posting(client, enterprise, broker, proposed, "proposed", "filled")
    await assert_ended_by_posting(client, enterprise, broker, accepted, "accepted", "filled")
    # Told, though no match notification about the posting ever reached the broker (it proposed on its own).
    assert (await job_closed(client, broker))[(job["id"], "filled")] == 1
    refused = await act(client, enterprise, accepted, "hire")
    assert (refused.status_code, refused.json()["reason"]) == (409, "invalid_transition")


async def test_closing_a_posting_ends_its_open_placements_but_not_its_hires(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job = await make_job(client, enterprise, headcount=3)
    hired = await hired_placement(client, enterprise, broker, job["id"], (await make_worker(client, broker))["id"])
    proposed, accepted = await open_pair(client, enterprise, broker, job["id"])

    closed = await client.post(f"/v1/jobs/{job['id']}/close", headers=enterprise.headers)
    assert closed.status_code == 200, closed.text

    await assert_ended_by_posting(client, enterprise, broker, proposed, "proposed", "closed_by_owner")
    await assert_ended_by_posting(client, enterprise, broker, accepted, "accepted", "closed_by_owner")
    assert (await placement(client, broker, hired["id"]))["status"] == "hired"  # the worker holds the job
    assert (await job_closed(client, broker))[(job["id"], "closed_by_owner")] == 1


async def test_the_expiry_sweep_ends_open_placements_and_hire_is_not_offered_before_it(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection,
        settings: ApiSettings) -> None:
    job = await make_job(client, enterprise, headcount=2)
    proposed, accepted = await open_pair(client, enterprise, broker, job["id"])
    assert (await placement(client, enterprise, accepted))["next_actions"] == ["hire", "end"]

    await expire(db, job["id"])
    # Past its expiry the posting refuses hires before the sweep marks it: no hire offered meanwhile.
    assert (await placement(client, enterprise, accepted))["next_actions"] == ["end"]
    refused = await act(client, enterprise, accepted, "hire")
    assert (refused.status_code, refused.json()["reason"]) == (409, "job_not_open")

    await sweep_expired(settings)
    await assert_ended_by_posting(client, enterprise, broker, proposed, "proposed", "expired")
    await assert_ended_by_posting(client, enterprise, broker, accepted, "accepted", "expired")


async def test_hire_is_not_offered_for_a_worker_hired_elsewhere(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    worker = await make_worker(client, broker)
    first, second = await make_job(client, enterprise), await make_job(client, enterprise)
    waiting = await propose(client, broker, second["id"], worker["id"])
    assert waiting.status_code == 201, waiting.text
    assert (await act(client, enterprise, waiting.json()["id"], "accept")).status_code == 200
    await hired_placement(client, enterprise, broker, first["id"], worker["id"])

    listed = await client.get("/v1/placements", params={"status": "accepted"}, headers=enterprise.headers)
    assert [p["next_actions"] for p in listed.json()["items"]] == [["end"]]
    refused = await act(client, enterprise, waiting.json()["id"], "hire")
    assert (refused.status_code, refused.json()["reason"]) == (409, "worker_employed")


async def test_a_proposal_holds_off_the_close_of_its_posting_until_it_commits(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey, db: asyncpg.Connection,
        database_url: str) -> None:
    # Else a close committing while a proposal is in flight ends the placements it sees, and the proposal then
    # commits an open placement on a closed posting.
    job = await make_job(client, enterprise)
    worker = await make_worker(client, broker)
    proposing = await connect(database_url)
    try:
        async with proposing.transaction():
            actor = Actor(org_id=uuid.UUID(broker.org_id), key_id=None, role="broker")
            await service.propose(proposing, actor, PlacementCreate(job_id=job["id"], worker_id=worker["id"]))
            async with db.transaction():
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await db.execute("SELECT 1 FROM job_postings WHERE id = $1::uuid FOR UPDATE NOWAIT", job["id"])
    finally:
        await proposing.close()
