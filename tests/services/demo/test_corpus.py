"""The seeded corpus: deterministic, valid against the platform's own rules, and shaped as requested."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from matching.compliance import check_posting
from matching.identity import id_check_character, parse_id_number, parse_mobile
from matching.regions import load_regions
from services.api.jobs.schemas import JobFields
from services.api.worker_profiles.schemas import WorkerFields
from services.demo.corpus import LABOUR_BRANDS, Corpus, valid_id_number

TODAY = date(2026, 5, 1)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(seed=7, today=TODAY)


@pytest.fixture(scope="module")
def workers(corpus: Corpus) -> list[dict]:
    return list(corpus.workers(2000))


@pytest.fixture(scope="module")
def jobs(corpus: Corpus) -> list[dict]:
    return list(corpus.jobs(1500))


def test_same_seed_same_data_and_streams_are_independent(corpus: Corpus) -> None:
    again = Corpus(seed=7, today=TODAY)
    assert list(again.workers(50)) == list(corpus.workers(50))
    assert list(again.jobs(50)) == list(corpus.jobs(50))
    assert list(again.kiosk_queries(50)) == list(corpus.kiosk_queries(50))
    # Asking for more items extends the stream; the first items stay the same.
    assert list(corpus.workers(60))[:50] == list(corpus.workers(50))
    other = Corpus(seed=8, today=TODAY)
    assert list(other.workers(20)) != list(corpus.workers(20))


def test_id_number_check_character() -> None:
    # The GB 11643 example number.
    assert id_check_character("11010519491231002") == "X"
    number = valid_id_number("500107", date(1990, 3, 7), 123)
    assert number[:17] == "50010719900307123"
    assert number[17] == id_check_character(number[:17])


def test_workers_pass_the_profile_rules(workers: list[dict]) -> None:
    regions = load_regions()
    ids = [w["id_number"] for w in workers]
    assert len(set(ids)) == len(ids)
    assert len({w["external_ref"] for w in workers}) == len(workers)
    for w in workers:
        WorkerFields.model_validate(w)  # the API's own request schema
        parsed = parse_id_number(w["id_number"], today=TODAY)  # check character, real date, working age
        assert parsed.region_adcode == w["home_adcode"]
        assert parsed.gender == w["gender"]
        assert (TODAY - parsed.birth_date).days // 365 >= 18
        parse_mobile(w["phone"])
        assert w["home_adcode"] in regions
        assert regions.require(w["home_adcode"]).level == "county"
        assert all(a in regions for a in [w["current_adcode"], *w["desired_adcodes"]])
        assert "演示" in w["notes"]
        wage = w["expected_wage"]
        if wage is not None:
            assert wage["min"] >= {"month": 2100, "day": 176, "hour": 22}[wage["unit"]]


def test_workers_come_from_labour_exporting_counties(workers: list[dict]) -> None:
    regions = load_regions()
    outside = sum(regions.require(w["home_adcode"]).circle_membership in ("no", "partial") for w in workers)
    assert outside / len(workers) > 0.5  # 85 of 221 counties are "no"/"partial"; workers mostly come from there
    consent = sum(w["consent"]["share_with_enterprises"] for w in workers) / len(workers)
    assert 0.85 < consent < 1.0
    brands = Counter(w["labour_brand"] for w in workers if w["labour_brand"])
    assert {"云阳面工", "开州厨师", "巴渝大嫂"} <= set(brands)
    for w in workers:
        if w["labour_brand"] == "云阳面工":
            assert w["home_adcode"] == "500235"
    assert {b[0] for b in LABOUR_BRANDS} >= set(brands)


def test_jobs_are_compliant_and_in_the_circles_cities(corpus: Corpus, jobs: list[dict]) -> None:
    regions = load_regions()
    in_circle = 0
    for j in jobs:
        JobFields.model_validate(j)
        assert j["adcode"] in regions
        in_circle += regions.require(j["adcode"]).in_circle
        verdict = check_posting(j["title"], j["description"], j["benefits"], wage_min=j["wage"]["min"],
                                wage_max=j["wage"]["max"], wage_unit=j["wage"]["unit"], adcode=j["adcode"],
                                age_min=j["age_min"], age_max=j["age_max"])
        assert not verdict.findings, (j["title"], verdict.findings)  # includes wage ≥ the minimum wage
        assert corpus.catalogue.by_code(j["occupation_code"]) is not None
        assert date.fromisoformat(j["start_date"]) >= TODAY
    assert in_circle / len(jobs) > 0.95
    work_types = Counter(j["work_type"] for j in jobs)
    assert set(work_types) == {"full_time", "daily", "gig", "seasonal"}
    benefits = Counter(b for j in jobs for b in j["benefits"])
    assert {"包吃", "包住", "社保", "交通补贴", "日结"} <= set(benefits)
    assert any("日结" in j["title"] for j in jobs)
    starts = Counter((date.fromisoformat(j["start_date"]) - TODAY).days for j in jobs)
    assert starts[0] > 0
    assert starts[1] > 0


def test_noncompliant_share_is_caught_by_the_rules(corpus: Corpus) -> None:
    jobs = list(corpus.jobs(400, noncompliant_share=0.1))
    outcomes = Counter(
        check_posting(j["title"], j["description"], j["benefits"], wage_min=j["wage"]["min"],
                      wage_max=j["wage"]["max"], wage_unit=j["wage"]["unit"], adcode=j["adcode"]).outcome
        for j in jobs)
    assert outcomes["reject"] > 0
    assert outcomes["hold"] > 0
    assert outcomes["ok"] > 300


def test_kiosk_queries_mix_taps_text_slang_and_homophones(corpus: Corpus) -> None:
    queries = list(corpus.kiosk_queries(1000))
    kinds = Counter(q["kind"] for q in queries)
    assert set(kinds) == {"tap", "text", "slang", "homophone", "suggest"}
    assert all(q["params"].get("q") for q in queries)
    names = {e.name for e in corpus.catalogue.active_entries()} | set(corpus.catalogue.alias_map())
    mistakes = [q["params"]["q"] for q in queries if q["kind"] == "homophone"]
    assert sum(m not in names for m in mistakes) / len(mistakes) > 0.8  # really misspelt
    import random

    assert Corpus.misspell(random.Random(1), "电焊工") != "电焊工"
    assert {Corpus.misspell(random.Random(s), "叉车司机") for s in range(40)} >= {"叉车师机"}
