"""Properties of distances and geohash cells (matching/geo.py) over generated points: distances are a metric's, a
point lies in its own cells, and the cells of a radius cover every point within it, as `covering_cells` promises
(a posting just inside a kiosk's radius is never filtered out by its cell)."""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import strategies as st

from matching.geo import (
    EARTH_RADIUS_KM,
    INDEXED_PRECISIONS,
    MAX_SEARCH_CELLS,
    GeoPoint,
    covering_cells,
    decode_bounds,
    distance_km,
    encode,
    parse_lat_lng,
    search_cells,
)

LATITUDES = st.floats(-90, 90)
LONGITUDES = st.floats(-180, 180)
POINTS = st.builds(GeoPoint, LATITUDES, LONGITUDES)
# Where the platform's postings and kiosks are (mainland China), and the rest of the world short of the polar caps
# (a circle holding a pole has no cells: search_cells answers None there).
CHINA = st.builds(GeoPoint, st.floats(18, 54), st.floats(73, 135))
WORLD = st.builds(GeoPoint, st.floats(-80, 80), LONGITUDES)
RADII = st.one_of(st.sampled_from([1.0, 5.0, 10.0, 50.0, 100.0, 300.0]), st.floats(0.5, 300))


def destination(origin: GeoPoint, bearing_degrees: float, km: float) -> GeoPoint:
    """The point `km` from `origin` on the great circle leaving it at `bearing_degrees` (the direct formula)."""
    d, bearing = km / EARTH_RADIUS_KM, math.radians(bearing_degrees)
    lat1, lng1 = math.radians(origin.lat), math.radians(origin.lng)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing))
    lng2 = lng1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(lat1),
                             math.cos(d) - math.sin(lat1) * math.sin(lat2))
    return GeoPoint(max(-90.0, min(90.0, math.degrees(lat2))), (math.degrees(lng2) + 180.0) % 360.0 - 180.0)


def _in_cells(point: GeoPoint, cells: tuple[str, ...] | list[str]) -> bool:
    return encode(point.lat, point.lng, len(cells[0])) in cells


@given(POINTS, POINTS)
def test_distance_is_symmetric_zero_on_the_same_point_and_at_most_half_way_round(a: GeoPoint, b: GeoPoint) -> None:
    assert distance_km(a, b) == distance_km(b, a)
    assert distance_km(a, a) == 0.0
    assert 0.0 <= distance_km(a, b) <= math.pi * EARTH_RADIUS_KM + 1e-6


@given(POINTS, POINTS, POINTS)
def test_distance_keeps_the_triangle_inequality(a: GeoPoint, b: GeoPoint, c: GeoPoint) -> None:
    assert distance_km(a, c) <= distance_km(a, b) + distance_km(b, c) + 1e-6


@given(POINTS, st.integers(1, 11))
def test_a_point_lies_in_its_cell_and_a_finer_cell_within_the_coarser(point: GeoPoint, precision: int) -> None:
    cell = encode(point.lat, point.lng, precision)
    lat_min, lat_max, lng_min, lng_max = decode_bounds(cell)
    assert lat_min <= point.lat <= lat_max
    assert lng_min <= point.lng <= lng_max
    assert encode(point.lat, point.lng, precision + 1).startswith(cell)


@given(CHINA, RADII, st.floats(0, 360), st.floats(0, 0.999999))
def test_the_cells_of_a_kiosk_radius_cover_every_point_within_it(center: GeoPoint, radius_km: float, bearing: float,
                                                                 fraction: float) -> None:
    cells = search_cells(center, radius_km, cover_cells=MAX_SEARCH_CELLS)
    assert cells is not None  # a kiosk's radius in China is always searchable
    assert all(len(cell) == len(cells[0]) and len(cell) in INDEXED_PRECISIONS for cell in cells)
    assert _in_cells(destination(center, bearing, radius_km * fraction), cells)


@given(CHINA, RADII)
def test_the_widest_points_of_a_radius_are_covered(center: GeoPoint, radius_km: float) -> None:
    # Due east and west is not where a circle reaches furthest in longitude: that is poleward of them, at the
    # bearing whose great circle is tangent to a meridian, which is where a cover that is too narrow misses.
    cells = search_cells(center, radius_km, cover_cells=MAX_SEARCH_CELLS)
    assert cells is not None
    d = radius_km / EARTH_RADIUS_KM
    tangent = math.degrees(math.acos(math.tan(d) * math.tan(math.radians(center.lat))))
    for bearing in (tangent, 360.0 - tangent, 180.0 - tangent, 180.0 + tangent, 0.0, 90.0, 180.0, 270.0):
        assert _in_cells(destination(center, bearing, radius_km * 0.999999), cells), bearing


@given(WORLD, RADII, st.floats(0, 360), st.floats(0, 0.999999))
def test_covering_cells_cover_every_point_within_the_radius_anywhere(center: GeoPoint, radius_km: float,
                                                                     bearing: float, fraction: float) -> None:
    cells = covering_cells(center, radius_km)
    assume(cells is not None)
    assert cells is not None
    assert _in_cells(destination(center, bearing, radius_km * fraction), cells)


@given(st.text(max_size=40))
def test_parse_lat_lng_answers_a_point_in_range_or_none(text: str) -> None:
    point = parse_lat_lng(text)
    assert point is None or (-90 <= point.lat <= 90 and -180 <= point.lng <= 180)


@given(CHINA)
def test_parse_lat_lng_reads_what_it_is_given(point: GeoPoint) -> None:
    assert parse_lat_lng(f"{point.lat},{point.lng}") == point
    assert parse_lat_lng(f" {point.lat!r} , {point.lng!r} ") == point
