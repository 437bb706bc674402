"""One worker, two employers hiring at the same moment: exactly one hire wins, the other is a clear 409."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.conftest import MakeOrg
from tests.services.api.placements.support import act, make_job, make_worker, propose


async def test_simultaneous_hires_of_one_worker_leave_one_employment(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    enterprises = [await make_org("enterprise"), await make_org("enterprise")]
    worker = await make_worker(client, broker)
    placement_ids = []
    for enterprise in enterprises:
        job = await make_job(client, enterprise)
        proposed = await propose(client, broker, job["id"], worker["id"])
        assert proposed.status_code == 201, proposed.text
        assert (await act(client, enterprise, proposed.json()["id"], "accept")).status_code == 200
        placement_ids.append(proposed.json()["id"])

    responses = await asyncio.gather(*(act(client, enterprise, placement_id, "hire")
                                       for enterprise, placement_id in zip(enterprises, placement_ids, strict=True)))

    assert sorted(r.status_code for r in responses) == [200, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.json()["reason"] == "worker_employed"
    assert await db.fetchval("SELECT count(*) FROM placements WHERE worker_id = $1::uuid AND status = 'hired'",
                             worker["id"]) == 1


async def test_the_database_refuses_a_second_employment(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    worker = await make_worker(client, broker)
    ids = []
    for _ in range(2):
        job = await make_job(client, enterprise)
        proposed = await propose(client, broker, job["id"], worker["id"])
        ids.append(proposed.json()["id"])
    hire = "UPDATE placements SET status = 'hired', accepted_at = now(), hired_at = now() WHERE id = $1::uuid"
    await db.execute(hire, ids[0])
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(hire, ids[1])


async def test_a_hire_and_the_close_of_its_posting_at_once_leave_one_consistent_outcome(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    # The hire locks the posting before the placement, the order a close takes them in (it ends the posting's
    # accepted placements): taken the other way round they deadlock, a 500 for one of the two.
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    for _ in range(8):
        job = await make_job(client, enterprise, headcount=2)
        worker = await make_worker(client, broker)
        proposed = await propose(client, broker, job["id"], worker["id"])
        placement_id = proposed.json()["id"]
        assert (await act(client, enterprise, placement_id, "accept")).status_code == 200

        hired, closed = await asyncio.gather(
            act(client, enterprise, placement_id, "hire"),
            client.post(f"/v1/jobs/{job['id']}/close", headers=enterprise.headers))

        assert closed.status_code == 200, closed.text
        status = await db.fetchval("SELECT status FROM placements WHERE id = $1::uuid", placement_id)
        if hired.status_code == 200:  # hired first, then closed: the hire stands
            assert status == "hired"
        else:  # closed first: the acceptance ended with the posting
            assert hired.status_code == 409, hired.text
            assert hired.headers["content-type"].startswith("application/problem+json")
            assert status == "ended"
        assert await db.fetchval("SELECT status FROM job_postings WHERE id = $1::uuid", job["id"]) == "closed"
