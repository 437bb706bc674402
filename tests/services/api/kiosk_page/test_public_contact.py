"""The kiosk detail and the public page show a posting's own recruiting contact, never the employer's registration
contact person (personal data given to the platform's operators, not for publication). Both show only open,
unexpired postings, and the public page escapes the enterprise's text."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import httpx

from tests.conftest import MakeOrg

PERSON = {"name": "冉小兰", "phone": "13912345678", "email": "ranxiaolan@example.cn"}


def _job(**extra: object) -> dict[str, object]:
    return {"title": "招聘电焊工", "description": "工厂招熟练电焊工，包吃包住。", "occupation_code": "6-18-02-04",
            "headcount": 2, "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"},
            "work_type": "full_time", "start_date": (date.today() + timedelta(days=3)).isoformat(),
            "benefits": ["包吃"], **extra}


async def test_detail_shows_the_postings_contact_only(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    enterprise = await make_org("enterprise", contact={**PERSON, "address": "重庆市九龙坡区"})
    kiosk = await make_org("kiosk")
    without = await client.post("/v1/jobs", json=_job(), headers=enterprise.headers)
    with_contact = await client.post("/v1/jobs", json=_job(contact={"name": "李经理", "phone": "023-68000000"}),
                                     headers=enterprise.headers)
    assert without.status_code == with_contact.status_code == 201, (without.text, with_contact.text)

    bare = await client.get(f"/v1/kiosk/jobs/{without.json()['id']}", headers=kiosk.headers)
    assert bare.status_code == 200, bare.text
    assert bare.json()["contact"] == {"employer": bare.json()["contact"]["employer"], "name": None, "phone": None,
                                      "note": None}
    page = await client.get(f"/jobs/{without.json()['id']}")
    assert page.status_code == 200
    for value in PERSON.values():
        assert value not in bare.text
        assert value not in page.text

    published = await client.get(f"/v1/kiosk/jobs/{with_contact.json()['id']}", headers=kiosk.headers)
    assert (published.json()["contact"]["name"], published.json()["contact"]["phone"]) == ("李经理", "023-68000000")
    assert "023-68000000" in (await client.get(f"/jobs/{with_contact.json()['id']}")).text


async def test_an_expired_posting_is_gone_before_the_sweep(client: httpx.AsyncClient, make_org: MakeOrg,
                                                            db: asyncpg.Connection) -> None:
    # The expiry sweep closes postings only now and then: until it runs, an expired posting is still 'open' in
    # the table, yet neither view may show it (a worker would call about a job that is no longer offered).
    enterprise = await make_org("enterprise")
    kiosk = await make_org("kiosk")
    job = (await client.post("/v1/jobs", json=_job(), headers=enterprise.headers)).json()
    assert (await client.get(f"/v1/kiosk/jobs/{job['id']}", headers=kiosk.headers)).status_code == 200
    await db.execute("UPDATE job_postings SET expires_at = now() - interval '1 minute' WHERE id = $1",
                     uuid.UUID(job["id"]))
    assert await db.fetchval("SELECT status FROM job_postings WHERE id = $1", uuid.UUID(job["id"])) == "open"
    assert (await client.get(f"/v1/kiosk/jobs/{job['id']}", headers=kiosk.headers)).status_code == 404
    assert (await client.get(f"/jobs/{job['id']}")).status_code == 404


async def test_the_public_page_escapes_the_enterprises_text(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # The page is public and served from our origin: markup typed into a posting must show as text, not run.
    enterprise = await make_org("enterprise")
    job = await client.post("/v1/jobs", json=_job(title="招聘电焊工<b>急</b>",
                                                  description="工厂招熟练电焊工<script>alert(1)</script>，包吃包住。",
                                                  benefits=["包吃<img src=x onerror=alert(2)>"]),
                            headers=enterprise.headers)
    assert job.status_code == 201, job.text
    page = await client.get(f"/jobs/{job.json()['id']}")
    assert page.status_code == 200, page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;急&lt;/b&gt;" in page.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in page.text
    for raw in ("<script>", "<b>", "<img"):
        assert raw not in page.text
