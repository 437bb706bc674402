"""Free text shown to others refuses control characters (services/api/sealed_text.py), naming the field; text that
must say something refuses one made only of invisible characters. Tabs and line breaks stay text."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.matches.test_matches import job_body, worker_body

BELL, ESCAPE = "\x07", "\x1b[2J"


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field], response.text


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": f"招聘电焊工{BELL}5名"}, "title"),
    ({"description": f"包吃包住{ESCAPE}"}, "description"),
    ({"address": f"九龙坡区{BELL}"}, "address"),
    ({"benefits": ["包吃", f"包住{ESCAPE}"]}, "benefits"),
    ({"required_certificates": [f"焊工证{BELL}"]}, "required_certificates"),
])
async def test_a_posting_with_control_characters_is_refused(
        client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection, overrides: dict[str, Any],
        field: str) -> None:
    # They reached the kiosk page, the search index and webhook bodies as they came.
    assert_refused(await client.post("/v1/jobs", json=job_body(**overrides), headers=enterprise.headers), field)
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"labour_brand": f"巴渝大嫂{BELL}"}, "labour_brand"),
    ({"skills": ["氩弧焊", f"二保{ESCAPE}焊"]}, "skills"),
    ({"occupations": [f"焊工{BELL}"]}, "occupations"),
])
async def test_a_profile_with_control_characters_in_its_public_text_is_refused(
        client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection, overrides: dict[str, Any],
        field: str) -> None:
    assert_refused(await client.post("/v1/workers", json=worker_body(1, **overrides), headers=broker.headers), field)
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


async def test_tabs_and_line_breaks_stay_text_and_a_patch_is_checked_too(client: httpx.AsyncClient,
                                                                         enterprise: OrgKey) -> None:
    created = await client.post("/v1/jobs", json=job_body(description="包吃包住\n\t八小时工作制\r\n"),
                                headers=enterprise.headers)
    assert created.status_code == 201, created.text
    patched = await client.patch(f"/v1/jobs/{created.json()['id']}", json={"title": f"急招{BELL}"},
                                 headers=enterprise.headers)
    assert_refused(patched, "title")


async def test_a_report_text_and_a_credit_reason_with_control_characters_are_refused(
        client: httpx.AsyncClient, broker: OrgKey, make_org: MakeOrg) -> None:
    kiosk, authority = await make_org("kiosk"), await make_org("authority")
    report = {"target": {"kind": "broker", "id": broker.org_id}, "reason": "fees", "text": f"收押金{ESCAPE}"}
    assert_refused(await client.post("/v1/reports", json=report, headers=kiosk.headers), "text")
    # A written reason of zero-width characters is no reason (min_length counted them).
    for reason in (f"核查{BELL}", "\u200b\u200b"):
        adjusted = await client.post(f"/v1/credit/{broker.org_id}/adjustments",
                                     json={"points": -5, "reason": reason}, headers=authority.headers)
        assert_refused(adjusted, "reason")
    ledger = await client.get(f"/v1/credit/{broker.org_id}", headers=authority.headers)
    assert ledger.json()["ledger"] == []


async def test_word_line_breaks_in_a_description_or_notes_are_line_breaks(
        client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey, db: asyncpg.Connection) -> None:
    # Shift+Enter in Word pastes U+000B; a page break U+000C. Refused unseen, they made a pasted description a 422.
    created = await client.post("/v1/jobs", json=job_body(description="包吃包住\x0b八小时工作制\x0c"),
                                headers=enterprise.headers)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "包吃包住\n八小时工作制"  # the trailing break stripped as whitespace
    worker = await client.post("/v1/workers", json=worker_body(1, notes="腰不好\x0b不做重体力"), headers=broker.headers)
    assert worker.status_code == 201, worker.text
    notes = await client.get(f"/v1/workers/{worker.json()['id']}/personal-data", params={"purpose": "核对"},
                             headers=broker.headers)
    assert notes.json()["notes"] == "腰不好\n不做重体力"
    # Elsewhere they are still refused (a title is one line).
    assert_refused(await client.post("/v1/jobs", json=job_body(title="急招\x0b普工"), headers=enterprise.headers),
                   "title")


async def test_text_stored_with_control_characters_does_not_block_an_edit_of_something_else(
        client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey, db: asyncpg.Connection) -> None:
    # Stored before they were refused: a PATCH is merged with the stored object and validated whole, so renewing such
    # a posting, or moving such a profile, was a 422 about a character the client cannot see.
    job = (await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)).json()
    await db.execute("UPDATE job_postings SET description = $2, benefits = $3 WHERE id = $1", job["id"],
                     f"包吃{BELL}包住\x0b两班倒", ["包吃", f"包住{BELL}"])
    renewed = await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 3}, headers=enterprise.headers)
    assert renewed.status_code == 200, renewed.text
    assert (renewed.json()["description"], renewed.json()["benefits"]) == ("包吃包住\n两班倒", ["包吃", "包住"])
    worker = (await client.post("/v1/workers", json=worker_body(1), headers=broker.headers)).json()
    await db.execute(f"UPDATE worker_profiles SET skills = '{{氩弧焊{ESCAPE}}}', labour_brand = '巴渝{BELL}大嫂'"
                     " WHERE id = $1", worker["id"])
    moved = await client.patch(f"/v1/workers/{worker['id']}", json={"experience_years": 9}, headers=broker.headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["skills"], moved.json()["labour_brand"]) == (["氩弧焊[2J"], "巴渝大嫂")
