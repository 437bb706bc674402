"""Job postings: occupation inference, compliance (reject / hold / review), expiry and renewal, indexing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from services.api.plausible_dates import years_after
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey, start_date_in
from tests.services.indexing.pipeline import document_ids, get_document, run_worker_burst, settle
from workers.indexing_tasks import expire_postings


def job_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "招聘电焊工 5名",
        "description": "九龙坡工厂招熟练电焊工，会氩弧焊优先，包吃包住，月休四天。",
        "headcount": 5,
        "adcode": "500107",
        "wage": {"min": 6500, "max": 9000, "unit": "month"},
        "work_type": "full_time",
        "start_date": start_date_in(4),
        "benefits": ["包吃", "包住"],
        "required_certificates": ["焊工证"],
        "contact": {"name": "李经理", "phone": "023-68000000"},
    }
    body.update(overrides)
    return body


async def post_job(client: httpx.AsyncClient, org: OrgKey, **overrides: Any) -> httpx.Response:
    return await client.post("/v1/jobs", json=job_body(**overrides), headers=org.headers)


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="CQ")


async def test_occupation_is_inferred_and_expiry_defaulted(client: httpx.AsyncClient, enterprise: OrgKey,
                                                           settings: ApiSettings) -> None:
    response = await post_job(client, enterprise)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["occupation_code"] == "6-18-02-04"
    assert job["occupation_name"] == "焊工"
    assert job["occupation_inferred"] is True
    assert job["status"] == "open"
    expires = datetime.fromisoformat(job["expires_at"])
    expected = datetime.now(UTC) + timedelta(days=settings.job_default_ttl_days)
    assert abs((expires - expected).total_seconds()) < 120


async def test_given_code_is_not_inferred(client: httpx.AsyncClient, enterprise: OrgKey) -> None:
    response = await post_job(client, enterprise, occupation_code="6-30-05-01")
    assert response.status_code == 201, response.text
    assert (response.json()["occupation_code"], response.json()["occupation_inferred"]) == ("6-30-05-01", False)


async def test_uninferable_posting_asks_for_a_code(client: httpx.AsyncClient, enterprise: OrgKey,
                                                   db: asyncpg.Connection) -> None:
    response = await post_job(client, enterprise, title="诚聘", description="待遇从优，欢迎加入我们")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["occupation_code"]
    unknown = await post_job(client, enterprise, occupation_code="1-99-99-99")
    assert unknown.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"description": "入职需交押金300元，干满三个月退还"}, "fee.deposit"),
        ({"description": "报名费50元，现场缴纳"}, "fee.seeker_fee"),
        ({"description": "入职扣押身份证"}, "id.withholding"),
        ({"wage": {"min": 1000, "max": 1200, "unit": "month"}}, "wage.below_minimum"),  # below CQ's minimum
    ],
)
async def test_breaking_the_rules_is_rejected_with_reasons(client: httpx.AsyncClient, enterprise: OrgKey,
                                                           db: asyncpg.Connection, overrides: dict[str, Any],
                                                           rule: str) -> None:
    response = await post_job(client, enterprise, **overrides)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"]
    assert rule in {r["rule_id"] for r in problem["reasons"]}
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


FACTORY = "九龙坡工厂招熟练电焊工，包吃包住。"


@pytest.mark.parametrize("overrides", [
    {"description": FACTORY + "不收取押金（包括保证金）"},
    {"description": FACTORY + "押金—无"},
    {"description": FACTORY + "押金300元由公司承担"},
    {"description": FACTORY + "体检费200元公司报销"},
    {"description": FACTORY + "体检费用由公司承担"},
    {"description": FACTORY + "无押金、无中介费"},
    {"description": FACTORY + "押金：无 中介费：无"},
    {"description": FACTORY + "体检：公司报销 报名费：无"},
    {"description": FACTORY + "工资月结，不押工资"},
    {"description": FACTORY + "无压金"},
    {"benefits": ["包吃", "包住", "免费体检", "工作服免费发放"]},
])
async def test_honest_fee_wording_is_published(client: httpx.AsyncClient, enterprise: OrgKey,
                                               overrides: dict[str, Any]) -> None:
    response = await post_job(client, enterprise, **overrides)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["compliance"]) == ("open", [])


@pytest.mark.parametrize(("phrase", "rule"), [
    ("押金300元由公司承担，干满半年", "fee.deposit"),  # the company "pays" only once the seeker stays
    ("押金/无 报名费/50", "fee.seeker_fee"),  # the denial belongs to the deposit
    ("体检费公司报销，未满三个月自理", "fee.medical_exam"),
    ("有押金无中介费", "fee.deposit"),  # the 无 is the agency fee's
    ("体检：公司报销 报名费：50元", "fee.seeker_fee"),  # the company pays the exam, not the registration
    ("押一个月工资", "fee.wage_deposit"),
    ("工资押一个月", "fee.wage_deposit"),
    ("压金300", "fee.deposit"),
])
async def test_a_fee_evasion_is_refused_naming_the_rule(client: httpx.AsyncClient, enterprise: OrgKey,
                                                         db: asyncpg.Connection, phrase: str, rule: str) -> None:
    response = await post_job(client, enterprise, description=FACTORY + phrase)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert [r["rule_id"] for r in problem["reasons"]] == [rule]
    assert [e["field"] for e in problem["errors"]] == ["description"]
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


YESTERDAY = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)  # in China, as the rule counts


@pytest.mark.parametrize(("overrides", "field"), [
    ({"adcode": "999999"}, "adcode"),
    ({"start_date": (YESTERDAY - timedelta(days=30)).isoformat(), "end_date": YESTERDAY.isoformat()}, "end_date"),
    ({"expires_at": "0001-01-01T00:00:00+14:00"}, "expires_at"),  # -infinity, read back naive
    ({"expires_at": "9999-12-31T23:59:59-10:00"}, "expires_at"),
])
async def test_invalid_fields_are_422_per_field(client: httpx.AsyncClient, enterprise: OrgKey,
                                                db: asyncpg.Connection, overrides: dict[str, Any],
                                                field: str) -> None:
    response = await post_job(client, enterprise, **overrides)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


TODAY = YESTERDAY + timedelta(days=1)


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"start_date": "2999-01-01"}, "start_date", f"at most 1 year(s) from today ({years_after(TODAY, 1)})"),
    ({"start_date": (years_after(TODAY, 1) + timedelta(days=1)).isoformat()}, "start_date", "at most 1 year"),
    ({"start_date": "1990-01-01"}, "start_date", f"on or after {TODAY - timedelta(days=90)}"),
    ({"start_date": (TODAY - timedelta(days=91)).isoformat()}, "start_date", "at most 90 days in the past"),
    ({"end_date": "9999-12-31"}, "end_date", f"at most 5 years from today ({years_after(TODAY, 5)})"),
    ({"end_date": "9999-12-31"}, "end_date", "leave it empty for an open-ended job"),
])
async def test_implausible_start_and_end_dates_are_refused(client: httpx.AsyncClient, enterprise: OrgKey,
                                                           db: asyncpg.Connection, overrides: dict[str, Any],
                                                           field: str, words: str) -> None:
    response = await post_job(client, enterprise, **overrides)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"], error
    assert "开工日期" in error["message"] or "结束日期" in error["message"]  # bilingual
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


async def test_dates_at_the_bounds_are_fine_and_an_older_postings_start_is_kept(
        client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    for start, end in ((years_after(TODAY, 1), years_after(TODAY, 5)), (TODAY - timedelta(days=90), None)):
        response = await post_job(client, enterprise, start_date=start.isoformat(),
                                  end_date=end.isoformat() if end else None)
        assert response.status_code == 201, response.text
    # A posting whose start has since fallen more than 90 days back is edited and renewed as before ...
    job_id = response.json()["id"]
    await db.execute("UPDATE job_postings SET start_date = $2 WHERE id = $1::uuid", job_id,
                     TODAY - timedelta(days=400))
    renewed = await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 3, "expires_at": (
        datetime.now(UTC) + timedelta(days=20)).isoformat()}, headers=enterprise.headers)
    assert renewed.status_code == 200, renewed.text
    # ... but a start changed to such a date is refused like a new posting's.
    moved = await client.patch(f"/v1/jobs/{job_id}", json={"start_date": (TODAY - timedelta(days=300)).isoformat()},
                               headers=enterprise.headers)
    assert moved.status_code == 422, moved.text
    assert [e["field"] for e in moved.json()["errors"]] == ["start_date"]


async def test_a_posting_that_forbids_deposits_is_fine(client: httpx.AsyncClient, enterprise: OrgKey) -> None:
    response = await post_job(client, enterprise, description="招熟练电焊工，严禁收取押金、保证金，包吃包住。")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"


async def test_held_posting_waits_for_review_then_is_searchable(client: httpx.AsyncClient, enterprise: OrgKey,
                                                                authority: OrgKey, make_org: MakeOrg,
                                                                settings: ApiSettings) -> None:
    held = await post_job(client, enterprise, description="招电焊工，限男性，包吃包住。")
    assert held.status_code == 201, held.text
    job = held.json()
    assert job["status"] == "pending_review"
    assert "discrimination.gender" in {f["rule_id"] for f in job["compliance"]}
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] not in await document_ids(settings, "jobs")

    # Only an authority of the job's province reviews; the enterprise cannot approve itself.
    assert (await client.post(f"/v1/jobs/{job['id']}/review", json={"decision": "approve"},
                              headers=enterprise.headers)).status_code == 403
    sichuan = await make_org("authority", province="SC")
    assert (await client.post(f"/v1/jobs/{job['id']}/review", json={"decision": "approve"},
                              headers=sichuan.headers)).status_code == 404
    pending = await client.get("/v1/jobs", params={"status": "pending_review"}, headers=authority.headers)
    assert [j["id"] for j in pending.json()["items"]] == [job["id"]]

    approved = await client.post(f"/v1/jobs/{job['id']}/review",
                                 json={"decision": "approve", "note": "体力搬运岗位，已核实"},
                                 headers=authority.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "open"
    assert approved.json()["review"]["decision"] == "approve"
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")
    # An unrelated edit does not send the approved posting back to review.
    edited = await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 8}, headers=enterprise.headers)
    assert edited.json()["status"] == "open"
    again = await client.post(f"/v1/jobs/{job['id']}/review", json={"decision": "approve"}, headers=authority.headers)
    assert again.status_code == 409
    # The problem's `status` is the HTTP status (RFC 9457); the posting's is an extension member.
    assert (again.json()["status"], again.json()["job_status"]) == (409, "open")


async def test_rejected_in_review_is_closed(client: httpx.AsyncClient, enterprise: OrgKey,
                                            authority: OrgKey) -> None:
    job = (await post_job(client, enterprise, description="招电焊工，限本地户籍。")).json()
    assert job["status"] == "pending_review"
    rejected = await client.post(f"/v1/jobs/{job['id']}/review", json={"decision": "reject", "note": "户籍限制"},
                                 headers=authority.headers)
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "closed"
    assert (await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 2},
                               headers=enterprise.headers)).status_code == 409


async def test_documents_carry_public_fields_only(client: httpx.AsyncClient, enterprise: OrgKey,
                                                  settings: ApiSettings) -> None:
    job = (await post_job(client, enterprise)).json()
    await run_worker_burst(settings)
    await settle(settings)
    document = await get_document(settings, "jobs", job["id"])
    assert document["occupation_code"] == "6-18-02-04"
    assert document["status"] == "open"
    assert document["expires_at"] == int(datetime.fromisoformat(job["expires_at"]).timestamp())
    assert "contact" not in document
    assert "李经理" not in str(document)
    assert "68000000" not in str(document)
    assert "_geo" not in document


async def test_close_removes_from_search(client: httpx.AsyncClient, enterprise: OrgKey,
                                         settings: ApiSettings) -> None:
    job = (await post_job(client, enterprise)).json()
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")
    closed = await client.post(f"/v1/jobs/{job['id']}/close", headers=enterprise.headers)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    assert (await client.post(f"/v1/jobs/{job['id']}/close", headers=enterprise.headers)).status_code == 200
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] not in await document_ids(settings, "jobs")


async def test_headcount_lowered_to_the_hires_made_closes_the_posting_and_never_below(
        client: httpx.AsyncClient, enterprise: OrgKey, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    # A posting for 3 with two hires, lowered to 2, stayed open in search with nobody left to hire (every proposal
    # then a 409 no_open_headcount): a stale, filled posting. Lowered below the hires, it did the same.
    from tests.services.api.placements.support import hired_placement, make_worker

    broker = await make_org("broker")
    job = (await post_job(client, enterprise, headcount=3)).json()
    for _ in range(2):
        worker = await make_worker(client, broker, occupations=[job["occupation_code"]])
        await hired_placement(client, enterprise, broker, job["id"], worker["id"])

    raised = await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 4}, headers=enterprise.headers)
    assert (raised.status_code, raised.json()["status"]) == (200, "open")  # an ordinary edit
    refused = await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 1}, headers=enterprise.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["reason"] == "headcount_below_hires"
    assert [e["field"] for e in refused.json()["errors"]] == ["headcount"]
    assert (await db.fetchval("SELECT headcount FROM job_postings WHERE id = $1::uuid", job["id"])) == 4

    filled = await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 2}, headers=enterprise.headers)
    assert filled.status_code == 200, filled.text
    assert (filled.json()["status"], filled.json()["headcount"]) == ("closed", 2)
    assert await db.fetchval("SELECT closed_reason FROM job_postings WHERE id = $1::uuid", job["id"]) == "filled"


async def test_expiry_sweep_and_renewal(client: httpx.AsyncClient, enterprise: OrgKey, settings: ApiSettings,
                                        db: asyncpg.Connection) -> None:
    job = (await post_job(client, enterprise)).json()
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")
    await db.execute("UPDATE job_postings SET expires_at = now() - interval '1 minute' WHERE id = $1",
                     uuid.UUID(job["id"]))
    # Before the sweep it already reads as expired.
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json()["status"] == "expired"

    from services.api.redis_connection import create_arq_redis
    from services.db.pool import create_pool
    from workers.context import WorkerResources
    from workers.settings import WorkerSettings

    worker_settings = WorkerSettings(**settings.model_dump())
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=2)
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        resources = WorkerResources(settings=worker_settings, pool=pool, redis=redis, search=None)  # type: ignore[arg-type]
        assert await expire_postings({"resources": resources}) == 1
        assert await expire_postings({"resources": resources}) == 0
    finally:
        await redis.aclose(close_connection_pool=True)
        await pool.close()
    assert await db.fetchval("SELECT status FROM job_postings WHERE id = $1", uuid.UUID(job["id"])) == "expired"
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] not in await document_ids(settings, "jobs")

    past = await client.patch(f"/v1/jobs/{job['id']}", json={"expires_at": "2020-01-01T00:00:00+08:00"},
                              headers=enterprise.headers)
    assert past.status_code == 422
    assert [e["field"] for e in past.json()["errors"]] == ["expires_at"]
    too_far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert (await client.patch(f"/v1/jobs/{job['id']}", json={"expires_at": too_far},
                               headers=enterprise.headers)).status_code == 422
    renewed_until = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    renewed = await client.patch(f"/v1/jobs/{job['id']}", json={"expires_at": renewed_until},
                                 headers=enterprise.headers)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["status"] == "open"
    await run_worker_burst(settings)
    await settle(settings)
    assert job["id"] in await document_ids(settings, "jobs")


async def test_patch_to_an_unknown_adcode_is_422_and_changes_nothing(client: httpx.AsyncClient,
                                                                      enterprise: OrgKey) -> None:
    job = (await post_job(client, enterprise)).json()
    response = await client.patch(f"/v1/jobs/{job['id']}", json={"adcode": "999999"}, headers=enterprise.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["adcode"]
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json() == job


# A city (成都市 510100), a province (重庆市 500000, 四川省 510000) or GB/T 2260's grouping of Chongqing's districts
# (500100) is no county: postings were stored there and counted, matched and shown as if it were one.
async def test_a_county_error_comes_with_the_shape_errors(client: httpx.AsyncClient, enterprise: OrgKey,
                                                          db: asyncpg.Connection) -> None:
    # The county was checked only once the rest of the posting had its shape: fixed headcount, then told the county.
    response = await post_job(client, enterprise, headcount=0, adcode="510100")
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"headcount", "adcode"}, errors
    assert "510100 is 成都市, a city" in errors["adcode"], errors
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0


@pytest.mark.parametrize("adcode", ["500100", "510100", "500000", "510000"])
async def test_a_posting_must_be_in_a_county(client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection,
                                             adcode: str) -> None:
    response = await post_job(client, enterprise, adcode=adcode)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == "adcode"
    assert "须为区县级代码" in error["message"], error  # bilingual
    assert f"a county code is needed (a district, county or county-level city): {adcode} is" in error["message"]
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0
    job = (await post_job(client, enterprise)).json()
    patched = await client.patch(f"/v1/jobs/{job['id']}", json={"adcode": adcode}, headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["adcode"]
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json() == job


async def test_a_stored_city_posting_is_readable_and_its_next_patch_asks_for_a_county(
        client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    job_id = (await post_job(client, enterprise)).json()["id"]
    await db.execute("UPDATE job_postings SET adcode = '500000' WHERE id = $1::uuid", job_id)
    read = await client.get(f"/v1/jobs/{job_id}", headers=enterprise.headers)
    assert read.status_code == 200, read.text
    assert read.json()["adcode"] == "500000"
    patched = await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 3}, headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["adcode"]
    fixed = await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 3, "adcode": "500107"},
                               headers=enterprise.headers)
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["adcode"], fixed.json()["headcount"]) == ("500107", 3)


async def test_model_level_errors_read_the_same_on_post_and_patch(client: httpx.AsyncClient,
                                                                  enterprise: OrgKey) -> None:
    # The merged posting's own validator (a ValueError): pydantic's "Value error, " prefix was left on PATCH.
    start = start_date_in(4)
    before = (datetime.fromisoformat(start) - timedelta(days=1)).date().isoformat()
    posted = await post_job(client, enterprise, start_date=start, end_date=before)
    assert posted.status_code == 422, posted.text
    job = (await post_job(client, enterprise, start_date=start)).json()
    patched = await client.patch(f"/v1/jobs/{job['id']}", json={"end_date": before}, headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"] == posted.json()["errors"]
    errors = patched.json()["errors"]
    assert {e["message"] for e in errors} == {"结束日期早于开始日期 / end_date is before start_date"}, errors
    # Located at both fields (it was "body", and an import row reported it without a field; then end_date only).
    assert [e["field"] for e in errors] == ["start_date", "end_date"]
    for body, fields in (({"age_min": 40, "age_max": 30}, ["age_min", "age_max"]),
                         ({"expires_at": "2026-12-20T00:00:00"}, ["expires_at"]),
                         ({"required_certificates": ["证" * 41]}, ["required_certificates"])):
        refused = await post_job(client, enterprise, start_date=start, **body)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == fields, refused.text


async def test_patch_rechecks_compliance_and_inference(client: httpx.AsyncClient, enterprise: OrgKey) -> None:
    job = (await post_job(client, enterprise)).json()
    bad = await client.patch(f"/v1/jobs/{job['id']}", json={"description": "需交体检费100元"},
                             headers=enterprise.headers)
    assert bad.status_code == 422
    moved = await client.patch(f"/v1/jobs/{job['id']}",
                               json={"title": "招叉车司机", "description": "仓库开叉车的，有叉车证",
                                     "required_certificates": []},
                               headers=enterprise.headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["occupation_code"], moved.json()["occupation_inferred"]) == ("6-30-05-01", True)
    held = await client.patch(f"/v1/jobs/{job['id']}", json={"description": "只招女工"}, headers=enterprise.headers)
    assert held.json()["status"] == "pending_review"


async def test_access_is_per_organisation(client: httpx.AsyncClient, enterprise: OrgKey, make_org: MakeOrg,
                                          authority: OrgKey) -> None:
    job = (await post_job(client, enterprise)).json()
    other = await make_org("enterprise")
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=other.headers)).status_code == 404
    assert (await client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 1},
                               headers=other.headers)).status_code == 404
    assert (await client.post(f"/v1/jobs/{job['id']}/close", headers=other.headers)).status_code == 404
    assert (await client.get("/v1/jobs", headers=other.headers)).json()["items"] == []
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=authority.headers)).status_code == 200
    broker = await make_org("broker")
    assert (await post_job(client, broker)).status_code == 403
    assert (await client.get(f"/v1/jobs/{job['id']}", headers=broker.headers)).status_code == 404


async def test_idempotency_and_list_paging(client: httpx.AsyncClient, enterprise: OrgKey,
                                           db: asyncpg.Connection) -> None:
    headers = {**enterprise.headers, "Idempotency-Key": "job-1"}
    first = await client.post("/v1/jobs", json=job_body(), headers=headers)
    again = await client.post("/v1/jobs", json=job_body(), headers=headers)
    assert first.json() == again.json()
    different = await client.post("/v1/jobs", json=job_body(headcount=2), headers=headers)
    assert different.status_code == 409
    for n in range(2):
        assert (await post_job(client, enterprise, external_ref=f"hr-{n}")).status_code == 201
    assert (await post_job(client, enterprise, external_ref="hr-0")).status_code == 409
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 3
    page = (await client.get("/v1/jobs", params={"limit": 2}, headers=enterprise.headers)).json()
    rest = (await client.get("/v1/jobs", params={"limit": 2, "cursor": page["next_cursor"]},
                             headers=enterprise.headers)).json()
    assert len(page["items"]) + len(rest["items"]) == 3
    assert rest["next_cursor"] is None
    # A workers cursor is not a jobs cursor.
    forged = await client.get("/v1/jobs", params={"cursor": page["next_cursor"] + "x"}, headers=enterprise.headers)
    assert forged.status_code == 422


async def test_save_job_is_idempotent_for_reimports(enterprise: OrgKey, settings: ApiSettings,
                                                    db: asyncpg.Connection) -> None:
    from services.api.auth.caller import Caller
    from services.api.database import PendingWork
    from services.api.jobs.schemas import JobFields
    from services.api.jobs.service import build_context, save_job

    caller = Caller(org_id=uuid.UUID(enterprise.org_id), role="enterprise", key_id=uuid.uuid4(), province=None,
                    licence_valid_until=None, kiosk_adcode=None)
    ctx = await build_context(settings, {}, PendingWork())
    outcomes = []
    for body in (job_body(), job_body(), job_body(external_ref="r1"), job_body(external_ref="r1"),
                 job_body(external_ref="r1", headcount=9)):
        async with db.transaction():
            job, outcome = await save_job(db, ctx, caller, JobFields.model_validate(body))
        outcomes.append(outcome)
    assert outcomes == ["created", "unchanged", "created", "unchanged", "updated"]
    assert job.headcount == 9
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 2


async def test_idempotency_keys_are_per_organisation(client: httpx.AsyncClient, enterprise: OrgKey,
                                                     make_org: MakeOrg) -> None:
    # Two enterprises may pick the same key (e.g. both count from "1"): one must never be served the other's
    # posting as a replay.
    other = await make_org("enterprise")
    first = await client.post("/v1/jobs", json=job_body(), headers={**enterprise.headers, "Idempotency-Key": "1"})
    second = await client.post("/v1/jobs", json=job_body(), headers={**other.headers, "Idempotency-Key": "1"})
    assert first.status_code == second.status_code == 201, second.text
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert (await client.get(f"/v1/jobs/{second.json()['id']}", headers=other.headers)).status_code == 200


async def test_an_idempotency_key_may_be_reused_after_the_ttl(client: httpx.AsyncClient, enterprise: OrgKey,
                                                              settings: ApiSettings, db: asyncpg.Connection) -> None:
    headers = {**enterprise.headers, "Idempotency-Key": "daily-1"}
    assert (await client.post("/v1/jobs", json=job_body(), headers=headers)).status_code == 201
    # Within the TTL another body under the same key is a client bug (409); once the record has aged past the
    # TTL the key is free again, even before the maintenance purge has run.
    assert (await client.post("/v1/jobs", json=job_body(headcount=2), headers=headers)).status_code == 409
    await db.execute("UPDATE idempotency_records SET created_at = now() - make_interval(hours => $1)",
                     settings.idempotency_ttl_hours + 1)
    reused = await client.post("/v1/jobs", json=job_body(headcount=2), headers=headers)
    assert reused.status_code == 201, reused.text
    assert reused.json()["headcount"] == 2
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 2


async def test_a_cursor_of_one_list_is_refused_by_another(client: httpx.AsyncClient, enterprise: OrgKey,
                                                          make_org: MakeOrg) -> None:
    # Cursors are signed with the list they belong to: a well-formed jobs cursor replayed against another list
    # must be refused, not decoded as that list's position.
    for n in range(3):
        assert (await post_job(client, enterprise, external_ref=f"x-{n}")).status_code == 201
    page = (await client.get("/v1/jobs", params={"limit": 2}, headers=enterprise.headers)).json()
    assert page["next_cursor"]
    foreign = await client.get("/v1/placements", params={"cursor": page["next_cursor"]}, headers=enterprise.headers)
    assert foreign.status_code == 422, foreign.text
    broker = await make_org("broker")
    workers = await client.get("/v1/workers", params={"cursor": page["next_cursor"]}, headers=broker.headers)
    assert workers.status_code == 422, workers.text


async def test_a_new_held_phrase_after_approval_goes_back_to_review(client: httpx.AsyncClient, enterprise: OrgKey,
                                                                     authority: OrgKey) -> None:
    # An approval covers the findings the authority saw, not any held phrase added later.
    job = (await post_job(client, enterprise, description="招电焊工，限男性，包吃包住。")).json()
    assert job["status"] == "pending_review"
    approved = await client.post(f"/v1/jobs/{job['id']}/review", json={"decision": "approve"},
                                 headers=authority.headers)
    assert approved.json()["status"] == "open", approved.text
    edited = await client.patch(f"/v1/jobs/{job['id']}", json={"description": "招电焊工，限男性，限本地户口。"},
                                headers=enterprise.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "pending_review"
    assert "discrimination.hukou" in {f["rule_id"] for f in edited.json()["compliance"]}


async def test_required_certificates_are_stored_indexed_and_returned_by_their_official_names(
        client: httpx.AsyncClient, enterprise: OrgKey, settings: ApiSettings, db: asyncpg.Connection) -> None:
    welding, forklift = "特种作业操作证（焊接与热切割作业）", "特种设备作业人员证（N1 叉车司机）"
    response = await post_job(client, enterprise, required_certificates=["焊工证", "电焊证", "叉车证", "驾照"])
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["required_certificates"] == [welding, forklift, "驾照"]
    assert list(await db.fetchval("SELECT required_certificates FROM job_postings WHERE id = $1",
                                  uuid.UUID(job["id"]))) == [welding, forklift, "驾照"]
    patched = await client.patch(f"/v1/jobs/{job['id']}", headers=enterprise.headers,
                                 json={"required_certificates": ["特种作业操作证(焊接与热切割作业)"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["required_certificates"] == [welding]
    await run_worker_burst(settings)
    await settle(settings)
    assert (await get_document(settings, "jobs", job["id"]))["required_certificates"] == [welding]


async def test_a_title_or_list_item_of_invisible_characters_is_refused(client: httpx.AsyncClient,
                                                                     enterprise: OrgKey,
                                                                     db: asyncpg.Connection) -> None:
    # min_length and str.strip() let a zero-width space through: a posting titled "\u200b" reached the kiosks.
    for overrides, field in (({"title": "\u200b"}, "title"), ({"title": "\u3000\ufeff"}, "title"),
                             ({"benefits": ["包吃", "\u2060"]}, "benefits")):
        refused = await post_job(client, enterprise, **overrides)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0
    job_id = (await post_job(client, enterprise)).json()["id"]
    refused = await client.patch(f"/v1/jobs/{job_id}", json={"title": "\u200b"}, headers=enterprise.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "title", "message": "标题不能只含空白或不可见字符 / the title must "
                                                                      "have visible characters"}]


async def test_a_contact_with_u0000_is_refused_before_it_reaches_postgresql(client: httpx.AsyncClient,
                                                                           enterprise: OrgKey) -> None:
    # The contact is jsonb, which cannot hold U+0000; PostgreSQL's refusal quoted the JSON before it (the
    # recruiter's name and phone) in the server's error log. Refused by the schema now, naming the field.
    refused = await post_job(client, enterprise, contact={"name": "李经理", "phone": "13800000000", "note": "\u0000"})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["contact.note"]
    job_id = (await post_job(client, enterprise)).json()["id"]
    patched = await client.patch(f"/v1/jobs/{job_id}", json={"contact": {"name": "李\u0000"}},
                                 headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["contact.name"]


async def test_a_contact_phone_is_a_number_readers_can_dial_stored_normalised(client: httpx.AsyncClient,
                                                                              enterprise: OrgKey) -> None:
    # The posting page shows the contact's phone to job seekers: "123" was stored and shown as it was typed.
    refused = await post_job(client, enterprise, contact={"name": "李经理", "phone": "123"})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["contact.phone"]
    created = await post_job(client, enterprise, contact={"name": "李经理", "phone": "(023) 6800 0000"})
    assert created.status_code == 201, created.text
    assert created.json()["contact"]["phone"] == "023-68000000"
    patched = await client.patch(f"/v1/jobs/{created.json()['id']}", json={"contact": {"phone": "6800"}},
                                 headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == ["contact.phone"]


async def test_a_blank_idempotency_key_is_a_bilingual_problem_naming_the_header(client: httpx.AsyncClient,
                                                                              enterprise: OrgKey) -> None:
    refused = await client.post("/v1/jobs", json=job_body(), headers={**enterprise.headers, "Idempotency-Key": ""})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["detail"] == "Idempotency-Key 不能为空 / Idempotency-Key must not be blank"
    assert [e["field"] for e in problem["errors"]] == ["header.Idempotency-Key"]


async def test_a_location_far_from_the_posting_s_county_is_refused(client: httpx.AsyncClient,
                                                                  enterprise: OrgKey) -> None:
    # 成都市锦江区 with a point in 重庆 (~270 km away), and the {0, 0} a form sends when nobody set the map pin: every
    # distance the kiosk and matching compute from it would be wrong.
    for location in ({"lat": 29.56, "lng": 106.55}, {"lat": 0, "lng": 0}):
        refused = await post_job(client, enterprise, adcode="510104", location=location)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["location"]
        assert "锦江区" in refused.json()["errors"][0]["message"]
    near = await post_job(client, enterprise, adcode="510104", location={"lat": 30.65, "lng": 104.09})
    assert near.status_code == 201, near.text
    moved = await client.patch(f"/v1/jobs/{near.json()['id']}", json={"adcode": "500107"},
                               headers=enterprise.headers)  # the pin stays in 成都: the county or the pin is wrong
    assert moved.status_code == 422, moved.text
    assert [e["field"] for e in moved.json()["errors"]] == ["location"]


@pytest.mark.parametrize(("field", "value"), [
    ("start_date", "1800000000"), ("start_date", 1800000000), ("end_date", "1900000000"),
    ("expires_at", 1800000000),
])
async def test_a_number_is_no_date(client: httpx.AsyncClient, enterprise: OrgKey, db: asyncpg.Connection,
                                   field: str, value: Any) -> None:
    # pydantic reads a number (or digits) as a Unix timestamp: "1800000000" was stored as 2027-01-15.
    response = await post_job(client, enterprise, **{field: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert "Unix timestamp" in response.json()["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0
    job = (await post_job(client, enterprise)).json()
    patched = await client.patch(f"/v1/jobs/{job['id']}", json={field: value}, headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]
    stored = (await client.get(f"/v1/jobs/{job['id']}", headers=enterprise.headers)).json()
    assert stored[field] == job[field]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"description": "包吃包住\u0000"}, "description"), ({"title": "电焊工\u0000"}, "title"),
    ({"address": "\u0000"}, "address"), ({"benefits": ["包吃", "包\u0000住"]}, "benefits"),
    ({"external_ref": "J-\u0000"}, "external_ref"),
])
async def test_u0000_in_a_text_column_is_refused_naming_the_field(client: httpx.AsyncClient, enterprise: OrgKey,
                                                                  db: asyncpg.Connection, overrides: dict[str, Any],
                                                                  field: str) -> None:
    # PostgreSQL's refusal was answered as a 422 without `errors`: the client could not tell which field held it.
    response = await post_job(client, enterprise, **overrides)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert "U+0000" in response.json()["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 0
    job = (await post_job(client, enterprise)).json()
    patched = await client.patch(f"/v1/jobs/{job['id']}", json=overrides, headers=enterprise.headers)
    assert patched.status_code == 422, patched.text
    assert [e["field"] for e in patched.json()["errors"]] == [field]


@pytest.mark.parametrize(("raw", "stored"), [
    ("400-820-8820", "400-820-8820"), ("400 820 8820", "400-820-8820"), ("8008208820", "800-820-8820"),
    ("400-820-8820转3", "400-820-8820-3"),
    # Full-width digits from a Chinese input method, as a worker's ID number and phone are read.
    ("４００－８２０－８８２０", "400-820-8820"), ("０２３－６８００００００", "023-68000000"),
    ("１３８００１３８０００", "13800138000"),
])
async def test_a_400_or_800_hiring_line_is_a_contact_phone_stored_normalised(
    client: httpx.AsyncClient, enterprise: OrgKey, raw: str, stored: str,
) -> None:
    # Many enterprises publish a 400/800 service number as their hiring line: it was refused as no fixed line.
    created = await post_job(client, enterprise, contact={"name": "招聘热线", "phone": raw})
    assert created.status_code == 201, created.text
    assert created.json()["contact"]["phone"] == stored
    job_id = created.json()["id"]
    patched = await client.patch(f"/v1/jobs/{job_id}", json={"contact": {"name": "招聘热线", "phone": raw}},
                                 headers=enterprise.headers)
    assert patched.status_code == 200, patched.text
    assert (await client.get(f"/v1/jobs/{job_id}", headers=enterprise.headers)).json()["contact"]["phone"] == stored
