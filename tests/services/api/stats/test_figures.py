"""Figures: a hand-computed small data set (ratios exact), snapshot immutability of a closed period, CSV export,
transfer flows, and the bad inputs (period format, future period, level/adcode mismatch, role)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from matching.catalogue import load_initial_catalogue
from services.api.catalogue.service import load_published_version
from services.api.stats import schemas
from services.api.stats.periods import BadPeriod, month_of, parse_period, quarter_of
from services.api.stats.service import compute_period, refresh
from tests.conftest import MakeOrg, OrgKey, start_date_in
from tests.services.api.placements.support import act, hired_placement, make_job, make_worker, propose

WELDER = "6-18-02-04"  # 焊工, shortage level 1 in the initial catalogue (whole circle)
OTHER = "6-30-05-01"


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority")


async def build_small_data_set(client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    """Jobs: J1 九龙坡 500107 焊工 ×3, J2 500107 OTHER ×2, J3 锦江 510104 焊工 ×1.
    Workers: W1 home 云阳 500235 焊工 (hired into J1), W2 500235 焊工+OTHER, W3 home 营山 511322 now in 500107 焊工,
    W4 500107 OTHER (no consent to sharing: still a job seeker for the figures).
    W1 has arrived at J1 (a placement). W3 is proposed for J3 but not hired (counts nowhere as a placement)."""
    async with db.transaction():
        await load_published_version(db, load_initial_catalogue(), note="test")
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    j1 = await make_job(client, enterprise, adcode="500107", headcount=3, occupation_code=WELDER,
                        start_date=start_date_in(0))  # W1 arrives today
    await make_job(client, enterprise, adcode="500107", headcount=2, occupation_code=OTHER)
    j3 = await make_job(client, enterprise, adcode="510104", headcount=1, occupation_code=WELDER)
    w1 = await make_worker(client, broker, home="500235", occupations=[WELDER])
    await make_worker(client, broker, home="500235", occupations=[WELDER, OTHER])
    w3 = await make_worker(client, broker, home="511322", current="500107", occupations=[WELDER])
    await make_worker(client, broker, home="500107", occupations=[OTHER], consent=False)
    placement = await hired_placement(client, enterprise, broker, j1["id"], w1["id"])
    # The posting waited ten days for this hire.
    await db.execute("UPDATE placements SET job_posted_at = hired_at - interval '10 days' WHERE id = $1::uuid",
                     placement["id"])
    assert (await act(client, broker, placement["id"], "arrive")).status_code == 200
    assert (await propose(client, broker, j3["id"], w3["id"])).status_code == 201


def by_key(items: list[dict[str, Any]]) -> dict[tuple[str | None, str | None], dict[str, Any]]:
    return {(i["adcode"], i["occupation_code"]): i for i in items}


def figures_of(item: dict[str, Any]) -> tuple[Any, ...]:
    ratio = None if item["ratio"] is None else Decimal(str(item["ratio"]))
    return (item["open_headcount"], item["available_workers"], ratio, item["placements"], item["transfers_in"],
            item["transfers_out"])


async def get_figures(client: httpx.AsyncClient, authority: OrgKey, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/stats/supply-demand", params=params, headers=authority.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_hand_computed_figures(client: httpx.AsyncClient, make_org: MakeOrg, authority: OrgKey,
                                     db: asyncpg.Connection) -> None:
    await build_small_data_set(client, make_org, db)
    period = month_of(datetime.now(UTC))
    outcome = await compute_period(db, period)
    assert outcome.status == "computed"

    county = await get_figures(client, authority, period=period.label, level="county")
    assert county["frozen"] is False
    rows = by_key(county["items"])
    #                                     open  workers ratio              placed in out
    assert figures_of(rows[("500107", WELDER)]) == (2, 1, Decimal("2.0000"), 1, 1, 0)
    assert figures_of(rows[("500107", OTHER)]) == (2, 1, Decimal("2.0000"), 0, 0, 0)
    assert figures_of(rows[("500107", None)]) == (4, 2, Decimal("2.0000"), 1, 1, 0)
    assert figures_of(rows[("500235", WELDER)]) == (0, 1, Decimal("0.0000"), 0, 0, 1)
    assert figures_of(rows[("500235", None)]) == (0, 1, Decimal("0.0000"), 0, 0, 1)
    assert figures_of(rows[("510104", WELDER)]) == (1, 0, None, 0, 0, 0)  # no workers: no ratio
    assert rows[("500107", WELDER)]["median_days_to_fill"] == 10.0
    assert rows[("500107", WELDER)]["shortage_level"] == 1
    assert rows[("500107", None)]["shortage_level"] is None
    assert rows[("500107", WELDER)]["area_name"] == "九龙坡区"
    assert rows[("500107", WELDER)]["occupation_name"] == "焊工"
    assert ("511322", WELDER) not in rows  # W3 is counted where they are now (500107)

    province = by_key((await get_figures(client, authority, period=period.label, level="province"))["items"])
    assert figures_of(province[("500000", None)]) == (4, 3, Decimal("1.3333"), 1, 0, 0)  # 4/3, half-up
    assert figures_of(province[("500000", WELDER)]) == (2, 2, Decimal("1.0000"), 1, 0, 0)
    assert figures_of(province[("510000", None)]) == (1, 0, None, 0, 0, 0)

    circle = by_key((await get_figures(client, authority, period=period.label, level="circle"))["items"])
    assert figures_of(circle[(None, None)]) == (5, 3, Decimal("1.6667"), 1, 0, 0)  # 5/3
    assert figures_of(circle[(None, WELDER)]) == (3, 2, Decimal("1.5000"), 1, 0, 0)

    one = await get_figures(client, authority, period=period.label, level="county", adcode="500107",
                            occupation_code=WELDER)
    assert [figures_of(i) for i in one["items"]] == [(2, 1, Decimal("2.0000"), 1, 1, 0)]

    flows = await client.get("/v1/stats/transfers", params={"period": period.label}, headers=authority.headers)
    assert flows.status_code == 200, flows.text
    assert [(f["origin"]["adcode"], f["destination"]["adcode"], f["placements"], f["cross_province"])
            for f in flows.json()["items"]] == [("500235", "500107", 1, False)]
    assert flows.json()["total"] == 1


async def test_csv_export(client: httpx.AsyncClient, make_org: MakeOrg, authority: OrgKey,
                          db: asyncpg.Connection) -> None:
    await build_small_data_set(client, make_org, db)
    period = month_of(datetime.now(UTC))
    await compute_period(db, period)
    response = await client.get("/v1/stats/supply-demand", headers=authority.headers,
                                params={"period": period.label, "level": "province", "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f"supply-demand-{period.label}-province.csv" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == ["period", "level", "adcode", "area_name", "occupation_code", "occupation_name",
                             "open_headcount", "available_workers", "ratio", "shortage_level", "placements",
                             "transfers_in", "transfers_out", "median_days_to_fill"]
    total = next(r for r in rows if r["adcode"] == "500000" and r["occupation_code"] == "")
    assert (total["area_name"], total["open_headcount"], total["available_workers"], total["ratio"]) == (
        "重庆市", "4", "3", "1.3333")
    sichuan = next(r for r in rows if r["adcode"] == "510000" and r["occupation_code"] == "")
    assert sichuan["ratio"] == ""  # null: no workers
    welder = next(r for r in rows if r["adcode"] == "500000" and r["occupation_code"] == WELDER)
    assert (welder["occupation_name"], welder["ratio"], welder["shortage_level"]) == ("焊工", "1", "1")

    flows = await client.get("/v1/stats/transfers", headers=authority.headers,
                             params={"period": period.label, "format": "csv"})
    lines = flows.content.decode("utf-8").lstrip("\ufeff").splitlines()
    assert lines[1] == f"{period.label},500235,云阳县,500107,九龙坡区,1,no"


async def test_a_closed_period_is_frozen(client: httpx.AsyncClient, make_org: MakeOrg, authority: OrgKey,
                                         db: asyncpg.Connection) -> None:
    await build_small_data_set(client, make_org, db)
    now = datetime.now(UTC)
    month = month_of(now)
    # Seen from the first day of the next month, this month has ended: computed as of its end and frozen.
    later = month.end + timedelta(hours=1)
    outcome = await compute_period(db, month, now=later)
    assert outcome.status == "frozen"
    before = await db.fetch("SELECT * FROM stats_supply_demand WHERE period = $1 ORDER BY level, adcode, "
                            "occupation_code", month.label)
    snapshot = await db.fetchrow("SELECT as_of, frozen_at FROM stats_periods WHERE period = $1", month.label)
    assert snapshot["as_of"] == month.end
    assert snapshot["frozen_at"] is not None

    # More demand arrives; recomputing the frozen period changes nothing.
    enterprise = await make_org("enterprise")
    await make_job(client, enterprise, adcode="500107", headcount=7, occupation_code=WELDER)
    again = await compute_period(db, month, now=later + timedelta(days=1))
    assert again.status == "skipped_frozen"
    after = await db.fetch("SELECT * FROM stats_supply_demand WHERE period = $1 ORDER BY level, adcode, "
                           "occupation_code", month.label)
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    # The database refuses any change to a frozen period, whoever tries.
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE stats_supply_demand SET open_headcount = 0 WHERE period = $1", month.label)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("DELETE FROM stats_transfer_flows WHERE period = $1", month.label)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE stats_periods SET frozen_at = NULL WHERE period = $1", month.label)

    # The open quarter (seen from now) is recomputed and does see the new posting.
    quarter = quarter_of(now)
    first = await compute_period(db, quarter, now=now)
    assert first.status == "computed" or quarter.has_ended(now)
    served = await get_figures(client, authority, period=month.label, level="county", adcode="500107")
    assert served["frozen"] is True
    assert by_key(served["items"])[("500107", None)]["open_headcount"] == 4  # not 11


async def test_refresh_computes_open_periods_and_freezes_ended_ones(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    outcomes = {o.period: o.status for o in await refresh(db, now=now)}
    month = month_of(now)
    assert outcomes[month.label] == "computed"
    assert outcomes[month.previous().label] == "frozen"
    assert outcomes[quarter_of(now).previous().label] == "frozen"
    again = {o.period: o.status for o in await refresh(db, now=now)}
    assert again[month.previous().label] == "skipped_frozen"
    assert again[month.label] == "computed"


@pytest.mark.parametrize(("params", "status", "reason"), [
    ({"period": "2026-13", "level": "county"}, 422, "bad_period"),
    ({"period": "2026-Q5", "level": "county"}, 422, "bad_period"),
    ({"period": "November", "level": "county"}, 422, "bad_period"),
    ({"period": "0000-01", "level": "county"}, 422, "bad_period"),  # was a 500 (no year 0)
    ({"period": "0001-Q1", "level": "circle"}, 422, "bad_period"),
    ({"period": "1999-12", "level": "county"}, 422, "bad_period"),
    ({"period": "２０２６-01", "level": "county"}, 422, "bad_period"),  # full-width digits
    ({"period": "2999-01", "level": "county"}, 422, "future_period"),
    ({"period": "2999-Q1", "level": "county"}, 422, "future_period"),
    ({"period": "2026-10", "level": "county", "adcode": "500000"}, 422, "level_adcode_mismatch"),
    ({"period": "2026-10", "level": "province", "adcode": "500107"}, 422, "level_adcode_mismatch"),
    ({"period": "2026-10", "level": "city", "adcode": "500107"}, 422, "level_adcode_mismatch"),
    ({"period": "2026-10", "level": "circle", "adcode": "500107"}, 422, "level_adcode_mismatch"),
    ({"period": "2026-10", "level": "county", "adcode": "999999"}, 422, "unknown_adcode"),
    ({"period": "2020-01", "level": "county"}, 404, "not_computed"),
])
async def test_bad_queries_are_clear_problems(client: httpx.AsyncClient, authority: OrgKey, params: dict[str, str],
                                              status: int, reason: str) -> None:
    response = await client.get("/v1/stats/supply-demand", params=params, headers=authority.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["reason"] == reason


@pytest.mark.parametrize("level", ["county", "city", "province"])
@pytest.mark.parametrize("adcode", ["500100", "500200"])
async def test_a_chongqing_grouping_code_is_refused_saying_what_to_ask_instead(
    client: httpx.AsyncClient, authority: OrgKey, level: str, adcode: str,
) -> None:
    # Placements and kiosk search take 500100/500200 as an area; figures are kept per county, city (500000 for
    # Chongqing) and province only. It was answered "unknown adcode", as if the code were a typing mistake.
    for path, params in (("/v1/stats/supply-demand", {"period": "2026-10"}), ("/v1/stats/trend", {})):
        response = await client.get(path, params={**params, "level": level, "adcode": adcode},
                                    headers=authority.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["reason"] == "level_adcode_mismatch"
        assert [e["field"] for e in problem["errors"]] == ["adcode"]
        assert "500000" in problem["detail"]
        assert "county" in problem["detail"]


async def test_figures_need_an_authority_key(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    params = {"period": "2026-10", "level": "county"}
    assert (await client.get("/v1/stats/supply-demand", params=params)).status_code == 401
    assert (await client.get("/v1/stats/supply-demand", params=params, headers=broker.headers)).status_code == 403
    assert (await client.get("/v1/stats/transfers", params={"period": "2026-10"},
                             headers=broker.headers)).status_code == 403
    bad_level = await client.get("/v1/stats/supply-demand", params={"period": "2026-10", "level": "town"},
                                 headers=(await make_org("authority")).headers)
    assert bad_level.status_code == 422


def test_periods_parse_and_order() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.starts_on.isoformat(), q4.ends_on.isoformat(), q4.label) == ("2026-10-01", "2026-12-31", "2026-Q4")
    assert parse_period("2026-12").next_start.isoformat() == "2027-01-01"
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026-Q1").previous().label == "2025-Q4"


@pytest.mark.parametrize(("text", "says"), [("1999-01", "2000 and 2999"), ("9999-Q4", "2000 and 2999"),
                                            ("2026-13", "a month 2026-11"), ("26-11", "a month 2026-11")])
def test_a_bad_period_is_told_what_is_wrong_with_it(text: str, says: str) -> None:
    with pytest.raises(BadPeriod, match=says):
        parse_period(text)


async def test_placements_still_count_after_the_other_side_ends_them(client: httpx.AsyncClient,
                                                                     make_org: MakeOrg, authority: OrgKey,
                                                                     db: asyncpg.Connection) -> None:
    """An arrival counts as a placement of its period even if the worker left later; the worker is available
    again."""
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    job = await make_job(client, enterprise, adcode="510104", headcount=2, start_date=start_date_in(0))
    worker = await make_worker(client, broker, home="500235")
    placement = await hired_placement(client, enterprise, broker, job["id"], worker["id"])
    assert (await act(client, broker, placement["id"], "arrive")).status_code == 200
    assert (await act(client, enterprise, placement["id"], "end", {"reason": "left"})).status_code == 200
    period = month_of(datetime.now(UTC))
    await compute_period(db, period)
    rows = by_key((await get_figures(client, authority, period=period.label, level="county"))["items"])
    assert figures_of(rows[("510104", None)]) == (1, 0, None, 1, 1, 0)
    assert figures_of(rows[("500235", None)]) == (0, 1, Decimal("0.0000"), 0, 0, 1)
    flows = (await client.get("/v1/stats/transfers", params={"period": period.label},
                              headers=authority.headers)).json()
    assert flows["items"][0]["cross_province"] is True


async def test_a_hire_that_never_arrived_is_no_placement_nor_transfer(client: httpx.AsyncClient,
                                                                       make_org: MakeOrg, authority: OrgKey,
                                                                       db: asyncpg.Connection) -> None:
    """A placement is a match that turned into work (product.md): a no-show, and a hire still waiting for the
    worker, count nowhere as placements or transfers (the headcount they took stays taken)."""
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    job = await make_job(client, enterprise, adcode="510104", headcount=3)
    no_show = await hired_placement(client, enterprise, broker, job["id"],
                                    (await make_worker(client, broker, home="500235"))["id"])
    assert (await act(client, enterprise, no_show["id"], "end", {"reason": "no_show"})).status_code == 200
    waiting = await make_worker(client, broker, home="500235")
    await hired_placement(client, enterprise, broker, job["id"], waiting["id"])  # hired, not arrived yet
    period = month_of(datetime.now(UTC))
    await compute_period(db, period)
    rows = by_key((await get_figures(client, authority, period=period.label, level="county"))["items"])
    assert figures_of(rows[("510104", None)]) == (1, 0, None, 0, 0, 0)
    assert figures_of(rows[("500235", None)])[3:] == (0, 0, 0)
    flows = (await client.get("/v1/stats/transfers", params={"period": period.label},
                              headers=authority.headers)).json()
    assert (flows["items"], flows["total"]) == ([], 0)


def test_grouped_seekers_count_as_the_workers_they_stand_for() -> None:
    """The cron reads seekers grouped by (county, trades) with a count; the figures equal one row per worker."""
    from matching.regions import load_regions
    from services.api.stats.figures import Seeker, compute

    welder, cook = "6-18-02-04", "4-03-02-01"
    one_by_one = [Seeker("500235", (welder,)), Seeker("500235", (welder,)), Seeker("500235", (welder, cook)),
                  Seeker("511322", (cook,))]
    grouped = [Seeker("500235", (welder,), 2), Seeker("500235", (welder, cook)), Seeker("511322", (cook,), 1)]
    regions = load_regions()
    assert compute([], grouped, [], {}, regions) == compute([], one_by_one, [], {}, regions)
    rows = {(r.level, r.adcode, r.occupation_code): r.available_workers
            for r in compute([], grouped, [], {}, regions)[0]}
    assert rows[("county", "500235", welder)] == 3
    assert rows[("county", "500235", "")] == 3  # a worker with two trades counts once


async def test_every_json_answer_is_what_openapi_says(client: httpx.AsyncClient, make_org: MakeOrg,
                                                       authority: OrgKey, db: asyncpg.Connection) -> None:
    # The routes answer the service's dicts; services/api/stats/schemas.py is what OpenAPI shows clients. Every
    # field of a real answer must be declared there with its type (extra fields are refused), at every level.
    await build_small_data_set(client, make_org, db)
    period = month_of(datetime.now(UTC))
    await compute_period(db, period)
    for level, adcode in (("circle", None), ("province", "500000"), ("city", "510100"), ("county", "500107")):
        params = {"period": period.label, "level": level, **({"adcode": adcode} if adcode else {})}
        page = schemas.SupplyDemandPage.model_validate(await get_figures(client, authority, **params))
        assert page.items, level
    flows = await client.get("/v1/stats/transfers", params={"period": period.label}, headers=authority.headers)
    assert schemas.TransfersPage.model_validate(flows.json()).items[0].origin.name == "云阳县"
    periods = await client.get("/v1/stats/periods", headers=authority.headers)
    assert schemas.PeriodPage.model_validate(periods.json()).items
    trend = await client.get("/v1/stats/trend", params={"level": "county", "adcode": "500107"},
                             headers=authority.headers)
    assert schemas.Trend.model_validate(trend.json()).items
    documented = (await client.get("/openapi.json")).json()["paths"]
    for path, model in (("/v1/stats/supply-demand", "SupplyDemandPage"), ("/v1/stats/transfers", "TransfersPage"),
                        ("/v1/stats/periods", "PeriodPage"), ("/v1/stats/trend", "Trend")):
        schema = documented[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"] == f"#/components/schemas/{model}", path


def test_a_whole_circle_entry_gives_no_shortage_level_outside_the_circle() -> None:
    """A catalogue entry without regions covers the whole circle (api.md), not every county of both provinces:
    德昌县 (凉山州, outside the circle) showed the welder's level 1 for its seekers."""
    from matching.regions import load_regions
    from services.api.stats.figures import CatalogueLevel, Posting, Seeker, compute

    cook = "4-03-02-01"
    catalogue = {WELDER: CatalogueLevel(shortage_level=1, regions=()),
                 cook: CatalogueLevel(shortage_level=2, regions=("513424",))}  # named outright: applies there
    seekers = [Seeker("513424", (WELDER, cook)), Seeker("510104", (WELDER,))]  # 德昌县; 锦江区 (in the circle)
    rows = {(r.level, r.adcode, r.occupation_code): r.shortage_level
            for r in compute([Posting("513424", WELDER, 2)], seekers, [], catalogue, load_regions())[0]}
    assert rows[("county", "513424", WELDER)] is None
    assert rows[("city", "513400", WELDER)] is None  # 凉山州 has no county in the circle
    assert rows[("county", "510104", WELDER)] == 1
    assert rows[("city", "510100", WELDER)] == 1
    assert rows[("province", "510000", WELDER)] == 1  # Sichuan is partly in the circle
    assert rows[("circle", "", WELDER)] == 1
    assert rows[("county", "513424", cook)] == 2
