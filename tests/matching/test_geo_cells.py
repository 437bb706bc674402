import math
import random

import pytest

from matching.geo import (
    GeoPoint,
    cell_size_degrees,
    covering_cells,
    decode_bounds,
    distance_km,
    encode,
    parse_lat_lng,
    point_cells,
    search_cells,
)

JIULONGPO = GeoPoint(29.502325, 106.510515)
CHENGDU = GeoPoint(30.572961, 104.066301)


def test_haversine_between_the_two_cities() -> None:
    assert 260 < distance_km(JIULONGPO, CHENGDU) < 275
    assert distance_km(JIULONGPO, JIULONGPO) == 0


def test_geohash_matches_the_reference_encoding() -> None:
    # a well-known reference value: 57.64911, 10.40744 → u4pruydqqvj
    assert encode(57.64911, 10.40744, 11) == "u4pruydqqvj"
    cell = encode(30.5, 104.0, 4)
    lat_min, lat_max, lng_min, lng_max = decode_bounds(cell)
    assert lat_min <= 30.5 <= lat_max
    assert lng_min <= 104.0 <= lng_max
    lat_span, lng_span = cell_size_degrees(4)
    assert math.isclose(lat_span, 0.17578125)
    assert math.isclose(lng_span, 0.3515625)
    assert point_cells(JIULONGPO) == [encode(JIULONGPO.lat, JIULONGPO.lng, p) for p in (3, 4, 5)]


@pytest.mark.parametrize("radius_km", [1.0, 3.0, 8.0, 20.0, 60.0])
def test_cells_cover_every_point_within_the_radius(radius_km: float) -> None:
    cells = covering_cells(JIULONGPO, radius_km)
    assert cells is not None
    assert len(cells) <= 16
    precision = len(cells[0])
    assert all(len(c) == precision for c in cells)
    rng = random.Random(7)
    for _ in range(2000):
        bearing = rng.uniform(0, 2 * math.pi)
        distance = radius_km * math.sqrt(rng.random())
        dlat = distance * math.cos(bearing) / 111.195
        dlng = distance * math.sin(bearing) / (111.195 * math.cos(math.radians(JIULONGPO.lat)))
        point = GeoPoint(JIULONGPO.lat + dlat, JIULONGPO.lng + dlng)
        if distance_km(JIULONGPO, point) <= radius_km:
            assert encode(point.lat, point.lng, precision) in cells


def test_small_radius_uses_fine_cells_and_huge_radius_gives_up() -> None:
    small = covering_cells(JIULONGPO, 2.0)
    assert small is not None
    assert len(small[0]) == 5
    assert covering_cells(JIULONGPO, 100000) is None
    with pytest.raises(ValueError, match="positive"):
        covering_cells(JIULONGPO, 0)
    with pytest.raises(ValueError, match="out of range"):
        GeoPoint(91, 0)


@pytest.mark.parametrize("radius_km", [250.0, 300.0])
def test_a_search_radius_too_big_for_covering_cells_still_gets_coarse_cells(radius_km: float) -> None:
    # covering_cells gives up past 16 cells; a kiosk search must not drop its radius then (it answered
    # postings at any distance).
    assert covering_cells(JIULONGPO, radius_km) is None
    cells = search_cells(JIULONGPO, radius_km)
    assert cells is not None
    assert len(cells) <= 64
    assert {len(c) for c in cells} == {3}
    rng = random.Random(11)
    for _ in range(2000):
        point = GeoPoint(rng.uniform(24.0, 35.0), rng.uniform(98.0, 112.0))
        if distance_km(JIULONGPO, point) <= radius_km:
            assert encode(point.lat, point.lng, 3) in cells
    ganzi = GeoPoint(31.62, 100.0)  # far-west Sichuan, ~630 km away
    assert encode(ganzi.lat, ganzi.lng, 3) not in cells
    # Small circles are covering_cells' own answer.
    assert list(search_cells(JIULONGPO, 20.0) or ()) == covering_cells(JIULONGPO, 20.0)


def test_the_cells_reach_as_far_east_and_west_as_the_circle_does() -> None:
    # A circle reaches furthest in longitude poleward of due east, asin(sin d / cos lat) rather than d / cos lat:
    # this point in Hulunbuir, 299.9997 km from the centre, lay outside all the cells of the 300 km radius.
    center = GeoPoint(53.07846577171293, 115.0381843970431)
    edge = GeoPoint(53.16316339989997, 119.53233414165379)
    assert distance_km(center, edge) < 300.0
    cells = search_cells(center, 300.0)
    assert cells is not None
    assert encode(edge.lat, edge.lng, len(cells[0])) in cells


def test_the_cells_of_a_circle_across_the_antimeridian_are_on_both_sides() -> None:
    cells = covering_cells(GeoPoint(0.0, 180.0), 1.0)
    assert cells is not None
    assert encode(0.005, -180.0, len(cells[0])) in cells  # the same meridian as 180, 0.56 km north
    assert encode(0.005, 179.999, len(cells[0])) in cells


def test_a_search_radius_near_the_pole_cannot_be_covered() -> None:
    assert search_cells(GeoPoint(90.0, 180.0), 300.0) is None
    assert search_cells(GeoPoint(89.9, 0.0), 50.0) is None


@pytest.mark.parametrize(("radius_km", "precision", "reach_km"), [(10.0, 5, 20.0), (50.0, 4, 90.0), (100.0, 4, 140.0)])
def test_a_kiosk_radius_takes_the_finest_cells_that_fit_and_still_covers_the_circle(
        radius_km: float, precision: int, reach_km: float) -> None:
    # A commute area stored per document keeps 16 coarse cells; a kiosk's one-off filter takes up to 64, so a
    # 10 km search no longer answers postings 47 km away (39 × 19.5 km cells), nor a 50 km one 238 km away.
    from matching.kiosk_search_query import radius_cells

    cells = radius_cells(JIULONGPO, radius_km)
    assert cells is not None
    assert len(cells) <= 64
    assert {len(c) for c in cells} == {precision}
    assert len((search_cells(JIULONGPO, radius_km) or ("",))[0]) < precision  # the stored kind: coarser
    rng = random.Random(5)
    for _ in range(3000):
        point = GeoPoint(rng.uniform(27.0, 32.0), rng.uniform(103.5, 109.5))
        distance = distance_km(JIULONGPO, point)
        inside = encode(point.lat, point.lng, precision) in cells
        if distance <= radius_km:
            assert inside  # never misses a posting within the radius
        if inside:
            assert distance <= reach_km  # and overshoots by about a cell at most


@pytest.mark.parametrize(("text", "expected"), [
    ("29.5,106.45", GeoPoint(29.5, 106.45)),
    (" -29.5 , +106 ", GeoPoint(-29.5, 106.0)),
    (".5,106.", GeoPoint(0.5, 106.0)),
])
def test_parse_lat_lng_reads_plain_decimal_degrees(text: str, expected: GeoPoint) -> None:
    assert parse_lat_lng(text) == expected


@pytest.mark.parametrize("text", [
    "29.5", "29.5;106.45", "91,106", "29.5,181", "nan,106", "inf,106", "1_0,106", "２９.５,106.45", "29.5,106,1", "",
])
def test_parse_lat_lng_refuses_what_is_not_a_point(text: str) -> None:
    # float() alone takes nan, inf, 1_0 and full-width digits; a subscription's `near` took them until it shared
    # kiosk search's parser.
    assert parse_lat_lng(text) is None
