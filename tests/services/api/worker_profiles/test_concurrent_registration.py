"""The same person registered twice at once, and a profile changed while it is erased: one outcome each, a clear
409 for the loser, never a 500 (a unique violation leaking out) and never personal data left on a tombstone."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.conftest import MakeOrg
from tests.services.api.idempotency.test_concurrent_keys import worker_body

ROUNDS = 8


async def test_one_person_registered_twice_at_once_is_stored_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                                   db: asyncpg.Connection) -> None:
    broker, other_broker = await make_org("broker"), await make_org("broker")
    for round_ in range(2 * ROUNDS):
        person = worker_body()
        if round_ % 2:  # one broker, two references for the same person
            sends = [(broker, {**person, "external_ref": f"a-{uuid.uuid4().hex}"}),
                     (broker, {**person, "external_ref": f"b-{uuid.uuid4().hex}"})]
        else:  # two brokers
            sends = [(broker, person), (other_broker, person)]
        answers = await asyncio.gather(*(client.post("/v1/workers", json=body, headers=org.headers)
                                         for org, body in sends))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["reason"] == "duplicate_person"
        assert await db.fetchval("SELECT count(*) FROM worker_profiles WHERE status <> 'erased'") == 1
        owner, stored = next((org, a.json()) for (org, _), a in zip(sends, answers, strict=True)
                             if a.status_code == 201)
        assert (await client.delete(f"/v1/workers/{stored['id']}", headers=owner.headers)).status_code == 200


async def test_a_change_and_an_erasure_at_once_leave_a_bare_tombstone(client: httpx.AsyncClient, make_org: MakeOrg,
                                                                       db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    for _ in range(ROUNDS):
        created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
        worker_id = created.json()["id"]
        changed, erased = await asyncio.gather(
            client.patch(f"/v1/workers/{worker_id}", json={"notes": "腰不好", "skills": ["氩弧焊"]},
                         headers=broker.headers),
            client.delete(f"/v1/workers/{worker_id}", headers=broker.headers))
        assert erased.status_code == 200, erased.text
        if changed.status_code != 200:  # erased first: the change is refused for its state
            assert changed.status_code == 409, changed.text
            assert changed.json()["reason"] == "erased"
        row = await db.fetchrow("SELECT * FROM worker_profiles WHERE id = $1::uuid", worker_id)
        assert row["status"] == "erased"
        assert [c for c in ("name_enc", "id_number_enc", "id_number_bidx", "phone_enc", "notes_enc")
                if row[c] is not None] == []
        assert list(row["skills"]) == []
