"""One transaction (one pooled connection) per request, and never a second connection while holding it."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg

SUBSCRIPTION = {"kind": "jobs", "query": {"q": "电焊"}, "channel": "inbox"}


async def test_more_concurrent_requests_than_pool_connections_all_complete(client: httpx.AsyncClient,
                                                                          make_org: MakeOrg,
                                                                          settings: ApiSettings) -> None:
    # create_subscription takes its transaction's connection before its caller: the key lookup used to take a
    # second one from the pool, and with more such requests in flight than connections every one waited.
    broker = await make_org("broker")
    in_flight = settings.database_pool_max + 5
    answers = await asyncio.wait_for(asyncio.gather(*(
        client.post("/v1/subscriptions", headers=broker.headers, json=SUBSCRIPTION) for _ in range(in_flight))),
        timeout=60)
    assert [a.status_code for a in answers] == [201] * in_flight


async def test_requests_in_flight_together_each_keep_their_own_request_state(client: httpx.AsyncClient,
                                                                             make_org: MakeOrg) -> None:
    # The test client handed every request the lifespan's one state dict (uvicorn gives each its own copy): a
    # request's key lookup read through another request's connection (500 "another operation is in progress")
    # and problems carried another request's id. Race tests through `client` depend on this.
    broker = await make_org("broker")
    request_ids = [uuid.uuid4().hex for _ in range(12)]
    answers = await asyncio.gather(*(
        client.get(f"/v1/workers/{uuid.uuid4()}", headers={**broker.headers, "X-Request-ID": request_id})
        for request_id in request_ids))
    assert [a.status_code for a in answers] == [404] * len(request_ids)
    assert [a.json()["request_id"] for a in answers] == request_ids
