"""Meilisearch filter expressions built so that user values can never change the expression.

Strings are always double-quoted with backslash and quote escaped (naive quoting lets
`x" OR city = "重庆` inject an OR clause); numbers must be finite ints/floats (bools refused);
attribute names come from the whitelists below, which are also the indexes' filterableAttributes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

JOB_FILTER_ATTRIBUTES: tuple[str, ...] = (
    "adcode",
    "city_adcode",
    "province",
    "in_circle",
    "occupation_code",
    "occupation_small_group",
    "work_type",
    "wage_monthly_min",
    "wage_monthly_max",
    "wage_min",
    "wage_unit",
    "start_date",
    "end_date",
    "benefits",
    "required_certificates",
    "age_min",
    "age_max",
    "status",
    "geo_cells",
    "posted_at",
    "expires_at",
    "shortage_level",
    "org_id",
)
WORKER_FILTER_ATTRIBUTES: tuple[str, ...] = (
    "home_adcode",
    "current_adcode",
    "current_city_adcode",
    "province",
    "desired_adcodes",
    "desired_anywhere",
    "willing_to_relocate",
    "occupation_codes",
    "occupation_small_groups",
    "work_types",
    "expected_wage_monthly",
    "certificates",
    "labour_brand",
    "age",
    "status",
    "share_with_enterprises",
    "available_from",
    "available_until",
    "geo_cells",
    "commute_cells",
    "broker_org_id",
    "updated_at",
    "experience_years",
)
FILTERABLE_ATTRIBUTES: frozenset[str] = frozenset(JOB_FILTER_ATTRIBUTES) | frozenset(WORKER_FILTER_ATTRIBUTES)

FilterValue = str | int | float | bool
Comparison = Literal["=", "!=", ">", ">=", "<", "<="]
_COMPARISONS: frozenset[str] = frozenset({"=", "!=", ">", ">=", "<", "<="})


def quote(value: str) -> str:
    """A string literal for a filter: `"` + escaped value + `"`."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: object) -> str:
    """A validated numeric literal; refuses bools, NaN, infinities and anything that is not int/float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("number must be finite")
    return str(value) if isinstance(value, int) else repr(float(value))


def literal(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    return number(value)


def attribute(name: str) -> str:
    if name not in FILTERABLE_ATTRIBUTES:
        raise ValueError(f"attribute {name!r} is not filterable")
    return name


def compare(name: str, op: Comparison, value: FilterValue) -> str:
    if op not in _COMPARISONS:
        raise ValueError(f"unknown comparison {op!r}")
    if op not in ("=", "!=") and isinstance(value, str | bool):
        raise TypeError("range comparisons take numbers only")
    return f"{attribute(name)} {op} {literal(value)}"


def eq(name: str, value: FilterValue) -> str:
    return compare(name, "=", value)


def any_of(name: str, values: Iterable[FilterValue]) -> str:
    """`name IN [v1, v2]`: for an array attribute, true when any element is one of the values."""
    items = list(dict.fromkeys(values))
    if not items:
        raise ValueError("any_of needs at least one value")
    return f"{attribute(name)} IN [{', '.join(literal(v) for v in items)}]"


def none_of(name: str, values: Iterable[FilterValue]) -> str:
    return f"{attribute(name)} NOT IN [{', '.join(literal(v) for v in values)}]"


def all_present(name: str, values: Iterable[FilterValue]) -> str:
    """Every value is an element of the array attribute (AND of equalities)."""
    return all_of(*(eq(name, v) for v in dict.fromkeys(values)))


def between(name: str, low: int | float, high: int | float) -> str:
    return f"{attribute(name)} {number(low)} TO {number(high)}"


def missing(name: str) -> str:
    return f"{attribute(name)} NOT EXISTS"


def all_of(*clauses: str | None) -> str:
    """AND of the non-empty clauses, each parenthesised; "" when there are none."""
    parts = [c for c in clauses if c]
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({c})" for c in parts)


def one_of(*clauses: str | None) -> str:
    """OR of the non-empty clauses, each parenthesised; "" when there are none."""
    parts = [c for c in clauses if c]
    if len(parts) == 1:
        return parts[0]
    return " OR ".join(f"({c})" for c in parts)
