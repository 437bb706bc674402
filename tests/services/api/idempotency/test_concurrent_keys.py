"""One Idempotency-Key sent twice at once (a client's retry fired while the first request is still in flight):
one object is created and the other request answers with the first response, as a retry after it would; with
another body, the other request is told the key was used for a different request. Never a second object, never
the create's own refusal of a duplicate, never a 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.placements.support import fresh_id_number, fresh_phone, make_job, make_worker
from tests.services.api.reports.support import job_body

ROUNDS = 8


def worker_body() -> dict[str, Any]:
    return {
        "name": "张德旺", "id_number": fresh_id_number(), "phone": fresh_phone(), "home_adcode": "500235",
        "occupations": ["6-18-02-04"], "skills": [], "certificates": [], "desired_adcodes": [],
        "willing_to_relocate": True, "available_from": "2026-01-01", "work_types": ["full_time"],
        "consent": {"share_with_enterprises": True, "contact_by_sms": False,
                    "given_at": "2026-01-01T10:00:00+08:00"},
    }


async def both_at_once(client: httpx.AsyncClient, org: OrgKey, path: str,
                       first: dict[str, Any], second: dict[str, Any]) -> list[httpx.Response]:
    headers = {**org.headers, "Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    return list(await asyncio.gather(client.post(path, json=first, headers=headers),
                                     client.post(path, json=second, headers=headers)))


def assert_created_once_and_replayed(answers: list[httpx.Response]) -> None:
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert sorted(a.headers.get("idempotent-replayed", "no") for a in answers) == ["no", "true"]
    assert answers[0].content == answers[1].content


def assert_created_once_and_refused(answers: list[httpx.Response]) -> None:
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "idempotency_key_reused"


Body = Callable[[], Awaitable[dict[str, Any]]]


async def race(client: httpx.AsyncClient, db: asyncpg.Connection, org: OrgKey, path: str, body: Body,
               other: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
               count: Callable[[], Awaitable[int]]) -> None:
    for _ in range(ROUNDS):
        before = await count()
        same = await body()
        assert_created_once_and_replayed(await both_at_once(client, org, path, same, same))
        assert await count() == before + 1
        first = await body()
        assert_created_once_and_refused(await both_at_once(client, org, path, first, await other(first)))
        assert await count() == before + 2


async def test_a_worker_sent_twice_at_once_is_registered_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                               db: asyncpg.Connection) -> None:
    # The loser used to be told 409 duplicate_person ("you have already registered this person").
    broker = await make_org("broker")

    async def body() -> dict[str, Any]:
        return worker_body()

    async def count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM worker_profiles WHERE broker_org_id = $1::uuid",
                                     broker.org_id))

    async def other(first: dict[str, Any]) -> dict[str, Any]:
        return {**first, "external_ref": f"crm-{uuid.uuid4().hex}"}

    await race(client, db, broker, "/v1/workers", body, other, count)


async def test_a_posting_sent_twice_at_once_is_posted_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                           db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")

    async def body() -> dict[str, Any]:
        return job_body()

    async def count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM job_postings WHERE org_id = $1::uuid", enterprise.org_id))

    async def other(first: dict[str, Any]) -> dict[str, Any]:
        return {**first, "headcount": 7}

    await race(client, db, enterprise, "/v1/jobs", body, other, count)


async def test_a_proposal_sent_twice_at_once_is_made_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                          db: asyncpg.Connection) -> None:
    # The loser used to be told 409 duplicate ("a live placement for this pair exists").
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    job = await make_job(client, enterprise, headcount=5)

    async def body() -> dict[str, Any]:
        worker = await make_worker(client, broker)
        return {"job_id": job["id"], "worker_id": worker["id"]}

    async def count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM placements WHERE job_id = $1::uuid", job["id"]))

    async def other(first: dict[str, Any]) -> dict[str, Any]:
        return await body()

    await race(client, db, broker, "/v1/placements", body, other, count)


async def test_a_report_sent_twice_at_once_is_filed_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                         db: asyncpg.Connection) -> None:
    reporter, enterprise = await make_org("broker"), await make_org("enterprise")

    async def body() -> dict[str, Any]:
        job = await make_job(client, enterprise)
        return {"target": {"kind": "job", "id": job["id"]}, "reason": "fake"}

    async def count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM reports WHERE reporter_org_id = $1::uuid",
                                     reporter.org_id))

    async def other(first: dict[str, Any]) -> dict[str, Any]:
        return {**first, "reason": "fees"}

    await race(client, db, reporter, "/v1/reports", body, other, count)


async def test_a_webhook_and_an_organisation_sent_twice_at_once_are_created_once(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, db: asyncpg.Connection) -> None:
    enterprise = await make_org("enterprise")
    for _ in range(4):  # 10 endpoints per organisation at most
        hook = {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex[:8]}", "events": ["match.created"]}
        assert_created_once_and_replayed(await both_at_once(client, enterprise, "/v1/webhooks", hook, hook))
    assert await db.fetchval("SELECT count(*) FROM webhook_endpoints WHERE org_id = $1::uuid", enterprise.org_id) == 4

    async def body() -> dict[str, Any]:
        return {"type": "enterprise", "name": f"重庆机电-{uuid.uuid4().hex[:6]}"}

    async def count() -> int:
        return int(await db.fetchval("SELECT count(*) FROM organisations"))

    async def other(first: dict[str, Any]) -> dict[str, Any]:
        return {**first, "name": first["name"] + "二厂"}

    await race(client, db, admin, "/v1/orgs", body, other, count)


async def test_one_expired_key_reused_on_two_paths_at_once_does_not_deadlock(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    # POST /v1/workers looks its key up ahead of the create (a lapsed licence still replays), which deletes an
    # expired record; taken before the key's lock, that row lock could meet a request on another path holding the
    # key and deleting the same row.
    broker = await make_org("broker")
    for _ in range(ROUNDS):
        key = f"reused-{uuid.uuid4().hex}"
        headers = {**broker.headers, "Idempotency-Key": key}
        first = await client.post("/v1/subscriptions", json={"kind": "jobs"}, headers=headers)
        assert first.status_code == 201, first.text
        await db.execute("UPDATE idempotency_records SET created_at = now() - interval '25 hours' WHERE key = $1", key)
        answers = await asyncio.gather(client.post("/v1/workers", json=worker_body(), headers=headers),
                                       client.post("/v1/subscriptions", json={"kind": "jobs", "query": {"q": "电焊"}},
                                                   headers=headers))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.json()["reason"] == "idempotency_key_reused"
