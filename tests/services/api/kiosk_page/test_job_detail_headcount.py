"""The kiosk's posting detail (`/v1/kiosk/jobs/{id}`) and the public page (`/jobs/{id}`) show the headcount still
open (less hires), the same number as the posting's search document (what kiosk hits show)."""

from __future__ import annotations

import re

import httpx

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg
from tests.services.api.placements.support import hired_placement, make_job, make_worker
from tests.services.indexing.pipeline import get_document, run_worker_burst, settle


async def test_detail_views_show_the_remaining_headcount(client: httpx.AsyncClient, make_org: MakeOrg,
                                                         settings: ApiSettings) -> None:
    enterprise = await make_org("enterprise")
    broker = await make_org("broker")
    kiosk = await make_org("kiosk")
    job = await make_job(client, enterprise, headcount=3)
    untouched = await make_job(client, enterprise, headcount=3)
    await hired_placement(client, enterprise, broker, job["id"], (await make_worker(client, broker))["id"])

    detail = await client.get(f"/v1/kiosk/jobs/{job['id']}", headers=kiosk.headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["headcount"] == 2  # 3 wanted, 1 hired
    other = await client.get(f"/v1/kiosk/jobs/{untouched['id']}", headers=kiosk.headers)
    assert other.json()["headcount"] == 3

    page = await client.get(f"/jobs/{job['id']}")
    assert page.status_code == 200, page.text
    assert re.findall(r"<th>人数</th><td>(\d+) 人</td>", page.text) == ["2"]

    # The same number as its search document.
    await run_worker_burst(settings)
    await settle(settings)
    assert (await get_document(settings, "jobs", job["id"]))["headcount"] == 2

    # The hire that takes the last two: the posting is filled and leaves both views.
    for _ in range(2):
        await hired_placement(client, enterprise, broker, job["id"], (await make_worker(client, broker))["id"])
    assert (await client.get(f"/v1/kiosk/jobs/{job['id']}", headers=kiosk.headers)).status_code == 404
    assert (await client.get(f"/jobs/{job['id']}")).status_code == 404


async def test_the_public_pages_404_is_documented_as_html(client: httpx.AsyncClient) -> None:
    responses = (await client.get("/openapi.json")).json()["paths"]["/jobs/{job_id}"]["get"]["responses"]
    assert set(responses["404"]["content"]) == {"text/html"}
    missing = await client.get("/jobs/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.headers["content-type"].split(";")[0]) == (404, "text/html")
