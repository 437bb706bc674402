"""Matching → notifications through the real pipeline: postings and profiles created through the API, indexed
and matched by a burst arq worker against real Meilisearch, recorded in PostgreSQL, delivered to a real HTTP
receiver on loopback with a verified Standard Webhooks signature.

A new or changed open posting → its best workers → their brokers (`job_for_worker`); a new or changed available,
consenting profile → the open postings it fits → their enterprises (`worker_for_job`). Exactly once per
(recipient, job, worker), however often the posting or profile is re-indexed or the handler re-runs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest

from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.db.pool import create_pool
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.matches.test_matches import job_body, worker_body
from tests.services.api.notifications.conftest import (  # noqa: F401 - fixtures used by name
    RunWorker,
    receiver,
    register_webhook,
    run_worker,
    worker_settings,
)
from tests.services.api.notifications.receiver import Receiver
from workers import match_tasks
from workers.context import WorkerResources
from workers.match_tasks import match_job, match_worker

NO_CONSENT = {"share_with_enterprises": False, "contact_by_sms": False, "given_at": "2025-11-20T10:00:00+08:00"}


async def post_worker(client: httpx.AsyncClient, broker: OrgKey, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/workers", json=body, headers=broker.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def post_job(client: httpx.AsyncClient, enterprise: OrgKey, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/jobs", json=job_body(**overrides), headers=enterprise.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    assert data["status"] == "open", data
    return data


async def matches_in_inbox(client: httpx.AsyncClient, org: OrgKey) -> list[dict[str, Any]]:
    response = await client.get("/v1/notifications", params={"limit": 100}, headers=org.headers)
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["event"] == "match.created"]


def pairs(items: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    return Counter((n["job_id"], n["worker_id"], n["data"]["direction"]) for n in items)


async def rerun(settings: ApiSettings, handler: Any, entity_id: str, **overrides: Any) -> None:
    """Call a match handler directly, as a retried or duplicated outbox job would."""
    ws = worker_settings(settings, **overrides)
    pool = await create_pool(str(ws.database_url), min_size=1, max_size=3)
    redis = create_arq_redis(str(ws.redis_url), queue_name=ws.arq_queue_name)
    search = create_search_client(ws.meili_url, ws.meili_master_key.get_secret_value())
    try:
        await handler(WorkerResources(settings=ws, pool=pool, redis=redis, search=search), entity_id)
    finally:
        await search.aclose()
        await redis.aclose(close_connection_pool=True)
        await pool.close()


async def test_a_welding_job_notifies_the_broker_of_a_nearby_consenting_welder_once(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: Any,
        run_worker: RunWorker, receiver: Receiver) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    broker = await make_org("broker")            # a consenting welder in 九龙坡; a webhook
    shy_broker = await make_org("broker")        # a welder in 九龙坡 who did not consent to being shown
    hook = await register_webhook(client, broker, receiver.url, events=["match.created"])
    receiver.secret = hook["secret"]
    welder_body = worker_body(101)
    welder = await post_worker(client, broker, welder_body)
    shy = await post_worker(client, shy_broker, worker_body(103, consent=NO_CONSENT))
    await run_worker()
    assert await matches_in_inbox(client, broker) == []  # no posting yet

    job = await post_job(client, enterprise)
    await run_worker()

    told = await matches_in_inbox(client, broker)
    assert pairs(told) == Counter({(job["id"], welder["id"], "job_for_worker"): 1})
    data = told[0]["data"]
    assert data["score"] >= worker_settings(settings).match_notify_min_score
    assert data["job"]["id"] == job["id"]
    assert data["job"]["county"] == {"adcode": "500107", "name": "九龙坡区"}
    assert {r["code"] for r in data["reasons"]} >= {"occupation", "distance"}
    assert await matches_in_inbox(client, shy_broker) == []
    assert await matches_in_inbox(client, enterprise) == []  # the posting's own organisation hears nothing
    # Public fields only, in the inbox and on the wire.
    wire = [json.loads(r.body) for r in receiver.requests]
    assert all(r.verified for r in receiver.requests)
    assert [(b["type"], b["data"]["job_id"], b["data"]["worker_id"]) for b in wire] == [
        ("match.created", job["id"], welder["id"])]
    for text in (json.dumps(told, ensure_ascii=False), receiver.requests[0].body.decode()):
        for secret in (welder_body["name"], welder_body["id_number"], welder_body["phone"], "私人备注",
                       "023-68000000", "李经理"):
            assert secret not in text
    assert shy["id"] not in receiver.requests[0].body.decode()

    # A PATCH without a material change re-indexes and re-matches: nothing new. Re-running the handler: same.
    patched = await client.patch(f"/v1/jobs/{job['id']}", json={"title": job_body()["title"]},
                                 headers=enterprise.headers)
    assert patched.status_code == 200, patched.text
    await run_worker()
    await rerun(settings, match_job, job["id"])
    await run_worker()
    assert pairs(await matches_in_inbox(client, broker)) == Counter({(job["id"], welder["id"], "job_for_worker"): 1})
    assert len(receiver.requests) == 1
    assert not receiver.duplicates
    topics = Counter(r["topic"] for r in await db.fetch("SELECT topic FROM outbox"))
    assert topics["job.index"] >= 2  # it did run again
    assert topics["job.matched"] >= 2
    assert topics["job.match"] == 0  # matched in the index job itself, not in a job of its own


async def test_a_new_worker_notifies_the_enterprise_with_a_fitting_open_job(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings,
        run_worker: RunWorker, receiver: Receiver) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    elsewhere = await make_org("enterprise")  # a welding job asking for a certificate the welder lacks
    broker = await make_org("broker")
    hook = await register_webhook(client, enterprise, receiver.url, events=["match.created"])
    receiver.secret = hook["secret"]
    job = await post_job(client, enterprise)
    await post_job(client, elsewhere, required_certificates=["焊工证", "高压电工证"])
    await run_worker()
    assert await matches_in_inbox(client, enterprise) == []

    body = worker_body(105)
    welder = await post_worker(client, broker, body)
    shy = await post_worker(client, broker, worker_body(107, consent=NO_CONSENT))
    await run_worker()

    told = await matches_in_inbox(client, enterprise)
    assert pairs(told) == Counter({(job["id"], welder["id"], "worker_for_job"): 1})
    worker = told[0]["data"]["worker"]
    assert worker["id"] == welder["id"]
    assert worker["home_county"] == {"adcode": "500107", "name": "九龙坡区"}
    assert await matches_in_inbox(client, elsewhere) == []
    assert await matches_in_inbox(client, broker) == []  # the worker's own broker is not told of its own change
    assert [json.loads(r.body)["data"]["worker_id"] for r in receiver.requests] == [welder["id"]]
    assert all(r.verified for r in receiver.requests)
    for secret in (body["name"], body["id_number"], body["phone"], "私人备注"):
        assert secret not in receiver.requests[0].body.decode()
        assert secret not in json.dumps(told, ensure_ascii=False)

    # Re-running the worker's match: nothing new; the profile without consent is never matched.
    await rerun(settings, match_worker, welder["id"])
    await rerun(settings, match_worker, shy["id"])
    await run_worker()
    assert pairs(await matches_in_inbox(client, enterprise)) == Counter(
        {(job["id"], welder["id"], "worker_for_job"): 1})
    assert len(receiver.requests) == 1


async def test_matches_below_the_threshold_notify_nobody(
        client: httpx.AsyncClient, make_org: MakeOrg, run_worker: RunWorker) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    broker = await make_org("broker")
    await post_worker(client, broker, worker_body(101))
    await run_worker(match_notify_min_score=0.999)
    await post_job(client, enterprise)
    await run_worker(match_notify_min_score=0.999)
    assert await matches_in_inbox(client, broker) == []
    assert await matches_in_inbox(client, enterprise) == []


async def test_top_n_per_posting(client: httpx.AsyncClient, make_org: MakeOrg, run_worker: RunWorker) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    brokers = [await make_org("broker") for _ in range(3)]
    for seq, broker in enumerate(brokers):
        await post_worker(client, broker, worker_body(111 + 2 * seq))
    await run_worker(match_notify_top_n=2)
    await post_job(client, enterprise)
    await run_worker(match_notify_top_n=2)
    told = [len(await matches_in_inbox(client, b)) for b in brokers]
    assert sorted(told) == [0, 1, 1]


async def test_the_top_n_are_found_past_candidates_the_rechecks_drop(
        client: httpx.AsyncClient, make_org: MakeOrg, db: Any, run_worker: RunWorker,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Reasons are worked out for the top N (+ a margin, 0 here) first; when the re-checks against PostgreSQL drop
    those, every candidate is ranked, so the best ones still available are notified."""
    monkeypatch.setattr(match_tasks, "_RANK_MARGIN", 0)
    enterprise = await make_org("enterprise")
    stale_broker, broker = await make_org("broker"), await make_org("broker")
    stale = [await post_worker(client, stale_broker, worker_body(121 + 2 * i)) for i in range(2)]
    # Scores below the two others (no skills, no experience, expects more than the job pays).
    await post_worker(client, broker, worker_body(127, skills=[], experience_years=0,
                                                  expected_wage={"min": 9500, "max": 12000, "unit": "month"}))
    await run_worker()
    # The two best stop being available in PostgreSQL; the index still has them (as before their re-index runs).
    await db.execute("UPDATE worker_profiles SET status = 'inactive' WHERE id = ANY($1::uuid[])",
                     [w["id"] for w in stale])
    await post_job(client, enterprise)
    await run_worker(match_notify_top_n=1, match_notify_min_score=0.0)
    assert len(await matches_in_inbox(client, broker)) == 1
    assert await matches_in_inbox(client, stale_broker) == []


async def test_matching_a_posting_waits_for_the_other_index_s_settings(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: Any,
        run_worker: RunWorker) -> None:  # noqa: F811
    # The workers index exists without its filterable attributes, as it does while another process's creation
    # is still applying them. Matching the new posting searches it with a status filter: it must wait for the
    # settings rather than fail ("Attribute status is not filterable") and leave its row to be retried.
    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        await search.create_index(index_name(settings.meili_index_prefix, "workers"), primary_key="id", wait=True)
    finally:
        await search.aclose()
    job = await post_job(client, await make_org("enterprise"))
    await run_worker()
    row = await db.fetchrow("SELECT done_at, attempts, last_error FROM outbox WHERE topic = 'job.index' "
                            "AND entity_id = $1", job["id"])
    assert (row["done_at"] is not None, row["attempts"], row["last_error"]) == (True, 1, None)
