"""SQL for the figures: what they are computed from (postings, worker profiles, placements, the published
catalogue; read only) and the snapshot tables they are kept in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

# ------------------------------------------------------------------------------------------ the inputs


async def open_headcount_at(conn: asyncpg.Connection, as_of: datetime) -> list[asyncpg.Record]:
    """Open headcount at `as_of` per (county, occupation), from postings with headcount not yet hired by then
    (> 0 only): summed here, a few hundred rows instead of one per posting (hundreds of thousands at scale).

    Open: created (and, if it was held for review, approved) by then, not closed and not expired by then.
    A posting still pending review, or rejected in review, was never open."""
    return list(await conn.fetch(
        f"""SELECT adcode, occupation_code, sum(open_headcount)::int AS open_headcount
              FROM ({_OPEN_POSTINGS_AT}) open WHERE open_headcount > 0
             GROUP BY adcode, occupation_code""", as_of))


_OPEN_POSTINGS_AT = """
    SELECT j.id, j.adcode, j.occupation_code,
           j.headcount - (SELECT count(*) FROM placements p
                           WHERE p.job_id = j.id AND p.hired_at <= $1) AS open_headcount
      FROM job_postings j
     WHERE j.created_at <= $1 AND j.status <> 'pending_review'
       AND j.closed_reason IS DISTINCT FROM 'rejected_in_review'
       AND (j.review_decision IS NULL OR j.reviewed_at <= $1)
       AND (j.closed_at IS NULL OR j.closed_at > $1)
       AND j.expires_at > $1"""


async def available_workers_at(conn: asyncpg.Connection, as_of: datetime, as_of_day: date) -> list[asyncpg.Record]:
    """Profiles of job seekers available at `as_of`: registered and consented by then, not erased by then, inside
    their availability window, and not holding a job through a placement at that moment. Their place is where they
    are (current county), else their home county.

    Placed or not is read from the placements' history (hired_at … ended_at: hired, arrived or retained; written
    with the placement_events of the same transitions), never from the profile's current `placed` status, so a
    worker hired later still counts for earlier moments. `inactive` (the broker took the profile off the market)
    has no history, so an inactive profile counts nowhere. An erased profile no longer has a place or trades,
    so it drops out of periods computed after its erasure (frozen periods keep it)."""
    return list(await conn.fetch(_AVAILABLE_WORKERS_AT, as_of, as_of_day))


async def seekers_at(conn: asyncpg.Connection, as_of: datetime, as_of_day: date) -> list[asyncpg.Record]:
    """`available_workers_at` counted per (county, trades): what the figures need, in tens of thousands of rows
    instead of one per profile (half a million at scale, which cost the cron a minute of both cores)."""
    return list(await conn.fetch(
        f"""SELECT adcode, occupation_codes, count(*)::int AS workers FROM ({_AVAILABLE_WORKERS_AT}) available
             GROUP BY adcode, occupation_codes""", as_of, as_of_day))


_AVAILABLE_WORKERS_AT = """
    SELECT w.id, coalesce(w.current_adcode, w.home_adcode) AS adcode, w.occupation_codes
      FROM worker_profiles w
     WHERE w.status <> 'inactive' AND w.created_at <= $1 AND w.consent_given_at <= $1
       AND (w.erased_at IS NULL OR w.erased_at > $1)
       AND w.available_from <= $2 AND (w.available_until IS NULL OR w.available_until >= $2)
       AND coalesce(w.current_adcode, w.home_adcode) IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM placements p
                        WHERE p.worker_id = w.id AND p.hired_at <= $1
                          AND (p.ended_at IS NULL OR p.ended_at > $1))"""


async def arrivals_between(conn: asyncpg.Connection, start: datetime, end: datetime) -> list[asyncpg.Record]:
    """Placements whose worker arrived at the job in [start, end): the placements (transfers) of a period, a
    match that turned into work (product.md). A hire whose worker never arrived (ended `no_show`, or any end
    before arrival) is none. `arrived_at` is written once and kept however the placement ends later, so the
    placements of an ended period never change (its frozen figures stay true). With where from and where to and
    how long the posting waited for the hire."""
    return list(await conn.fetch(
        """SELECT id, origin_adcode, destination_adcode, occupation_code, transfer, cross_province,
                  greatest(0, extract(epoch FROM hired_at - job_posted_at) / 86400.0) AS days_to_fill
             FROM placements WHERE arrived_at >= $1 AND arrived_at < $2""", start, end))


async def published_catalogue(conn: asyncpg.Connection) -> tuple[int | None, list[asyncpg.Record]]:
    """The published catalogue version and its entries' shortage levels and regions (empty: nothing published)."""
    version = await conn.fetchval("SELECT version FROM catalogue_versions WHERE status = 'published'")
    if version is None:
        return None, []
    rows = await conn.fetch(
        "SELECT occupation_code, shortage_level, regions FROM catalogue_entries WHERE version = $1", version)
    return version, list(rows)


# ----------------------------------------------------------------------------------------- snapshots


async def lock_period(conn: asyncpg.Connection, *, period: str, kind: str, starts_on: date, ends_on: date,
                      as_of: datetime) -> asyncpg.Record:
    """The period's row, created if new, locked for this transaction (one computation at a time)."""
    await conn.execute(
        """INSERT INTO stats_periods (period, kind, starts_on, ends_on, as_of, computations)
           VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (period) DO NOTHING""", period, kind, starts_on, ends_on, as_of)
    record = await conn.fetchrow("SELECT * FROM stats_periods WHERE period = $1 FOR UPDATE", period)
    assert record is not None
    return record


async def replace_rows(conn: asyncpg.Connection, period: str, rows: Sequence[tuple[Any, ...]],
                       flows: Sequence[tuple[Any, ...]]) -> None:
    await conn.execute("DELETE FROM stats_supply_demand WHERE period = $1", period)
    await conn.execute("DELETE FROM stats_transfer_flows WHERE period = $1", period)
    if rows:
        await conn.copy_records_to_table(
            "stats_supply_demand", records=rows,
            columns=["period", "level", "adcode", "occupation_code", "open_headcount", "available_workers", "ratio",
                     "shortage_level", "placements", "transfers_in", "transfers_out", "median_days_to_fill"])
    if flows:
        await conn.copy_records_to_table(
            "stats_transfer_flows", records=flows,
            columns=["period", "origin_adcode", "destination_adcode", "placements", "cross_province"])


async def finish_period(conn: asyncpg.Connection, period: str, *, as_of: datetime, computed_at: datetime,
                        freeze: bool, source: str, catalogue_version: int | None) -> asyncpg.Record:
    record = await conn.fetchrow(
        """UPDATE stats_periods SET as_of = $2, computed_at = $3, computations = computations + 1,
                  frozen_at = CASE WHEN $4 THEN $3::timestamptz END, source = $5, catalogue_version = $6
            WHERE period = $1 RETURNING *""", period, as_of, computed_at, freeze, source, catalogue_version)
    assert record is not None
    return record


async def get_period(conn: asyncpg.Connection, period: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM stats_periods WHERE period = $1", period)


async def list_periods(conn: asyncpg.Connection, *, after: tuple[str, date] | None,
                       limit: int) -> list[asyncpg.Record]:
    """Periods with figures, by kind then oldest first, from after `after` (kind, starts_on) on."""
    return list(await conn.fetch(
        """SELECT * FROM stats_periods
            WHERE computations > 0 AND ($1::text IS NULL OR (kind, starts_on) > ($1, $2::date))
            ORDER BY kind, starts_on LIMIT $3""",
        after[0] if after else None, after[1] if after else None, limit))


async def unfrozen_ended_periods(conn: asyncpg.Connection, before: date) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT period FROM stats_periods WHERE frozen_at IS NULL AND ends_on < $1 ORDER BY starts_on", before))


async def all_supply_demand_rows(conn: asyncpg.Connection, period: str) -> list[asyncpg.Record]:
    """Every supply/demand row of a period (all levels, regions and trades), unordered."""
    return list(await conn.fetch("SELECT * FROM stats_supply_demand WHERE period = $1", period))


async def supply_demand_rows(conn: asyncpg.Connection, *, period: str, level: str, adcode: str | None,
                             occupation_code: str | None, limit: int | None = None,
                             offset: int = 0) -> list[asyncpg.Record]:
    """The period's rows of a level, `limit` of them (all: None) from `offset` on. An offset is exact here: a
    snapshot's rows change only when it is computed again, which a page's cursor notices (service)."""
    return list(await conn.fetch(
        """SELECT * FROM stats_supply_demand
            WHERE period = $1 AND level = $2 AND ($3::text IS NULL OR adcode = $3)
              AND ($4::text IS NULL OR occupation_code = $4)
            ORDER BY adcode, occupation_code LIMIT $5 OFFSET $6""",
        period, level, adcode, occupation_code, limit, offset))


async def trend_rows(conn: asyncpg.Connection, *, kind: str, level: str, adcode: str,
                     occupation_code: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT s.*, p.starts_on, p.frozen_at, p.source FROM stats_supply_demand s
             JOIN stats_periods p ON p.period = s.period
            WHERE p.kind = $1 AND s.level = $2 AND s.adcode = $3 AND s.occupation_code = $4
            ORDER BY p.starts_on""", kind, level, adcode, occupation_code))


async def flow_rows(conn: asyncpg.Connection, period: str, *, limit: int | None = None,
                    offset: int = 0) -> list[asyncpg.Record]:
    """The period's flows, most placements first, `limit` of them (all: None) from `offset` on."""
    return list(await conn.fetch(
        "SELECT * FROM stats_transfer_flows WHERE period = $1 ORDER BY placements DESC, origin_adcode, "
        "destination_adcode LIMIT $2 OFFSET $3", period, limit, offset))


async def flow_totals(conn: asyncpg.Connection, period: str) -> asyncpg.Record:
    """Placements over every flow of the period, and over those between the provinces."""
    record = await conn.fetchrow(
        """SELECT coalesce(sum(placements), 0)::int AS total,
                  coalesce(sum(placements) FILTER (WHERE cross_province), 0)::int AS cross_province
             FROM stats_transfer_flows WHERE period = $1""", period)
    assert record is not None
    return record


async def insert_period_rows(conn: asyncpg.Connection, period: str, rows: Sequence[tuple[Any, ...]],
                             flows: Sequence[tuple[Any, ...]]) -> None:
    """Rows of a period not frozen yet (the demo loader's past periods; the service's computations use
    replace_rows)."""
    await replace_rows(conn, period, rows, flows)
