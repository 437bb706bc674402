"""Validating and looking up adcodes against the shipped reference data."""

from __future__ import annotations

from collections.abc import Iterable

from matching.regions import Region, load_regions
from services.api.problems import FieldError, InvalidInput


def ensure_known_adcodes(adcodes: Iterable[str], *, field: str) -> None:
    directory = load_regions()
    unknown = [a for a in adcodes if a not in directory]
    if unknown:
        raise InvalidInput(
            "未知的区县代码 / unknown adcode(s)",
            errors=[FieldError(field=field, message=f"未知的区县代码 / unknown adcode {a}") for a in unknown],
        )


def search_regions(q: str | None, *, level: str | None, limit: int) -> list[Region]:
    directory = load_regions()
    needle = (q or "").strip()
    matches = [
        r for r in directory
        if (level is None or r.level == level)
        and (not needle or r.adcode.startswith(needle) or needle in r.name or needle in r.short_name)
    ]
    # Exact names first, then by adcode so the order is stable.
    matches.sort(key=lambda r: (needle not in (r.name, r.short_name), r.adcode))
    return matches[:limit]
