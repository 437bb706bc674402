"""GET /v1/jobs/{id}/matches and GET /v1/workers/{id}/matches through the real pipeline: profiles and postings
created through the API, indexed by the worker, matched from Meilisearch and scored."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from matching.identity import id_check_character
from matching.scoring import WEIGHTS
from services.api.matches.schemas import JobMatchList, MaskedWorker, WorkerMatchList
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.outbox import repository as outbox
from tests.conftest import LICENCE_VALID_UNTIL, MakeOrg, OrgKey, start_date_in
from tests.services.indexing.pipeline import reconcile, run_worker_burst, settle

WELDER = "6-18-02-04"
NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯"


def id_number(seq: int, region: str = "500107", birth: str = "19880512") -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + id_check_character(first17)


def worker_body(seq: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "测试" + NAMES[seq % len(NAMES)] + NAMES[seq // 7 % len(NAMES)], "id_number": id_number(seq),
        "phone": f"1381234{seq:04d}",
        "home_adcode": "500107", "occupations": ["焊工"], "skills": ["氩弧焊"], "certificates": ["焊工证"],
        "experience_years": 6, "desired_adcodes": [], "willing_to_relocate": False,
        "expected_wage": {"min": 6000, "max": 8000, "unit": "month"}, "available_from": "2026-01-01",
        "work_types": ["full_time"], "notes": "私人备注不应外泄",
        "consent": {"share_with_enterprises": True, "contact_by_sms": False,
                    "given_at": "2025-11-20T10:00:00+08:00"},
    }
    body.update(overrides)
    return body


def job_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "招聘电焊工 5名", "description": "九龙坡工厂招熟练电焊工，会氩弧焊优先，包吃包住。", "headcount": 5,
        "adcode": "500107", "wage": {"min": 6500, "max": 9000, "unit": "month"}, "work_type": "full_time",
        "start_date": start_date_in(13), "benefits": ["包吃", "包住"], "required_certificates": ["焊工证"],
        "occupation_code": WELDER, "contact": {"name": "李经理", "phone": "023-68000000"},
    }
    body.update(overrides)
    return body


@pytest.fixture
async def world(client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> dict[str, Any]:
    enterprise, other_enterprise = await make_org("enterprise"), await make_org("enterprise")
    broker, other_broker = await make_org("broker"), await make_org("broker")
    workers_spec = {
        "good": worker_body(101),
        "no_consent": worker_body(103, consent={"share_with_enterprises": False, "contact_by_sms": False,
                                                "given_at": "2025-11-20T10:00:00+08:00"}),
        "far": worker_body(105, home_adcode="500235", desired_adcodes=["500235"]),
        "other_trade": worker_body(107, occupations=["保姆"], certificates=[], skills=[]),
        "relocates": worker_body(109, home_adcode="510107", willing_to_relocate=True),
        "no_certificate": worker_body(111, certificates=[]),
    }
    workers: dict[str, str] = {}
    for name, body in workers_spec.items():
        response = await client.post("/v1/workers", json=body, headers=broker.headers)
        assert response.status_code == 201, response.text
        workers[name] = response.json()["id"]
    jobs: dict[str, str] = {}
    for name, body in {"open": job_body(), "closed": job_body(title="电焊工（招满即止）"),
                       "held": job_body(title="招聘电焊工 限男性", description="只招男性，限本地户籍。")}.items():
        response = await client.post("/v1/jobs", json=body, headers=enterprise.headers)
        assert response.status_code == 201, response.text
        jobs[name] = response.json()["id"]
    assert response.json()["status"] == "pending_review"
    response = await client.post(f"/v1/jobs/{jobs['closed']}/close", headers=enterprise.headers)
    assert response.status_code == 200, response.text
    await run_worker_burst(settings)
    await settle(settings)
    return {"enterprise": enterprise, "other_enterprise": other_enterprise, "broker": broker,
            "other_broker": other_broker, "workers": workers, "jobs": jobs, "bodies": workers_spec}


async def job_matches(client: httpx.AsyncClient, org: OrgKey, job_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}/matches", params=params, headers=org.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    WorkerMatchList.model_validate(data)
    return data


async def day_and_full_time_jobs_indexed(client: httpx.AsyncClient, enterprise: OrgKey,
                                         settings: ApiSettings) -> tuple[str, str]:
    """A 日结 welding posting starting tomorrow and the default full-time one, both in 九龙坡; everything posted so
    far indexed."""
    day_job = await post(client, "/v1/jobs", job_body(
        title="电焊工 日结", work_type="daily", start_date=start_date_in(1),
        wage={"min": 300, "max": 380, "unit": "day"}), enterprise)
    full_time = await post(client, "/v1/jobs", job_body(), enterprise)
    await run_worker_burst(settings)
    await settle(settings)
    return day_job, full_time


async def assert_matched_both_ways(client: httpx.AsyncClient, enterprise: OrgKey, broker: OrgKey, *,
                                   workers_of: dict[str, set[str]], jobs_of: dict[str, set[str]]) -> None:
    """Each posting's matched workers and each profile's matched postings are exactly those given."""
    for job_id, expected in workers_of.items():
        data = await job_matches(client, enterprise, job_id, limit=100)
        assert {item["worker"]["id"] for item in data["items"]} == expected, job_id
    for worker_id, expected in jobs_of.items():
        response = await client.get(f"/v1/workers/{worker_id}/matches", params={"limit": 100},
                                    headers=broker.headers)
        assert response.status_code == 200, response.text
        assert {item["job"]["id"] for item in response.json()["items"]} == expected, worker_id


async def test_a_job_gets_its_fitting_workers_ranked_with_reasons(client: httpx.AsyncClient,
                                                                  world: dict[str, Any]) -> None:
    data = await job_matches(client, world["enterprise"], world["jobs"]["open"])
    found = [item["worker"]["id"] for item in data["items"]]
    workers = world["workers"]
    assert found == [workers["good"], workers["relocates"]]  # same county before a transfer from Chengdu
    good, moved = data["items"]
    assert good["score"] > moved["score"]
    assert good["transfer"] is False
    assert moved["transfer"] is True
    assert moved["cross_province"] is True
    assert moved["distance_km"] > 200
    codes = [r["code"] for r in good["reasons"]]
    assert sorted(codes) == sorted(WEIGHTS)
    occupation = next(r for r in good["reasons"] if r["code"] == "occupation")
    assert occupation["text"] == "职业完全匹配：焊工"
    assert occupation["weight"] == pytest.approx(WEIGHTS["occupation"])
    assert sum(r["weight"] for r in good["reasons"]) == pytest.approx(good["score"], abs=0.002)
    assert good["reasons"] == sorted(good["reasons"], key=lambda r: -r["weight"])


async def test_without_consent_or_certificate_or_place_a_worker_never_appears(client: httpx.AsyncClient,
                                                                            world: dict[str, Any]) -> None:
    data = await job_matches(client, world["enterprise"], world["jobs"]["open"], limit=100)
    found = {item["worker"]["id"] for item in data["items"]}
    for name in ("no_consent", "no_certificate", "far", "other_trade"):
        assert world["workers"][name] not in found, name


async def test_workers_are_masked_to_enterprises(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    response = await client.get(f"/v1/jobs/{world['jobs']['open']}/matches", headers=world["enterprise"].headers)
    text = response.text
    for body in world["bodies"].values():
        assert body["name"] not in text
        assert body["id_number"] not in text
        assert body["phone"] not in text
    assert "私人备注" not in text
    for forbidden in ("gender", "birth", "phone", "id_number", "notes", "broker_org_id", "external_ref"):
        assert forbidden not in text, forbidden
    for item in response.json()["items"]:
        assert set(item["worker"]) == set(MaskedWorker.model_fields)
    good = response.json()["items"][0]["worker"]
    assert good["age_band"] == "30–39"
    assert good["occupations"] == [{"code": WELDER, "name": "焊工"}]
    assert good["home_county"] == {"adcode": "500107", "name": "九龙坡区"}


async def test_closed_and_held_postings_have_no_matches_and_are_never_matched(client: httpx.AsyncClient,
                                                                            world: dict[str, Any]) -> None:
    for name in ("closed", "held"):
        assert (await job_matches(client, world["enterprise"], world["jobs"][name]))["items"] == []
    response = await client.get(f"/v1/workers/{world['workers']['good']}/matches", headers=world["broker"].headers)
    assert response.status_code == 200, response.text
    data = response.json()
    JobMatchList.model_validate(data)
    assert [item["job"]["id"] for item in data["items"]] == [world["jobs"]["open"]]
    item = data["items"][0]
    assert item["job"]["county"] == {"adcode": "500107", "name": "九龙坡区"}
    assert item["job"]["occupation_code"] == WELDER
    assert "contact" not in item["job"]
    assert "023-68000000" not in response.text
    assert {r["code"] for r in item["reasons"]} == set(WEIGHTS)


async def test_a_posting_past_its_expiry_in_the_index_is_not_matched_before_the_sweep(
        client: httpx.AsyncClient, world: dict[str, Any], settings: ApiSettings, db: asyncpg.Connection) -> None:
    job_id, path = world["jobs"]["open"], f"/v1/workers/{world['workers']['good']}/matches"
    assert [i["job"]["id"] for i in (await client.get(path, headers=world["broker"].headers)).json()["items"]] == [
        job_id]
    # Its expiry passes and the sweep has not run yet: the row and the document still say "open".
    expires_at = int(time.time()) - 60
    assert await db.execute("UPDATE job_postings SET expires_at = to_timestamp($2) WHERE id = $1 AND status = 'open'",
                            uuid.UUID(job_id), expires_at) == "UPDATE 1"
    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        index = search.index(index_name(settings.meili_index_prefix, "jobs"))
        task = await index.update_documents([{"id": job_id, "expires_at": expires_at}])
        assert (await search.wait_for_task(task.task_uid, timeout_in_ms=60_000)).status == "succeeded"
        assert (await index.get_document(job_id))["status"] == "open"
    finally:
        await search.aclose()
    response = await client.get(path, headers=world["broker"].headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_a_withdrawal_erasure_or_closure_counts_before_the_index_catches_up(
        client: httpx.AsyncClient, world: dict[str, Any], settings: ApiSettings) -> None:
    # The indexes follow PostgreSQL through the outbox, seconds (minutes behind an import) later. Meanwhile a
    # person who withdrew consent or was erased is not shown to enterprises from the stale document, and a
    # closed posting is not offered to brokers. No worker burst after the changes: the index still has them.
    enterprise, broker, workers = world["enterprise"], world["broker"], world["workers"]
    path = f"/v1/workers/{workers['no_certificate']}/matches"
    job_id = await post(client, "/v1/jobs", job_body(title="招聘电焊工 2名", required_certificates=[]), enterprise)
    await run_worker_burst(settings)

    async def offered() -> list[str]:
        response = await client.get(path, headers=broker.headers)
        assert response.status_code == 200, response.text
        return [i["job"]["id"] for i in response.json()["items"]]

    assert await offered() == [job_id]
    closed = await client.post(f"/v1/jobs/{job_id}/close", headers=enterprise.headers)
    assert closed.status_code == 200, closed.text
    assert await offered() == []

    open_job = world["jobs"]["open"]
    before = {i["worker"]["id"] for i in (await job_matches(client, enterprise, open_job))["items"]}
    assert before == {workers["good"], workers["relocates"]}
    withdrawn = await client.patch(f"/v1/workers/{workers['good']}", headers=broker.headers, json={
        "consent": {"share_with_enterprises": False, "contact_by_sms": False,
                    "given_at": "2025-11-20T10:00:00+08:00"}})
    assert withdrawn.status_code == 200, withdrawn.text
    erased = await client.delete(f"/v1/workers/{workers['relocates']}", headers=broker.headers)
    assert erased.status_code == 200, erased.text
    assert (await job_matches(client, enterprise, open_job))["items"] == []


async def test_min_score_and_limit(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    everything = await job_matches(client, world["enterprise"], world["jobs"]["open"])
    best = everything["items"][0]["score"]
    assert len((await job_matches(client, world["enterprise"], world["jobs"]["open"], limit=1))["items"]) == 1
    only_best = await job_matches(client, world["enterprise"], world["jobs"]["open"], min_score=best)
    assert [i["score"] for i in only_best["items"]] == [best]
    response = await client.get(f"/v1/jobs/{world['jobs']['open']}/matches", params={"limit": 10000},
                                headers=world["enterprise"].headers)
    assert response.status_code == 422
    response = await client.get(f"/v1/jobs/{world['jobs']['open']}/matches", params={"min_score": 2},
                                headers=world["enterprise"].headers)
    assert response.status_code == 422
    for value in ("nan", "inf"):  # said as such, not as "less than or equal to 1"
        for path, org in ((f"/v1/jobs/{world['jobs']['open']}/matches", world["enterprise"]),
                          (f"/v1/workers/{world['workers']['good']}/matches", world["broker"])):
            response = await client.get(path, params={"min_score": value}, headers=org.headers)
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == [{"field": "min_score",
                                                  "message": "须为有限的数字 / Input should be a finite number"}]


async def test_only_the_owner_sees_matches(client: httpx.AsyncClient, world: dict[str, Any],
                                           make_org: MakeOrg) -> None:
    job_id, worker_id = world["jobs"]["open"], world["workers"]["good"]
    other = world["other_enterprise"]
    assert (await client.get(f"/v1/jobs/{job_id}/matches", headers=other.headers)).status_code == 404
    assert (await client.get(f"/v1/jobs/{job_id}/matches", headers=world["broker"].headers)).status_code == 403
    assert (await client.get(f"/v1/workers/{worker_id}/matches",
                             headers=world["other_broker"].headers)).status_code == 404
    assert (await client.get(f"/v1/workers/{worker_id}/matches",
                             headers=world["enterprise"].headers)).status_code == 403
    kiosk = await make_org("kiosk")
    assert (await client.get(f"/v1/jobs/{job_id}/matches", headers=kiosk.headers)).status_code == 403
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/v1/jobs/{missing}/matches", headers=world["enterprise"].headers)).status_code == 404
    assert (await client.get("/v1/jobs/not-a-uuid/matches", headers=world["enterprise"].headers)).status_code == 422


async def test_an_erased_profile_has_no_matches(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # After erasure only a tombstone remains. `GET /v1/workers/{id}` answers it (200, status "erased"), so its
    # matches answer too, as for any profile that is not available: an empty list, never jobs matched from what
    # was left of the erased person, and not the 404 of an unknown or another broker's profile.
    broker = await make_org("broker")
    created = await client.post("/v1/workers", json=worker_body(121), headers=broker.headers)
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    assert (await client.get(f"/v1/workers/{worker_id}/matches", headers=broker.headers)).status_code == 200
    erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "erased"
    assert (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).status_code == 200
    after = await client.get(f"/v1/workers/{worker_id}/matches", headers=broker.headers)
    assert after.status_code == 200, after.text
    assert after.json() == {"items": [], "next_cursor": None}
    # Another broker still cannot tell the tombstone from an unknown profile.
    other = await make_org("broker")
    assert (await client.get(f"/v1/workers/{worker_id}/matches", headers=other.headers)).status_code == 404


WELDING_LICENCE = "特种作业操作证（焊接与热切割作业）"  # the catalogue's official name of the 焊工证


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], org: OrgKey) -> str:
    response = await client.post(path, json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_common_certificate_name_matches_the_official_one_both_ways(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> None:
    # What every enterprise writes (焊工证) against what brokers copy from the catalogue, and the reverse.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    official = await post(client, "/v1/workers", worker_body(131, certificates=[WELDING_LICENCE]), broker)
    common = await post(client, "/v1/workers", worker_body(133, certificates=["电焊证"]), broker)
    without = await post(client, "/v1/workers", worker_body(135, certificates=["健康证"]), broker)
    short_job = await post(client, "/v1/jobs", job_body(required_certificates=["焊工证"]), enterprise)
    official_job = await post(client, "/v1/jobs", job_body(required_certificates=["特种作业操作证(焊接与热切割作业)"]),
                              enterprise)
    await run_worker_burst(settings)
    await settle(settings)
    for job_id in (short_job, official_job):
        data = await job_matches(client, enterprise, job_id, limit=100)
        assert {item["worker"]["id"] for item in data["items"]} == {official, common}
        for item in data["items"]:
            assert item["worker"]["certificates"] == [WELDING_LICENCE]
            reason = next(r for r in item["reasons"] if r["code"] == "certificates")
            assert reason["text"] == "持有所需证书100%"
    for worker_id in (official, common):
        response = await client.get(f"/v1/workers/{worker_id}/matches", params={"limit": 100}, headers=broker.headers)
        assert response.status_code == 200, response.text
        assert {item["job"]["id"] for item in response.json()["items"]} == {short_job, official_job}
    response = await client.get(f"/v1/workers/{without}/matches", params={"limit": 100}, headers=broker.headers)
    assert response.json()["items"] == []


async def test_day_labour_is_not_offered_to_relocating_workers_across_the_map(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> None:
    # Nobody moves from Chengdu to 九龙坡 for one day's pay: for a 日结 posting "willing to relocate" does not make
    # the place fit, while being there, commuting or wanting that region still does; full-time work is unchanged.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    daily = {"work_types": ["daily", "full_time"], "certificates": ["焊工证"]}
    local = await post(client, "/v1/workers", worker_body(141, **daily), broker)
    relocates = await post(client, "/v1/workers", worker_body(
        143, home_adcode="510107", desired_adcodes=["510107"], willing_to_relocate=True, **daily), broker)
    wants_there = await post(client, "/v1/workers", worker_body(
        145, home_adcode="510107", desired_adcodes=["500107"], willing_to_relocate=True, **daily), broker)
    day_job, full_time = await day_and_full_time_jobs_indexed(client, enterprise, settings)
    await assert_matched_both_ways(
        client, enterprise, broker,
        workers_of={day_job: {local, wants_there}, full_time: {local, relocates, wants_there}},
        jobs_of={relocates: {full_time}, wants_there: {day_job, full_time}, local: {day_job, full_time}})


async def test_day_labour_reaches_anywhere_workers_only_within_a_days_trip(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> None:
    # Empty desired regions mean "anywhere in the circle", but a 日结 posting in 九龙坡 is no work for someone in
    # 万州 (~230 km) today; 沙坪坝 next door (~10 km) still fits. Full-time work keeps the whole circle. Both
    # directions, so both Meilisearch candidate filters and the exact distance agree.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    anywhere = {"work_types": ["daily", "full_time"], "desired_adcodes": [], "willing_to_relocate": False}
    next_door = await post(client, "/v1/workers", worker_body(151, home_adcode="500106", **anywhere), broker)
    far = await post(client, "/v1/workers", worker_body(153, home_adcode="500101", **anywhere), broker)
    named = await post(client, "/v1/workers", worker_body(
        155, home_adcode="500101", **{**anywhere, "desired_adcodes": ["500107"]}), broker)
    day_job, full_time = await day_and_full_time_jobs_indexed(client, enterprise, settings)
    await assert_matched_both_ways(
        client, enterprise, broker,
        workers_of={day_job: {next_door, named}, full_time: {next_door, far, named}},
        jobs_of={far: {full_time}, next_door: {day_job, full_time}, named: {day_job, full_time}})


async def test_rows_stored_before_canonical_names_match_once_reindexed(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    # Rows written before names were canonicalised keep what was typed; indexing and the matches endpoint read
    # them canonical, so a reindex is all they need.
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    worker_id = await post(client, "/v1/workers", worker_body(137), broker)
    job_id = await post(client, "/v1/jobs", job_body(required_certificates=[WELDING_LICENCE]), enterprise)
    await run_worker_burst(settings)
    assert await db.execute("UPDATE worker_profiles SET certificates = '{焊工证}' WHERE id = $1",
                            uuid.UUID(worker_id)) == "UPDATE 1"
    assert await db.execute("UPDATE job_postings SET required_certificates = '{电焊证}' WHERE id = $1",
                            uuid.UUID(job_id)) == "UPDATE 1"
    await outbox.record(db, "worker.index", worker_id)
    await outbox.record(db, "job.index", job_id)
    await reconcile(settings, outbox_stale_after_seconds=0.001)
    await run_worker_burst(settings)
    await settle(settings)
    data = await job_matches(client, enterprise, job_id)
    assert [item["worker"]["id"] for item in data["items"]] == [worker_id]
    response = await client.get(f"/v1/workers/{worker_id}/matches", headers=broker.headers)
    assert [item["job"]["id"] for item in response.json()["items"]] == [job_id]
    stored = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert stored.json()["certificates"] == [WELDING_LICENCE]
    posting = await client.get(f"/v1/jobs/{job_id}", headers=enterprise.headers)
    assert posting.json()["required_certificates"] == [WELDING_LICENCE]


async def test_a_lapsed_brokers_profiles_are_not_offered_to_enterprises(
        client: httpx.AsyncClient, make_org: MakeOrg, admin: OrgKey, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    # An expired licence blocks posting (issue 2): the profiles such a broker posted before are not shown in
    # matches, matched into notices or sent to subscribers until the licence is renewed.
    enterprise, licensed, lapsed = await make_org("enterprise"), await make_org("broker"), await make_org("broker")
    assert (await client.post("/v1/subscriptions", headers=enterprise.headers, json={
        "kind": "workers", "query": {"q": "氩弧焊"}, "channel": "inbox", "digest": "instant"})).status_code == 201
    job_id = await post(client, "/v1/jobs", job_body(), enterprise)
    await run_worker_burst(settings)
    # Posted while licensed (a lapsed broker cannot post), the licence expired since.
    hidden = await post(client, "/v1/workers", worker_body(132), lapsed)
    await record_licence(client, admin, lapsed, "2024-01-01")
    shown = await post(client, "/v1/workers", worker_body(131), licensed)
    await run_worker_burst(settings)
    await settle(settings)

    async def matched() -> set[str]:
        response = await client.get(f"/v1/jobs/{job_id}/matches", headers=enterprise.headers)
        assert response.status_code == 200, response.text
        return {item["worker"]["id"] for item in response.json()["items"]}

    assert await matched() == {shown}
    about = {str(r["worker_id"]): r["events"] for r in await db.fetch(
        """SELECT worker_id, array_agg(DISTINCT event ORDER BY event) AS events FROM notifications
            WHERE worker_id IS NOT NULL GROUP BY worker_id""")}
    assert about == {shown: ["match.created", "subscription.matched"]}
    # The posting changed (matched again, as after a renewal): still the licensed broker's worker only.
    changed = await client.patch(f"/v1/jobs/{job_id}", json={"headcount": 6}, headers=enterprise.headers)
    assert changed.status_code == 200, changed.text
    await run_worker_burst(settings)
    assert {str(r["worker_id"]) for r in await db.fetch(
        "SELECT DISTINCT worker_id FROM notifications WHERE worker_id IS NOT NULL")} == {shown}
    # Renewed: offered again.
    await record_licence(client, admin, lapsed, LICENCE_VALID_UNTIL)
    assert await matched() == {shown, hidden}


async def record_licence(client: httpx.AsyncClient, admin: OrgKey, broker: OrgKey, valid_until: str) -> None:
    response = await client.put(f"/v1/orgs/{broker.org_id}/licence", headers=admin.headers, json={
        "number": "渝人服证字〔2024〕第0001号", "issuer_province": "CQ", "valid_until": valid_until})
    assert response.status_code == 200, response.text


async def test_a_brokers_available_profiles_are_found_from_an_index(db: asyncpg.Connection) -> None:
    # brokers_unlicensed_on asks, per lapsed broker, whether it holds an available profile, on every job →
    # worker match: without an index on exactly that, each broker's other profiles are read from the heap.
    # The tables are nearly empty here, so sequential scans are switched off to see which index is usable.
    async with db.transaction():
        await db.execute("SET LOCAL enable_seqscan = off")
        plan = await db.fetchval(
            """EXPLAIN (FORMAT JSON) SELECT 1 FROM worker_profiles w
                WHERE w.broker_org_id = '00000000-0000-0000-0000-000000000001' AND w.status = 'available'""")
    node = plan[0]["Plan"]  # the connection decodes json
    # No Filter: the index's rows are the available profiles, none read only to be dropped.
    assert (node.get("Index Name"), node.get("Filter")) == ("worker_profiles_available_by_broker", None), node
