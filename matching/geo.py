"""Distances and geohash cells.

The indexes carry coarse geohash cells instead of `_geo`: a filterable `_geo` makes Meilisearch rebuild its
R-tree on every write batch (seconds per upsert at 500k documents). A radius query becomes
`geo_cells IN [cells covering the circle]` and the exact distance is computed here, in the application.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"

# The precisions the documents carry: 3 (≈156 km cells), 4 (≈39 × 19.5 km), 5 (≈4.9 × 4.9 km).
INDEXED_PRECISIONS: tuple[int, ...] = (3, 4, 5)
MAX_COVER_CELLS = 16
# A kiosk's radius (up to 300 km) around a point in the circle needs at most ~26 cells at the coarsest
# precision; this many still make a cheap filter and leave out only circles near the poles.
MAX_SEARCH_CELLS = 64


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lng: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lng <= 180.0):
            raise ValueError(f"point out of range: {self.lat}, {self.lng}")


# Plain decimal degrees only: Python's float() also takes "1_0", "inf", "nan" and full-width digits.
_DEGREES = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*", re.ASCII)


def parse_lat_lng(text: str) -> GeoPoint | None:
    """`lat,lng` in plain decimal degrees (kiosk search's `near`, a subscription's), or None when it is not one."""
    lat_text, comma, lng_text = text.partition(",")
    if not comma or not _DEGREES.fullmatch(lat_text) or not _DEGREES.fullmatch(lng_text):
        return None
    try:
        return GeoPoint(float(lat_text), float(lng_text))
    except ValueError:  # out of range
        return None


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle (haversine) distance in kilometres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def cell_size_degrees(precision: int) -> tuple[float, float]:
    """(lat span, lng span) of a cell at `precision`."""
    bits = 5 * precision
    lng_bits = (bits + 1) // 2
    lat_bits = bits // 2
    return 180.0 / (1 << lat_bits), 360.0 / (1 << lng_bits)


def encode(lat: float, lng: float, precision: int) -> str:
    if not 1 <= precision <= 12:
        raise ValueError("precision must be 1..12")
    lat_range, lng_range = [-90.0, 90.0], [-180.0, 180.0]
    chars: list[str] = []
    bit, value, even = 0, 0, True
    while len(chars) < precision:
        rng, coord = (lng_range, lng) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        if coord >= mid:
            value = (value << 1) | 1
            rng[0] = mid
        else:
            value <<= 1
            rng[1] = mid
        even = not even
        bit += 1
        if bit == 5:
            chars.append(_BASE32[value])
            bit, value = 0, 0
    return "".join(chars)


def decode_bounds(cell: str) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lng_min, lng_max) of a cell."""
    lat_range, lng_range = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for ch in cell:
        value = _BASE32.index(ch)
        for shift in range(4, -1, -1):
            rng = lng_range if even else lat_range
            mid = (rng[0] + rng[1]) / 2
            if (value >> shift) & 1:
                rng[0] = mid
            else:
                rng[1] = mid
            even = not even
    return lat_range[0], lat_range[1], lng_range[0], lng_range[1]


def point_cells(point: GeoPoint, precisions: tuple[int, ...] = INDEXED_PRECISIONS) -> list[str]:
    """The cells containing `point` at each indexed precision (what a document's `geo_cells` holds)."""
    return [encode(point.lat, point.lng, p) for p in precisions]


def _distance_to_cell_km(point: GeoPoint, cell: str) -> float:
    lat_min, lat_max, lng_min, lng_max = decode_bounds(cell)
    if lng_min <= point.lng <= lng_max:
        return distance_km(point, GeoPoint(min(max(point.lat, lat_min), lat_max), point.lng))
    # Otherwise the nearest point is on the nearer meridian edge, going either way round (a cell just across the
    # antimeridian is near), and poleward of the point's own latitude: a meridian is a great circle, and its point
    # nearest to (lat, lng) lies at atan(tan(lat) / cos(Δlng)), not at lat.
    to_min, to_max = (lng_min - point.lng) % 360.0, (point.lng - lng_max) % 360.0
    edge, apart = (lng_min, to_min) if to_min <= to_max else (lng_max, to_max)
    lat = point.lat
    if apart < 90.0:
        lat = math.degrees(math.atan(math.tan(math.radians(point.lat)) / math.cos(math.radians(apart))))
    return distance_km(point, GeoPoint(min(max(lat, lat_min), lat_max), edge))


def cells_at_precision(center: GeoPoint, radius_km: float, precision: int) -> list[str]:
    """Every cell at `precision` that intersects the circle (center, radius_km), sorted."""
    lat_span, lng_span = cell_size_degrees(precision)
    dlat = radius_km / KM_PER_DEGREE_LAT
    # The circle's widest reach in longitude, asin(sin d / cos lat): wider than d / cos lat (at 300 km, some tens of
    # metres at 30°N and 0.2° at 80°N), and every longitude once the circle holds a pole.
    angle = radius_km / EARTH_RADIUS_KM
    cos_lat = math.cos(math.radians(center.lat))
    if angle >= math.pi / 2 or math.sin(angle) >= cos_lat:
        dlng = 180.0
    else:
        dlng = min(180.0, math.degrees(math.asin(math.sin(angle) / cos_lat)))
    lat_lo, lat_hi = max(-90.0, center.lat - dlat), min(90.0, center.lat + dlat)
    lng_lo, lng_hi = center.lng - dlng, center.lng + dlng
    cells: set[str] = set()
    lat = math.floor((lat_lo + 90.0) / lat_span) * lat_span - 90.0 + lat_span / 2
    while lat <= lat_hi + lat_span / 2 and lat < 90.0:
        lng = math.floor((lng_lo + 180.0) / lng_span) * lng_span - 180.0 + lng_span / 2
        while lng <= lng_hi + lng_span / 2:
            wrapped = (lng + 180.0) % 360.0 - 180.0
            cell = encode(lat, wrapped, precision)
            if cell not in cells and _distance_to_cell_km(center, cell) <= radius_km:
                cells.add(cell)
            lng += lng_span
        lat += lat_span
    return sorted(cells)


def covering_cells(
    center: GeoPoint,
    radius_km: float,
    precisions: tuple[int, ...] = INDEXED_PRECISIONS,
    max_cells: int = MAX_COVER_CELLS,
) -> list[str] | None:
    """Cells covering the circle at the finest indexed precision that needs at most `max_cells` cells.

    Every point within `radius_km` of `center` lies in one of the returned cells (a superset: filter exact
    distances afterwards). None when even the coarsest precision needs more cells: the circle is too big to
    be worth a cell filter (use counties, or nothing).
    """
    if not (radius_km > 0 and math.isfinite(radius_km)):
        raise ValueError("radius must be a positive finite number of kilometres")
    for precision in sorted(precisions, reverse=True):
        lat_span, lng_span = cell_size_degrees(precision)
        # rough count before enumerating, so a huge radius at a fine precision costs nothing
        cos_lat = max(math.cos(math.radians(center.lat)), 1e-6)
        rows = 2 * radius_km / (KM_PER_DEGREE_LAT * lat_span) + 2
        cols = 2 * radius_km / (KM_PER_DEGREE_LAT * cos_lat * lng_span) + 2
        if rows * cols > max_cells * 4:
            continue
        cells = cells_at_precision(center, radius_km, precision)
        if len(cells) <= max_cells:
            return cells
    return None


@functools.lru_cache(maxsize=4096)
def search_cells(center: GeoPoint, radius_km: float, max_cells: int = MAX_SEARCH_CELLS,
                 cover_cells: int = MAX_COVER_CELLS) -> tuple[str, ...] | None:
    """Cells for a radius *search*: `covering_cells` (at most `cover_cells` cells), and when the circle is too big
    for that, every cell of the coarsest indexed precision it touches, up to `max_cells`. None only for circles
    that would need more (near the poles): a search must then refuse the radius, since leaving the filter out
    would answer postings at any distance.

    `cover_cells`: a worker's commute area, stored in its document, keeps the default (16: fewer, coarser cells
    per document); a kiosk's radius is only a filter of one request and takes up to MAX_SEARCH_CELLS, so finer
    cells overshoot the circle less (10 km: 4.9 km cells instead of 39 × 19.5 km ones).

    Memoised: enumerating the cells costs 0.5–2 ms, and a kiosk asks from the same place with the same few radii
    all day long."""
    cells = covering_cells(center, radius_km, max_cells=cover_cells)
    if cells is not None:
        return tuple(cells)
    coarsest = min(INDEXED_PRECISIONS)
    lat_span, lng_span = cell_size_degrees(coarsest)
    cos_lat = max(math.cos(math.radians(center.lat)), 1e-6)
    rows = 2 * radius_km / (KM_PER_DEGREE_LAT * lat_span) + 2
    cols = min(2 * radius_km / (KM_PER_DEGREE_LAT * cos_lat * lng_span) + 2, 360.0 / lng_span + 1)
    if rows * cols > max_cells * 4:
        return None
    cells = cells_at_precision(center, radius_km, coarsest)
    return tuple(cells) if len(cells) <= max_cells else None
