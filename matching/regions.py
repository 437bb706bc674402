"""Counties, prefectures and provinces of Chongqing and Sichuan, loaded once from the reference CSV.

The directory answers the questions matching asks about a place: where is it (a representative point), which
province and city is it in, is it inside the Chengdu–Chongqing economic circle, and which adcodes does a word
people type (九龙坡, 九龙坡区, 市中) stand for.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from matching.geo import GeoPoint, distance_km

Province = Literal["CQ", "SC"]
RegionLevel = Literal["province", "city", "county"]

# Points remembered by `counties_within`: every county's, plus postings' own locations.
_WITHIN_MEMO = 4096

REFERENCE_DIR = Path(__file__).parent / "reference"
REGIONS_CSV = REFERENCE_DIR / "regions.csv"
LOCALITIES_CSV = REFERENCE_DIR / "localities.csv"

CHONGQING_ADCODE = "500000"
SICHUAN_ADCODE = "510000"
_LEVELS: frozenset[str] = frozenset({"province", "city", "county"})


def province_of(adcode: str) -> Province | None:
    """The province of any 6-digit adcode by its first two digits (50 Chongqing, 51 Sichuan), else None."""
    if len(adcode) != 6 or not adcode.isdigit():
        return None
    if adcode.startswith("50"):
        return "CQ"
    if adcode.startswith("51"):
        return "SC"
    return None


@dataclass(frozen=True, slots=True)
class Region:
    adcode: str
    name: str
    short_name: str
    level: RegionLevel
    parent_adcode: str | None
    lat: float
    lng: float
    province: Province
    # The prefecture a county belongs to (Sichuan), Chongqing itself for Chongqing's districts and counties
    # (a municipality has no prefecture level), the region itself for a city or province.
    city_adcode: str
    # True for units inside the circle, including the partial ones (开州, 云阳, 绵阳, 达州, 雅安).
    in_circle: bool
    circle_membership: Literal["yes", "partial", "no"]


class RegionDirectory:
    """Immutable lookups over a set of regions."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self._regions: tuple[Region, ...] = tuple(regions)
        self._by_adcode: dict[str, Region] = {r.adcode: r for r in self._regions}
        if len(self._by_adcode) != len(self._regions):
            raise ValueError("duplicate adcode in region list")
        words: dict[str, list[str]] = {}
        for region in self._regions:
            for word in {region.name, region.short_name}:
                if len(word) >= 2:
                    words.setdefault(word, []).append(region.adcode)
        self._by_word: dict[str, tuple[str, ...]] = {w: tuple(codes) for w, codes in words.items()}
        # GB/T 2260 groups a municipality's counties under two codes that are no region of their own: 500100
        # 市辖区 (Chongqing's districts, 5001xx) and 500200 县 (its counties, 5002xx). Clients take them from
        # GB/T 2260 tables as "the city"; they name exactly those counties.
        groups: dict[str, list[str]] = {}
        for region in self._regions:
            parent = self._by_adcode.get(region.parent_adcode or "")
            if region.level == "county" and parent is not None and parent.level == "province":
                group = region.adcode[:4] + "00"
                if group not in self._by_adcode:
                    groups.setdefault(group, []).append(region.adcode)
        self._groups: dict[str, tuple[str, ...]] = {g: tuple(codes) for g, codes in groups.items()}
        # Every prefix an area filter can stand for (province xx, city or grouping xxyy, county): area_prefix is
        # asked per subscription and posting when notices fan out, so it must not scan the counties.
        self._county_prefixes: frozenset[str] = frozenset(
            p for r in self._regions if r.level == "county" for p in (r.adcode[:2], r.adcode[:4], r.adcode))
        self._within: dict[tuple[GeoPoint, float], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._regions)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions)

    def __contains__(self, adcode: object) -> bool:
        return adcode in self._by_adcode

    def get(self, adcode: str) -> Region | None:
        return self._by_adcode.get(adcode)

    def require(self, adcode: str) -> Region:
        region = self._by_adcode.get(adcode)
        if region is None:
            raise KeyError(f"unknown adcode {adcode!r}")
        return region

    def is_county(self, adcode: str) -> bool:
        """A district, county or county-level city of the directory (not a city, province or grouping code)."""
        region = self._by_adcode.get(adcode)
        return region is not None and region.level == "county"

    def county_group(self, adcode: str) -> tuple[str, ...]:
        """The counties a municipality's grouping code names (500100 → Chongqing's districts, 500200 → its
        counties); empty for any other code, including every region of the directory."""
        return self._groups.get(adcode, ())

    def counties(self) -> tuple[Region, ...]:
        return tuple(r for r in self._regions if r.level == "county")

    def area_prefix(self, adcode: str) -> str | None:
        """The adcode prefix shared by the counties an area filter names: a county itself, a city (xxyy00 →
        xxyy), a province (xx0000 → xx), Chongqing's groupings (500100 → 5001, its districts; 500200 → 5002, its
        counties); None when no county of the directory lies in it (999999), so the filter would match nothing."""
        if adcode.endswith("0000"):
            prefix = adcode[:2]
        elif adcode.endswith("00"):
            prefix = adcode[:4]
        else:
            prefix = adcode
        return prefix if prefix in self._county_prefixes else None

    def counties_within(self, point: GeoPoint, km: float) -> tuple[str, ...]:
        """The counties whose representative point lies within `km` of `point` (matching measures a worker's
        distance from that point), nearest first.

        Memoised (bounded): asked on every match, mostly from the same few hundred county points, and a scan of
        the directory costs a few hundred haversines."""
        key = (point, km)
        found = self._within.get(key)
        if found is None:
            near = sorted((d, r.adcode) for r in self._regions if r.level == "county"
                          and (d := distance_km(point, GeoPoint(r.lat, r.lng))) <= km)
            if len(self._within) >= _WITHIN_MEMO:
                self._within.clear()
            found = self._within[key] = tuple(adcode for _, adcode in near)
        return found

    def adcodes_for_word(self, word: str) -> tuple[str, ...]:
        """Adcodes whose official or short name is exactly `word` (several for 市中区); empty if none."""
        return self._by_word.get(word, ())

    def place_words(self) -> dict[str, tuple[str, ...]]:
        """Every name and short name (two characters or more) → the adcodes it names."""
        return dict(self._by_word)

    def province_of(self, adcode: str) -> Province | None:
        region = self._by_adcode.get(adcode)
        return region.province if region is not None else province_of(adcode)

    def city_of(self, adcode: str) -> str | None:
        region = self._by_adcode.get(adcode)
        return region.city_adcode if region is not None else None


def parse_region_rows(rows: Iterable[dict[str, str]]) -> RegionDirectory:
    raw = [dict(row) for row in rows]
    parents = {row["adcode"]: row for row in raw}
    regions: list[Region] = []
    for line, row in enumerate(raw, start=2):
        adcode = row["adcode"].strip()
        level = row["level"].strip()
        province = province_of(adcode)
        if province is None or level not in _LEVELS:
            raise ValueError(f"regions row {line}: bad adcode {adcode!r} or level {level!r}")
        parent = row["parent_adcode"].strip() or None
        if level == "county" and parent is not None and parents.get(parent, {}).get("level") == "city":
            city = parent
        elif level == "county":
            city = CHONGQING_ADCODE if province == "CQ" else (parent or adcode)
        else:
            city = adcode
        membership = row["chengyu_circle"].strip()
        if level == "province":
            membership = "partial"  # both provinces are partly inside the circle
        if membership not in ("yes", "partial", "no"):
            raise ValueError(f"regions row {line}: bad chengyu_circle {membership!r}")
        regions.append(
            Region(
                adcode=adcode,
                name=row["name"].strip(),
                short_name=row["short_name"].strip(),
                level=level,  # type: ignore[arg-type]  # checked against _LEVELS above
                parent_adcode=parent,
                lat=float(row["lat"]),
                lng=float(row["lng"]),
                province=province,
                city_adcode=city,
                in_circle=membership in ("yes", "partial"),
                circle_membership=membership,  # type: ignore[arg-type]  # checked above
            )
        )
    return RegionDirectory(regions)


@functools.cache
def load_regions(path: Path = REGIONS_CSV) -> RegionDirectory:
    """The region directory from the shipped reference CSV, read once per process."""
    with path.open(encoding="utf-8", newline="") as handle:
        return parse_region_rows(csv.DictReader(handle))


def load_localities(regions: RegionDirectory, path: Path = LOCALITIES_CSV) -> dict[str, str]:
    """Well-known places below county level (杨家坪, 解放碑, 春熙路) → the one county each lies in, from the
    curated reference table (its `#` lines say where it comes from). A row naming no county of `regions`, or a
    name that is already a region's, is refused: a locality never overrides or guesses a county."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    places: dict[str, str] = {}
    for row in rows:
        name, adcode = row["name"].strip(), row["adcode"].strip()
        region = regions.get(adcode)
        if region is None or region.level != "county" or regions.adcodes_for_word(name) or name in places:
            raise ValueError(f"localities: bad row {name!r} → {adcode!r}")
        places[name] = adcode
    return places
