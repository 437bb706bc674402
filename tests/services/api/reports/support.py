"""Helpers shared by the reports and credit tests: a posting, a report, a decision."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import OrgKey, start_date_in


def job_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "招聘电焊工 5名",
        "description": "九龙坡工厂招熟练电焊工，包吃包住。",
        "occupation_code": "6-18-02-04",
        "headcount": 5,
        "adcode": "500107",
        "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time",
        "start_date": start_date_in(4),
    }
    body.update(overrides)
    return body


async def post_job(client: httpx.AsyncClient, enterprise: OrgKey, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/jobs", json=job_body(**overrides), headers=enterprise.headers)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


async def report(client: httpx.AsyncClient, reporter: OrgKey, kind: str, target_id: str, reason: str = "fake",
                 **extra: Any) -> httpx.Response:
    body = {"target": {"kind": kind, "id": target_id}, "reason": reason, **extra}
    return await client.post("/v1/reports", json=body, headers=reporter.headers)


async def decide(client: httpx.AsyncClient, authority: OrgKey, report_id: str, outcome: str = "upheld",
                 note: str = "经核查属实") -> dict[str, Any]:
    response = await client.post(f"/v1/reports/{report_id}/decision", json={"outcome": outcome, "note": note},
                                 headers=authority.headers)
    assert response.status_code == 200, response.text
    decided: dict[str, Any] = response.json()
    return decided


async def uphold_report(client: httpx.AsyncClient, reporter: OrgKey, authority: OrgKey, kind: str, target_id: str,
                        reason: str = "fake") -> dict[str, Any]:
    filed = await report(client, reporter, kind, target_id, reason)
    assert filed.status_code == 201, filed.text
    return await decide(client, authority, filed.json()["id"])


def id_number(seq: int) -> str:
    from matching.identity import id_check_character

    first17 = f"500235199001{seq % 28 + 1:02d}{seq % 1000:03d}"
    return first17 + id_check_character(first17)


def worker_body(seq: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"工人{seq}",
        "id_number": id_number(seq),
        "phone": f"138{seq:08d}",
        "home_adcode": "500235",
        "occupations": ["6-18-02-04"],
        "available_from": "2026-01-01",
        "consent": {"share_with_enterprises": True, "contact_by_sms": False, "given_at": "2025-11-20T10:00:00+08:00"},
    }
    body.update(overrides)
    return body
