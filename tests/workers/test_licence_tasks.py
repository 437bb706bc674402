"""A lapsed broker's licence renewed over the API: its available profiles are matched again, so the enterprises
whose postings opened during the lapse are notified of them; a renewal of a valid licence matches nothing."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import LICENCE_VALID_UNTIL, MakeOrg, OrgKey, start_date_in
from tests.services.api.matches.test_matches import job_body, post, record_licence, worker_body
from tests.services.indexing.pipeline import run_worker_burst, settle
from workers import licence_tasks


async def notified_about(db: asyncpg.Connection, enterprise: OrgKey) -> set[str]:
    rows = await db.fetch("""SELECT DISTINCT worker_id FROM notifications
                              WHERE recipient_org_id = $1::uuid AND event = 'match.created'""", enterprise.org_id)
    return {str(r["worker_id"]) for r in rows}


async def test_enterprises_hear_of_a_renewed_brokers_profiles(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, settings: ApiSettings, db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    profiles = {await post(client, "/v1/workers", worker_body(seq), broker) for seq in (141, 142, 143)}
    await run_worker_burst(settings)
    await record_licence(client, admin, broker, "2024-01-01")  # lapsed (withdrawn)
    await post(client, "/v1/jobs", job_body(), enterprise)  # opened during the lapse: matched without them
    await run_worker_burst(settings)
    await settle(settings)
    assert await notified_about(db, enterprise) == set()

    # A renewal of a licence that is still valid changes nothing for matching.
    other = await make_org("broker")
    await record_licence(client, admin, other, start_date_in(3 * 365))
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'broker.relicensed'") == 0

    # Each job matches one profile, then hands the rest over by id (as before arq's job timeout).
    monkeypatch.setattr(licence_tasks, "time_budget", lambda _resources: 0.0)
    await record_licence(client, admin, broker, LICENCE_VALID_UNTIL)
    await run_worker_burst(settings)
    assert await notified_about(db, enterprise) == profiles
    rows = await db.fetch("SELECT entity_id, done_at FROM outbox WHERE topic = 'broker.relicensed' ORDER BY id")
    assert len(rows) == 3  # one profile per job, the last one ending the chain
    assert all(r["done_at"] is not None for r in rows)

    # Run again (arq may): nothing new.
    await record_licence(client, admin, broker, "2024-01-01")
    await record_licence(client, admin, broker, LICENCE_VALID_UNTIL)
    await run_worker_burst(settings)
    assert await db.fetchval("""SELECT count(*) FROM notifications WHERE recipient_org_id = $1::uuid
                                   AND event = 'match.created'""", enterprise.org_id) == 3
