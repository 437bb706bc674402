"""The figures' lists are paged as api.md's lists are (`limit`, `cursor`, `next_cursor`): supply–demand rows and
transfer flows within one computation of a period, and the periods themselves. The CSV is the whole report, and
the trend (one chart's series) is not paged: both refuse `limit` and `cursor` instead of ignoring them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from services.api.stats import repository
from services.api.stats.periods import Period, month_of, parse_period
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.pages import read_pages

COUNTIES = [f"5001{n:02d}" for n in range(1, 26)]  # 25 rows at county level: two pages of 20, three of 10


@pytest.fixture
async def authority(make_org: MakeOrg) -> OrgKey:
    return await make_org("authority")


async def store_snapshot(db: asyncpg.Connection, period: Period, *, computed_at: datetime,
                         freeze: bool = False) -> None:
    """One computation of `period` with a row and a flow per county (flows: fewer placements down the list)."""
    rows = [(period.label, "county", adcode, "", 10 + n, 5, None, None, n, 0, 0, None)
            for n, adcode in enumerate(COUNTIES)]
    rows.append((period.label, "circle", "", "", 600, 125, None, None, 300, 0, 0, None))
    flows = [(period.label, adcode, "510104", 30 - n, n % 2 == 0) for n, adcode in enumerate(COUNTIES)]
    async with db.transaction():
        await repository.lock_period(db, period=period.label, kind=period.kind, starts_on=period.starts_on,
                                     ends_on=period.ends_on, as_of=computed_at)
        await repository.replace_rows(db, period.label, rows, flows)
        await repository.finish_period(db, period.label, as_of=computed_at, computed_at=computed_at, freeze=freeze,
                                       source="computed", catalogue_version=None)


async def test_supply_demand_rows_are_paged(client: httpx.AsyncClient, authority: OrgKey,
                                            db: asyncpg.Connection) -> None:
    period = month_of(datetime.now(UTC))
    await store_snapshot(db, period, computed_at=datetime.now(UTC))
    params = {"period": period.label, "level": "county"}
    first = (await client.get("/v1/stats/supply-demand", params=params, headers=authority.headers)).json()
    assert len(first["items"]) == 20
    assert first["next_cursor"]
    pages = await read_pages(client, "/v1/stats/supply-demand", authority.headers, limit=10, **params)
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    assert [i["adcode"] for p in pages for i in p["items"]] == COUNTIES
    # Each page keeps the snapshot's facts.
    assert {(p["period"], p["as_of"], p["frozen"]) for p in pages} == {(period.label, first["as_of"], False)}


async def test_a_cursor_is_refused_once_the_period_is_computed_again(client: httpx.AsyncClient,
                                                                      authority: OrgKey,
                                                                      db: asyncpg.Connection) -> None:
    # Pages of two computations would mix figures as of two moments: the client is told to start again.
    period = month_of(datetime.now(UTC))
    earlier = datetime.now(UTC) - timedelta(minutes=10)
    await store_snapshot(db, period, computed_at=earlier)
    params = {"period": period.label, "level": "county"}
    first = (await client.get("/v1/stats/supply-demand", params=params, headers=authority.headers)).json()
    flows = (await client.get("/v1/stats/transfers", params={"period": period.label, "limit": 5},
                              headers=authority.headers)).json()
    await store_snapshot(db, period, computed_at=earlier + timedelta(minutes=5))
    for path, cursor, query in (("/v1/stats/supply-demand", first["next_cursor"], params),
                                ("/v1/stats/transfers", flows["next_cursor"], {"period": period.label})):
        stale = await client.get(path, params={**query, "cursor": cursor}, headers=authority.headers)
        assert stale.status_code == 422, stale.text
        [error] = stale.json()["errors"]
        assert error["field"] == "cursor", error
        assert "first page" in error["message"], error


async def test_a_cursor_belongs_to_its_query(client: httpx.AsyncClient, authority: OrgKey,
                                             db: asyncpg.Connection) -> None:
    period = month_of(datetime.now(UTC))
    await store_snapshot(db, period, computed_at=datetime.now(UTC))
    first = (await client.get("/v1/stats/supply-demand", params={"period": period.label, "level": "county"},
                              headers=authority.headers)).json()
    for params in ({"period": period.label, "level": "county", "adcode": "500101"},
                   {"period": period.label, "level": "city"}):
        other = await client.get("/v1/stats/supply-demand", params={**params, "cursor": first["next_cursor"]},
                                 headers=authority.headers)
        assert other.status_code == 422, other.text
        assert [e["field"] for e in other.json()["errors"]] == ["cursor"]
    flows = await client.get("/v1/stats/transfers", params={"period": period.label, "cursor": first["next_cursor"]},
                             headers=authority.headers)
    assert flows.status_code == 422, flows.text


async def test_transfer_flows_are_paged_and_their_totals_count_every_flow(client: httpx.AsyncClient,
                                                                         authority: OrgKey,
                                                                         db: asyncpg.Connection) -> None:
    period = month_of(datetime.now(UTC)).previous()
    await store_snapshot(db, period, computed_at=period.end, freeze=True)
    pages = await read_pages(client, "/v1/stats/transfers", authority.headers, period=period.label, limit=10)
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    placements = [i["placements"] for p in pages for i in p["items"]]
    assert placements == sorted(placements, reverse=True)
    assert len(placements) == len(COUNTIES)
    # The totals are the period's, on every page (they were summed over the items answered).
    assert {p["total"] for p in pages} == {sum(placements)}
    assert {p["cross_province"] for p in pages} == {sum(30 - n for n in range(0, 25, 2))}


async def test_the_csv_is_whole_and_refuses_limit_and_cursor(client: httpx.AsyncClient, authority: OrgKey,
                                                             db: asyncpg.Connection) -> None:
    period = month_of(datetime.now(UTC))
    await store_snapshot(db, period, computed_at=datetime.now(UTC))
    params = {"period": period.label, "level": "county", "format": "csv"}
    whole = await client.get("/v1/stats/supply-demand", params=params, headers=authority.headers)
    assert whole.status_code == 200
    assert len(whole.text.strip().splitlines()) == 1 + len(COUNTIES)
    for path, query in (("/v1/stats/supply-demand", params),
                        ("/v1/stats/transfers", {"period": period.label, "format": "csv"})):
        refused = await client.get(path, params={**query, "limit": 10, "cursor": "x"}, headers=authority.headers)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["limit", "cursor"]


async def test_periods_are_paged(client: httpx.AsyncClient, authority: OrgKey, db: asyncpg.Connection) -> None:
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    for label in labels:
        period = parse_period(label)
        await store_snapshot(db, period, computed_at=period.end, freeze=True)
    pages = await read_pages(client, "/v1/stats/periods", authority.headers, limit=5)
    assert [len(p["items"]) for p in pages] == [5, 5, 5, 1]
    assert [i["period"] for p in pages for i in p["items"]] == labels  # months, then quarters, oldest first
    default = (await client.get("/v1/stats/periods", headers=authority.headers)).json()
    assert [i["period"] for i in default["items"]] == labels
    assert default["next_cursor"] is None


async def test_the_trend_refuses_limit_and_cursor(client: httpx.AsyncClient, authority: OrgKey) -> None:
    for name, value in (("limit", "5"), ("cursor", "abc")):
        refused = await client.get("/v1/stats/trend", params={name: value}, headers=authority.headers)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [name]
    assert (await client.get("/v1/stats/trend", headers=authority.headers)).status_code == 200
