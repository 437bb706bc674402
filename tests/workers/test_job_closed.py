"""`job.closed` → every organisation told about a posting (inbox, and webhooks subscribed to job.closed), exactly
once per close, whichever way the posting ended: its owner, the hire that filled it, an upheld report, a review
rejection, the expiry sweep. Recorded in the closing transaction, delivered by the real worker in burst mode."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.api.database import PendingWork
from services.api.notifications import service
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.notifications.conftest import (  # noqa: F401 - fixtures used by name
    Record,
    RunWorker,
    receiver,
    record,
    register_webhook,
    run_worker,
    uuid_of,
)
from tests.services.api.notifications.receiver import Receiver
from tests.services.api.placements.support import hired_placement, make_worker
from tests.services.api.reports.support import post_job, uphold_report
from workers.indexing_tasks import expire_postings


def told_about(org: OrgKey, job_id: str) -> Any:
    """A `match.created` (a job for one of the broker's workers), as the matching core records it."""
    async def work(conn: asyncpg.Connection, pending: PendingWork) -> Any:
        return await service.record_match_notification(
            conn, pending, recipient_org_id=uuid_of(org), job_id=uuid.UUID(job_id), worker_id=uuid.uuid4(),
            score=0.8, direction="job_for_worker", summary={"title": "电焊工"})

    return work


async def sweep_expired(settings: ApiSettings) -> int:
    from services.api.redis_connection import create_arq_redis
    from services.db.pool import create_pool
    from workers.context import WorkerResources
    from workers.settings import WorkerSettings

    pool = await create_pool(str(settings.database_url), min_size=1, max_size=2)
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        resources = WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool, redis=redis,
                                    search=None)  # type: ignore[arg-type]
        return await expire_postings({"resources": resources})
    finally:
        await redis.aclose(close_connection_pool=True)
        await pool.close()


async def job_closed(client: httpx.AsyncClient, org: OrgKey) -> Counter[tuple[str, str]]:
    response = await client.get("/v1/notifications", params={"limit": 100}, headers=org.headers)
    assert response.status_code == 200, response.text
    return Counter((n["job_id"], n["data"]["reason"]) for n in response.json()["items"] if n["event"] == "job.closed")


def delivered(at: Receiver) -> Counter[tuple[str, str]]:
    bodies = [json.loads(r.body) for r in at.requests]
    assert all(r.verified for r in at.requests)
    assert all(b["type"] == "job.closed" for b in bodies)
    return Counter((b["data"]["job_id"], b["data"]["reason"]) for b in bodies)


async def expire(db: asyncpg.Connection, job_id: str) -> None:
    await db.execute("UPDATE job_postings SET expires_at = now() - interval '1 minute' WHERE id = $1",
                     uuid.UUID(job_id))


async def test_every_way_a_posting_closes_notifies_once(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        record: Record, run_worker: RunWorker, receiver: Receiver) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    authority = await make_org("authority")
    hooked = await make_org("broker")       # told about every posting; a webhook subscribed to job.closed
    inbox_only = await make_org("broker")   # told about every posting; no webhook
    bystander = await make_org("broker")    # never told about any posting (it files the report)
    hook = await register_webhook(client, hooked, receiver.url, events=["job.closed"])
    receiver.secret = hook["secret"]

    by_owner = await post_job(client, enterprise)
    filled = await post_job(client, enterprise, headcount=1)
    reported = await post_job(client, enterprise)
    held = await post_job(client, enterprise, description="招电焊工，限本地户籍。")
    assert held["status"] == "pending_review"
    expired = await post_job(client, enterprise)
    expired_then_removed = await post_job(client, enterprise)
    jobs = [by_owner, filled, reported, held, expired, expired_then_removed]
    for job in jobs:
        await record(told_about(hooked, job["id"]))
        await record(told_about(inbox_only, job["id"]))
    await record(told_about(hooked, by_owner["id"]))  # told twice (two workers): still one job.closed per close

    # Each way to close, each in its own request (or sweep).
    assert (await client.post(f"/v1/jobs/{by_owner['id']}/close", headers=enterprise.headers)).status_code == 200
    worker = await make_worker(client, hooked)
    await hired_placement(client, enterprise, hooked, filled["id"], worker["id"])
    await uphold_report(client, bystander, authority, "job", reported["id"], "fake")
    rejected = await client.post(f"/v1/jobs/{held['id']}/review", json={"decision": "reject", "note": "户籍限制"},
                                 headers=authority.headers)
    assert rejected.status_code == 200, rejected.text
    await expire(db, expired["id"])
    await expire(db, expired_then_removed["id"])
    assert await sweep_expired(settings) == 2
    # An expired posting removed after a report afterwards: it had ended already, nothing new to tell.
    await uphold_report(client, bystander, authority, "job", expired_then_removed["id"], "filled")
    statuses = {r["id"]: (r["status"], r["closed_reason"]) for r in await db.fetch(
        "SELECT id::text, status, closed_reason FROM job_postings")}
    assert statuses == {by_owner["id"]: ("closed", "closed_by_owner"), filled["id"]: ("closed", "filled"),
                        reported["id"]: ("closed", "removed_after_report"),
                        held["id"]: ("closed", "rejected_in_review"), expired["id"]: ("expired", None),
                        expired_then_removed["id"]: ("closed", "removed_after_report")}

    await run_worker()

    expected = Counter({(by_owner["id"], "closed_by_owner"): 1, (filled["id"], "filled"): 1,
                        (reported["id"], "removed_after_report"): 1, (held["id"], "rejected_in_review"): 1,
                        (expired["id"], "expired"): 1, (expired_then_removed["id"], "expired"): 1})
    assert await job_closed(client, hooked) == expected
    assert await job_closed(client, inbox_only) == expected
    assert await job_closed(client, bystander) == Counter()
    assert await job_closed(client, enterprise) == Counter()
    assert delivered(receiver) == expected
    assert not receiver.duplicates

    # Closing again, sweeping again, running the worker again: nothing new anywhere.
    assert (await client.post(f"/v1/jobs/{by_owner['id']}/close", headers=enterprise.headers)).status_code == 200
    assert await sweep_expired(settings) == 0
    await run_worker()
    assert await job_closed(client, hooked) == expected
    assert len(receiver.requests) == len(expected)

    # A renewed posting that ends again is a new close: told once more.
    renewed = await client.patch(f"/v1/jobs/{expired['id']}", headers=enterprise.headers,
                                 json={"expires_at": (datetime.now(UTC) + timedelta(days=20)).isoformat()})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["status"] == "open"
    assert (await client.post(f"/v1/jobs/{expired['id']}/close", headers=enterprise.headers)).status_code == 200
    await run_worker()
    expected[(expired["id"], "closed_by_owner")] = 1
    assert await job_closed(client, hooked) == expected
    assert await job_closed(client, inbox_only) == expected
    assert delivered(receiver) == expected
    assert not receiver.duplicates
