"""Two postings with one external_ref at once: one is stored, the other is the same 409 a later request gets."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.conftest import MakeOrg
from tests.services.api.reports.support import job_body

ROUNDS = 6


async def test_one_external_ref_posted_twice_at_once_names_the_posting_that_holds_it(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    # The loser lost on the unique index and was answered "a concurrent change conflicted; retry", without the
    # reason and existing_id that tell an HR system's sync which posting holds its reference.
    enterprise = await make_org("enterprise")
    for _ in range(ROUNDS):
        ref = f"hr-{uuid.uuid4().hex}"
        answers = await asyncio.gather(
            client.post("/v1/jobs", json=job_body(external_ref=ref), headers=enterprise.headers),
            client.post("/v1/jobs", json=job_body(external_ref=ref, headcount=3), headers=enterprise.headers))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        stored = next(a for a in answers if a.status_code == 201).json()
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["reason"] == "duplicate_external_ref"
        assert refused.json()["existing_id"] == stored["id"]
        assert await db.fetchval("SELECT count(*) FROM job_postings WHERE org_id = $1::uuid AND external_ref = $2",
                                 enterprise.org_id, ref) == 1
