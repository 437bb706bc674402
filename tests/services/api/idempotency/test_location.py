"""A create answers `Location` (RFC 9110 §15.3.2): the path of what it created (201), or of where an upload's
outcome is read (202). A replay of the same `Idempotency-Key` answers the same `Location` as the first response."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.placements.support import make_job, make_worker


async def _created_at_its_location(client: httpx.AsyncClient, org: OrgKey, path: str, *,
                                   json: dict[str, Any] | None = None, content: bytes | None = None,
                                   content_type: str | None = None, status: int = 201) -> dict[str, Any]:
    headers = {**org.headers, "Idempotency-Key": f"location-{path}"}
    if content_type:
        headers["Content-Type"] = content_type
    first = await client.post(path, json=json, content=content, headers=headers)
    assert first.status_code == status, first.text
    location = first.headers["location"]
    replay = await client.post(path, json=json, content=content, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert (replay.status_code, replay.headers["location"]) == (status, location)
    found = await client.get(location, headers=org.headers)
    assert found.status_code == 200, (location, found.text)
    body: dict[str, Any] = first.json()
    return {"location": location, "created": body, "found": found.json()}


async def test_every_create_answers_the_location_of_what_it_created(client: httpx.AsyncClient,
                                                                    make_org: MakeOrg, admin: OrgKey) -> None:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    authority = await make_org("authority", province="CQ")

    worker = await make_worker(client, broker)
    job = await make_job(client, enterprise)
    for org, path, body, key in (
        (enterprise, "/v1/placements", {"job_id": job["id"], "worker_id": worker["id"]}, "id"),
        (enterprise, "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["match.created"]}, "id"),
        (broker, "/v1/subscriptions", {"kind": "jobs", "query": {"q": "焊工"}, "channel": "inbox",
                                       "digest": "daily"}, "id"),
    ):
        seen = await _created_at_its_location(client, org, path, json=body)
        assert seen["location"] == f"{path}/{seen['created'][key]}"
        assert seen["found"]["id"] == seen["created"][key]

    org = await _created_at_its_location(client, admin, "/v1/orgs", json={
        "type": "enterprise", "name": "重庆某某制造有限公司", "contact": {"name": "李经理", "phone": "13800001111"}})
    assert org["location"] == f"/v1/orgs/{org['created']['org']['id']}"

    draft = await _created_at_its_location(client, authority, "/v1/catalogue/drafts", json={})
    assert draft["location"] == f"/v1/catalogue/versions/{draft['created']['version']}"
    assert draft["found"]["status"] == "draft"


async def test_worker_and_job_creates_answer_their_location(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    from tests.services.api.jobs.test_jobs import job_body
    from tests.services.api.worker_profiles.test_worker_profiles import worker_body

    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    for org, path, body in ((broker, "/v1/workers", worker_body()), (enterprise, "/v1/jobs", job_body())):
        seen = await _created_at_its_location(client, org, path, json=body)
        assert seen["location"] == f"{path}/{seen['created']['id']}"
        assert seen["found"]["id"] == seen["created"]["id"]


async def test_an_accepted_import_points_at_its_status(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    from tests.services.api.imports.test_job_imports import job_row, to_csv

    enterprise = await make_org("enterprise")
    seen = await _created_at_its_location(client, enterprise, "/v1/jobs/imports", content=to_csv([job_row(1)]),
                                          content_type="text/csv", status=202)
    assert seen["location"] == f"/v1/jobs/imports/{seen['created']['import_id']}"
    assert seen["found"]["import_id"] == seen["created"]["import_id"]



async def test_the_location_header_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()["paths"]
    for path, status in (("/v1/workers", "201"), ("/v1/jobs", "201"), ("/v1/placements", "201"),
                         ("/v1/webhooks", "201"), ("/v1/subscriptions", "201"), ("/v1/orgs", "201"),
                         ("/v1/catalogue/drafts", "201"), ("/v1/workers/imports", "202"), ("/v1/jobs/imports", "202")):
        assert "Location" in spec[path]["post"]["responses"][status]["headers"], path
