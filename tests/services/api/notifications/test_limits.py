"""Per-organisation caps on standing subscriptions and webhook endpoints: each one costs work on every change."""

from __future__ import annotations

import asyncio

import httpx

from services.api.notifications.service import MAX_SUBSCRIPTIONS_PER_ORG, MAX_WEBHOOKS_PER_ORG
from tests.conftest import MakeOrg

SUBSCRIPTION = {"kind": "jobs", "query": {"q": "电焊"}, "channel": "inbox"}
WEBHOOK = {"url": "http://127.0.0.1:9/hook", "events": ["match.created"]}


async def test_subscriptions_stop_at_the_cap_and_a_deleted_one_frees_a_place(client: httpx.AsyncClient,
                                                                              make_org: MakeOrg) -> None:
    broker, other = await make_org("broker"), await make_org("broker")
    # Concurrent requests cannot both take the last place.
    answers = await asyncio.gather(*(client.post("/v1/subscriptions", headers=broker.headers, json=SUBSCRIPTION)
                                     for _ in range(MAX_SUBSCRIPTIONS_PER_ORG + 3)))
    assert sorted(a.status_code for a in answers) == [201] * MAX_SUBSCRIPTIONS_PER_ORG + [409] * 3
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "too_many_subscriptions"
    # Another organisation is not affected.
    assert (await client.post("/v1/subscriptions", headers=other.headers, json=SUBSCRIPTION)).status_code == 201
    first = next(a for a in answers if a.status_code == 201).json()["id"]
    assert (await client.delete(f"/v1/subscriptions/{first}", headers=broker.headers)).status_code in (200, 204)
    assert (await client.post("/v1/subscriptions", headers=broker.headers, json=SUBSCRIPTION)).status_code == 201


async def test_webhook_endpoints_stop_at_the_cap(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    enterprise = await make_org("enterprise")
    for _ in range(MAX_WEBHOOKS_PER_ORG):
        created = await client.post("/v1/webhooks", headers=enterprise.headers, json=WEBHOOK)
        assert created.status_code == 201, created.text
    refused = await client.post("/v1/webhooks", headers=enterprise.headers, json=WEBHOOK)
    assert refused.status_code == 409
    assert refused.json()["reason"] == "too_many_webhooks"

