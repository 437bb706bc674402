"""Fixtures for the matching tests: a small catalogue, the reference directories, one analyzer."""

from __future__ import annotations

import functools

import pytest

from matching.catalogue import Catalogue, CatalogueEntry, WageBand
from matching.occupations import OccupationClassification, load_occupations
from matching.regions import RegionDirectory, load_regions
from matching.segmentation import Analyzer

SAMPLE_ENTRIES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "6-18-02-04",
        "焊工",
        ("电焊工", "焊接工", "烧电焊的", "电焊师傅"),
        "制造业",
        1,
        (),
        WageBand(6000, 9000, "month"),
        ("氩弧焊", "二保焊"),
        ("焊工证", "特种作业操作证"),
        "CQ",
    ),
    CatalogueEntry("6-18-02-01", "铸造工", ("翻砂工",), "制造业", 2, (), None, ("浇注",), (), "SC"),
    CatalogueEntry(
        "4-03-02-01",
        "中式烹调师",
        ("厨师", "炒菜师傅", "大厨"),
        "餐饮",
        2,
        (),
        WageBand(5000, 8000, "month"),
        ("川菜",),
        ("健康证",),
        "SC",
    ),
    CatalogueEntry(
        "6-30-05-01",
        "起重装卸机械操作工",
        ("叉车司机", "开叉车的", "叉车工"),
        "物流",
        1,
        (),
        WageBand(5500, 7500, "month"),
        ("叉车驾驶",),
        ("叉车证",),
        "CQ",
    ),
    CatalogueEntry(
        "4-02-02-02",
        "道路货运汽车驾驶员",
        ("货车司机", "大车司机", "司机"),
        "物流",
        2,
        (),
        WageBand(7000, 11000, "month"),
        (),
        ("A2驾照",),
        "SC",
    ),
    CatalogueEntry(
        "4-10-01-06",
        "家政服务员",
        ("保姆", "住家阿姨", "钟点工"),
        "家政",
        1,
        (),
        WageBand(4500, 7000, "month"),
        ("做饭", "带小孩"),
        (),
        "CQ",
    ),
    CatalogueEntry("6-29-01-01", "砌筑工", ("泥工", "砖工", "瓦工"), "建筑", 2, (), None, (), (), "SC"),
    CatalogueEntry(
        "4-02-05-01", "装卸搬运工", ("搬运工", "棒棒"), "物流", 3, (), WageBand(150, 250, "day"), (), (), "CQ"
    ),
    CatalogueEntry(
        "4-10-01-05", "养老护理员", ("护工", "护理员"), "养老", 1, (), None, (), ("养老护理员证",), "SC"
    ),
)


def sample_catalogue(version: int = 1) -> Catalogue:
    return Catalogue(version, SAMPLE_ENTRIES)


def load_test_regions() -> RegionDirectory:
    return load_regions()


def load_test_occupations() -> OccupationClassification:
    return load_occupations()


@functools.cache
def _analyzer() -> Analyzer:
    return Analyzer.build(sample_catalogue(), load_test_regions())


@pytest.fixture(name="sample_entries")
def sample_entries_fixture() -> tuple[CatalogueEntry, ...]:
    return SAMPLE_ENTRIES


@pytest.fixture(name="catalogue")
def catalogue_fixture() -> Catalogue:
    return sample_catalogue()


@pytest.fixture(name="regions")
def regions_fixture() -> RegionDirectory:
    return load_test_regions()


@pytest.fixture(name="occupations")
def occupations_fixture() -> OccupationClassification:
    return load_test_occupations()


@pytest.fixture(name="analyzer")
def analyzer_fixture() -> Analyzer:
    """Built once per test run: building a jieba tokenizer takes about a second."""
    return _analyzer()
