"""Credit ledger: append-only in the database, score and grade derived, adjustments, access, the published broker
list and its CSV export, thresholds that must order, the ranking nudge."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from matching.credit_grades import GRADE_RANKING_NUDGE, apply_grade_nudge, grade_for, score_range
from services.api.auth.caller import Caller
from services.api.credit import service as credit_service
from services.api.credit.schemas import AdjustmentCreate, BrokerCredit, LicenceOut
from services.api.credit.service import DEFAULT_POLICY, brokers_csv, grade_of, record_credit_event
from services.api.problems import InvalidInput
from services.api.settings import ApiSettings, load_api_settings
from services.db.pool import connect
from tests.conftest import MakeOrg, OrgKey


@pytest.fixture
async def broker(make_org: MakeOrg) -> OrgKey:
    return await make_org("broker", name="开州劳务合作社")


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority", province="SC")


async def adjust(client: httpx.AsyncClient, authority: OrgKey, org_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/credit/{org_id}/adjustments", json=body, headers=authority.headers)


async def test_ledger_is_append_only_in_the_database(client: httpx.AsyncClient, broker: OrgKey,
                                                     db: asyncpg.Connection) -> None:
    org_id = uuid.UUID(broker.org_id)
    async with db.transaction():
        entry = await record_credit_event(db, org_id, 2, "安置就业满90天", "placement_retained", "placement-1")
        again = await record_credit_event(db, org_id, 2, "安置就业满90天", "placement_retained", "placement-1")
    assert entry is not None
    assert again is None  # one event per (org, source, ref): a retried job does not count twice
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await db.execute("UPDATE credit_events SET points = 50")
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await db.execute("DELETE FROM credit_events")
    assert await db.fetchval("SELECT count(*) FROM credit_events") == 1
    # No score or grade is stored anywhere: nothing to edit.
    columns = {r["column_name"] for r in await db.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'organisations'")}
    assert not {"score", "grade", "credit_score", "credit_grade"} & columns


async def test_score_and_grade_are_derived_from_the_ledger(client: httpx.AsyncClient, broker: OrgKey,
                                                           authority: OrgKey, db: asyncpg.Connection) -> None:
    fresh = await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)
    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["score"], fresh.json()["grade"], fresh.json()["ledger"]) == (100, "A", [])

    minus = await adjust(client, authority, broker.org_id, points=-30, reason="多次被投诉收取报名费，约谈后整改")
    assert minus.status_code == 201, minus.text
    assert (minus.json()["score"], minus.json()["grade"]) == (70, "C")
    finding = await adjust(client, authority, broker.org_id, source="consent_problem", reason="未取得求职者书面同意",
                           ref_id="worker-123")
    assert finding.status_code == 201, finding.text
    assert finding.json()["entry"]["points"] == -10
    repeated = await adjust(client, authority, broker.org_id, source="consent_problem", reason="同一事项",
                            ref_id="worker-123")
    assert repeated.status_code == 422
    plus = await adjust(client, authority, broker.org_id, source="profile_verified", reason="档案经核验")
    assert plus.json()["entry"]["points"] == 1

    credit = (await client.get(f"/v1/credit/{broker.org_id}", headers=authority.headers)).json()
    assert credit["score"] == 100 - 30 - 10 + 1 == credit["base_score"] + sum(e["points"] for e in credit["ledger"])
    assert credit["grade"] == "C"
    assert [e["source"] for e in credit["ledger"]] == ["profile_verified", "consent_problem", "authority_adjustment"]
    assert set(credit["ledger"][0]) == {"at", "points", "reason", "source"}
    assert await grade_of(db, uuid.UUID(broker.org_id)) == "C"

    # A correction is a compensating event; history stays.
    await adjust(client, authority, broker.org_id, points=30, reason="复核撤销此前扣分")
    credit = (await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)).json()
    assert (credit["score"], credit["grade"], len(credit["ledger"])) == (91, "A", 4)


async def test_the_same_entry_without_ref_id_sent_again_is_not_recorded_twice(
        client: httpx.AsyncClient, broker: OrgKey, authority: OrgKey, make_org: MakeOrg,
        db: asyncpg.Connection) -> None:
    # A finding without ref_id, sent again (a double click, a retry without Idempotency-Key), cost the broker
    # its points twice in a ledger where nothing is ever removed: fake_profiles twice took it from A to C.
    finding = {"source": "fake_profiles", "reason": "抽查发现虚构求职者档案 3 份"}
    first = await adjust(client, authority, broker.org_id, **finding)
    assert first.status_code == 201, first.text
    again = await adjust(client, authority, broker.org_id, **finding)
    assert again.status_code == 422, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in again.json()["errors"]] == ["ref_id"]
    assert "ref_id" in again.json()["errors"][0]["message"]
    # A plain adjustment too.
    adjustment = {"points": -5, "reason": "未按时报送经营情况"}
    assert (await adjust(client, authority, broker.org_id, **adjustment)).status_code == 201
    assert (await adjust(client, authority, broker.org_id, **adjustment)).status_code == 422
    credit = (await client.get(f"/v1/credit/{broker.org_id}", headers=authority.headers)).json()
    assert credit["score"] == 100 - 20 - 5
    # Another finding is told apart by its ref_id (or its reason); another authority's is its own.
    assert (await adjust(client, authority, broker.org_id, **finding, ref_id="抽查-2026-11")).status_code == 201
    assert (await adjust(client, authority, broker.org_id, source="fake_profiles",
                         reason="复查又发现虚构档案 1 份")).status_code == 201
    other = await make_org("authority", province="CQ")
    assert (await adjust(client, other, broker.org_id, **finding)).status_code == 201
    # The same content after the window is a new entry (Idempotency-Key covers later retries).
    await db.execute("INSERT INTO credit_events (org_id, points, reason, source, actor_org_id, at) "
                     "VALUES ($1, 1, '档案经核验', 'profile_verified', $2, now() - interval '11 minutes')",
                     uuid.UUID(broker.org_id), uuid.UUID(authority.org_id))
    later = await adjust(client, authority, broker.org_id, source="profile_verified", reason="档案经核验")
    assert later.status_code == 201, later.text
    assert await db.fetchval("SELECT count(*) FROM credit_events WHERE org_id = $1",
                             uuid.UUID(broker.org_id)) == 7


async def test_two_identical_entries_sent_at_once_are_recorded_once(
        broker: OrgKey, authority: OrgKey, database_url: str, db: asyncpg.Connection) -> None:
    # The second request waits for the first one's transaction, then finds its entry.
    caller = Caller(org_id=uuid.UUID(authority.org_id), role="authority", key_id=uuid.uuid4(), province="SC",
                    licence_valid_until=None, kiosk_adcode=None)
    body = AdjustmentCreate(points=-5, reason="未按时报送经营情况")
    org_id = uuid.UUID(broker.org_id)

    async def in_transaction(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await credit_service.adjust(conn, caller, org_id, body, DEFAULT_POLICY)

    other = await connect(database_url)
    try:
        first = db.transaction()
        await first.start()
        await credit_service.adjust(db, caller, org_id, body, DEFAULT_POLICY)
        second = asyncio.ensure_future(in_transaction(other))
        await asyncio.sleep(0.3)
        assert not second.done()
        await first.commit()
        with pytest.raises(InvalidInput):
            await second
    finally:
        await other.close()
    assert await db.fetchval("SELECT count(*) FROM credit_events") == 1


async def test_adjustment_needs_a_written_reason_and_an_authority(client: httpx.AsyncClient, broker: OrgKey,
                                                                  authority: OrgKey, make_org: MakeOrg,
                                                                  db: asyncpg.Connection) -> None:
    no_reason = await adjust(client, authority, broker.org_id, points=-5)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert (await adjust(client, authority, broker.org_id, points=-5, reason="   ")).status_code == 422
    assert (await adjust(client, authority, broker.org_id, reason="没有分值")).status_code == 422
    assert (await adjust(client, authority, broker.org_id, points=0, reason="零分")).status_code == 422
    assert (await adjust(client, authority, broker.org_id, points=-500, reason="过大")).status_code == 422
    wrong_sign = await adjust(client, authority, broker.org_id, source="fake_profiles", points=5, reason="x")
    assert wrong_sign.status_code == 422
    enterprise = await make_org("enterprise")
    assert (await adjust(client, enterprise, broker.org_id, points=-5, reason="竞争对手")).status_code == 403
    assert (await adjust(client, broker, broker.org_id, points=50, reason="给自己加分")).status_code == 403
    assert (await adjust(client, authority, str(uuid.uuid4()), points=-5, reason="查无此机构")).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM credit_events") == 0


async def test_only_the_organisation_itself_or_an_authority_reads_its_credit(
        client: httpx.AsyncClient, broker: OrgKey, authority: OrgKey, make_org: MakeOrg) -> None:
    other_broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    kiosk = await make_org("kiosk")
    assert (await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)).status_code == 200
    assert (await client.get(f"/v1/credit/{broker.org_id}", headers=authority.headers)).status_code == 200
    for caller in (other_broker, enterprise, kiosk):
        assert (await client.get(f"/v1/credit/{broker.org_id}", headers=caller.headers)).status_code == 404
    assert (await client.get(f"/v1/credit/{enterprise.org_id}", headers=enterprise.headers)).status_code == 200
    # Kiosks and authorities are not rated.
    assert (await client.get(f"/v1/credit/{kiosk.org_id}", headers=authority.headers)).status_code == 404


async def test_broker_list_filters_pages_and_exports_csv(client: httpx.AsyncClient, authority: OrgKey,
                                                         make_org: MakeOrg) -> None:
    cq = [await make_org("broker", name=f"渝北劳务{i}号") for i in range(3)]
    sc = await make_org("broker", name="=HYPERLINK(\"x\")成都劳务", licence={
        "number": "川人服证字〔2025〕第0099号", "issuer_province": "SC", "valid_until": "2030-06-30"})
    await make_org("enterprise")  # not a broker: never listed
    await adjust(client, authority, cq[0].org_id, points=-45, reason="扣押身份证，查实")  # 55 → D
    await adjust(client, authority, sc.org_id, points=-20, reason="收取押金，查实")  # 80 → B

    everyone = (await client.get("/v1/credit/brokers", headers=authority.headers)).json()
    assert {i["org_id"] for i in everyone["items"]} == {b.org_id for b in [*cq, sc]}
    by_grade = {i["org_id"]: i["grade"] for i in everyone["items"]}
    assert by_grade[cq[0].org_id] == "D"
    assert by_grade[sc.org_id] == "B"
    d_only = (await client.get("/v1/credit/brokers", params={"grade": "D"}, headers=authority.headers)).json()
    assert [(i["org_id"], i["score"]) for i in d_only["items"]] == [(cq[0].org_id, 55)]
    sichuan = (await client.get("/v1/credit/brokers", params={"province": "SC"}, headers=authority.headers)).json()
    [item] = sichuan["items"]
    assert item["licence"] == {"number": "川人服证字〔2025〕第0099号", "issuer_province": "SC",
                               "valid_until": "2030-06-30"}

    # Cursor paging.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/credit/brokers", params=params, headers=authority.headers)).json()
        seen += [i["org_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(b.org_id for b in [*cq, sc])
    forged = await client.get("/v1/credit/brokers", params={"cursor": "abc.def"}, headers=authority.headers)
    assert forged.status_code == 422

    # CSV for the public credit platform: UTF-8 with BOM, licence number and issuing province, no formulas.
    exported = await client.get("/v1/credit/brokers", params={"format": "csv"}, headers=authority.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:8] == ["机构名称", "统一社会信用代码", "人力资源服务许可证编号", "发证省份", "许可证有效期至",
                          "所在省份", "诚信积分", "诚信等级"]
    assert len(body) == 4
    sc_row = next(r for r in body if "成都劳务" in r[0])
    assert sc_row[0].startswith("'=")  # neutralised for Excel
    assert sc_row[2:8] == ["川人服证字〔2025〕第0099号", "四川省", "2030-06-30", "四川省", "80", "B"]
    d_csv = await client.get("/v1/credit/brokers", params={"format": "csv", "grade": "D"}, headers=authority.headers)
    d_rows = list(csv.reader(io.StringIO(d_csv.content.decode("utf-8-sig"))))[1:]
    assert [(r[6], r[7]) for r in d_rows] == [("55", "D")]

    for caller in (cq[1], await make_org("enterprise"), await make_org("kiosk")):
        assert (await client.get("/v1/credit/brokers", headers=caller.headers)).status_code == 403
        assert (await client.get("/v1/credit/brokers", params={"format": "csv"},
                                 headers=caller.headers)).status_code == 403


async def test_the_csv_is_the_whole_list_and_refuses_limit_and_cursor(client: httpx.AsyncClient,
                                                                     make_org: MakeOrg) -> None:
    # `?format=csv&limit=1` answered every broker: a client exporting "the first page" got more than it asked for,
    # and one paging through with a cursor got the whole list again on each request (as /v1/stats refuses them).
    authority = await make_org("authority")
    for _ in range(2):
        await make_org("broker")
    for params, fields in (({"format": "csv", "limit": "1"}, ["limit"]),
                           ({"format": "csv", "cursor": "abc.def"}, ["cursor"]),
                           ({"format": "csv", "limit": "1", "cursor": "abc.def"}, ["limit", "cursor"])):
        refused = await client.get("/v1/credit/brokers", params=params, headers=authority.headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == fields
    whole = await client.get("/v1/credit/brokers", params={"format": "csv"}, headers=authority.headers)
    assert whole.status_code == 200
    assert len(whole.content.decode("utf-8-sig").splitlines()) == 3  # the header and both brokers


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_lead_is_neutralised_in_the_csv(lead: str) -> None:
    # Excel runs a cell starting with any of these as a formula (e.g. "-2+3" or "@SUM(...)"), not only "=":
    # names and licence numbers are typed by the brokers themselves, so each lead gets the quote.
    item = BrokerCredit(org_id=uuid.uuid4(), name=f"{lead}cmd|' /C calc'!A0", unified_social_credit_code=None,
                        licence=LicenceOut(number=f"{lead}1+1", issuer_province="CQ", valid_until=None),
                        province="CQ", score=100, grade="A", events=0, last_event_at=None)
    [_, row] = list(csv.reader(io.StringIO(brokers_csv([item]).decode("utf-8-sig"))))
    assert row[0] == f"'{lead}cmd|' /C calc'!A0"
    assert row[2] == f"'{lead}1+1"


def test_thresholds_that_do_not_order_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in [(60, 75, 90), (90, 90, 60), (90, 75, 75)]:
        with pytest.raises(ValidationError, match="must strictly decrease"):
            load_api_settings(credit_grade_thresholds=bad)
    monkeypatch.setenv("CREDIT_GRADE_THRESHOLDS", "[80, 85, 50]")
    with pytest.raises(ValidationError, match="CREDIT_GRADE_THRESHOLDS"):
        load_api_settings()
    monkeypatch.setenv("CREDIT_GRADE_THRESHOLDS", "[95, 80, 65]")
    assert load_api_settings().credit_grade_thresholds == (95, 80, 65)


async def test_configured_thresholds_are_used(client: httpx.AsyncClient, settings: ApiSettings,
                                              broker: OrgKey, authority: OrgKey) -> None:
    assert settings.credit_grade_thresholds == (90, 75, 60)
    await adjust(client, authority, broker.org_id, points=-12, reason="扣分")
    assert (await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)).json()["grade"] == "B"


def test_grades_ranges_and_the_ranking_nudge() -> None:
    assert [grade_for(s) for s in (100, 90, 89, 75, 74, 60, 59, -20)] == ["A", "A", "B", "B", "C", "C", "D", "D"]
    assert score_range("A") == (90, None)
    assert score_range("D") == (None, 60)
    assert DEFAULT_POLICY.grade(-41) == "D"
    nudge = GRADE_RANKING_NUDGE
    assert nudge["A"] > nudge["B"] == 0 > nudge["C"] > nudge["D"]
    assert apply_grade_nudge(0.5, "A") == pytest.approx(0.53)
    assert apply_grade_nudge(0.5, "D") == pytest.approx(0.42)
    assert apply_grade_nudge(0.99, "A") == 1.0
    assert apply_grade_nudge(0.02, "D") == 0.0
    assert apply_grade_nudge(0.5, None) == 0.5
    # Small: a clearly better fit from a D broker still outranks a clearly worse one from an A broker.
    assert apply_grade_nudge(0.8, "D") > apply_grade_nudge(0.65, "A")
