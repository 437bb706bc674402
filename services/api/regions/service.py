"""Validating and looking up adcodes against the shipped reference data."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from matching.geo import GeoPoint, distance_km
from matching.regions import Region, RegionDirectory, load_regions
from services.api.pagination import invalid_cursor, sign_payload, signed_payload
from services.api.problems import FieldError, InvalidInput

_LEVEL_WORDS = {"city": ("市级", "a city"), "province": ("省级", "a province")}


def county_errors(places: Iterable[tuple[str, str | None]], regions: RegionDirectory) -> list[FieldError]:
    """Errors for the (field, adcode) pairs whose field is documented as a county (api.md: counties by adcode)."""
    return [FieldError(field=field, message=message) for field, adcode in places
            if adcode is not None and (message := county_problem(adcode, regions)) is not None]


def county_problem(adcode: str, regions: RegionDirectory) -> str | None:
    """Why `adcode` cannot stand where a county is asked for, or None when it is a county.

    A city or province code was once stored there as given (a posting in 510100, a person from 500000), and
    then counted, matched and reported as if it were a county: refused, naming the county level it needs."""
    if regions.is_county(adcode):
        return None
    region = regions.get(adcode)
    if region is not None:
        zh, en = _LEVEL_WORDS.get(region.level, ("", region.level))
        what_zh, what_en = f"{region.name}（{zh}）", f"{region.name}, {en}"
    elif regions.county_group(adcode):  # 500100 / 500200: GB/T 2260's groups of Chongqing's counties
        what_zh, what_en = "多个区县的汇总代码", "a code grouping several counties"
    else:
        return area_problem(adcode, regions)
    return (f"须为区县级代码（区、县、县级市），{adcode} 是{what_zh} / a county code is needed (a district, county or "
            f"county-level city): {adcode} is {what_en}")


def area_problem(adcode: str, regions: RegionDirectory) -> str | None:
    """Why `adcode` is no place at all (where any known county, city or province will do), or None."""
    return None if adcode in regions else f"未知的区县代码 / unknown adcode {adcode}"


# How far a posting's map point may lie from its county's reference point (regions.csv). The largest counties of
# the circle (石渠, 木里) reach ~180–190 km from their seat at their far corners; Chengdu to Chongqing is ~270 km.
# A point further out is the wrong county, a swapped or rounded coordinate, or {0, 0}, and would skew every
# distance the kiosk and matching compute from it.
LOCATION_MAX_KM_FROM_COUNTY = 200.0


def location_errors(adcode: str, location: GeoPoint | None, regions: RegionDirectory, *,
                    field: str = "location") -> list[FieldError]:
    """An error when `location` lies implausibly far from county `adcode` (unknown codes are county_errors')."""
    region = regions.get(adcode)
    if location is None or region is None:
        return []
    km = distance_km(location, GeoPoint(region.lat, region.lng))
    if km <= LOCATION_MAX_KM_FROM_COUNTY:
        return []
    return [FieldError(field=field, message=(
        f"位置距{region.name}约 {km:.0f} 公里，不在该区县：请核对经纬度或区县代码 / the location lies about "
        f"{km:.0f} km from {region.name}, outside that county: check the latitude/longitude or the adcode"))]


def ensure_counties(places: Iterable[tuple[str, str | None]]) -> None:
    errors = county_errors(places, load_regions())
    if errors:
        raise InvalidInput(f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors)


REGIONS_SCOPE = "regions"


def _sort_key(region: Region, needle: str) -> tuple[bool, str]:
    # Exact names first, then by adcode so the order is stable (and a page's last key says where the next starts).
    return (needle not in (region.name, region.short_name), region.adcode)


def search_regions(q: str | None, *, level: str | None, limit: int, cursor: str | None,
                   cursor_secret: str) -> tuple[list[Region], str | None]:
    """A page of the regions matching `q` and `level`, and the cursor of the next page (None after the last).

    The circle has 221 counties and a page at most 100: without a cursor the rest of "every county" was out of
    reach. The cursor is signed for this query: another query's (or a forged one) is a 422."""
    directory = load_regions()
    needle = (q or "").strip()
    scope = f"{REGIONS_SCOPE}:{level or ''}:{needle}"
    after: tuple[bool, str] | None = None
    if cursor:
        try:
            exact_missed, adcode = orjson.loads(signed_payload(cursor_secret, scope, cursor))
            after = (bool(exact_missed), str(adcode))
        except (ValueError, TypeError, orjson.JSONDecodeError):
            # Only reachable with our own secret, i.e. a bug, but still a clean 422 rather than a 500.
            raise invalid_cursor() from None
    matches = sorted((
        r for r in directory
        if (level is None or r.level == level)
        and (not needle or r.adcode.startswith(needle) or needle in r.name or needle in r.short_name)
        and (after is None or _sort_key(r, needle) > after)
    ), key=lambda r: _sort_key(r, needle))
    following = None
    if len(matches) > limit:
        following = sign_payload(cursor_secret, scope, orjson.dumps(list(_sort_key(matches[limit - 1], needle))))
    return matches[:limit], following
