from collections.abc import Callable

import pytest

from matching.search_filters import (
    FILTERABLE_ATTRIBUTES,
    all_of,
    all_present,
    any_of,
    between,
    compare,
    eq,
    missing,
    none_of,
    number,
    one_of,
    quote,
)


def _unescaped_quotes(expression: str) -> int:
    count, escaped = 0, False
    for ch in expression:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            count += 1
    return count


def test_injection_stays_one_value() -> None:
    clause = eq("adcode", 'x" OR city = "重庆')
    assert clause == 'adcode = "x\\" OR city = \\"重庆"'
    # exactly one string literal: the opening and the closing quote
    assert _unescaped_quotes(clause) == 2


def test_backslash_cannot_unescape_the_closing_quote() -> None:
    clause = eq("adcode", 'x\\" OR status = "open')
    assert _unescaped_quotes(clause) == 2
    assert quote("a\\") == '"a\\\\"'


def test_numbers_are_validated() -> None:
    assert number(5) == "5"
    assert number(2.5) == "2.5"
    for bad in (True, "5", float("nan"), float("inf"), None):
        with pytest.raises((TypeError, ValueError)):
            number(bad)
    with pytest.raises(TypeError):
        compare("wage_monthly_min", ">=", "5000 OR 1 = 1")


def test_attribute_names_come_from_the_whitelist() -> None:
    with pytest.raises(ValueError, match="not filterable"):
        eq("adcode = 1 OR status", "open")
    assert "geo_cells" in FILTERABLE_ATTRIBUTES


@pytest.mark.parametrize("build", [
    lambda name: eq(name, "open"),
    lambda name: compare(name, ">=", 1),
    lambda name: any_of(name, ["500107"]),
    lambda name: none_of(name, ["500107"]),
    lambda name: all_present(name, ["焊工证"]),
    lambda name: between(name, 1, 2),
    lambda name: missing(name),
])
def test_every_builder_checks_the_attribute_name(build: Callable[[str], str]) -> None:
    # A name is written into the expression unquoted: each builder must refuse one off the whitelist, or a
    # crafted name ("adcode NOT IN [] OR status") rewrites the filter.
    with pytest.raises(ValueError, match="not filterable"):
        build('adcode NOT IN [] OR status = "closed" OR adcode')


def test_combinators_build_and_of_ors() -> None:
    expression = all_of(
        eq("status", "open"),
        any_of("adcode", ["500107", "500106"]),
        None,
        one_of(eq("work_type", "daily"), eq("work_type", "gig")),
        between("start_date", 20250101, 20250131),
    )
    assert expression == (
        '(status = "open") AND (adcode IN ["500107", "500106"]) AND '
        '((work_type = "daily") OR (work_type = "gig")) AND (start_date 20250101 TO 20250131)'
    )
    assert all_present("certificates", ["焊工证", "焊工证", "电工证"]) == (
        '(certificates = "焊工证") AND (certificates = "电工证")'
    )
    assert eq("share_with_enterprises", True) == "share_with_enterprises = true"
    assert all_of() == ""
    with pytest.raises(ValueError, match="at least one"):
        any_of("adcode", [])
