"""Helpers shared by the placement, figures and dashboard tests: workers and jobs made through the API."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import httpx

from matching.identity import id_check_character
from services.api.china_calendar import china_today
from tests.conftest import OrgKey, start_date_in

_sequence = itertools.count(101)


def fresh_id_number(region: str = "500235") -> str:
    seq = next(_sequence) % 1000
    first17 = f"{region}19900101{seq:03d}"
    return first17 + id_check_character(first17)


def fresh_phone() -> str:
    return f"139{next(_sequence) % 100_000_000:08d}"


async def make_worker(client: httpx.AsyncClient, broker: OrgKey, *, home: str = "500235",
                      current: str | None = None, occupations: list[str] | None = None, consent: bool = True,
                      available_from: str = "2026-01-01") -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "张德旺", "id_number": fresh_id_number(), "phone": fresh_phone(), "home_adcode": home,
        "occupations": occupations or ["6-18-02-04"], "skills": [], "certificates": [],
        "desired_adcodes": [], "willing_to_relocate": True, "available_from": available_from,
        "work_types": ["full_time"],
        "consent": {"share_with_enterprises": consent, "contact_by_sms": False,
                    "given_at": "2026-01-01T10:00:00+08:00"},
    }
    if current is not None:
        body["current_adcode"] = current
    response = await client.post("/v1/workers", json=body, headers=broker.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def make_job(client: httpx.AsyncClient, enterprise: OrgKey, *, adcode: str = "500107", headcount: int = 2,
                   occupation_code: str = "6-18-02-04", start_date: str | None = None) -> dict[str, Any]:
    body = {
        "title": "招聘电焊工", "description": "工厂招熟练电焊工，包吃包住。", "occupation_code": occupation_code,
        "headcount": headcount, "adcode": adcode, "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time", "start_date": start_date or start_date_in(4), "benefits": ["包吃", "包住"],
        "required_certificates": [], "contact": {"name": "李经理", "phone": "023-68000000"},
    }
    response = await client.post("/v1/jobs", json=body, headers=enterprise.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    assert data["status"] == "open", data
    return data


async def start_today(db: asyncpg.Connection, job_id: str) -> None:
    """The posting's start date has come (a request cannot move the API's clock): it starts today in China, so the
    worker's arrival may be confirmed (it is refused before the start date)."""
    await db.execute("UPDATE job_postings SET start_date = $2 WHERE id = $1::uuid", job_id, china_today())


async def act(client: httpx.AsyncClient, org: OrgKey, placement_id: str, action: str,
              body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(f"/v1/placements/{placement_id}/{action}", json=body, headers=org.headers)


async def propose(client: httpx.AsyncClient, org: OrgKey, job_id: str, worker_id: str) -> httpx.Response:
    return await client.post("/v1/placements", json={"job_id": job_id, "worker_id": worker_id}, headers=org.headers)


async def hired_placement(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey, job_id: str,
                          worker_id: str) -> dict[str, Any]:
    """Broker proposes, enterprise accepts and hires."""
    created = await propose(client, broker, job_id, worker_id)
    assert created.status_code == 201, created.text
    placement_id = created.json()["id"]
    accepted = await act(client, enterprise, placement_id, "accept")
    assert accepted.status_code == 200, accepted.text
    hired = await act(client, enterprise, placement_id, "hire")
    assert hired.status_code == 200, hired.text
    data: dict[str, Any] = hired.json()
    return data
