"""Meilisearch documents for job postings and worker profiles, and the two indexes' settings.

Documents carry only public or matching fields: a worker document never has a name, ID number, phone,
gender, birth date or notes. Dates are ints (yyyymmdd) so they can be range-filtered; open-ended dates are
OPEN_END so that "until >= X" needs no NULL handling. Coordinates are plain lat/lng fields, not `_geo`
(a filterable `_geo` rebuilds the R-tree on every write): radius search filters on `geo_cells`.
"""

from __future__ import annotations

import copy
import weakref
from datetime import date, datetime
from typing import Any

from matching.catalogue import Catalogue
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.geo import GeoPoint, point_cells, search_cells
from matching.identity import mask_numbers_in_free_text
from matching.occupations import small_group_code
from matching.regions import RegionDirectory
from matching.search_filters import JOB_FILTER_ATTRIBUTES, WORKER_FILTER_ATTRIBUTES

OPEN_END = 99991231
# A worker's commute area in their document (and the jobs filter's) stops here: cells beyond would be more than a
# search filter takes. The hard filter caps the commute limit the same way (matching/scoring.py), or it would keep
# pairs no search returns.
MAX_COMMUTE_CELLS_KM = 300.0
NOT_IN_CATALOGUE = 4  # shortage_level of a trade the catalogue does not list (ranks after mild shortage)

Document = dict[str, Any]


def date_int(value: date | None, default: int = OPEN_END) -> int:
    """2025-03-01 → 20250301 (None → `default`)."""
    return default if value is None else value.year * 10000 + value.month * 100 + value.day


def epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _monthly(wage: Wage | None) -> tuple[int | None, int | None]:
    monthly = wage.monthly() if wage is not None else None
    return (None, None) if monthly is None else (round(monthly[0]), round(monthly[1]))


def _place(adcode: str, regions: RegionDirectory, point: GeoPoint | None) -> Document:
    region = regions.get(adcode)
    if point is None and region is not None:
        point = GeoPoint(region.lat, region.lng)
    return {
        "city_adcode": region.city_adcode if region else None,
        "province": region.province if region else regions.province_of(adcode),
        "county_name": region.name if region else "",
        "county_short_name": region.short_name if region else "",
        "in_circle": region.in_circle if region else False,
        "lat": point.lat if point else None,
        "lng": point.lng if point else None,
        "geo_cells": point_cells(point) if point else [],
    }


# What a county contributes to a worker document (its place fields, cells and trade fields) depends only on the
# county and the directory / catalogue version: a bulk import indexes thousands of profiles over a few hundred
# counties and a few thousand trade combinations, so these parts are computed once per (directory, county) and
# (catalogue, codes) and copied into each document. Bounded, and dropped with their directory / catalogue.
_CACHE_LIMIT = 20_000
_memos: dict[int, tuple[weakref.ref[Any], dict[Any, Any]]] = {}


def _memo(owner: object) -> dict[Any, Any]:
    """A memo dict that lives as long as `owner` (a directory or catalogue), found by identity: a catalogue
    hashes by value, which costs more than what is memoised."""
    key = id(owner)
    found = _memos.get(key)
    if found is not None and found[0]() is owner:
        return found[1]
    memo: dict[Any, Any] = {}
    _memos[key] = (weakref.ref(owner, lambda _: _memos.pop(key, None)), memo)
    return memo


def _county_place(adcode: str, regions: RegionDirectory) -> Document:
    """`_place(adcode, regions, None)`, memoised per directory. The caller must not change the answer."""
    known = _memo(regions)
    place: Document | None = known.get(adcode)
    if place is None:
        if len(known) >= _CACHE_LIMIT:
            known.clear()
        place = known[adcode] = _place(adcode, regions, None)
    return place


def _commute_cells(adcode: str, place: Document, km: float, regions: RegionDirectory) -> list[str]:
    known = _memo(regions)  # keys (adcode, km), beside the places
    cells: list[str] | None = known.get((adcode, km))
    if cells is None:
        if len(known) >= _CACHE_LIMIT:
            known.clear()
        # search_cells, not covering_cells: past ~250 km the latter gives up, and the worker's commute area was
        # then empty (a longer commute matched fewer jobs than a 200 km one).
        reach = min(km, MAX_COMMUTE_CELLS_KM)
        cells = known[(adcode, km)] = list(search_cells(GeoPoint(place["lat"], place["lng"]), reach) or ())
    return cells


def _worker_trades(codes: tuple[str, ...], catalogue: Catalogue) -> Document:
    """The trade fields of a worker document for its occupation codes, memoised per catalogue."""
    known = _memo(catalogue)
    trades: Document | None = known.get(codes)
    if trades is None:
        resolved = list(dict.fromkeys(catalogue.resolve(c) for c in codes))
        entries = [e for e in (catalogue.by_code(c) for c in resolved) if e is not None]
        if len(known) >= _CACHE_LIMIT:
            known.clear()
        trades = known[codes] = {
            "occupation_codes": resolved,
            "occupation_small_groups": sorted({small_group_code(c) for c in resolved}),
            "occupation_names": [e.name for e in entries],
            "occupation_aliases": [a for e in entries for a in e.aliases],
            "shortage_level": min((e.shortage_level for e in entries), default=NOT_IN_CATALOGUE),
        }
    return trades


def job_document(job: JobFacts, catalogue: Catalogue, regions: RegionDirectory) -> Document:
    code = catalogue.resolve(job.occupation_code) if job.occupation_code else None
    entry = catalogue.by_code(code) if code else None
    wage_monthly_min, wage_monthly_max = _monthly(job.wage)
    return {
        "id": job.id,
        "title": job.title,
        "description": job.description,
        "occupation_code": code,
        "occupation_small_group": small_group_code(code) if code else None,
        "occupation_name": entry.name if entry else "",
        "occupation_aliases": list(entry.aliases) if entry else [],
        "occupation_inferred": job.occupation_inferred,
        "shortage_level": entry.shortage_level if entry else NOT_IN_CATALOGUE,
        "skills": list(entry.skills) if entry else [],
        "adcode": job.adcode,
        **_place(job.adcode, regions, job.location),
        "wage_min": job.wage.min,
        "wage_max": job.wage.max,
        "wage_unit": job.wage.unit,
        "wage_monthly_min": wage_monthly_min,
        "wage_monthly_max": wage_monthly_max,
        "work_type": job.work_type,
        "headcount": job.headcount,
        "start_date": date_int(job.start_date),
        "end_date": date_int(job.end_date),
        "benefits": list(job.benefits),
        "required_certificates": list(job.required_certificates),
        "age_min": job.age_min if job.age_min is not None else 0,
        "age_max": job.age_max if job.age_max is not None else 200,
        "status": job.status,
        "org_id": job.org_id,
        "posted_at": epoch(job.posted_at),
        "updated_at": epoch(job.updated_at or job.posted_at),
        "expires_at": epoch(job.expires_at),
    }


def worker_document(worker: WorkerFacts, catalogue: Catalogue, regions: RegionDirectory) -> Document:
    trades = _worker_trades(worker.occupation_codes, catalogue)
    where = worker.location_adcode
    place = _county_place(where, regions)
    commute: list[str] = []
    if worker.max_commute_km and place["lat"] is not None:
        commute = list(_commute_cells(where, place, worker.max_commute_km, regions))
    expected_monthly, _ = _monthly(worker.expected_wage)
    return {
        "id": worker.id,
        "occupation_codes": list(trades["occupation_codes"]),
        "occupation_small_groups": list(trades["occupation_small_groups"]),
        "occupation_names": list(trades["occupation_names"]),
        "occupation_aliases": list(trades["occupation_aliases"]),
        "shortage_level": trades["shortage_level"],
        # Free text a broker typed: a phone or ID number written into it (联系13812345678, +86 138 1234 5678) is
        # masked, since enterprises' matches and notices show these fields as they are here (api.md: personal
        # data never in Meilisearch).
        "skills": [mask_numbers_in_free_text(s) for s in worker.skills],
        "certificates": [mask_numbers_in_free_text(c) for c in worker.certificates],
        "labour_brand": (mask_numbers_in_free_text(worker.labour_brand) if worker.labour_brand
                         else worker.labour_brand),
        "experience_years": worker.experience_years,
        "home_adcode": worker.home_adcode,
        "current_adcode": where,
        "current_city_adcode": place["city_adcode"],
        "province": place["province"],
        "county_name": place["county_name"],
        "in_circle": place["in_circle"],
        "lat": place["lat"],
        "lng": place["lng"],
        "geo_cells": list(place["geo_cells"]),
        "commute_cells": commute,
        "desired_adcodes": list(worker.desired_adcodes),
        "desired_anywhere": not worker.desired_adcodes,
        "willing_to_relocate": worker.willing_to_relocate,
        "max_commute_km": worker.max_commute_km,
        "expected_wage_min": worker.expected_wage.min if worker.expected_wage else None,
        "expected_wage_unit": worker.expected_wage.unit if worker.expected_wage else None,
        "expected_wage_monthly": expected_monthly,
        "work_types": list(worker.work_types),
        "available_from": date_int(worker.available_from),
        "available_until": date_int(worker.available_until),
        "age": worker.age,
        "status": worker.status,
        "share_with_enterprises": worker.share_with_enterprises,
        "broker_org_id": worker.broker_org_id,
        "updated_at": epoch(worker.updated_at),
    }


# Keys no document may carry: personal data stays in PostgreSQL, encrypted.
PII_KEYS: frozenset[str] = frozenset(
    {
        "name",
        "id_number",
        "phone",
        "notes",
        "gender",
        "birth_date",
        "contact",
        "address",
        "external_ref",
        "consent",
        "id_number_hash",
        "phone_hash",
        "education",
    }
)

_COMMON_SETTINGS: dict[str, Any] = {
    # Chinese on every field: without this, a little kana (鲜の屋) switches segmentation to Japanese and the
    # posting cannot be found by 服务员. `cmn` is the locale Meilisearch uses for Mandarin (not `chi`).
    "localizedAttributes": [{"attributePatterns": ["*"], "locales": ["cmn"]}],
    # Typos only help latin words (Meilisearch never typo-tolerates Chinese words of 1–4 characters; that
    # is handled by homophone correction before the query). Numbers must match exactly: a wage of 5000
    # must not find 6000.
    "typoTolerance": {
        "enabled": True,
        "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        "disableOnNumbers": True,
    },
    # Word proximity per attribute, not per word position: cheaper to index, and kiosk queries are a few
    # words that rarely depend on exact adjacency.
    "proximityPrecision": "byAttribute",
    # Deep pages are never read; a bound keeps estimates and facet counts cheap.
    "pagination": {"maxTotalHits": 1000},
    # The kiosk's filter buttons show counts per county (up to 244), work type and occupation.
    "faceting": {"maxValuesPerFacet": 300, "sortFacetValuesBy": {"*": "count"}},
    # Kiosk answers must be quick; a runaway query is cut rather than allowed to queue others.
    "searchCutoffMs": 150,
    # Facet counts (the kiosk's buttons) do not need it; only the /facet-search endpoint would, and nothing
    # calls it. Every write would otherwise keep its structures up to date.
    "facetSearch": False,
}

JOBS_INDEX_SETTINGS: dict[str, Any] = {
    **_COMMON_SETTINGS,
    # Ordered by importance for the `attribute` ranking rule: the trade first (name, then the words people
    # use for it), then the employer's title, the skills, the place, and the free description last
    # because it is long and noisy.
    "searchableAttributes": [
        "occupation_name",
        "occupation_aliases",
        "title",
        "skills",
        "county_name",
        "county_short_name",
        "benefits",
        "description",
    ],
    # The kiosk's last word is often half typed (电 → 电工): prefixes are indexed.
    "prefixSearch": "indexingTime",
    # Exactly the whitelist search_filters accepts: county/city/province, trade, work type, wage, dates,
    # benefits, certificates, status, coarse geohash cells, …
    "filterableAttributes": list(JOB_FILTER_ATTRIBUTES),
    "sortableAttributes": [
        "posted_at",
        "wage_monthly_min",
        "wage_monthly_max",
        "start_date",
        "shortage_level",
    ],
    # Relevance first; then the trades the catalogue marks as most short (1 = severe) and the freshest
    # postings among equally relevant ones (stale postings are a top complaint).
    "rankingRules": [
        "words",
        "typo",
        "proximity",
        "attribute",
        "sort",
        "exactness",
        "shortage_level:asc",
        "posted_at:desc",
    ],
}

WORKERS_INDEX_SETTINGS: dict[str, Any] = {
    **_COMMON_SETTINGS,
    # Nothing searches workers by text: matches ask with an empty `q` and hard filters
    # (services/api/matches), subscriptions are matched in Python. Indexing the trade words, skills and
    # labour brands for text search was half of Meilisearch's work on every worker write (100,000 profiles:
    # 20 CPU s against 10.6 without; loadtests/README.md), for nothing. The documents still carry those fields
    # for scoring and display.
    "searchableAttributes": [],
    "prefixSearch": "disabled",
    "filterableAttributes": list(WORKER_FILTER_ATTRIBUTES),
    "sortableAttributes": ["updated_at", "experience_years", "expected_wage_monthly", "available_from"],
    "rankingRules": [
        "words",
        "typo",
        "proximity",
        "attribute",
        "sort",
        "exactness",
        "updated_at:desc",
    ],
}


def _with_catalogue(base: dict[str, Any], catalogue: Catalogue, regions: RegionDirectory) -> dict[str, Any]:
    settings = copy.deepcopy(base)
    # Aliases ↔ names (焊工 finds 电焊工 postings) and trade/county/pay words kept whole by the segmenter.
    settings["synonyms"] = catalogue.meilisearch_synonyms()
    settings["dictionary"] = catalogue.meilisearch_dictionary(regions)
    return settings


def jobs_index_settings(catalogue: Catalogue, regions: RegionDirectory) -> dict[str, Any]:
    return _with_catalogue(JOBS_INDEX_SETTINGS, catalogue, regions)


def workers_index_settings(catalogue: Catalogue, regions: RegionDirectory) -> dict[str, Any]:
    # No synonyms or dictionary: nothing of the workers index is searched by text.
    del catalogue, regions
    return copy.deepcopy(WORKERS_INDEX_SETTINGS)
