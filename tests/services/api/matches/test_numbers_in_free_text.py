"""A phone or ID number a broker typed into a profile's free text (skills, certificates, labour brand) reaches
neither the workers index nor the enterprises: their matches and the notices of their subscriptions show the
field with the number masked as responses mask it (api.md: PII masked in every response, never in Meilisearch)."""

from __future__ import annotations

import json

import httpx

from services.api.settings import ApiSettings
from tests.conftest import MakeOrg
from tests.services.api.notifications.conftest import FAST
from tests.services.api.placements.support import fresh_id_number, fresh_phone, make_job
from tests.services.indexing.pipeline import get_document, run_worker_burst, settle

PHONE_IN_SKILLS = "13923456781"
PHONE_IN_BRAND = "15887654321"
ID_IN_CERTIFICATES = fresh_id_number("510107")


async def test_numbers_typed_into_free_text_are_masked_for_the_index_and_enterprises(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> None:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    subscribed = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                   json={"kind": "workers", "query": {"occupation_code": "6-18-02"}})
    assert subscribed.status_code == 201, subscribed.text
    job = await make_job(client, enterprise)
    body = {
        "name": "刘春梅", "id_number": fresh_id_number(), "phone": fresh_phone(), "home_adcode": "500235",
        "occupations": ["6-18-02-04"], "skills": ["氩弧焊", f"有事打{PHONE_IN_SKILLS}"],
        "certificates": [f"焊工证 身份证{ID_IN_CERTIFICATES}"], "labour_brand": f"云阳面工 +86{PHONE_IN_BRAND}",
        "desired_adcodes": [], "willing_to_relocate": True, "available_from": "2026-01-01",
        "work_types": ["full_time"],
        "consent": {"share_with_enterprises": True, "contact_by_sms": False,
                    "given_at": "2026-01-01T10:00:00+08:00"},
    }
    created = await client.post("/v1/workers", json=body, headers=broker.headers)
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    await run_worker_burst(settings, **FAST)
    await settle(settings)

    document = json.dumps(await get_document(settings, "workers", worker_id), ensure_ascii=False)
    matches = await client.get(f"/v1/jobs/{job['id']}/matches", headers=enterprise.headers)
    assert matches.status_code == 200, matches.text
    assert [item["worker"]["id"] for item in matches.json()["items"]] == [worker_id]
    inbox = await client.get("/v1/notifications", headers=enterprise.headers)
    assert inbox.status_code == 200, inbox.text
    # Both notices (the job's match and the subscription's hit) are there, so their copies were looked at.
    assert {n["event"] for n in inbox.json()["items"]} >= {"match.created", "subscription.matched"}, inbox.text
    shown = {"index": document, "matches": matches.text, "inbox": inbox.text}
    for where, text in shown.items():
        for number in (PHONE_IN_SKILLS, PHONE_IN_BRAND, ID_IN_CERTIFICATES):
            assert number not in text, (where, number)
        # The rest of the free text is kept: the skill is still there, its number masked.
        assert "有事打139****6781" in text, where
        assert "云阳面工 +86158****4321" in text, where  # a country code does not hide a phone from the mask
