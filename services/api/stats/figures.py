"""Aggregating postings, workers and hires into supply–demand rows (pure: no database, no clock).

Levels: county, city (a Sichuan prefecture; Chongqing's districts and counties belong to Chongqing, 500000),
province (500000, 510000) and the circle (every county inside the Chengdu–Chongqing economic circle; adcode '').
Each row is for one area and one occupation, plus a row for every occupation together (occupation ''), where a
worker with several trades counts once.

- open_headcount: headcount of postings open at the moment the figures describe, less the hires made by then.
- available_workers: job seekers available then (see repository.available_workers_at), at their current county.
- ratio (求人倍率): open_headcount / available_workers, half-up to 4 decimal places; None without workers.
- placements: placements whose worker arrived at the job in the period, at the area (the job's county): a match
  that turned into work (product.md). A hire whose worker never arrived (`no_show`) counts nowhere; one who
  arrived counts in the period of the arrival, however the placement ends later (so an ended period's figures
  never change).
- transfers_in / transfers_out: those placements whose worker's home is outside the area and the job inside
  it / home inside, job outside. At county level: a transfer in = a placement marked `transfer`.
- median_days_to_fill: median over those placements of the days from the posting to the hire (1 decimal place).
- shortage_level: the published catalogue's level for the occupation where the entry applies to the area.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from matching.regions import CHONGQING_ADCODE, SICHUAN_ADCODE, RegionDirectory, province_of

ALL = ""  # occupation_code of the every-occupation row; adcode of the circle
LEVELS = ("county", "city", "province", "circle")
_RATIO_PLACES = Decimal("0.0001")
_DAYS_PLACES = Decimal("0.1")

Area = tuple[str, str]  # (level, adcode)


def ratio(open_headcount: int, available_workers: int) -> Decimal | None:
    if available_workers == 0:
        return None
    return (Decimal(open_headcount) / Decimal(available_workers)).quantize(_RATIO_PLACES, rounding=ROUND_HALF_UP)


def areas_of(adcode: str, regions: RegionDirectory) -> list[Area]:
    """Every area a county belongs to, county first."""
    region = regions.get(adcode)
    province = province_of(adcode)
    areas: list[Area] = [("county", adcode)]
    if region is not None:
        areas.append(("city", region.city_adcode))
    if province is not None:
        areas.append(("province", CHONGQING_ADCODE if province == "CQ" else SICHUAN_ADCODE))
    if region is not None and region.in_circle:
        areas.append(("circle", ALL))
    return areas


@dataclass(frozen=True, slots=True)
class Posting:
    adcode: str
    occupation_code: str
    open_headcount: int


@dataclass(frozen=True, slots=True)
class Seeker:
    adcode: str
    occupation_codes: tuple[str, ...]
    workers: int = 1  # how many job seekers share this place and these trades


@dataclass(frozen=True, slots=True)
class Hire:
    """A hire whose worker arrived: one placement of the period (repository.arrivals_between)."""

    origin_adcode: str
    destination_adcode: str
    occupation_code: str
    days_to_fill: float
    cross_province: bool


@dataclass(frozen=True, slots=True)
class CatalogueLevel:
    shortage_level: int
    regions: tuple[str, ...]  # empty: the whole circle


@dataclass(slots=True)
class _Cell:
    open_headcount: int = 0
    available_workers: int = 0
    placements: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    days: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FigureRow:
    level: str
    adcode: str
    occupation_code: str
    open_headcount: int
    available_workers: int
    ratio: Decimal | None
    shortage_level: int | None
    placements: int
    transfers_in: int
    transfers_out: int
    median_days_to_fill: Decimal | None


@dataclass(frozen=True, slots=True)
class Flow:
    origin_adcode: str
    destination_adcode: str
    placements: int
    cross_province: bool


def circle_areas(regions: RegionDirectory) -> frozenset[Area]:
    """Every area with at least one county inside the economic circle (the circle itself included)."""
    return frozenset(area for county in regions.counties() if county.in_circle
                     for area in areas_of(county.adcode, regions))


def _applies(entry: CatalogueLevel, area: Area, regions: RegionDirectory, in_circle: frozenset[Area]) -> bool:
    """A regional catalogue entry applies to an area that is, contains or lies inside one of its regions. An entry
    without regions covers the whole circle (api.md), not the whole of both provinces: an area with no county in
    the circle (德昌县, or 凉山州 as a city) is outside it, and its rows show no shortage level for it."""
    if not entry.regions:
        return area in in_circle
    level, adcode = area
    if level == "circle":
        return True
    for code in entry.regions:
        if code == adcode:
            return True
        listed = regions.get(code)
        here = regions.get(adcode)
        # the area lies inside the listed region
        if here is not None and code in (here.city_adcode, CHONGQING_ADCODE if here.province == "CQ"
                                         else SICHUAN_ADCODE):
            return True
        # the listed region lies inside the area
        if listed is not None and adcode in (listed.city_adcode, CHONGQING_ADCODE if listed.province == "CQ"
                                             else SICHUAN_ADCODE):
            return True
    return False


def compute(postings: Iterable[Posting], seekers: Iterable[Seeker], hires: Iterable[Hire],
            catalogue: dict[str, CatalogueLevel], regions: RegionDirectory) -> tuple[list[FigureRow], list[Flow]]:
    cells: dict[tuple[str, str, str], _Cell] = defaultdict(_Cell)

    for posting in postings:
        if posting.open_headcount <= 0:
            continue
        for level, adcode in areas_of(posting.adcode, regions):
            for occupation in (posting.occupation_code, ALL):
                cells[(level, adcode, occupation)].open_headcount += posting.open_headcount

    for seeker in seekers:
        for level, adcode in areas_of(seeker.adcode, regions):
            for occupation in (*dict.fromkeys(seeker.occupation_codes), ALL):
                cells[(level, adcode, occupation)].available_workers += seeker.workers

    flows: dict[tuple[str, str], list[Hire]] = defaultdict(list)
    for hire in hires:
        destination = areas_of(hire.destination_adcode, regions)
        origin = areas_of(hire.origin_adcode, regions)
        destination_by_level = dict(destination)
        origin_by_level = dict(origin)
        for occupation in (hire.occupation_code, ALL):
            for level, adcode in destination:
                cell = cells[(level, adcode, occupation)]
                cell.placements += 1
                cell.days.append(hire.days_to_fill)
                if origin_by_level.get(level) != adcode:
                    cell.transfers_in += 1
            for level, adcode in origin:
                if destination_by_level.get(level) != adcode:
                    cells[(level, adcode, occupation)].transfers_out += 1
        if hire.origin_adcode != hire.destination_adcode:
            flows[(hire.origin_adcode, hire.destination_adcode)].append(hire)

    in_circle = circle_areas(regions)
    rows: list[FigureRow] = []
    for (level, adcode, occupation), cell in sorted(cells.items(), key=lambda kv: (LEVELS.index(kv[0][0]),
                                                                                    kv[0][1], kv[0][2])):
        entry = catalogue.get(occupation) if occupation else None
        median = (Decimal(str(statistics.median(cell.days))).quantize(_DAYS_PLACES, rounding=ROUND_HALF_UP)
                  if cell.days else None)
        rows.append(FigureRow(
            level=level, adcode=adcode, occupation_code=occupation, open_headcount=cell.open_headcount,
            available_workers=cell.available_workers, ratio=ratio(cell.open_headcount, cell.available_workers),
            shortage_level=(entry.shortage_level if entry and _applies(entry, (level, adcode), regions, in_circle)
                            else None),
            placements=cell.placements, transfers_in=cell.transfers_in, transfers_out=cell.transfers_out,
            median_days_to_fill=median))
    flow_rows = [Flow(origin_adcode=o, destination_adcode=d, placements=len(hs),
                      cross_province=any(h.cross_province for h in hs))
                 for (o, d), hs in sorted(flows.items())]
    return rows, flow_rows


def catalogue_levels(entries: Sequence[tuple[str, int, Sequence[str]]]) -> dict[str, CatalogueLevel]:
    return {code: CatalogueLevel(shortage_level=int(level), regions=tuple(regions or ()))
            for code, level, regions in entries}
