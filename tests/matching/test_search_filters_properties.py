"""Properties of filter building (matching/search_filters.py) over any value a client can send: a string is always
exactly one literal that reads back as itself (Meilisearch's rule: a backslash escapes the next character), so no
value can add a clause; numbers are finite literals or refused."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.search_filters import any_of, compare, eq, none_of, number, quote

_FILTER_TOKEN = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|[()\[\],]|AND|OR|NOT|IN|TO|EXISTS|[<>!]=?|=|[a-z_]+|-?[0-9.e+-]+)')
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
# What people and attackers put in a value: quotes, backslashes, filter words, brackets, and anything else.
VALUES = st.one_of(st.lists(st.sampled_from(['"', "\\", " ", "OR", "AND", "(", ")", "[", "]", ",", "=", "x", "重庆"]),
                            max_size=12).map("".join),
                   st.text(max_size=20))


def well_formed(expression: str) -> bool:
    """Every quote closed, parentheses and brackets balanced, nothing but filter syntax between the literals."""
    depth, i = 0, 0
    while i < len(expression):
        token = _FILTER_TOKEN.match(expression, i)
        if token is None or token.end() == i:
            return False
        text = token.group(0).strip()
        depth += 1 if text in ("(", "[") else -1 if text in (")", "]") else 0
        if depth < 0:
            return False
        i = token.end()
    return depth == 0


def literals(expression: str) -> list[str]:
    """The string literals of an expression, unescaped as Meilisearch reads them."""
    return [re.sub(r"\\(.)", r"\1", found, flags=re.DOTALL) for found in _LITERAL.findall(expression)]


def test_the_checks_themselves_see_a_broken_expression() -> None:
    assert not well_formed('adcode = "x" OR city = "重庆')
    assert not well_formed("(adcode = 1")
    assert literals('a = "x\\" OR \\\\"') == ['x" OR \\']


@given(VALUES)
def test_a_string_is_one_literal_that_reads_back_as_itself(value: str) -> None:
    clause = eq("adcode", value)
    assert well_formed(clause)
    assert literals(clause) == [value]
    assert clause == f"adcode = {quote(value)}"


@given(st.lists(VALUES, min_size=1, max_size=5))
def test_a_list_of_strings_is_its_distinct_values_in_order(values: list[str]) -> None:
    assert well_formed(any_of("benefits", values))
    assert well_formed(none_of("benefits", values))
    assert literals(any_of("benefits", values)) == list(dict.fromkeys(values))
    assert literals(none_of("benefits", values)) == values


@given(st.one_of(st.integers(), st.floats()))
def test_a_number_is_a_finite_literal_or_refused(value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        with pytest.raises(ValueError, match="finite"):
            number(value)
        return
    literal = number(value)
    assert (int(literal) if isinstance(value, int) else float(literal)) == value
    assert well_formed(compare("wage_monthly_max", ">=", value))
