"""The shipped reference data: classification, regions and the initial shortage catalogue are consistent."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import matching

REFERENCE = Path(matching.__file__).parent / "reference"
HEADER = [
    "occupation_code",
    "name",
    "aliases",
    "industry",
    "shortage_level",
    "regions",
    "wage_min",
    "wage_max",
    "wage_unit",
    "skills",
    "certificates",
    "side",
    "notes",
    "source",
]
INDUSTRIES = {
    "汽车制造",
    "电子信息",
    "装备制造",
    "材料化工",
    "建筑施工",
    "交通物流",
    "家政康养",
    "生活服务",
    "农产品加工",
    "数字经济",
}
MINIMUM_MONTHLY_WAGE = 2100
MINIMUM_HOURLY_WAGE = 22


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(";") if p.strip()]


@pytest.fixture(scope="module")
def classification() -> dict[str, str]:
    data: dict[str, Any] = json.loads((REFERENCE / "occupations-2022.json").read_text(encoding="utf-8"))
    return {o["code"]: o["name"] for o in data["occupations"]}


@pytest.fixture(scope="module")
def regions() -> list[dict[str, str]]:
    with (REFERENCE / "regions.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def header() -> list[str]:
    with (REFERENCE / "catalogue-initial.csv").open(encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def entries() -> list[dict[str, str]]:
    with (REFERENCE / "catalogue-initial.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_header_is_exact(header: list[str]) -> None:
    assert header == HEADER


def test_at_least_300_entries_one_per_code(entries: list[dict[str, str]]) -> None:
    assert len(entries) >= 300
    codes = Counter(e["occupation_code"] for e in entries)
    assert [c for c, n in codes.items() if n > 1] == []


def test_every_code_exists_and_names_match(entries: list[dict[str, str]], classification: dict[str, str]) -> None:
    unknown = [e["occupation_code"] for e in entries if e["occupation_code"] not in classification]
    assert unknown == []
    # the classification's name, or its completion where the source cut the name short
    renamed = [e["name"] for e in entries if not e["name"].startswith(classification[e["occupation_code"]])]
    assert renamed == []


def test_aliases_are_unambiguous(entries: list[dict[str, str]], classification: dict[str, str]) -> None:
    owner: dict[str, str] = {}
    clashes: list[str] = []
    for e in entries:
        aliases = _split(e["aliases"])
        assert aliases, f"{e['occupation_code']} has no alias"
        for alias in aliases:
            if alias in owner and owner[alias] != e["occupation_code"]:
                clashes.append(f"{alias}: {owner[alias]} and {e['occupation_code']}")
            owner[alias] = e["occupation_code"]
    assert clashes == []
    names = {e["name"]: e["occupation_code"] for e in entries}
    assert [a for a, code in owner.items() if a in names and names[a] != code] == []
    official = {name: code for code, name in classification.items()}
    assert [a for a, code in owner.items() if a in official and official[a] != code] == []


def test_levels_industries_sides(entries: list[dict[str, str]]) -> None:
    assert {e["shortage_level"] for e in entries} <= {"1", "2", "3"}
    assert {e["industry"] for e in entries} == INDUSTRIES
    assert {e["side"] for e in entries} == {"CQ", "SC"}
    levels = Counter(e["shortage_level"] for e in entries)
    # roughly the 2023 edition's proportions: 345 / 589 / 524 of 1,458
    assert 0.18 < levels["1"] / len(entries) < 0.30
    assert 0.33 < levels["2"] / len(entries) < 0.48
    assert 0.28 < levels["3"] / len(entries) < 0.44


def test_region_adcodes_exist(entries: list[dict[str, str]], regions: list[dict[str, str]]) -> None:
    adcodes = {r["adcode"] for r in regions if r["level"] in ("city", "county")}
    unknown = {a for e in entries for a in _split(e["regions"]) if a not in adcodes}
    assert unknown == set()


def test_wage_bands(entries: list[dict[str, str]]) -> None:
    for e in entries:
        low, high, unit = int(e["wage_min"]), int(e["wage_max"]), e["wage_unit"]
        assert low <= high, e["occupation_code"]
        assert unit in ("month", "day", "hour"), e["occupation_code"]
        if unit == "month":
            assert low >= MINIMUM_MONTHLY_WAGE, e["occupation_code"]
        if unit == "hour":
            assert low >= MINIMUM_HOURLY_WAGE, e["occupation_code"]
        if unit == "day":
            assert low >= 100, e["occupation_code"]


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("电焊工", "6-18-02-04"),
        ("烧电焊的", "6-18-02-04"),
        ("焊接工", "6-18-02-04"),
        ("电焊", "6-18-02-04"),
        ("叉车司机", "6-30-05-01"),
        ("开叉车的", "6-30-05-01"),
        ("叉车工", "6-30-05-01"),
        ("保姆", "4-10-01-06"),
        ("住家阿姨", "4-10-01-06"),
        ("月嫂", "4-10-01-06"),
        ("普工", "6-25-03-00"),
        ("操作工", "6-25-03-00"),
        ("流水线工", "6-25-03-00"),
        ("小工", "6-29-01-01"),
        ("杂工", "6-29-01-01"),
        ("棒棒", "4-02-05-01"),
        ("快递小哥", "4-02-07-08"),
        ("外卖骑手", "4-10-08-01"),
        ("送外卖的", "4-10-08-01"),
    ],
)
def test_named_examples(entries: list[dict[str, str]], alias: str, code: str) -> None:
    owners = [e["occupation_code"] for e in entries if alias in _split(e["aliases"])]
    assert owners == [code]


def test_named_entries_by_name(entries: list[dict[str, str]]) -> None:
    by_code = {e["occupation_code"]: e["name"] for e in entries}
    assert by_code["6-18-02-04"] == "焊工"
    assert by_code["4-02-07-08"] == "快递员"
    assert by_code["4-10-08-01"] == "网约配送员"
    assert by_code["4-10-01-06"] == "家政服务员"


def test_regions_csv_has_38_chongqing_county_units(regions: list[dict[str, str]]) -> None:
    chongqing = [r for r in regions if r["level"] == "county" and r["parent_adcode"] == "500000"]
    assert len(chongqing) == 38
    sichuan_cities = [r for r in regions if r["level"] == "city" and r["parent_adcode"] == "510000"]
    assert len(sichuan_cities) == 21


def test_catalogue_parses_and_validates_with_the_platform_code() -> None:
    from matching.catalogue import load_initial_catalogue
    from matching.occupations import load_occupations
    from matching.regions import load_regions

    catalogue = load_initial_catalogue(REFERENCE / "catalogue-initial.csv")
    assert len(catalogue) >= 300
    assert catalogue.validate(load_occupations(), load_regions()) == []


def test_generator_reproduces_the_shipped_csv() -> None:
    from matching.reference.build_catalogue import build_rows

    with (REFERENCE / "catalogue-initial.csv").open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == build_rows()
