"""Computing figure snapshots (the arq cron calls `refresh`) and serving them.

A period is computed from the platform's rows as of `min(now, end of period)`. While a period is open it is
recomputed on every run; the first run after it has ended computes it one last time as of its end and freezes it:
from then on its rows never change (the service skips it, and database triggers refuse any change).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg
import orjson
import structlog

from matching.occupations import load_occupations
from matching.regions import load_regions, province_of
from services.api.pagination import invalid_cursor, sign_payload, signed_payload
from services.api.problems import FieldError, InvalidInput, NotFound
from services.api.stats import figures, repository
from services.api.stats.periods import BadPeriod, Period, month_of, parse_period, quarter_of

log = structlog.get_logger("bashu.stats")

Level = Literal["county", "city", "province", "circle"]


@dataclass(frozen=True, slots=True)
class Outcome:
    period: str
    status: Literal["computed", "frozen", "skipped_frozen"]
    rows: int


async def compute_period(conn: asyncpg.Connection, period: Period, *, now: datetime | None = None) -> Outcome:
    """Compute one period into the snapshot tables (in one transaction); a frozen period is left as it is."""
    now = now or datetime.now(UTC)
    if not period.has_started(now):
        raise ValueError(f"period {period} has not started")
    as_of = min(now, period.end)
    freeze = period.has_ended(now)
    regions = load_regions()
    async with conn.transaction():
        current = await repository.lock_period(conn, period=period.label, kind=period.kind,
                                               starts_on=period.starts_on, ends_on=period.ends_on, as_of=as_of)
        if current["frozen_at"] is not None:
            return Outcome(period.label, "skipped_frozen", 0)
        postings = [figures.Posting(r["adcode"], r["occupation_code"], r["open_headcount"])
                    for r in await repository.open_headcount_at(conn, as_of)]
        as_of_day = as_of.astimezone(period.start.tzinfo).date()
        seekers = [figures.Seeker(r["adcode"], tuple(r["occupation_codes"]), r["workers"])
                   for r in await repository.seekers_at(conn, as_of, as_of_day)]
        hires = [figures.Hire(r["origin_adcode"], r["destination_adcode"], r["occupation_code"],
                              float(r["days_to_fill"]), r["cross_province"])
                 for r in await repository.arrivals_between(conn, period.start, as_of)]
        version, entries = await repository.published_catalogue(conn)
        catalogue = figures.catalogue_levels([(e["occupation_code"], e["shortage_level"], e["regions"])
                                              for e in entries])
        rows, flows = figures.compute(postings, seekers, hires, catalogue, regions)
        await repository.replace_rows(
            conn, period.label,
            [(period.label, r.level, r.adcode, r.occupation_code, r.open_headcount, r.available_workers, r.ratio,
              r.shortage_level, r.placements, r.transfers_in, r.transfers_out, r.median_days_to_fill) for r in rows],
            [(period.label, f.origin_adcode, f.destination_adcode, f.placements, f.cross_province) for f in flows])
        await repository.finish_period(conn, period.label, as_of=as_of, computed_at=now, freeze=freeze,
                                       source="computed", catalogue_version=version)
    return Outcome(period.label, "frozen" if freeze else "computed", len(rows))


async def refresh(conn: asyncpg.Connection, *, now: datetime | None = None) -> list[Outcome]:
    """The cron's run: the open month and quarter, and the previous ones (frozen on their first run after they
    ended); any other ended period left unfrozen (a worker that was down) is frozen too."""
    now = now or datetime.now(UTC)
    month, quarter = month_of(now), quarter_of(now)
    periods = {month, month.previous(), quarter, quarter.previous()}
    for row in await repository.unfrozen_ended_periods(conn, month.starts_on):
        periods.add(parse_period(row["period"]))
    outcomes = [await compute_period(conn, p, now=now) for p in sorted(periods)]
    log.info("stats.refreshed", outcomes=[(o.period, o.status, o.rows) for o in outcomes])
    return outcomes


# --------------------------------------------------------------------------------------------- serving


def _invalid(field: str, message: str, reason: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(field=field, message=message)], extra={"reason": reason})


def check_period(text: str, *, now: datetime | None = None) -> Period:
    try:
        period = parse_period(text)
    except BadPeriod as exc:
        raise _invalid("period", str(exc), "bad_period") from None
    if not period.has_started(now or datetime.now(UTC)):
        raise _invalid("period", f"期间 {period} 尚未开始 / period {period} is in the future", "future_period")
    return period


def check_area(level: Level, adcode: str | None) -> str | None:
    """The adcode to filter on, checked against the level: a county at county level, a prefecture (or Chongqing,
    500000) at city level, 500000 or 510000 at province level, none for the circle."""
    if adcode is None:
        return None
    regions = load_regions()
    if level == "circle":
        raise _invalid("adcode", "经济圈层级不接受 adcode / level=circle takes no adcode", "level_adcode_mismatch")
    if regions.county_group(adcode):
        # Chongqing's grouping codes (500100 市辖区, 500200 县) are accepted as area filters elsewhere, but the
        # figures are computed per county, city and province only, and a grouping's are not the sum of its
        # counties' (a transfer between two of its districts would count as both in and out; medians do not
        # add). Said as what to ask instead, rather than the "unknown adcode" it was.
        raise _invalid("adcode", f"{adcode} 是重庆区县的分组代码，统计不按此分组：请用 500000（level=city）或其中的区县"
                                 f"（level=county） / adcode {adcode} is a grouping of Chongqing's counties, which the "
                                 "figures are not kept for: use 500000 (level=city) or one of its counties "
                                 "(level=county)", "level_adcode_mismatch")
    region = regions.get(adcode)
    if region is None:
        raise _invalid("adcode", f"未知的 adcode {adcode} / unknown adcode", "unknown_adcode")
    cities = {r.city_adcode for r in regions.counties()}
    fits = {"county": region.level == "county",
            "city": adcode in cities,
            "province": region.level == "province"}[level]
    if not fits:
        raise _invalid("adcode", f"{adcode}（{region.name}）不是 {level} 层级 / adcode {adcode} ({region.name}) is a "
                                 f"{region.level}, not a {level}", "level_adcode_mismatch")
    return adcode


def _area_name(level: str, adcode: str) -> str:
    if level == "circle":
        return "成渝地区双城经济圈"
    region = load_regions().get(adcode)
    return region.name if region else adcode


def _occupation_name(code: str) -> str | None:
    if not code:
        return None
    occupation = load_occupations().get(code)
    return occupation.name if occupation else None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def row_out(period: str, row: asyncpg.Record) -> dict[str, Any]:
    return {
        "period": period, "level": row["level"], "adcode": row["adcode"] or None,
        "area_name": _area_name(row["level"], row["adcode"]),
        "occupation_code": row["occupation_code"] or None,
        "occupation_name": _occupation_name(row["occupation_code"]),
        "open_headcount": row["open_headcount"], "available_workers": row["available_workers"],
        "ratio": _number(row["ratio"]), "shortage_level": row["shortage_level"], "placements": row["placements"],
        "transfers_in": row["transfers_in"], "transfers_out": row["transfers_out"],
        "median_days_to_fill": _number(row["median_days_to_fill"]),
    }


async def _snapshot(conn: asyncpg.Connection, period: Period) -> asyncpg.Record:
    snapshot = await repository.get_period(conn, period.label)
    if snapshot is None or snapshot["computations"] == 0:
        raise NotFound(f"期间 {period} 尚未统计 / no figures for {period} yet (computed every few minutes)",
                       extra={"reason": "not_computed"})
    return snapshot


def _meta(snapshot: asyncpg.Record) -> dict[str, Any]:
    return {"period": snapshot["period"], "kind": snapshot["kind"], "starts_on": snapshot["starts_on"].isoformat(),
            "ends_on": snapshot["ends_on"].isoformat(), "as_of": snapshot["as_of"].isoformat(),
            "computed_at": snapshot["computed_at"].isoformat(), "frozen": snapshot["frozen_at"] is not None,
            "source": snapshot["source"], "catalogue_version": snapshot["catalogue_version"]}


# --------------------------------------------------------------------------------------- pages of a snapshot
#
# The rows of one computation of a period are paged by offset: they never change until the period is computed
# again, so an offset is exact. A cursor names the computation (`computed_at`) and the query it belongs to (its
# scope), so pages are never mixed from two computations: after a recomputation (an open period's, every few
# minutes) it is refused, and the client reads again from the first page.


@dataclass(frozen=True, slots=True)
class Page:
    """`limit` rows (None: every row, for a CSV) from `offset` on, and the cursor's scope."""

    scope: str
    limit: int | None = None
    cursor: str | None = None
    cursor_secret: str = ""


_RECOMPUTED = ("统计已重新计算，请从第一页重新读取 / the figures were computed again after this cursor was given: "
               "read them again from the first page")


def _cursor_position(page: Page) -> tuple[str, int] | None:
    """The computation and offset a cursor names; checked before the snapshot is read (a forged one is a 422)."""
    if page.cursor is None:
        return None
    payload = signed_payload(page.cursor_secret, page.scope, page.cursor)
    try:
        computed_at, offset = orjson.loads(payload)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise invalid_cursor() from None
    if not isinstance(computed_at, str) or not isinstance(offset, int) or offset < 0:
        raise invalid_cursor()
    return computed_at, offset


def _offset(snapshot: asyncpg.Record, position: tuple[str, int] | None) -> int:
    if position is None:
        return 0
    computed_at, offset = position
    if computed_at != snapshot["computed_at"].isoformat():
        raise invalid_cursor(_RECOMPUTED)
    return offset


def _next_cursor(page: Page, snapshot: asyncpg.Record, offset: int, fetched: int) -> str | None:
    """Rows are fetched one past the limit: a further page exists when that one came back."""
    if page.limit is None or fetched <= page.limit:
        return None
    return sign_payload(page.cursor_secret, page.scope,
                        orjson.dumps([snapshot["computed_at"].isoformat(), offset + page.limit]))


def supply_demand_scope(period: str, level: str, adcode: str | None, occupation_code: str | None) -> str:
    # The query is part of the scope: a cursor of another period, level or filter is refused, not misread.
    return f"stats:supply-demand:{period}:{level}:{adcode or ''}:{occupation_code or ''}"


def transfers_scope(period: str) -> str:
    return f"stats:transfers:{period}"


async def supply_demand(conn: asyncpg.Connection, *, period_text: str, level: Level, adcode: str | None,
                        occupation_code: str | None, now: datetime | None = None,
                        page: Page | None = None) -> dict[str, Any]:
    """The period's rows with the snapshot's facts; `page` None: every row (the CSV)."""
    period = check_period(period_text, now=now)
    adcode = check_area(level, adcode)
    page = page or Page(scope="")
    position = _cursor_position(page)
    snapshot = await _snapshot(conn, period)
    offset = _offset(snapshot, position)
    rows = await repository.supply_demand_rows(
        conn, period=period.label, level=level, adcode=adcode, occupation_code=occupation_code,
        limit=None if page.limit is None else page.limit + 1, offset=offset)
    return {**_meta(snapshot), "level": level,
            "items": [row_out(period.label, r) for r in rows[:page.limit]],
            "next_cursor": _next_cursor(page, snapshot, offset, len(rows))}


def _county(adcode: str) -> dict[str, Any]:
    region = load_regions().get(adcode)
    return {"adcode": adcode, "name": region.name if region else None,
            "province": region.province if region else province_of(adcode)}


async def transfers(conn: asyncpg.Connection, *, period_text: str, now: datetime | None = None,
                    page: Page | None = None) -> dict[str, Any]:
    """The period's flows; `total` and `cross_province` count every flow, whichever page is answered."""
    period = check_period(period_text, now=now)
    page = page or Page(scope="")
    position = _cursor_position(page)
    snapshot = await _snapshot(conn, period)
    offset = _offset(snapshot, position)
    rows = await repository.flow_rows(conn, period.label, limit=None if page.limit is None else page.limit + 1,
                                      offset=offset)
    totals = await repository.flow_totals(conn, period.label)
    items = [{"origin": _county(r["origin_adcode"]), "destination": _county(r["destination_adcode"]),
              "placements": r["placements"], "cross_province": r["cross_province"]} for r in rows[:page.limit]]
    return {**_meta(snapshot), "items": items, "next_cursor": _next_cursor(page, snapshot, offset, len(rows)),
            "total": totals["total"], "cross_province": totals["cross_province"]}


PERIODS_SCOPE = "stats:periods"


async def periods(conn: asyncpg.Connection, *, limit: int, cursor: str | None,
                  cursor_secret: str) -> dict[str, Any]:
    """Periods with figures by kind, oldest first; the cursor names the last period answered (its label)."""
    after = None
    if cursor is not None:
        try:
            last = parse_period(signed_payload(cursor_secret, PERIODS_SCOPE, cursor).decode())
        except (BadPeriod, UnicodeDecodeError):
            raise invalid_cursor() from None
        after = (last.kind, last.starts_on)
    rows = await repository.list_periods(conn, after=after, limit=limit + 1)
    following = (sign_payload(cursor_secret, PERIODS_SCOPE, rows[limit - 1]["period"].encode())
                 if len(rows) > limit else None)
    return {"items": [_meta(r) for r in rows[:limit]], "next_cursor": following}


async def trend(conn: asyncpg.Connection, *, kind: Literal["month", "quarter"], level: Level, adcode: str | None,
                occupation_code: str | None) -> dict[str, Any]:
    if level != "circle" and adcode is None:
        raise _invalid("adcode", "需要 adcode / adcode is required below the circle level", "adcode_required")
    checked = check_area(level, adcode) or ""
    rows = await repository.trend_rows(conn, kind=kind, level=level, adcode=checked,
                                       occupation_code=occupation_code or "")
    return {"kind": kind, "level": level, "adcode": checked or None, "occupation_code": occupation_code,
            "items": [{**row_out(r["period"], r), "frozen": r["frozen_at"] is not None, "source": r["source"]}
                      for r in rows]}


# ------------------------------------------------------------------------------------------------- CSV

SUPPLY_DEMAND_COLUMNS = ["period", "level", "adcode", "area_name", "occupation_code", "occupation_name",
                         "open_headcount", "available_workers", "ratio", "shortage_level", "placements",
                         "transfers_in", "transfers_out", "median_days_to_fill"]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return value


def to_csv(columns: list[str], items: list[dict[str, Any]]) -> str:
    """UTF-8 with a BOM so spreadsheet programs show the Chinese names; empty cells for nulls."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_csv_value(item[c]) for c in columns])
    return out.getvalue()


def flows_csv(items: list[dict[str, Any]], period: str) -> str:
    flat = [{"period": period, "origin_adcode": i["origin"]["adcode"], "origin_name": i["origin"]["name"],
             "destination_adcode": i["destination"]["adcode"], "destination_name": i["destination"]["name"],
             "placements": i["placements"], "cross_province": "yes" if i["cross_province"] else "no"}
            for i in items]
    return to_csv(["period", "origin_adcode", "origin_name", "destination_adcode", "destination_name", "placements",
                   "cross_province"], flat)


# ------------------------------------------------------------------------------------------------ demo


async def write_demo_history(conn: asyncpg.Connection, *, months: int = 5, now: datetime | None = None) -> list[str]:
    """Demo only: past months derived from the open month's computed rows with a steady drift (more demand
    earlier in the year, fewer seekers), written as frozen snapshots with `source = 'demo'` so a new stack shows a
    trend. Months that already have figures are left alone. Returns the periods written."""
    now = now or datetime.now(UTC)
    current = month_of(now)
    await compute_period(conn, current, now=now)
    base = await repository.all_supply_demand_rows(conn, current.label)
    base_flows = await repository.flow_rows(conn, current.label)
    written: list[str] = []
    period = current
    for step in range(1, months + 1):
        period = period.previous()
        async with conn.transaction():
            existing = await repository.lock_period(conn, period=period.label, kind=period.kind,
                                                    starts_on=period.starts_on, ends_on=period.ends_on,
                                                    as_of=period.end)
            if existing["computations"] > 0 or existing["frozen_at"] is not None:
                continue
            demand, supply, hires = 1 + 0.07 * step, 1 - 0.05 * step, 1 - 0.12 * step

            def scaled(value: int, factor: float) -> int:
                return max(0, round(value * factor))

            rows = []
            for r in base:
                open_headcount = scaled(r["open_headcount"], demand)
                workers = scaled(r["available_workers"], supply)
                rows.append((period.label, r["level"], r["adcode"], r["occupation_code"], open_headcount, workers,
                             figures.ratio(open_headcount, workers), r["shortage_level"],
                             scaled(r["placements"], hires), scaled(r["transfers_in"], hires),
                             scaled(r["transfers_out"], hires), r["median_days_to_fill"]))
            flows = [(period.label, f["origin_adcode"], f["destination_adcode"],
                      max(1, scaled(f["placements"], hires)), f["cross_province"]) for f in base_flows]
            await repository.insert_period_rows(conn, period.label, rows, flows)
            await repository.finish_period(conn, period.label, as_of=period.end, computed_at=now, freeze=True,
                                           source="demo", catalogue_version=None)
            written.append(period.label)
    await compute_period(conn, quarter_of(now), now=now)
    return written
