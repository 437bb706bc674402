"""Properties of kiosk query understanding (matching/kiosk_query.py, kiosk_search_query.py) over anything a public
kiosk can be sent: it never raises, answers the same for the same phrase, understands only codes that exist, and
the search it builds is one well-formed Meilisearch filter with a q free of search syntax."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from matching.geo import GeoPoint
from matching.kiosk_query import KioskQueryInterpreter
from matching.kiosk_search_query import MAX_QUERY_WORDS, KioskParams, build_plan, clean_text
from tests.matching.conftest import _analyzer, load_test_regions, sample_catalogue
from tests.matching.test_search_filters_properties import well_formed

NOW = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
TODAY = date(2026, 11, 25)

# Pieces of what people type, what input methods and pasted text add, and what an attacker tries.
PIECES = ["九龙坡", "杨家坪", "重庆", "四川", "成都", "电焊", "电悍工", "师机", "叉车", "日结", "包住", "包吃住",
          "带小孩", "扛包", "5千", "三千五", "1.2万", "8k", "以上", "一天", "200", "元", "月薪", "明天", "急招",
          "找个活",
          " ", "　", '"', "＂", "\\", "-", "－", "'", "OR", "AND", "(", ")", "[", "]", "\x00", "\u0301", "\u200b",
          "🙂", "٥٠٠٠", "１２", "ℌ", "ﷺ"]
PHRASES = st.one_of(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=14).map("".join),
                    st.text(max_size=300))



@functools.cache
def _interpreter() -> KioskQueryInterpreter:
    return KioskQueryInterpreter(sample_catalogue(), load_test_regions(), _analyzer())


@given(PHRASES)
def test_any_phrase_is_understood_the_same_way_twice_and_only_as_known_codes(phrase: str) -> None:
    interpreter = _interpreter()
    understood = interpreter.interpret(phrase)
    assert interpreter.interpret(phrase) == understood
    catalogue, regions = interpreter.catalogue, interpreter.regions
    assert all(catalogue.resolve(code) == code for code in understood.occupation_codes)
    assert all(regions.require(code).level == "county" for code in understood.adcodes)
    assert all(regions.require(code).level == "city" for code in understood.city_adcodes)
    assert understood.wage_min is None or (understood.wage_min >= 0 and understood.wage_unit is not None)


@given(PHRASES, st.sampled_from([None, 10.0, 300.0]))
def test_the_search_built_from_any_phrase_is_one_well_formed_filter(phrase: str, radius_km: float | None) -> None:
    params = KioskParams(near=GeoPoint(29.5, 106.5) if radius_km else None, radius_km=radius_km)
    plan = build_plan(_interpreter().interpret(phrase), params, load_test_regions(), NOW, TODAY)
    assert well_formed(plan.filter), plan.filter
    assert plan.filter.startswith('(status = "open") AND (expires_at > ')
    # q carries no phrase search, no negation and no more than MAX_QUERY_WORDS words, whatever was typed.
    words = plan.q.split()
    assert '"' not in plan.q
    assert not any(word.startswith("-") for word in words)
    assert len(words) <= MAX_QUERY_WORDS
    assert plan.words == len(words)
    assert set(plan.fallback_q.split()) <= set(words)


@given(st.text(max_size=200))
def test_clean_text_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
