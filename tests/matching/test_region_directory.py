from matching.geo import GeoPoint, distance_km
from matching.regions import RegionDirectory, province_of


def test_county_lookup_by_adcode_and_names(regions: RegionDirectory) -> None:
    jiulongpo = regions.require("500107")
    assert jiulongpo.name == "九龙坡区"
    assert jiulongpo.province == "CQ"
    assert jiulongpo.city_adcode == "500000"
    assert jiulongpo.in_circle
    assert regions.adcodes_for_word("九龙坡") == ("500107",)
    assert regions.adcodes_for_word("九龙坡区") == ("500107",)


def test_sichuan_county_belongs_to_its_prefecture(regions: RegionDirectory) -> None:
    shizhong = regions.adcodes_for_word("市中区")
    assert set(shizhong) == {"511002", "511102"}  # ambiguous names keep every adcode
    assert regions.require("511002").city_adcode == "511000"
    assert regions.require("511002").province == "SC"


def test_province_of(regions: RegionDirectory) -> None:
    assert province_of("500107") == "CQ"
    assert province_of("510104") == "SC"
    assert province_of("110000") is None
    assert province_of("5001") is None
    assert regions.province_of("510100") == "SC"


def test_outside_circle_counties_are_flagged(regions: RegionDirectory) -> None:
    chengkou = regions.adcodes_for_word("城口县")
    assert chengkou
    assert not regions.require(chengkou[0]).in_circle


def test_chongqings_grouping_codes_name_its_districts_and_its_counties(regions: RegionDirectory) -> None:
    districts, counties = regions.county_group("500100"), regions.county_group("500200")
    assert "500107" in districts  # 九龙坡区
    assert "500235" in counties  # 云阳县
    chongqing = {r.adcode for r in regions.counties() if r.province == "CQ"}
    assert set(districts) | set(counties) == chongqing
    assert not set(districts) & set(counties)
    assert all(regions.require(a).name.endswith("区") for a in districts)
    # Codes of the directory's own regions (a real city, a county, the municipality) are no grouping.
    assert regions.county_group("510100") == regions.county_group("500107") == regions.county_group("500000") == ()
    assert "500100" not in regions


def test_only_districts_counties_and_county_level_cities_are_counties(regions: RegionDirectory) -> None:
    assert regions.is_county("500107")  # 九龙坡区
    assert regions.is_county("500235")  # 云阳县
    assert regions.is_county("510181")  # 都江堰市, a county-level city
    for code in ("500000", "510000", "510100", "500100", "500200", "999999"):
        assert not regions.is_county(code), code


def test_area_prefix_names_the_counties_an_area_filter_covers(regions: RegionDirectory) -> None:
    assert regions.area_prefix("500107") == "500107"  # a county
    assert regions.area_prefix("510100") == "5101"  # 成都市: its counties
    assert regions.area_prefix("510000") == "51"  # 四川省
    assert (regions.area_prefix("500100"), regions.area_prefix("500200")) == ("5001", "5002")  # Chongqing's groups
    assert all(c.startswith("5001") for c in regions.county_group("500100"))
    for nowhere in ("999999", "500300", "110000"):  # no county of the circle lies there
        assert regions.area_prefix(nowhere) is None


def test_counties_within_a_radius_are_those_whose_point_is_in_it_nearest_first(regions: RegionDirectory) -> None:
    jiulongpo = regions.require("500107")
    point = GeoPoint(jiulongpo.lat, jiulongpo.lng)
    near = regions.counties_within(point, 30.0)
    assert near[0] == "500107"
    assert {"500106", "500104", "500103"} <= set(near)  # 沙坪坝, 大渡口, 渝中
    assert "500101" not in near  # 万州, ~230 km
    every = [(distance_km(point, GeoPoint(r.lat, r.lng)), r.adcode) for r in regions.counties()]
    assert set(near) == {adcode for km, adcode in every if km <= 30.0}
    assert [distance_km(point, GeoPoint(regions.require(a).lat, regions.require(a).lng)) for a in near] == sorted(
        km for km, _ in every if km <= 30.0)
    assert regions.counties_within(point, 30.0) == near  # remembered, the same answer
