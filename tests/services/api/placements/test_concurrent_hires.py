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
