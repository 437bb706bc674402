"""JSON request bodies take numbers and booleans as JSON writes them (services/api/json_scalars.py): `false` is not 0,
`0` is not false, "12" is not 12, 1.0 is not 1 and "true" is not true. Each is a 422 problem naming the field, and
nothing is stored; an integer where a number is asked (a wage of 6500) and dates as ISO text stay accepted."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.matches.test_matches import job_body, worker_body


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field], response.text


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node[part] = dict(node[part])
        node = node[part]
    node[leaf] = value
    return body


WORKER_CASES = [
    ("experience_years", False), ("experience_years", True), ("experience_years", "12"), ("experience_years", 6.0),
    ("willing_to_relocate", 1), ("willing_to_relocate", "true"),
    ("max_commute_km", True), ("max_commute_km", "30"),
    ("expected_wage.min", "6000"),
    ("consent.share_with_enterprises", 1), ("consent.contact_by_sms", 0), ("consent.contact_by_sms", "false"),
]


@pytest.mark.parametrize(("field", "value"), WORKER_CASES)
async def test_a_profile_with_a_mistyped_number_or_yes_no_is_refused_and_not_stored(
        client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection, field: str, value: Any) -> None:
    response = await client.post("/v1/workers", json=_with(worker_body(1), field, value), headers=broker.headers)
    assert_refused(response, field)
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


JOB_CASES = [("headcount", "5"), ("headcount", True), ("headcount", 5.0), ("age_min", False),
             ("wage.min", "6500"), ("wage.max", True), ("location.lat", "29.5")]


@pytest.mark.parametrize(("field", "value"), JOB_CASES)
async def test_a_posting_with_a_mistyped_number_is_refused_and_not_stored(
        client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection, field: str, value: Any) -> None:
    body = job_body(location={"lat": 29.5, "lng": 106.5})
    response = await client.post("/v1/jobs", json=_with(body, field, value), headers=enterprise.headers)
    assert_refused(response, field)
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


async def test_well_typed_bodies_are_accepted_integers_as_numbers_and_dates_as_text(
        client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> None:
    worker = await client.post("/v1/workers", json=worker_body(2, max_commute_km=30, experience_years=0),
                               headers=broker.headers)
    assert worker.status_code == 201, worker.text
    assert (worker.json()["max_commute_km"], worker.json()["experience_years"]) == (30, 0)
    assert worker.json()["available_from"] == "2026-01-01"
    job = await client.post("/v1/jobs", json=job_body(location={"lat": 29, "lng": 106.5}), headers=enterprise.headers)
    assert job.status_code == 201, job.text
    assert job.json()["wage"]["min"] == 6500


async def test_patches_are_as_strict_as_creates(client: httpx.AsyncClient, broker: OrgKey, enterprise: OrgKey) -> None:
    worker = await client.post("/v1/workers", json=worker_body(3), headers=broker.headers)
    assert worker.status_code == 201, worker.text
    patched = await client.patch(f"/v1/workers/{worker.json()['id']}", json={"experience_years": True},
                                 headers=broker.headers)
    assert_refused(patched, "experience_years")
    job = await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)
    assert job.status_code == 201, job.text
    patched = await client.patch(f"/v1/jobs/{job.json()['id']}", json={"headcount": "7"}, headers=enterprise.headers)
    assert_refused(patched, "headcount")
    assert (await client.get(f"/v1/jobs/{job.json()['id']}", headers=enterprise.headers)).json()["headcount"] == 5


async def test_preferences_subscriptions_and_credit_adjustments_are_strict(
        client: httpx.AsyncClient, broker: OrgKey, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    # `sms_to_workers: 0` was stored as false: the broker meant something, but not necessarily that.
    for value in (0, 1, "true"):
        refused = await client.put("/v1/notifications/preferences", json={"sms_to_workers": value},
                                   headers=broker.headers)
        assert_refused(refused, "sms_to_workers")
    stored = await client.get("/v1/notifications/preferences", headers=broker.headers)
    assert stored.json()["sms_to_workers"] is False

    for field, value in (("start_within_days", "7"), ("wage_min", True), ("radius_km", "5")):
        query = {"near": "29.5,106.5", "radius_km": 5, field: value}
        refused = await client.post("/v1/subscriptions", json={"kind": "jobs", "query": query},
                                    headers=broker.headers)
        assert_refused(refused, f"query.{field}")
    assert await db.fetchval("SELECT count(*) FROM notification_subscriptions") == 0

    authority = await make_org("authority")
    refused = await client.post(f"/v1/credit/{broker.org_id}/adjustments", json={"points": "5", "reason": "核查"},
                                headers=authority.headers)
    assert_refused(refused, "points")
