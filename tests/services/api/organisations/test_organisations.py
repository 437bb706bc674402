"""Organisations, keys, roles and licences through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

from services.api.auth.caller import Caller
from services.api.auth.keys import hash_key
from services.api.organisations.service import contact_phone
from services.api.settings import ApiSettings
from services.api.worker_profiles.service import personal_data_cipher
from tests.conftest import MakeOrg, OrgKey


async def test_create_org_returns_key_once_and_stores_only_its_hash(
    client: httpx.AsyncClient, admin: OrgKey, db: asyncpg.Connection,
) -> None:
    response = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "重庆长安汽车股份有限公司", "unified_social_credit_code": "9150000020282257X8",
    })
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["api_key"]
    assert key.startswith("bb_")
    assert len(key) > 40
    assert body["key"]["prefix"] == key[:11]
    stored = await db.fetch("SELECT key_hash FROM api_keys WHERE org_id = $1::uuid", body["org"]["id"])
    assert [r["key_hash"] for r in stored] == [hash_key(key)]
    raw_text = await db.fetchval("SELECT string_agg(prefix || encode(key_hash, 'hex'), ' ') FROM api_keys")
    assert key not in raw_text
    # The key works, and the listing never shows it again.
    listing = await client.get(f"/v1/orgs/{body['org']['id']}/keys", headers={"Authorization": f"Bearer {key}"})
    assert listing.status_code == 200
    assert key not in listing.text


async def test_revoked_key_is_refused(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    org = await make_org("enterprise")
    second = await client.post(f"/v1/orgs/{org.org_id}/keys", headers=org.headers, json={"label": "hr-system"})
    assert second.status_code == 201
    new_key = second.json()["api_key"]
    key_id = second.json()["key"]["id"]
    revoke = await client.delete(f"/v1/orgs/{org.org_id}/keys/{key_id}", headers=org.headers)
    assert revoke.status_code == 200
    assert revoke.json()["revoked_at"] is not None
    refused = await client.get(f"/v1/orgs/{org.org_id}", headers={"Authorization": f"Bearer {new_key}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # The first key still works.
    assert (await client.get(f"/v1/orgs/{org.org_id}", headers=org.headers)).status_code == 200


async def test_missing_and_malformed_keys_are_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer bb_" + "x" * 43}):
        response = await client.get("/v1/regions", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["type"].endswith("/unauthenticated")
        # RFC 9110: a 401 names its scheme; a key that was sent but does not work is an invalid token (RFC 6750).
        sent_a_key = headers.get("Authorization", "").startswith("Bearer")
        assert response.headers["www-authenticate"] == ('Bearer error="invalid_token"' if sent_a_key else "Bearer")


async def test_wrong_role_is_403_and_other_orgs_objects_are_404(
    client: httpx.AsyncClient, make_org: MakeOrg,
) -> None:
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    forbidden = await client.post("/v1/orgs", headers=broker.headers, json={"type": "enterprise", "name": "x"})
    assert forbidden.status_code == 403
    assert forbidden.json()["status"] == 403
    hidden = await client.get(f"/v1/orgs/{enterprise.org_id}", headers=broker.headers)
    assert hidden.status_code == 404
    hidden_keys = await client.post(f"/v1/orgs/{enterprise.org_id}/keys", headers=broker.headers)
    assert hidden_keys.status_code == 404


async def test_broker_needs_a_licence_from_either_province(client: httpx.AsyncClient, admin: OrgKey) -> None:
    missing = await client.post("/v1/orgs", headers=admin.headers, json={"type": "broker", "name": "无证中介"})
    assert missing.status_code == 422
    assert "licence" in missing.text
    for province in ("CQ", "SC"):
        ok = await client.post("/v1/orgs", headers=admin.headers, json={
            "type": "broker", "name": f"{province} 劳务公司",
            "licence": {"number": f"{province}-2025-18", "issuer_province": province, "valid_until": "2030-01-01"},
        })
        assert ok.status_code == 201, ok.text
        assert ok.json()["org"]["licence"]["issuer_province"] == province


def test_a_licence_is_valid_through_its_last_day() -> None:
    # "有效期至 2026-06-30" means the broker may still work on 30 June; it lapses on 1 July.
    last_day = date(2026, 6, 30)
    broker = Caller(org_id=uuid.uuid4(), role="broker", key_id=uuid.uuid4(), province="CQ",
                    licence_valid_until=last_day, kiosk_adcode=None)
    assert broker.licence_valid_on(last_day - timedelta(days=1))
    assert broker.licence_valid_on(last_day)
    assert not broker.licence_valid_on(last_day + timedelta(days=1))
    unlicensed = Caller(org_id=uuid.uuid4(), role="broker", key_id=uuid.uuid4(), province="CQ",
                        licence_valid_until=None, kiosk_adcode=None)
    assert not unlicensed.licence_valid_on(last_day)


async def test_unknown_role_and_bad_fields_are_listed_per_field(client: httpx.AsyncClient, admin: OrgKey) -> None:
    response = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "wizard", "name": "", "surprise": 1, "unified_social_credit_code": "123",
    })
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in problem["errors"]}
    assert {"type", "name", "surprise", "unified_social_credit_code"} <= fields


async def test_an_organisation_name_needs_visible_characters_and_no_control_characters(
        client: httpx.AsyncClient, admin: OrgKey, db: asyncpg.Connection) -> None:
    # Shown to others (the credit list and its CSV, postings): "\u200b" was a name nobody could read, and control
    # characters were stored as they came.
    for name in ("\u200b\u200d", "劳务\x07公司", "劳务\x1b[31m公司"):
        response = await client.post("/v1/orgs", headers=admin.headers, json={"type": "enterprise", "name": name})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["name"], response.text
    assert await db.fetchval("SELECT count(*) FROM organisations WHERE type = 'enterprise'") == 0
    tabbed = await client.post("/v1/orgs", headers=admin.headers, json={"type": "enterprise", "name": "巴蜀\t劳务"})
    assert tabbed.status_code == 201, tabbed.text


async def test_a_credit_code_with_a_wrong_check_character_is_refused(client: httpx.AsyncClient,
                                                                      admin: OrgKey) -> None:
    # 长安汽车's code with its last character changed; then a rural collective's code (registration authority N,
    # which python-stdnum's own format check would refuse) with its right check character.
    wrong = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "校验位错误", "unified_social_credit_code": "9150000020282257XN"})
    assert wrong.status_code == 422, wrong.text
    assert [e["field"] for e in wrong.json()["errors"]] == ["unified_social_credit_code"]
    assert "check character" in wrong.json()["errors"][0]["message"]
    collective = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "村集体经济组织", "unified_social_credit_code": "N2500107MA6000001A"})
    assert collective.status_code == 201, collective.text


async def test_a_credit_code_is_written_in_ascii(client: httpx.AsyncClient, admin: OrgKey,
                                                db: asyncpg.Connection) -> None:
    # The pattern's \d took any script's digits: 长安汽车's code with a full-width ５ passed the check character
    # (python-stdnum folds it) and was stored as typed, beside the ASCII one, since the unique index compares
    # text; with an Arabic-Indic ٥ the answer was python-stdnum's "substring not found".
    code = "9150000020282257X8"
    first = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "长安", "unified_social_credit_code": code})
    assert first.status_code == 201, first.text
    for digit in ("\uff15", "\u0665"):
        twin = await client.post("/v1/orgs", headers=admin.headers, json={
            "type": "enterprise", "name": "长安（又一次）", "unified_social_credit_code": code.replace("5", digit, 1)})
        assert twin.status_code == 422, twin.text
        assert [e["field"] for e in twin.json()["errors"]] == ["unified_social_credit_code"]
        assert "substring" not in twin.text
    assert await db.fetchval("SELECT count(*) FROM organisations WHERE name LIKE '长安%'") == 1


async def test_contact_phones_are_checked_and_stored_normalised(client: httpx.AsyncClient, admin: OrgKey,
                                                                 db: asyncpg.Connection, settings: ApiSettings) -> None:
    bad = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "电话不对", "contact": {"phone": "6800-00"}})
    assert bad.status_code == 422, bad.text
    assert [e["field"] for e in bad.json()["errors"]] == ["contact.phone"]
    assert "6800-00" not in bad.text
    for raw, masked in (("（023）6800 0000", "*******0000"), ("400-820-8820", "*******8820"),
                        ("+86 138-0013-8000", "*******8000")):
        ok = await client.post("/v1/orgs", headers=admin.headers, json={
            "type": "enterprise", "name": f"电话 {raw}", "contact": {"phone": raw}})
        assert ok.status_code == 201, ok.text
        assert ok.json()["org"]["contact"]["phone"] == masked
    org_id = uuid.UUID(ok.json()["org"]["id"])
    assert await contact_phone(db, org_id, personal_data_cipher(settings, {})) == "13800138000"


async def test_a_contact_field_too_long_is_told_in_characters(client: httpx.AsyncClient, admin: OrgKey) -> None:
    refused = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "enterprise", "name": "联系人过长", "contact": {"name": "向" * 65, "email": "x" * 255}})
    assert refused.status_code == 422, refused.text
    assert sorted((e["field"], e["message"]) for e in refused.json()["errors"]) == [
        ("contact.email", "最多 254 个字符 / String should have at most 254 characters"),
        ("contact.name", "最多 64 个字符 / String should have at most 64 characters")]


async def test_only_brokers_hold_a_licence_and_it_runs_at_most_ten_years(client: httpx.AsyncClient,
                                                                          admin: OrgKey) -> None:
    licence = {"number": "渝人服证字〔2026〕第0001号", "issuer_province": "CQ", "valid_until": "2030-01-01"}
    enterprise = await client.post("/v1/orgs", headers=admin.headers,
                                   json={"type": "enterprise", "name": "持证企业", "licence": licence})
    assert enterprise.status_code == 422, enterprise.text
    assert "only brokers" in enterprise.text
    forever = await client.post("/v1/orgs", headers=admin.headers, json={
        "type": "broker", "name": "永久许可", "licence": {**licence, "valid_until": "9999-12-31"}})
    assert forever.status_code == 422, forever.text
    assert [e["field"] for e in forever.json()["errors"]] == ["licence.valid_until"]


@pytest.mark.parametrize("adcode", ["999999", "510100", "500000"])
async def test_kiosk_adcode_must_be_a_county(client: httpx.AsyncClient, admin: OrgKey, db: asyncpg.Connection,
                                             adcode: str) -> None:
    # The county the terminal stands in (a city or province is no place to measure distances from).
    bad = await client.post("/v1/orgs", headers=admin.headers,
                            json={"type": "kiosk", "name": "kiosk", "kiosk_adcode": adcode})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["kiosk_adcode"]
    assert await db.fetchval("SELECT count(*) FROM organisations WHERE kiosk_adcode = $1", adcode) == 0


async def test_idempotency_key_replays_the_first_response(
    client: httpx.AsyncClient, admin: OrgKey, db: asyncpg.Connection,
) -> None:
    body = {"type": "enterprise", "name": "成都京东方光电科技有限公司"}
    headers = {**admin.headers, "Idempotency-Key": "create-boe-1"}
    first = await client.post("/v1/orgs", json=body, headers=headers)
    again = await client.post("/v1/orgs", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await db.fetchval("SELECT count(*) FROM organisations WHERE name = $1", body["name"]) == 1
    changed = await client.post("/v1/orgs", json={**body, "name": "另一家"}, headers=headers)
    assert changed.status_code == 409


async def test_idempotency_record_never_holds_the_new_key_in_clear(
    client: httpx.AsyncClient, admin: OrgKey, db: asyncpg.Connection,
) -> None:
    headers = {**admin.headers, "Idempotency-Key": "create-key-at-rest"}
    first = await client.post("/v1/orgs", json={"type": "enterprise", "name": "重庆机电"}, headers=headers)
    assert first.status_code == 201, first.text
    key = first.json()["api_key"]
    stored = await db.fetchval("SELECT response_body::text FROM idempotency_records WHERE key = 'create-key-at-rest'")
    assert first.json()["org"]["id"] in stored
    assert key not in stored
    assert key[len("bb_"):] not in stored
    # The replay still hands back the one working key.
    again = await client.post("/v1/orgs", json={"type": "enterprise", "name": "重庆机电"}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["api_key"] == key
    own = await client.get(f"/v1/orgs/{first.json()['org']['id']}", headers={"Authorization": f"Bearer {key}"})
    assert own.status_code == 200


async def test_a_retried_key_request_answers_the_same_key_and_mints_no_other(
    client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection,
) -> None:
    org = await make_org("enterprise")
    headers = {**org.headers, "Idempotency-Key": "new-key-1"}
    first = await client.post(f"/v1/orgs/{org.org_id}/keys", headers=headers, json={"label": "hr-system"})
    again = await client.post(f"/v1/orgs/{org.org_id}/keys", headers=headers, json={"label": "hr-system"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE org_id = $1::uuid", org.org_id) == 2
    stored = await db.fetchval("SELECT response_body::text FROM idempotency_records WHERE key = 'new-key-1'")
    assert first.json()["api_key"] not in stored
    works = await client.get(f"/v1/orgs/{org.org_id}", headers={"Authorization": f"Bearer {first.json()['api_key']}"})
    assert works.status_code == 200
    other = await client.post(f"/v1/orgs/{org.org_id}/keys", headers=headers, json={"label": "another"})
    assert other.status_code == 409


async def test_a_kiosk_key_cannot_mint_list_or_revoke_keys(client: httpx.AsyncClient, make_org: MakeOrg,
                                                            admin: OrgKey) -> None:
    kiosk = await make_org("kiosk")
    refused = await client.post(f"/v1/orgs/{kiosk.org_id}/keys", headers=kiosk.headers, json={"label": "x"})
    assert refused.status_code == 403
    # A second terminal of the same hall, issued by an operator.
    hall_2 = await client.post(f"/v1/orgs/{kiosk.org_id}/keys", headers=admin.headers, json={"label": "hall 2"})
    assert hall_2.status_code == 201, hall_2.text
    hall_2_key = hall_2.json()
    listing = await client.get(f"/v1/orgs/{kiosk.org_id}/keys", headers=kiosk.headers)
    assert listing.status_code == 403
    revoked = await client.delete(f"/v1/orgs/{kiosk.org_id}/keys/{hall_2_key['key']['id']}", headers=kiosk.headers)
    assert revoked.status_code == 403
    still = await client.get(f"/v1/orgs/{kiosk.org_id}", headers={"Authorization": f"Bearer {hall_2_key['api_key']}"})
    assert still.status_code == 200, still.text
    by_operator = await client.get(f"/v1/orgs/{kiosk.org_id}/keys", headers=admin.headers)
    assert len(by_operator.json()["items"]) == 2


async def test_keys_are_paged_and_a_cursor_is_one_organisations(client: httpx.AsyncClient, make_org: MakeOrg,
                                                                 admin: OrgKey) -> None:
    # `limit` and `cursor` were accepted and ignored: every key came back, and next_cursor was always null.
    org = await make_org("enterprise")
    for n in range(4):
        created = await client.post(f"/v1/orgs/{org.org_id}/keys", headers=org.headers, json={"label": f"k{n}"})
        assert created.status_code == 201, created.text
    seen: list[str | None] = []
    cursor = None
    while True:
        page = await client.get(f"/v1/orgs/{org.org_id}/keys", headers=org.headers,
                                params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        seen += [k["label"] for k in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["initial", "k0", "k1", "k2", "k3"]  # oldest first, each once
    first = (await client.get(f"/v1/orgs/{org.org_id}/keys", headers=org.headers, params={"limit": 1})).json()
    other = await make_org("enterprise")
    replayed = await client.get(f"/v1/orgs/{other.org_id}/keys", headers=admin.headers,
                                params={"cursor": first["next_cursor"]})
    assert replayed.status_code == 422, replayed.text
    assert [e["field"] for e in replayed.json()["errors"]] == ["cursor"]
