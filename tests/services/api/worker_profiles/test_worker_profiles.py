"""Worker profiles: validation, encryption at rest, masking, audit, duplicates, erasure, consent, licences."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from matching.identity import id_check_character
from services.api.china_calendar import china_today
from services.api.plausible_dates import years_after
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle


def make_id_number(region: str = "500107", birth: str = "19900101", seq: str = "123") -> str:
    first17 = region + birth + seq
    return first17 + id_check_character(first17)


ID_NUMBER = make_id_number()  # 500107199001011236-ish, male (odd sequence)
PHONE = "13812345678"
NAME = "张德旺"
YESTERDAY = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)  # in China, as the rules count


def worker_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": NAME,
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "home_adcode": "500235",  # 云阳县
        "occupations": ["烧电焊的", "6-30-05-01"],
        "skills": ["氩弧焊"],
        "certificates": ["焊工证"],
        "labour_brand": "云阳面工",
        "experience_years": 8,
        "desired_adcodes": ["500107"],
        "willing_to_relocate": True,
        "expected_wage": {"min": 6000, "max": 8000, "unit": "month"},
        "available_from": "2026-01-01",
        "work_types": ["full_time"],
        "notes": "腰不好，不做重体力",
        "consent": {"share_with_enterprises": True, "contact_by_sms": True, "given_at": "2025-11-20T10:00:00+08:00"},
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, broker: OrgKey, **overrides: Any) -> httpx.Response:
    return await client.post("/v1/workers", json=worker_body(**overrides), headers=broker.headers)


def assert_masked(item: dict[str, Any], id_number: str = ID_NUMBER, phone: str = PHONE) -> None:
    assert item["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert item["phone"] == phone[:3] + "****" + phone[-4:]


async def table_text(db: asyncpg.Connection, table: str) -> str:
    rows = await db.fetch(f"SELECT t::text AS line FROM {table} t")
    return "\n".join(r["line"] for r in rows)


async def test_create_masks_and_infers_occupations(client: httpx.AsyncClient, broker: OrgKey) -> None:
    response = await create(client, broker)
    assert response.status_code == 201, response.text
    item = response.json()
    assert_masked(item)
    assert item["name"] == NAME
    assert item["gender"] == "male"
    assert item["searchable"] is True
    by_input = {o["input"]: o for o in item["occupations"]}
    assert by_input["烧电焊的"]["code"] == "6-18-02-04"
    assert by_input["烧电焊的"]["inferred"] is True
    assert by_input["6-30-05-01"]["inferred"] is False
    assert set(item["occupation_codes"]) == {"6-18-02-04", "6-30-05-01"}
    assert ID_NUMBER not in response.text
    assert PHONE not in response.text
    assert item["warnings"] == []


async def test_unknown_trade_word_is_kept_as_a_term_with_a_warning(client: httpx.AsyncClient,
                                                                   broker: OrgKey) -> None:
    response = await create(client, broker, occupations=["焊工", "什么都能干"])
    assert response.status_code == 201, response.text
    assert response.json()["occupations"][1] == {"input": "什么都能干", "code": None, "name": None, "inferred": False}
    # Stored, but the broker is told the word names no trade (and so is not matched by trade).
    warnings = response.json()["warnings"]
    assert [(w["field"], w["code"]) for w in warnings] == [("occupations[1]", "occupation_not_recognised")]
    assert "什么都能干" in warnings[0]["message"]
    got = await client.get(f"/v1/workers/{response.json()['id']}", headers=broker.headers)
    assert got.json()["warnings"] == warnings
    fixed = await client.patch(f"/v1/workers/{response.json()['id']}", json={"occupations": ["焊工", "电工"]},
                               headers=broker.headers)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["warnings"] == []


async def test_masked_in_get_list_and_patch(client: httpx.AsyncClient, broker: OrgKey) -> None:
    worker_id = (await create(client, broker)).json()["id"]
    got = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert got.status_code == 200
    assert_masked(got.json())
    listed = await client.get("/v1/workers", headers=broker.headers)
    assert listed.status_code == 200
    assert_masked(listed.json()["items"][0])
    new_phone = "+86 139-8765-4321"
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"phone": new_phone, "experience_years": 9},
                                 headers=broker.headers)
    assert patched.status_code == 200, patched.text
    assert_masked(patched.json(), phone="13987654321")
    assert patched.json()["experience_years"] == 9
    for response in (got, listed, patched):
        assert ID_NUMBER not in response.text
        assert PHONE not in response.text
        assert "13987654321" not in response.text


async def test_personal_data_is_encrypted_at_rest(client: httpx.AsyncClient, broker: OrgKey,
                                                  db: asyncpg.Connection) -> None:
    created = await client.post("/v1/workers", json=worker_body(),
                                headers={**broker.headers, "Idempotency-Key": "at-rest-1"})
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["notes"]) == (NAME, worker_body()["notes"])
    dump = await table_text(db, "worker_profiles")
    assert dump  # one row
    for secret in (ID_NUMBER, PHONE, NAME, "腰不好", ID_NUMBER[:6] + "*" * 8):
        assert secret not in dump
    row = await db.fetchrow("SELECT id_number_enc, phone_enc, id_number_bidx FROM worker_profiles")
    assert row is not None
    assert ID_NUMBER.encode() not in bytes(row["id_number_enc"])
    assert PHONE.encode() not in bytes(row["phone_enc"])
    assert len(row["id_number_bidx"]) == 16
    # Idempotency and outbox tables hold no personal values either (the stored answer keeps its name and
    # notes encrypted); a replay answers as the first time.
    assert await db.fetchval("SELECT count(*) FROM idempotency_records") == 1
    for table in ("outbox", "idempotency_records"):
        text = await table_text(db, table)
        for secret in (ID_NUMBER, PHONE, NAME, "腰不好"):
            assert secret not in text
    replay = await client.post("/v1/workers", json=worker_body(),
                               headers={**broker.headers, "Idempotency-Key": "at-rest-1"})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == created.json()


async def test_full_read_is_audited(client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection) -> None:
    worker_id = (await create(client, broker)).json()["id"]
    response = await client.get(f"/v1/workers/{worker_id}/personal-data",
                                params={"purpose": "联系上岗 / call about a job"},
                                headers={**broker.headers, "X-Request-ID": "req-audit-1"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["name"], data["id_number"], data["phone"]) == (NAME, ID_NUMBER, PHONE)
    log = await db.fetch("SELECT * FROM pii_access_log")
    assert len(log) == 1
    entry = log[0]
    assert str(entry["org_id"]) == broker.org_id
    assert entry["api_key_id"] is not None
    assert (entry["subject_kind"], str(entry["subject_id"])) == ("worker", worker_id)
    assert set(entry["fields"]) == {"name", "id_number", "phone", "notes"}
    assert entry["purpose"] == "联系上岗 / call about a job"
    assert entry["request_id"] == "req-audit-1"
    # Without a purpose there is no read (and no log line).
    missing = await client.get(f"/v1/workers/{worker_id}/personal-data", headers=broker.headers)
    assert missing.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 1



async def test_head_on_personal_data_reads_and_records_nothing(client: httpx.AsyncClient, broker: OrgKey,
                                                              db: asyncpg.Connection) -> None:
    # HEAD was answered as GET without the content: the values were decrypted and the audit log recorded a read of
    # full personal data that never left the server. Only GET reads them; HEAD is refused as a method.
    worker_id = (await create(client, broker)).json()["id"]
    head = await client.head(f"/v1/workers/{worker_id}/personal-data", params={"purpose": "签合同"},
                             headers=broker.headers)
    assert (head.status_code, head.content, head.headers["allow"]) == (405, b"", "GET")
    assert head.headers["content-type"] == "application/problem+json"
    put = await client.put(f"/v1/workers/{worker_id}/personal-data", headers=broker.headers)
    assert (put.status_code, put.headers["allow"]) == (405, "GET")
    assert put.json()["type"].endswith("/method-not-allowed")
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 0
    # GET is answered and audited as before; HEAD on the profile itself (no full values, no audit) still works.
    read = await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": "签合同"},
                            headers=broker.headers)
    assert read.status_code == 200, read.text
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 1
    profile = await client.head(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert (profile.status_code, profile.content) == (200, b"")


async def test_a_purpose_of_spaces_or_invisible_characters_reads_nothing(client: httpx.AsyncClient, broker: OrgKey,
                                                                       db: asyncpg.Connection) -> None:
    # The query's min_length counted them: "  " was answered with the full values and logged with purpose "".
    worker_id = (await create(client, broker)).json()["id"]
    for purpose in ("  ", "\u200b\u200b", " a ", "\ufeffa"):
        refused = await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": purpose},
                                   headers=broker.headers)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["purpose"]
        assert "可见字符" in refused.json()["detail"]
        assert "visible characters" in refused.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 0
    read = await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": " 签约 "},
                            headers=broker.headers)
    assert read.status_code == 200, read.text
    assert await db.fetchval("SELECT purpose FROM pii_access_log") == "签约"


async def test_a_name_or_list_item_of_invisible_characters_is_refused(client: httpx.AsyncClient,
                                                                    broker: OrgKey) -> None:
    # min_length and str.strip() let a zero-width space through: a profile named "\u200b" was stored and shown.
    for overrides, field in (({"name": "\u200b"}, "name"), ({"name": " \ufeff "}, "name"),
                             ({"skills": ["\u200b"]}, "skills")):
        refused = await create(client, broker, **overrides)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text
    worker_id = (await create(client, broker)).json()["id"]
    for patch, field in (({"name": "\u2060"}, "name"), ({"skills": ["氩弧焊", "\u200b"]}, "skills"),
                         ({"consent": {"share_with_enterprises": True, "given_at": "2026-01-15T09:30:00"}},
                          "consent.given_at")):
        refused = await client.patch(f"/v1/workers/{worker_id}", json=patch, headers=broker.headers)
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert [e["field"] for e in errors] == [field], refused.text
        # the service's own validation of the merged profile says it as the request schema does
        assert not errors[0]["message"].startswith("Value error"), errors
    assert (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).json()["name"] == NAME

async def test_the_audit_lists_only_the_fields_that_were_read(client: httpx.AsyncClient, broker: OrgKey,
                                                              db: asyncpg.Connection) -> None:
    # The log says what was disclosed: a profile without notes disclosed no notes, and an audit claiming it did
    # would be wrong evidence in a complaint.
    body = worker_body()
    del body["notes"]
    created = await client.post("/v1/workers", json=body, headers=broker.headers)
    assert created.status_code == 201, created.text
    response = await client.get(f"/v1/workers/{created.json()['id']}/personal-data", params={"purpose": "签合同"},
                                headers=broker.headers)
    assert response.status_code == 200, response.text
    assert response.json()["notes"] is None
    assert sorted(await db.fetchval("SELECT fields FROM pii_access_log")) == ["id_number", "name", "phone"]


async def test_other_organisations_cannot_see_a_profile(client: httpx.AsyncClient, broker: OrgKey,
                                                        make_org: MakeOrg, db: asyncpg.Connection) -> None:
    worker_id = (await create(client, broker)).json()["id"]
    other = await make_org("broker")
    for path in (f"/v1/workers/{worker_id}", f"/v1/workers/{worker_id}/personal-data?purpose=look"):
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404, response.text
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"skills": []}, headers=other.headers)
    assert patched.status_code == 404
    assert (await client.delete(f"/v1/workers/{worker_id}", headers=other.headers)).status_code == 404
    assert (await client.get("/v1/workers", headers=other.headers)).json()["items"] == []
    enterprise = await make_org("enterprise")
    assert (await client.get(f"/v1/workers/{worker_id}", headers=enterprise.headers)).status_code == 403
    assert await db.fetchval("SELECT count(*) FROM pii_access_log") == 0


async def test_same_person_from_a_second_broker_is_a_conflict(client: httpx.AsyncClient, broker: OrgKey,
                                                              make_org: MakeOrg, db: asyncpg.Connection) -> None:
    first = (await create(client, broker)).json()
    second_broker = await make_org("broker")
    # The 15-digit legacy form of the same number, typed with spaces, is the same person.
    legacy = ID_NUMBER[:6] + ID_NUMBER[8:17]
    for id_number in (ID_NUMBER, f" {legacy[:6]} {legacy[6:]} "):
        response = await create(client, second_broker, id_number=id_number, name="张三", phone="13700001111")
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["type"].endswith("/conflict")
        assert "existing_id" not in problem
        assert first["id"] not in response.text
        assert broker.org_id not in response.text
        assert NAME not in response.text
        assert ID_NUMBER not in response.text
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 1

    own = await create(client, broker)
    assert own.status_code == 409
    assert own.json()["existing_id"] == first["id"]


async def test_idempotency_key_replays_the_first_response(client: httpx.AsyncClient, broker: OrgKey,
                                                          db: asyncpg.Connection) -> None:
    headers = {**broker.headers, "Idempotency-Key": "row-1"}
    first = await client.post("/v1/workers", json=worker_body(), headers=headers)
    again = await client.post("/v1/workers", json=worker_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")}, "id_number"),  # check character
        ({"id_number": make_id_number(birth="20150101")}, "id_number"),  # under 16
        ({"phone": "12345"}, "phone"),
        ({"home_adcode": "999999"}, "home_adcode"),
        ({"desired_adcodes": ["500107", "123456"]}, "desired_adcodes[1]"),
        ({"expected_wage": {"min": 9000, "max": 6000, "unit": "month"}}, "expected_wage"),
        ({"expected_wage": {"min": 100, "max": 200, "unit": "week"}}, "expected_wage.unit"),
        ({"available_from": "2026-03-01", "available_until": "2026-02-01"}, "available_until"),
        ({"available_from": "2025-01-01", "available_until": YESTERDAY.isoformat()}, "available_until"),  # past
        ({"work_types": ["forever"]}, "work_types.0"),
        ({"education": "phd-ish"}, "education"),
        ({"occupations": ["9-99-99-99"]}, "occupations"),
        ({"occupations": ["1-01-01-99"]}, "occupations[0]"),
        ({"gender": "female"}, "gender"),  # the ID number says male
        ({"consent": {"share_with_enterprises": True}}, "consent.given_at"),
        # Year 1 / 9999 would be stored as -infinity / infinity and break reading the profile back.
        ({"consent": {"share_with_enterprises": True, "given_at": "0001-01-01T00:00:00Z"}}, "consent.given_at"),
        ({"consent": {"share_with_enterprises": True, "given_at": "9999-12-31T23:59:59Z"}}, "consent.given_at"),
        # Inside the window by its own calendar date, before it in UTC (as stored and read back): was a 500.
        ({"consent": {"share_with_enterprises": True, "given_at": "1900-01-01T00:00:00+23:59"}}, "consent.given_at"),
        # Encrypted fields never meet PostgreSQL's own U+0000 check.
        ({"name": "张\u0000三"}, "name"),
        ({"notes": "腰不好\u0007"}, "notes"),
    ],
)
async def test_invalid_fields_are_422_per_field(client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
                                                overrides: dict[str, Any], field: str) -> None:
    response = await create(client, broker, **overrides)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in problem["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), fields
    assert not any(e["message"].startswith("Value error") for e in problem["errors"]), problem["errors"]
    assert ID_NUMBER not in response.text
    assert PHONE not in response.text
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


# A city (成都市 510100), a province (重庆市 500000, 四川省 510000) or GB/T 2260's grouping of Chongqing's districts
# (500100) is no county: these were stored as a person's home or current county and counted as one.
NOT_COUNTIES = ["500100", "510100", "500000", "510000"]


@pytest.mark.parametrize("adcode", NOT_COUNTIES)
@pytest.mark.parametrize("field", ["home_adcode", "current_adcode"])
async def test_a_city_or_province_is_no_home_or_current_county(client: httpx.AsyncClient, broker: OrgKey,
                                                               db: asyncpg.Connection, field: str,
                                                               adcode: str) -> None:
    response = await create(client, broker, **{field: adcode})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert "须为区县级代码" in error["message"], error  # bilingual
    assert f"a county code is needed (a district, county or county-level city): {adcode} is" in error["message"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0
    # PATCH merges and validates the same rule.
    worker_id = (await create(client, broker)).json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json={field: adcode}, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]
    assert await db.fetchval(f"SELECT count(*) FROM worker_profiles WHERE {field} = $1", adcode) == 0


async def test_desired_places_may_be_cities_and_provinces(client: httpx.AsyncClient, broker: OrgKey) -> None:
    # api.md: desired_adcodes are areas (a city or Chongqing means anywhere in it, as matching reads them).
    response = await create(client, broker, desired_adcodes=["510100", "500000", "500107"])
    assert response.status_code == 201, response.text
    assert response.json()["desired_adcodes"] == ["510100", "500000", "500107"]


async def test_a_stored_city_home_is_readable_and_its_next_patch_asks_for_a_county(
        client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection) -> None:
    worker_id = (await create(client, broker)).json()["id"]
    await db.execute("UPDATE worker_profiles SET home_adcode = '510100' WHERE id = $1::uuid", worker_id)
    read = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert read.status_code == 200, read.text
    assert read.json()["home_adcode"] == "510100"
    # The merged profile is validated as a whole: the change is refused, naming the field to correct ...
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"skills": []}, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["home_adcode"]
    # ... which the same PATCH can do.
    fixed = await client.patch(f"/v1/workers/{worker_id}", json={"skills": [], "home_adcode": "510104"},
                               headers=broker.headers)
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["home_adcode"], fixed.json()["skills"]) == ("510104", [])


@pytest.mark.parametrize("overrides", [
    {"desired_adcodes": ["12345"]},  # the merged model's own validator (a ValueError)
    {"skills": ["氩弧焊", "x" * 41]},
])
async def test_model_level_errors_read_the_same_on_post_and_patch(client: httpx.AsyncClient, broker: OrgKey,
                                                                  overrides: dict[str, Any]) -> None:
    posted = await create(client, broker, **overrides)
    assert posted.status_code == 422, posted.text
    worker_id = (await create(client, broker)).json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json=overrides, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"] == posted.json()["errors"]
    for error in patched.json()["errors"]:
        assert not error["message"].startswith(("Value error", "Assertion failed")), error
        assert " / " in error["message"], error  # ours, bilingual


TODAY = china_today()
FIVE_YEARS_ON = years_after(TODAY, 5)  # plausible_dates.AVAILABILITY_YEARS_AHEAD


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"available_from": "9999-12-31"}, "available_from", f"at most 5 years from today ({FIVE_YEARS_ON})"),
    ({"available_from": (FIVE_YEARS_ON + timedelta(days=1)).isoformat()}, "available_from", "at most 5 years"),
    # "No end" written as 9999-12-31 (as spreadsheets do) is told to leave the field empty instead.
    ({"available_until": "9999-12-31"}, "available_until", "leave it empty"),
    ({"available_until": "2999-12-31"}, "available_until", "leave it empty"),
])
async def test_availability_beyond_five_years_is_refused(client: httpx.AsyncClient, broker: OrgKey,
                                                         db: asyncpg.Connection, overrides: dict[str, Any],
                                                         field: str, words: str) -> None:
    response = await create(client, broker, **overrides)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert "年内" in error["message"]  # bilingual
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


async def test_availability_up_to_five_years_ahead_and_since_long_ago_is_fine(client: httpx.AsyncClient,
                                                                              broker: OrgKey) -> None:
    response = await create(client, broker, available_from=FIVE_YEARS_ON.isoformat(),
                            available_until=FIVE_YEARS_ON.isoformat())
    assert response.status_code == 201, response.text
    # available_from in the past reads "available since": not bounded (a second person, the first is stored).
    response = await create(client, broker, id_number=make_id_number(seq="125"), available_from="2010-01-01")
    assert response.status_code == 201, response.text
    patched = await client.patch(f"/v1/workers/{response.json()['id']}", json={"available_until": "9999-12-31"},
                                 headers=broker.headers)
    assert patched.status_code == 422
    assert [e["field"] for e in patched.json()["errors"]] == ["available_until"]


async def test_expired_licence_blocks_posting_and_full_reads(client: httpx.AsyncClient, make_org: MakeOrg,
                                              db: asyncpg.Connection) -> None:
    lapsed = await make_org("broker", licence={"number": "川人服证字〔2020〕第0002号", "issuer_province": "SC",
                                               "valid_until": "2024-01-01"})
    response = await create(client, lapsed)
    assert response.status_code == 403
    assert response.json()["reason"] == "licence_expired"
    # A profile stored before the licence lapsed cannot be changed, but can still be erased.
    worker_id = uuid.uuid4()
    await db.execute("UPDATE organisations SET licence_valid_until = '2099-01-01' WHERE id = $1",
                     uuid.UUID(lapsed.org_id))
    created = await create(client, lapsed)
    assert created.status_code == 201
    worker_id = created.json()["id"]
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1",
                     uuid.UUID(lapsed.org_id))
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"skills": []}, headers=lapsed.headers)
    assert patched.status_code == 403
    # Nor are its full personal values read (and no read is logged); the masked profile still is.
    full = await client.get(f"/v1/workers/{worker_id}/personal-data?purpose=联系上岗", headers=lapsed.headers)
    assert full.status_code == 403
    assert full.json()["reason"] == "licence_expired"
    assert await db.fetchval("SELECT count(*) FROM pii_access_log WHERE subject_id = $1",
                             uuid.UUID(worker_id)) == 0
    masked = await client.get(f"/v1/workers/{worker_id}", headers=lapsed.headers)
    assert masked.status_code == 200
    assert "*" in masked.json()["id_number"]
    assert (await client.delete(f"/v1/workers/{worker_id}", headers=lapsed.headers)).status_code == 200


async def test_a_lapsed_licence_is_answered_before_the_body_is_validated(client: httpx.AsyncClient,
                                                                          make_org: MakeOrg,
                                                                          db: asyncpg.Connection) -> None:
    lapsed = await make_org("broker", licence={"number": "川人服证字〔2020〕第0003号", "issuer_province": "SC",
                                               "valid_until": "2024-01-01"})
    # The broker may not post at all: telling it which fields are wrong first sends it fixing the wrong thing.
    for body in ({"name": "张三"}, worker_body(home_adcode="12", consent={})):
        response = await client.post("/v1/workers", json=body, headers=lapsed.headers)
        assert response.status_code == 403, response.text
        assert response.json()["reason"] == "licence_expired"
    patched = await client.patch(f"/v1/workers/{uuid.uuid4()}", json={"home_adcode": "12", "nonsense": 1},
                                 headers=lapsed.headers)
    assert patched.status_code == 403, patched.text
    assert patched.json()["reason"] == "licence_expired"
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


async def test_a_retry_of_a_post_answered_before_the_licence_lapsed_replays_that_answer(
        client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection) -> None:
    # api.md: the same Idempotency-Key and body within 24 h returns the first response. The licence check ahead
    # of body validation must not turn a client's retry of a POST that succeeded into a 403.
    headers = {**broker.headers, "Idempotency-Key": "before-the-lapse"}
    first = await client.post("/v1/workers", json=worker_body(), headers=headers)
    assert first.status_code == 201, first.text
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1",
                     uuid.UUID(broker.org_id))
    again = await client.post("/v1/workers", json=worker_body(), headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    # Anything new is refused on the licence, before its body is read.
    fresh = await client.post("/v1/workers", json={"name": "张三"},
                              headers={**broker.headers, "Idempotency-Key": "after-the-lapse"})
    assert fresh.status_code == 403, fresh.text
    assert fresh.json()["reason"] == "licence_expired"
    other_body = await client.post("/v1/workers", json=worker_body(external_ref="另一个"), headers=headers)
    assert other_body.status_code == 409, other_body.text  # the key was used for another body
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 1


async def test_list_pages_with_signed_cursors(client: httpx.AsyncClient, broker: OrgKey) -> None:
    for seq in ("101", "103", "105"):
        response = await create(client, broker, id_number=make_id_number(seq=seq), external_ref=f"ref-{seq}")
        assert response.status_code == 201, response.text
    first = (await client.get("/v1/workers", params={"limit": 2}, headers=broker.headers)).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = (await client.get("/v1/workers", params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=broker.headers)).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    seen = [i["external_ref"] for i in first["items"] + second["items"]]
    assert sorted(seen) == ["ref-101", "ref-103", "ref-105"]
    payload, _, signature = first["next_cursor"].partition(".")
    for forged in (payload + "." + signature[::-1], "A" + payload[1:] + "." + signature, "garbage", "a.b"):
        response = await client.get("/v1/workers", params={"cursor": forged}, headers=broker.headers)
        assert response.status_code == 422, forged
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_patch_validates_the_merged_profile(client: httpx.AsyncClient, broker: OrgKey) -> None:
    worker_id = (await create(client, broker)).json()["id"]
    response = await client.patch(f"/v1/workers/{worker_id}", json={"available_until": "2025-12-01"},
                                  headers=broker.headers)
    assert response.status_code == 422
    response = await client.patch(f"/v1/workers/{worker_id}", json={"name": None}, headers=broker.headers)
    assert response.status_code == 422
    response = await client.patch(f"/v1/workers/{worker_id}", json={"labour_brand": None, "status": "placed"},
                                  headers=broker.headers)
    assert response.status_code == 200
    assert response.json()["labour_brand"] is None
    assert response.json()["status"] == "placed"


async def test_consent_decides_what_is_indexed(client: httpx.AsyncClient, broker: OrgKey,
                                               settings: ApiSettings) -> None:
    shared = (await create(client, broker)).json()
    private = (await create(client, broker, id_number=make_id_number(seq="201"),
                            consent={"share_with_enterprises": False, "given_at": "2025-11-20T10:00:00+08:00"})).json()
    assert private["searchable"] is False
    await run_worker_burst(settings)
    await settle(settings)
    assert await document_ids(settings, "workers") == {shared["id"]}
    # Withdrawing consent removes the document.
    response = await client.patch(f"/v1/workers/{shared['id']}",
                                  json={"consent": {"share_with_enterprises": False,
                                                    "given_at": "2025-11-21T10:00:00+08:00"}},
                                  headers=broker.headers)
    assert response.status_code == 200
    await run_worker_burst(settings)
    await settle(settings)
    assert await document_ids(settings, "workers") == set()


async def test_erasure_leaves_no_personal_data(client: httpx.AsyncClient, broker: OrgKey, settings: ApiSettings,
                                               db: asyncpg.Connection) -> None:
    headers = {**broker.headers, "Idempotency-Key": "erase-me"}
    created = await client.post("/v1/workers", json=worker_body(external_ref="crm-42"), headers=headers)
    worker_id = created.json()["id"]
    await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": "签合同"}, headers=broker.headers)
    await run_worker_burst(settings)
    await settle(settings)
    assert worker_id in await document_ids(settings, "workers")

    erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert erased.status_code == 200, erased.text
    tombstone = erased.json()
    assert tombstone["status"] == "erased"
    assert tombstone["erased_at"]
    assert tombstone["name"] is None
    assert tombstone["id_number"] is None
    assert tombstone["phone"] is None
    await run_worker_burst(settings)
    await settle(settings)
    assert worker_id not in await document_ids(settings, "workers")

    row = await db.fetchrow("SELECT * FROM worker_profiles WHERE id = $1", uuid.UUID(worker_id))
    assert row is not None
    kept = {"id", "broker_org_id", "status", "created_at", "updated_at", "erased_at", "willing_to_relocate",
            "consent_share_with_enterprises", "consent_contact_by_sms"}
    for column, value in dict(row).items():
        if column not in kept:
            # Flags other domains add (false) carry nothing about the person; every value column is empty.
            assert value in (None, [], "[]", False), column
    dump = "\n".join([await table_text(db, t) for t in ("worker_profiles", "idempotency_records", "outbox",
                                                         "pii_access_log")])
    for secret in (NAME, ID_NUMBER, PHONE, "crm-42", "腰不好", "云阳面工", "500235"):
        assert secret not in dump
    # The tombstone answers, the list forgets it, a second erase is harmless, a change is refused.
    assert (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).json()["status"] == "erased"
    assert (await client.get("/v1/workers", headers=broker.headers)).json()["items"] == []
    assert (await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)).status_code == 200
    assert (await client.patch(f"/v1/workers/{worker_id}", json={"skills": []},
                               headers=broker.headers)).status_code == 409
    # The same person can be registered again after erasure (the blind index went with the data).
    assert (await create(client, broker)).status_code == 201


async def test_save_worker_is_idempotent_for_reimports(broker: OrgKey, make_org: MakeOrg, settings: ApiSettings,
                                                       db: asyncpg.Connection) -> None:
    from services.api.auth.caller import Caller
    from services.api.database import PendingWork
    from services.api.problems import Conflict
    from services.api.worker_profiles.schemas import WorkerFields
    from services.api.worker_profiles.service import build_context, save_worker

    def caller_of(org: OrgKey) -> Caller:
        return Caller(org_id=uuid.UUID(org.org_id), role="broker", key_id=uuid.uuid4(), province=None,
                      licence_valid_until=date(2099, 12, 31), kiosk_adcode=None)

    ctx = await build_context(settings, {}, PendingWork())
    outcomes = []
    for body in (worker_body(external_ref="x1"), worker_body(external_ref="x1"), worker_body(),
                 worker_body(external_ref="x1", skills=["二保焊"])):
        async with db.transaction():
            _, outcome = await save_worker(db, ctx, caller_of(broker), WorkerFields.model_validate(body))
        outcomes.append(outcome)
    # The third row names the same person without a reference: what it does not give is kept, so nothing changed.
    assert outcomes == ["created", "unchanged", "unchanged", "updated"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 1
    assert await db.fetchval("SELECT external_ref FROM worker_profiles") == "x1"
    other = await make_org("broker")
    with pytest.raises(Conflict) as caught:
        async with db.transaction():
            await save_worker(db, ctx, caller_of(other), WorkerFields.model_validate(worker_body()))
    assert "existing_id" not in caught.value.extra


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("copy_threshold", [1, 10_000], ids=["copy", "executemany"])
async def test_batch_save_matches_row_by_row_saving(broker: OrgKey, make_org: MakeOrg, settings: ApiSettings,
                                                    db: asyncpg.Connection, client: httpx.AsyncClient,
                                                    monkeypatch: pytest.MonkeyPatch, copy_threshold: int) -> None:
    """save_workers (the importer's batch path) gives every row the outcome that saving the rows one at a time
    gives, and leaves the same profiles behind, also when rows of one batch name the same person or reference
    (they must see each other's effect), a reference moves to another person, or another broker holds one;
    whether new profiles are inserted through COPY and the staging table (import batches) or executemany."""
    from services.api.worker_profiles import repository as workers_repository

    monkeypatch.setattr(workers_repository, "COPY_THRESHOLD", copy_threshold)
    from services.api.auth.caller import Caller
    from services.api.database import PendingWork
    from services.api.problems import ProblemError
    from services.api.worker_profiles.schemas import WorkerFields
    from services.api.worker_profiles.service import build_context, save_worker, save_workers

    def caller_of(org: OrgKey) -> Caller:
        return Caller(org_id=uuid.UUID(org.org_id), role="broker", key_id=uuid.uuid4(), province=None,
                      licence_valid_until=date(2099, 12, 31), kiosk_adcode=None)

    def person(seq: int) -> str:
        return make_id_number(birth="19900101", seq=f"{seq:03d}")

    other = await make_org("broker")
    assert (await create(client, other, id_number=person(99), phone="13900000099")).status_code == 201
    assert (await create(client, broker, id_number=person(1), external_ref="R1")).status_code == 201
    rows = [
        worker_body(id_number=person(11), external_ref="Ra"),                      # created
        worker_body(id_number=person(11), external_ref="Ra"),                      # same row again: unchanged
        worker_body(id_number=person(11), external_ref="Ra", skills=["砌砖"]),     # updated
        worker_body(id_number=person(99), external_ref="Rb"),                      # other broker's person
        worker_body(id_number=person(13), external_ref="R1"),                      # R1 moves to another person
        worker_body(id_number=person(1)),                                          # R1's old person: new profile
        worker_body(id_number=person(11), external_ref="R1"),                      # R1 → a person of Ra: conflict
        worker_body(id_number=person(15), phone="12345"),                          # invalid
        worker_body(id_number=person(17)),                                         # created, no reference
        worker_body(id_number=person(17), phone="13700000017"),                    # same person: updated
        worker_body(id_number=person(19), external_ref="Rc"),                      # created
        worker_body(id_number=person(21), external_ref="Rc"),                      # Rc moves on: updated
        worker_body(id_number=person(19)),                                         # Rc's old person: created
    ]
    bodies = [WorkerFields.model_validate(r) for r in rows]

    def described(result: Any) -> Any:
        if isinstance(result, ProblemError):
            return type(result).__name__, result.extra.get("reason"), "existing_id" in result.extra
        return result[0]

    async def state() -> list[tuple[Any, ...]]:
        records = await db.fetch("""SELECT external_ref, id_number_bidx, skills, phone_bidx, status, gender,
                                           birth_date, home_adcode, occupations, occupation_codes, occupation_terms,
                                           certificates, desired_adcodes, work_types, expected_wage_min,
                                           expected_wage_max, expected_wage_unit, available_from,
                                           consent_share_with_enterprises, consent_given_at, held_for_review
                                      FROM worker_profiles WHERE broker_org_id = $1
                                     ORDER BY id_number_bidx""", uuid.UUID(broker.org_id))
        return [tuple(r.values()) for r in records]

    async def run(batch: bool) -> tuple[list[Any], list[tuple[Any, ...]], set[str]]:
        outbox = PendingWork()
        ctx = await build_context(settings, {}, outbox)
        try:
            async with db.transaction():
                if batch:
                    results = [described(r) for r in await save_workers(db, ctx, caller_of(broker), bodies)]
                else:
                    results = []
                    for body in bodies:
                        try:
                            async with db.transaction():
                                results.append((await save_worker(db, ctx, caller_of(broker), body))[1])
                        except ProblemError as exc:
                            results.append(described(exc))
                changed = {r["entity_id"] for r in await db.fetch(
                    "SELECT entity_id FROM outbox WHERE topic = 'worker.index' AND id = ANY($1::bigint[])",
                    outbox.outbox_ids)}
                after = await state()
                raise _Rollback
        except _Rollback:
            pass
        return results, after, changed

    one_by_one = await run(batch=False)
    batched = await run(batch=True)
    assert one_by_one[0] == [
        "created", "unchanged", "updated", ("DuplicatePerson", "duplicate_person", False), "updated", "created",
        ("DuplicatePerson", "duplicate_person", True), ("InvalidInput", None, False), "created", "updated",
        "created", "updated", "created"]
    assert batched[0] == one_by_one[0]
    assert batched[1] == one_by_one[1]
    assert len(batched[1]) == 6  # R1 (now person 13), Ra, person 1 again, person 17, Rc (now 21), person 19
    assert len(batched[2]) == len(one_by_one[2])  # new ids differ; one index row per changed profile either way


async def test_batch_save_survives_a_concurrent_registration_and_holds_for_grade_d(
        broker: OrgKey, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection, client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A person registered elsewhere between the batch's lookup and its insert (stood for by a stale lookup):
    the unique index stops the insert, the batch's rows are saved again one by one, the duplicate is a row error
    and the others are stored. A grade-D broker's new profiles are all held for review, as single creates are."""
    from services.api.auth.caller import Caller
    from services.api.database import PendingWork
    from services.api.problems import ProblemError
    from services.api.worker_profiles import repository
    from services.api.worker_profiles.schemas import WorkerFields
    from services.api.worker_profiles.service import build_context, save_workers

    other = await make_org("broker")
    taken = make_id_number(seq="201")
    assert (await create(client, other, id_number=taken)).status_code == 201
    real = repository.holders_by_person
    calls = 0

    async def stale_once(conn: asyncpg.Connection, bidxs: list[bytes]) -> dict[bytes, asyncpg.Record]:
        nonlocal calls
        calls += 1
        return {} if calls == 1 else await real(conn, bidxs)

    monkeypatch.setattr(repository, "holders_by_person", stale_once)
    caller = Caller(org_id=uuid.UUID(broker.org_id), role="broker", key_id=uuid.uuid4(), province=None,
                    licence_valid_until=date(2099, 12, 31), kiosk_adcode=None)
    ctx = await build_context(settings, {}, PendingWork())
    bodies = [WorkerFields.model_validate(worker_body(id_number=make_id_number(seq=s))) for s in ("203", "201", "205")]
    async with db.transaction():
        results = await save_workers(db, ctx, caller, bodies)
    assert [r if isinstance(r, ProblemError) else r[0] for r in results][0::2] == ["created", "created"]
    assert isinstance(results[1], ProblemError)
    assert results[1].extra == {"reason": "duplicate_person"}
    assert await db.fetchval("SELECT count(*) FROM worker_profiles WHERE broker_org_id = $1",
                             uuid.UUID(broker.org_id)) == 2
    monkeypatch.undo()

    authority = await make_org("authority", province="CQ")
    adjusted = await client.post(f"/v1/credit/{broker.org_id}/adjustments", headers=authority.headers,
                                 json={"points": -45, "reason": "多次扣押务工人员身份证，查实"})
    assert adjusted.json()["grade"] == "D"
    bodies = [WorkerFields.model_validate(worker_body(id_number=make_id_number(seq=s))) for s in ("207", "209")]
    async with db.transaction():
        results = await save_workers(db, ctx, caller, bodies)
    new_ids = [r[1] for r in results if not isinstance(r, ProblemError)]
    assert len(new_ids) == 2
    held = await db.fetch("SELECT id, held_for_review FROM worker_profiles WHERE broker_org_id = $1",
                          uuid.UUID(broker.org_id))
    assert {r["id"] for r in held if r["held_for_review"]} == set(new_ids)


async def test_certificates_are_stored_and_returned_by_their_official_names(
        client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection) -> None:
    # What brokers type (焊工证, half-width brackets) is stored as the catalogue's names, so that it matches what
    # enterprises require however they write it; what the platform does not know (or 驾照, which may be any
    # class of licence) is kept.
    response = await create(client, broker, certificates=["焊工证", "电焊证", "特种设备作业人员证(N1叉车司机)", "驾照"])
    assert response.status_code == 201, response.text
    canonical = ["特种作业操作证（焊接与热切割作业）", "特种设备作业人员证（N1 叉车司机）", "驾照"]
    assert response.json()["certificates"] == canonical
    worker_id = response.json()["id"]
    assert list(await db.fetchval("SELECT certificates FROM worker_profiles WHERE id = $1",
                                  uuid.UUID(worker_id))) == canonical
    got = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert got.json()["certificates"] == canonical
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"certificates": ["登高证", "健康证明"]},
                                 headers=broker.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["certificates"] == ["特种作业操作证（高处作业）", "健康证"]


async def test_a_name_or_notes_too_long_is_told_in_characters(client: httpx.AsyncClient, broker: OrgKey) -> None:
    # The control-character check ran before the length bounds, which pydantic then counted generically: "Value
    # should have at most 50 items after validation, not 51" for a name.
    refused = await create(client, broker, name="张" * 51)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "name",
                                         "message": "最多 50 个字符 / String should have at most 50 characters"}]
    worker_id = (await create(client, broker)).json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"notes": "腰" * 1001}, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"] == [{"field": "notes",
                                         "message": "最多 1000 个字符 / String should have at most 1000 characters"}]
    assert (await client.patch(f"/v1/workers/{worker_id}", json={"name": " 张德旺 ", "notes": None},
                               headers=broker.headers)).json()["name"] == NAME


@pytest.mark.parametrize(("overrides", "field", "chinese"), [
    ({"experience_years": "三年"}, "experience_years", "须为整数"),
    ({"willing_to_relocate": "也许"}, "willing_to_relocate", "须为是或否"),
    ({"work_types": ["daily", "weekly"]}, "work_types.1", "须为以下之一"),
    ({"available_from": "2026-13-01"}, "available_from", "须为日期"),
    ({"experience_years": -1}, "experience_years", "须不小于 0"),
    ({"labour_brand": "巴" * 200}, "labour_brand", "最多"),
])
async def test_pydantics_own_messages_are_bilingual(client: httpx.AsyncClient, broker: OrgKey,
                                                   overrides: dict[str, Any], field: str, chinese: str) -> None:
    # Brokers read these in import reports and their tools' error boxes: Chinese first, pydantic's English kept.
    response = await create(client, broker, **overrides)
    assert response.status_code == 422, response.text
    messages = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert messages[field].startswith(chinese), messages
    assert " / " in messages[field]


@pytest.mark.parametrize(("field", "value"), [
    ("available_from", "1700000000"), ("available_from", 1700000000), ("available_until", "1900000000"),
    ("available_from", 20260301), ("available_from", "20261301"), ("available_from", 1.7e9),
])
async def test_a_number_is_no_date(client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
                                   field: str, value: Any) -> None:
    # pydantic reads a number (or digits) as a Unix timestamp: "1700000000" was stored as 2023-11-14.
    response = await create(client, broker, **{field: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert "Unix timestamp" in response.json()["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0
    worker_id = (await create(client, broker)).json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json={field: value}, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]
    stored = (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).json()
    assert (stored["available_from"], stored["available_until"]) == ("2026-01-01", None)


async def test_a_date_in_iso_basic_form_is_a_date(client: httpx.AsyncClient, broker: OrgKey) -> None:
    # ISO 8601's basic form, as HR systems export it: pydantic read "20260301" as 1970-08-23 (seconds since 1970).
    response = await create(client, broker, available_from="20300301")
    assert response.status_code == 201, response.text
    assert response.json()["available_from"] == "2030-03-01"


async def test_a_number_is_no_consent_time(client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection) -> None:
    consent = {"share_with_enterprises": True, "given_at": "1700000000"}
    response = await create(client, broker, consent=consent)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["consent.given_at"]
    assert "Unix timestamp" in response.json()["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"skills": ["氩弧\u0000焊"]}, "skills"), ({"labour_brand": "云阳\u0000面工"}, "labour_brand"),
    ({"external_ref": "W-\u0000"}, "external_ref"), ({"occupations": ["焊工\u0000"]}, "occupations"),
])
async def test_u0000_in_a_text_column_is_refused_naming_the_field(client: httpx.AsyncClient, broker: OrgKey,
                                                                  db: asyncpg.Connection, overrides: dict[str, Any],
                                                                  field: str) -> None:
    # PostgreSQL's refusal was answered as a 422 without `errors`: the client could not tell which field held it.
    response = await create(client, broker, **overrides)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert "U+0000" in response.json()["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0
    worker_id = (await create(client, broker)).json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json=overrides, headers=broker.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]


@pytest.mark.parametrize("phone", ["400-820-8820", "023-68000000"])
async def test_a_workers_phone_is_a_mobile_only(client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
                                                phone: str) -> None:
    # Postings and organisations may give a service number or a fixed line; a person is texted on a mobile.
    response = await create(client, broker, phone=phone)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["phone"]
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


def full_width(text: str) -> str:
    """Digits and X as a Chinese input method's full-width mode types them (５００１０７…, １３８…)."""
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X+-"})


async def test_full_width_id_numbers_and_phones_are_stored_as_ascii(client: httpx.AsyncClient, broker: OrgKey,
                                                                   make_org: MakeOrg) -> None:
    created = await create(client, broker, id_number=full_width(ID_NUMBER), phone=full_width("+86 " + PHONE))
    assert created.status_code == 201, created.text
    assert_masked(created.json())
    worker_id = created.json()["id"]
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"phone": full_width("13912345678")},
                                 headers=broker.headers)
    assert patched.status_code == 200, patched.text
    assert_masked(patched.json(), phone="13912345678")
    data = (await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": "核对"},
                             headers=broker.headers)).json()
    assert (data["id_number"], data["phone"]) == (ID_NUMBER, "13912345678")
    # The same person typed either way: the blind index is of the normalised number.
    again = await create(client, await make_org("broker"), id_number=ID_NUMBER, phone="13700001111")
    assert again.status_code == 409, again.text


async def test_number_errors_come_with_the_shape_errors(client: httpx.AsyncClient, broker: OrgKey,
                                                        db: asyncpg.Connection) -> None:
    # The ID number's and phone's own checks used to wait until the body had its shape: a blank name hid a mistyped
    # phone, found only when the fixed body was sent again.
    wrong_check = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")
    response = await create(client, broker, name="", id_number=wrong_check, phone="12345")
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"name", "id_number", "phone"}, errors
    assert errors["phone"].startswith("手机号码应为11位"), errors
    assert "校验位" in errors["id_number"], errors
    assert wrong_check not in response.text
    # A number already refused for its shape (too long) is named once, for that.
    long_phone = await create(client, broker, name="", phone="1" * 200)
    assert sorted(e["field"] for e in long_phone.json()["errors"]) == ["name", "phone"], long_phone.text
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


async def test_place_errors_come_with_the_shape_errors(client: httpx.AsyncClient, broker: OrgKey,
                                                       db: asyncpg.Connection) -> None:
    # An unknown county, a city where a county is needed and an unknown desired place were told only once the rest
    # of the body had its shape.
    response = await create(client, broker, experience_years=-1, home_adcode="999999", current_adcode="510100",
                            desired_adcodes=["500107", "123456"])
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"experience_years", "home_adcode", "current_adcode", "desired_adcodes.1"}, errors
    assert errors["home_adcode"] == "未知的区县代码 / unknown adcode 999999"
    assert "510100 is 成都市, a city" in errors["current_adcode"], errors
    assert errors["desired_adcodes.1"] == "未知的区县代码 / unknown adcode 123456"
    # Worded as when the shape holds (the service's check), and no error twice.
    alone = await create(client, broker, home_adcode="999999", current_adcode="510100")
    assert {e["field"]: e["message"] for e in alone.json()["errors"]} == {
        "home_adcode": errors["home_adcode"], "current_adcode": errors["current_adcode"]}
    malformed = await create(client, broker, name="", home_adcode="99999")
    assert sorted(e["field"] for e in malformed.json()["errors"]) == ["home_adcode", "name"], malformed.text
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0
