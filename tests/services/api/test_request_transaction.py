"""One transaction (one pooled connection) per request, and never a second connection while holding it."""

from __future__ import annotations

import asyncio

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
