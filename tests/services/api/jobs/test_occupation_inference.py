"""Occupation codes inferred from a posting's title or a broker's trade words, on the shipped catalogue."""

from __future__ import annotations

import functools

import pytest

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.occupations import load_occupations
from matching.segmentation import Analyzer
from services.api.jobs.occupation_inference import infer_from_posting, resolve_worker_occupation


@functools.cache
def _shipped() -> tuple[Catalogue, Analyzer]:
    catalogue = load_initial_catalogue()
    return catalogue, Analyzer.build(catalogue)


@pytest.mark.parametrize(
    ("title", "code"),
    [
        # The work before a generic role word names the trade; 操作工 alone is the catch-all 6-25-03-00.
        ("数控车床操作工", "6-18-01-01"),
        ("车床操作工", "6-18-01-01"),
        ("铣床操作工", "6-18-01-02"),
        ("磨床操作工", "6-18-01-04"),
        ("冲床操作工", "6-18-01-12"),
        ("剪板机操作工", "6-18-01-10"),
        ("叉车操作工", "6-30-05-01"),
        ("塔吊操作工", "6-30-05-01"),
        ("挖掘机操作工", "6-30-05-05"),
        ("焊接操作工", "6-18-02-04"),
        ("喷涂操作工", "6-18-03-03"),
        ("电镀操作工", "6-18-03-01"),
        ("压铸操作工", "6-18-02-01"),
        ("激光切割操作工", "6-18-02-05"),  # cut apart: 激光 切割 操作工
        ("线切割操作工", "6-18-01-08"),  # 线 切割 操作工: 线切割工, not any 切割工
        ("车床师傅", "6-18-01-01"),
        ("数控车床师傅", "6-18-01-01"),
        ("叉车师傅", "6-30-05-01"),
        ("挖机师傅", "6-30-05-05"),  # 挖 机 师傅
        ("汽车厂操作工", "6-22-01-01"),
        # Unchanged: trade words of the catalogue, and role words with nothing specific before them.
        ("注塑机操作工", "6-14-02-00"),
        ("CNC操作工", "6-18-01-07"),
        ("招聘车床工", "6-18-01-01"),
        ("电焊工", "6-18-02-04"),
        ("电工学徒", "6-31-01-03"),
        ("普工", "6-25-03-00"),
        ("电子厂操作工", "6-25-03-00"),
        ("长期招操作工", "6-25-03-00"),
        ("数控操作工", "6-25-03-00"),  # 数控 is the work of several trades (数控车工, 数控铣工 …)
        ("机床操作工", "6-25-03-00"),
    ],
)
def test_a_title_names_its_trade(title: str, code: str) -> None:
    catalogue, analyzer = _shipped()
    assert infer_from_posting(title, "", catalogue, analyzer) == code


def test_work_must_stand_beside_the_role_word() -> None:
    catalogue, analyzer = _shipped()
    # 车床 is a machine the description lists, not what 普工 does: the catch-all trade, as before.
    assert infer_from_posting("普工", "车床等设备普工若干", catalogue, analyzer) == "6-25-03-00"


def test_a_title_without_trade_words_may_name_the_work() -> None:
    catalogue, analyzer = _shipped()
    assert infer_from_posting("招数控车床", "", catalogue, analyzer) == "6-18-01-01"
    assert infer_from_posting("急招 叉车 包吃住", "", catalogue, analyzer) == "6-30-05-01"
    # A role word alone says less than the work the title names after it.
    assert infer_from_posting("操作工（数控车床）", "", catalogue, analyzer) == "6-18-01-01"
    assert infer_from_posting("普工（包吃住）", "", catalogue, analyzer) == "6-25-03-00"
    # The description's machines and tasks are not the trade asked for.
    assert infer_from_posting("招工", "负责数控车床操作，包吃住", catalogue, analyzer) is None
    assert infer_from_posting("诚聘", "待遇从优", catalogue, analyzer) is None


@pytest.mark.parametrize(
    ("typed", "code"),
    [("车床师傅", "6-18-01-01"), ("数控车床", "6-18-01-01"), ("会开叉车", "6-30-05-01"), ("电焊", "6-18-02-04"),
     ("数控", None), ("吃苦耐劳", None)],
)
def test_a_brokers_trade_words_read_the_same_way(typed: str, code: str | None) -> None:
    catalogue, analyzer = _shipped()
    resolved = resolve_worker_occupation(typed, catalogue, analyzer, load_occupations())
    assert resolved is not None
    assert (resolved.code, resolved.inferred) == (code, code is not None)


def test_work_shared_by_two_trades_names_neither() -> None:
    catalogue, _ = _shipped()
    assert catalogue.code_for_work("烘焙") is None  # 烘焙师 (4-03-02-04) and 烘焙工 (6-02-01-01)
    assert catalogue.code_for_work("数控车床") == "6-18-01-01"  # begins with 数控车 of 数控车工
    assert catalogue.code_for_work("数控车床", min_length=4) is None
    assert catalogue.code_for_work("操作工") is None  # a role word, not work (操作 of 操作工)
