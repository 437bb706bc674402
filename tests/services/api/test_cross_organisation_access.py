"""Another organisation's object answers exactly like an object that does not exist (api.md: "valid key, wrong
role or another organisation's object → 403 or 404 (never leak that another organisation's object exists)").

The routes come from the app's own OpenAPI document, so a route added later with an id in its path is checked
without this test being edited, or fails until it says whose object that id names."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.imports.rows import to_csv, worker_row
from tests.services.api.notifications.conftest import FAST
from tests.services.api.placements.support import make_job, make_worker
from tests.services.indexing.pipeline import run_worker_burst

# Routes whose ids name no organisation's object: the shared catalogue (one for both cities, readable by every
# key, edited by the authorities together) and open postings shown to every kiosk and on the public page.
NOT_OWNED = {
    "/v1/catalogue/versions/{version}", "/v1/catalogue/versions/{version}/diff",
    "/v1/catalogue/versions/{version}/export", "/v1/catalogue/versions/{version}/changes",
    "/v1/catalogue/drafts/{version}/entries/{code}", "/v1/catalogue/drafts/{version}/import",
    "/v1/catalogue/drafts/{version}", "/v1/catalogue/drafts/{version}/approve",
    "/v1/catalogue/drafts/{version}/publish",
    "/jobs/{job_id}", "/v1/kiosk/jobs/{job_id}",
}

# A valid body (and required query) per route, so that the answer is the ownership check's and not validation's.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/v1/workers/{worker_id}"): {"skills": ["氩弧焊", "气保焊"]},
    ("PATCH", "/v1/jobs/{job_id}"): {"headcount": 3},
    ("POST", "/v1/orgs/{org_id}/keys"): {"label": "另一台电脑"},
    ("PUT", "/v1/orgs/{org_id}/licence"): {"number": "渝人社许字第2026-0099号", "issuer_province": "CQ",
                                           "valid_until": "2030-12-31"},
    ("POST", "/v1/reports/{report_id}/decision"): {"outcome": "dismissed", "note": "证据不足"},
    ("POST", "/v1/credit/{org_id}/adjustments"): {"points": -5, "reason": "核查"},
    ("POST", "/v1/jobs/{job_id}/review"): {"decision": "approve"},
    ("POST", "/v1/placements/{placement_id}/end"): {"reason": "declined"},
    ("POST", "/v1/placements/{placement_id}/retain"): {"milestone": 30},
}
QUERIES: dict[str, dict[str, str]] = {
    "/v1/workers/{worker_id}/personal-data": {"purpose": "核对身份"},
}


@dataclass
class World:
    owner: dict[str, OrgKey]  # by role: the organisations that own the objects
    strangers: list[OrgKey]  # one organisation of each role that owns none of them
    ids: dict[str, str]  # kind of object → the owners' object's id


# The role of the organisation that owns each kind of object.
OWNER_ROLE = {"worker": "broker", "job": "enterprise", "placement": "broker", "webhook": "enterprise",
              "delivery": "enterprise", "notification": "enterprise", "subscription": "enterprise", "report": "broker",
              "broker_org": "broker", "broker_key": "broker", "worker_import": "broker", "job_import": "enterprise"}


def kind_of(path: str, param: str) -> str:
    """The kind of object a path parameter names; a route this does not know fails the test."""
    kind = {
        "worker_id": "worker", "job_id": "job", "placement_id": "placement", "webhook_id": "webhook",
        "delivery_id": "delivery", "notification_id": "notification", "subscription_id": "subscription",
        "report_id": "report", "org_id": "broker_org", "key_id": "broker_key",
    }.get(param)
    if param == "import_id":
        kind = "worker_import" if path.startswith("/v1/workers/") else "job_import"
    assert kind is not None, f"{path}: whose object is {{{param}}}? add it to kind_of or NOT_OWNED"
    return kind


async def id_routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    document = (await client.get("/openapi.json")).json()
    return sorted((method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations if "{" in path and path not in NOT_OWNED)


@pytest.fixture
async def world(client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings,
                db: asyncpg.Connection) -> World:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    strangers = [await make_org(role) for role in ("broker", "enterprise", "kiosk")]
    hook = await client.post("/v1/webhooks", headers=enterprise.headers,
                             json={"url": "http://127.0.0.1:9/h", "events": ["match.created"]})
    assert hook.status_code == 201, hook.text
    subscription = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                     json={"kind": "workers", "query": {"adcode": ["500235"]}})
    assert subscription.status_code == 201, subscription.text
    job = await make_job(client, enterprise)
    worker = await make_worker(client, broker)
    placement = await client.post("/v1/placements", json={"job_id": job["id"], "worker_id": worker["id"]},
                                  headers=broker.headers)
    assert placement.status_code == 201, placement.text
    report = await client.post("/v1/reports", headers=broker.headers,
                               json={"target": {"kind": "job", "id": job["id"]}, "reason": "fake"})
    assert report.status_code == 201, report.text
    worker_import = await client.post("/v1/workers/imports", content=to_csv([worker_row(1)]).encode(),
                                      headers={**broker.headers, "Content-Type": "text/csv"})
    assert worker_import.status_code == 202, worker_import.text
    job_import = await client.post("/v1/jobs/imports", headers={**enterprise.headers, "Content-Type": "text/csv"},
                                   content="title,description,occupation_code,headcount,adcode,wage.min,wage.max,"
                                           "wage.unit,work_type,start_date\n招普工,流水线普工,6-18-02-04,2,500107,"
                                           "5000,6000,month,full_time,2030-01-01\n".encode())
    assert job_import.status_code == 202, job_import.text
    # Matching makes the enterprise's notice and its webhook delivery (which fails: nothing listens on port 9).
    await run_worker_burst(settings, **FAST)
    notification = await db.fetchval("SELECT id::text FROM notifications WHERE recipient_org_id = $1::uuid LIMIT 1",
                                     enterprise.org_id)
    delivery = await db.fetchval("SELECT id::text FROM webhook_deliveries WHERE webhook_id = $1::uuid LIMIT 1",
                                 hook.json()["id"])
    key = await db.fetchval("SELECT id::text FROM api_keys WHERE org_id = $1::uuid", broker.org_id)
    assert notification is not None
    assert delivery is not None
    assert key is not None
    return World(owner={"broker": broker, "enterprise": enterprise}, strangers=strangers, ids={
        "worker": worker["id"], "job": job["id"], "placement": placement.json()["id"], "webhook": hook.json()["id"],
        "delivery": delivery, "notification": notification, "subscription": subscription.json()["id"],
        "report": report.json()["id"], "broker_org": broker.org_id, "broker_key": key,
        "worker_import": worker_import.json()["import_id"], "job_import": job_import.json()["import_id"]})


def comparable(response: httpx.Response) -> tuple[int, Any]:
    """What a caller could tell apart: the status and the body, less the per-request fields (the path as asked
    and the request id)."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("instance", "request_id")}
    return response.status_code, body


async def test_another_organisations_object_answers_like_a_missing_one(
        client: httpx.AsyncClient, world: World) -> None:
    routes = await id_routes(client)
    assert len(routes) > 30  # the OpenAPI document really was read
    leaks, invalid = [], []
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        owned = path.format(**{p: world.ids[kind_of(path, p)] for p in params})
        missing = path.format(**{p: str(uuid.uuid4()) for p in params})
        body = BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
        query = QUERIES.get(path)
        for stranger in world.strangers:
            answers = [comparable(await client.request(method, url, json=body, params=query,
                                                       headers=stranger.headers)) for url in (missing, owned)]
            # A 422 would be validation's answer, not the ownership check's: the body above must be valid.
            if answers[0][0] == 422:
                invalid.append((method, path, answers[0]))
            if answers[0] != answers[1]:
                leaks.append((method, path, stranger.type, answers))
        if method == "GET":
            # The ids are the owners' own: the owner reads what the strangers may not.
            owner = world.owner[OWNER_ROLE[kind_of(path, params[-1])]]
            seen = await client.get(owned, params=query, headers=owner.headers)
            assert seen.status_code == 200, (path, seen.text)
    assert invalid == []
    assert leaks == []
