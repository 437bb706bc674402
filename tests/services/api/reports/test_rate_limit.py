"""Reports are rate-limited per API key (a Redis counter with the window as its expiry)."""

from __future__ import annotations

import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.reports.support import post_job, report

LIMIT = 3


@pytest.fixture
def settings(settings: ApiSettings) -> ApiSettings:
    return settings.model_copy(update={"report_rate_limit": LIMIT, "report_rate_window_seconds": 600})


async def test_a_flood_from_one_key_gets_429_with_retry_after(client: httpx.AsyncClient, make_org: MakeOrg,
                                                             admin: OrgKey) -> None:
    kiosk, enterprise = await make_org("kiosk"), await make_org("enterprise")
    jobs = [await post_job(client, enterprise, title=f"招聘焊工 {i}名") for i in range(LIMIT + 2)]
    replay_headers = {**kiosk.headers, "Idempotency-Key": "tap-0"}
    body = {"target": {"kind": "job", "id": jobs[0]["id"]}, "reason": "fake"}
    assert (await client.post("/v1/reports", json=body, headers=replay_headers)).status_code == 201
    # A replayed Idempotency-Key answers from the record and does not count again.
    assert (await client.post("/v1/reports", json=body, headers=replay_headers)).status_code == 201
    for job in jobs[1:LIMIT]:
        assert (await report(client, kiosk, "job", job["id"])).status_code == 201
    flooded = await report(client, kiosk, "job", jobs[LIMIT]["id"])
    assert flooded.status_code == 429
    assert flooded.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(flooded.headers["retry-after"]) <= 600
    assert flooded.json()["retry_after"] == int(flooded.headers["retry-after"])

    # Per key: another key of the same kiosk, or another reporter, is not blocked.
    second_key = await client.post(f"/v1/orgs/{kiosk.org_id}/keys", headers=admin.headers)  # operators issue kiosk keys
    assert second_key.status_code == 201, second_key.text
    other_headers = {"Authorization": f"Bearer {second_key.json()['api_key']}"}
    other = await client.post("/v1/reports", json={"target": {"kind": "job", "id": jobs[LIMIT]["id"]},
                                                   "reason": "fake"}, headers=other_headers)
    assert other.status_code == 201
    broker = await make_org("broker")
    assert (await report(client, broker, "job", jobs[LIMIT + 1]["id"])).status_code == 201
