"""Kiosk search: an Interpretation plus the kiosk's explicit taps → the Meilisearch search request, and the
post-processing of its hits (exact distance, nearer first among equally good results).

Pure: no I/O. The API layer (services/api/kiosk) validates the request, calls `build_plan`, sends
`search_body(...)` and shapes the answer with `order_hits`.

Choices (measured on this machine, see /work/shared/docs/meilisearch-notes.md):
- Everything the interpreter understood becomes a *filter* (county/city/province, occupation code, work type,
  wage, start date, benefits), escaped through matching.search_filters; only the words it did not understand
  are sent as `q`. Trade words therefore never compete with title words in ranking: 电焊 is the occupation
  filter 6-18-02-04, not a text match that also finds a 钢筋工 posting saying "会电焊优先".
- `matchingStrategy: "all"` whenever q has two or more words (九龙坡 普工 日结 precision 0.07 → 0.93 with
  `all`), falling back to `last` (its words of two or more characters) when `all` finds nothing. The strategy
  that answered travels in the cursor so later pages use the same one.
- Near-me never uses `_geo` (a filterable `_geo` rebuilds the R-tree on every write): a radius is a
  `geo_cells IN [...]` filter over coarse geohash cells (a superset), and the exact distance is computed here.
- Only open, unexpired postings: `status = "open"` and `expires_at` after the next whole minute (rounding up
  hides a posting up to a minute early, never shows one late, and keeps the filter string stable per minute).
"""

from __future__ import annotations

import functools
import html
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from matching.catalogue import WageUnit
from matching.documents import date_int
from matching.facts import DAYS_PER_MONTH, HOURS_PER_DAY
from matching.geo import MAX_SEARCH_CELLS, GeoPoint, distance_km, search_cells
from matching.job_terms import WorkType
from matching.kiosk_query import Interpretation
from matching.regions import RegionDirectory
from matching.search_filters import all_of, all_present, any_of, compare, eq, one_of

# `filters`: the words found nothing even with `last`; the understood filters alone answer (电焊学徒 → the
# welder postings, 学徒 dropped) rather than an empty screen.
Strategy = Literal["all", "last", "filters"]

FACETS: tuple[str, ...] = ("adcode", "work_type", "occupation_code")
# What a kiosk hit shows; the description and anything internal stay in the index.
HIT_ATTRIBUTES: tuple[str, ...] = (
    "id", "title", "occupation_code", "occupation_name", "adcode", "county_name", "wage_min", "wage_max",
    "wage_unit", "work_type", "start_date", "benefits", "headcount", "posted_at", "lat", "lng",
)
HIGHLIGHT_PRE, HIGHLIGHT_POST = "\ue000", "\ue001"  # private-use marks, turned into <em> after escaping
MAX_QUERY_WORDS = 10
MIN_FALLBACK_WORD_CHARS = 2  # shorter words are not searched alone when `all` found nothing (SearchPlan.fallback_q)
_MONTHLY_FACTOR: dict[str, float] = {"month": 1.0, "day": DAYS_PER_MONTH, "hour": DAYS_PER_MONTH * HOURS_PER_DAY}
# A word worth sending to Meilisearch: has a letter, a digit or a Han character (emoji and symbols are not).
_WORDY = re.compile(r"[0-9A-Za-z\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class KioskParams:
    """The kiosk's explicit filters (its buttons), already validated by the API layer."""

    adcodes: tuple[str, ...] = ()  # county, city or province codes known to the region directory
    near: GeoPoint | None = None
    radius_km: float | None = None
    work_type: WorkType | None = None
    wage_min: int | None = None
    wage_unit: WageUnit | None = None
    start_within_days: int | None = None
    benefits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchPlan:
    q: str
    filter: str
    words: int  # how many words q has (decides the strategy)
    has_filters: bool = False  # the phrase or the taps gave filters besides the always-on open/unexpired one

    @property
    def strategy(self) -> Strategy:
        return "all" if self.words >= 2 else "last"

    @property
    def fallback_q(self) -> str:
        """The words the `last` fallback searches: q without its one-character words. Meilisearch's `last`
        drops words from the end down to the first one, and a lone character is no meaning of its own: 带 小孩
        (not in the catalogue) ended as 带 and answered hundreds of postings with 带 somewhere (带班, 带薪)."""
        return " ".join(word for word in self.q.split() if len(word) >= MIN_FALLBACK_WORD_CHARS)

    def text_for(self, strategy: Strategy) -> str:
        """The q sent with `strategy`: a phrase's own single word under `last` is what was asked, as typed;
        `last` as the fallback of `all` searches only `fallback_q`."""
        if strategy == "filters":
            return ""
        if strategy == "last" and self.strategy == "all":
            return self.fallback_q
        return self.q

    def fallbacks(self) -> tuple[Strategy, ...]:
        """What to try, in order, after the first strategy found nothing."""
        steps: list[Strategy] = ["last"] if self.strategy == "all" and self.fallback_q else []
        if self.q and self.has_filters:
            steps.append("filters")
        return tuple(steps)




def clean_text(text: str) -> str:
    """The words left for full-text search: no quotes (phrase search), no leading `-` (negation), no emoji
    or symbols, at most MAX_QUERY_WORDS words."""
    words = []
    for word in unicodedata.normalize("NFKC", text).replace('"', " ").split():
        word = word.lstrip("-")
        if word and _WORDY.search(word):
            words.append(word)
    return " ".join(words[:MAX_QUERY_WORDS])


def resolve_wage_unit(amount: int, unit: WageUnit | None) -> WageUnit:
    """A bare amount: 1000 or more is a monthly wage, less a daily one (the interpreter's rule)."""
    if unit is not None:
        return unit
    return "month" if amount >= 1000 else "day"


def monthly_equivalent(amount: float, unit: WageUnit) -> int | None:
    factor = _MONTHLY_FACTOR.get(unit)
    return None if factor is None else math.floor(amount * factor)


def next_minute_epoch(now: datetime) -> int:
    """`now` rounded up to the next whole minute, as epoch seconds."""
    seconds = math.floor(now.timestamp())
    return seconds - seconds % 60 + 60


def place_filter(adcodes: Sequence[str], regions: RegionDirectory) -> str | None:
    """Counties, cities and provinces as one OR clause (a city or province code covers all its counties; a
    municipality's grouping code, 500100 市辖区 or 500200 县, the counties it groups)."""
    counties: list[str] = []
    cities: list[str] = []
    provinces: list[str] = []
    for code in adcodes:
        region = regions.get(code)
        if region is None:
            counties.extend(regions.county_group(code))  # looked up only for a code that is no region
            continue
        if region.level == "county":
            counties.append(code)
        elif region.level == "city":
            cities.append(code)
        else:
            provinces.append(region.province)
    return one_of(
        any_of("adcode", counties) if counties else None,
        any_of("city_adcode", cities) if cities else None,
        any_of("province", provinces) if provinces else None,
    ) or None


def radius_cells(near: GeoPoint, radius_km: float) -> tuple[str, ...] | None:
    """The cells a kiosk's `near` + `radius_km` filters on (None: this radius cannot be searched here): the
    finest indexed precision that covers the circle in MAX_SEARCH_CELLS cells, so hits overshoot the radius
    by at most about one such cell."""
    return search_cells(near, radius_km, cover_cells=MAX_SEARCH_CELLS)


def build_plan(interpretation: Interpretation, params: KioskParams, regions: RegionDirectory,
               now: datetime, today: date) -> SearchPlan:
    # Places: what the kiosk's district buttons chose and what the phrase named, together (a union: a
    # tapped district and a typed one both count; intersecting them would answer nothing).
    places = [*params.adcodes, *interpretation.adcodes, *interpretation.city_adcodes]
    place = place_filter(places, regions)
    if interpretation.provinces:
        place = one_of(place, any_of("province", list(interpretation.provinces))) or None

    work_type = params.work_type or interpretation.work_type
    benefits = tuple(dict.fromkeys([*params.benefits, *interpretation.benefits]))

    wage = None
    amount = params.wage_min if params.wage_min is not None else interpretation.wage_min
    if amount is not None and amount > 0:
        unit = params.wage_unit if params.wage_min is not None else interpretation.wage_unit
        monthly = monthly_equivalent(amount, resolve_wage_unit(amount, unit))
        if monthly is not None:
            # The posting's best pay reaches what was asked (piece rates have no monthly equivalent: out).
            wage = compare("wage_monthly_max", ">=", monthly)

    start = None
    days = params.start_within_days if params.start_within_days is not None else interpretation.start_within_days
    if days is not None:
        start = compare("start_date", "<=", date_int(today + timedelta(days=days)))

    near = None
    if params.near is not None and params.radius_km is not None:
        cells = radius_cells(params.near, params.radius_km)
        if not cells:  # the API refuses such a radius first (validate); never search without it
            raise ValueError(f"radius {params.radius_km} km around {params.near} cannot be searched by cells")
        near = any_of("geo_cells", cells)

    narrowing = [
        place,
        any_of("occupation_code", list(interpretation.occupation_codes)) if interpretation.occupation_codes else None,
        eq("work_type", work_type) if work_type else None,
        all_present("benefits", benefits) if benefits else None,
        wage,
        start,
        near,
    ]
    filter_text = all_of(eq("status", "open"), compare("expires_at", ">", next_minute_epoch(now)), *narrowing)
    q = clean_text(interpretation.remaining_text)
    return SearchPlan(q=q, filter=filter_text, words=len(q.split()), has_filters=any(narrowing))


def search_body(plan: SearchPlan, *, offset: int, limit: int, strategy: Strategy, facets: bool) -> dict[str, Any]:
    """The JSON body of `POST /indexes/<jobs>/search` (the benchmark sends the same one to Meilisearch)."""
    q = plan.text_for(strategy)
    body: dict[str, Any] = {
        "q": q,
        "filter": plan.filter,
        "offset": offset,
        "limit": limit,
        "matchingStrategy": "last" if strategy == "filters" else strategy,
        "attributesToRetrieve": list(HIT_ATTRIBUTES),
        "showRankingScore": True,
        "locales": ["cmn"],
    }
    if facets:
        body["facets"] = list(FACETS)
    if q:
        body["attributesToHighlight"] = ["title"]
        body["highlightPreTag"] = HIGHLIGHT_PRE
        body["highlightPostTag"] = HIGHLIGHT_POST
    return body


def safe_highlight(formatted: str) -> str:
    """Meilisearch's highlighted title as safe HTML: the text escaped, only our own <em> marks kept."""
    return html.escape(formatted, quote=False).replace(HIGHLIGHT_PRE, "<em>").replace(HIGHLIGHT_POST, "</em>")


@functools.lru_cache(maxsize=4096)
def _iso_date(value: int) -> str:
    # Start dates are a few hundred distinct days: formatting each once per process, not per hit (~1.5 µs).
    return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"


def public_hit(document: Mapping[str, Any], origin: GeoPoint | None, tz: Any) -> dict[str, Any]:
    """A hit as the kiosk API answers it: public fields only.

    `posted_at` is an aware datetime in `tz`, for the caller's JSON encoder to write: orjson writes it as
    RFC 3339, the same text as `isoformat()` (2026-11-26T09:20:00+08:00) in a fifth of the time (20 hits a
    search)."""
    get = document.get
    adcode = document["adcode"]
    posted = get("posted_at")
    hit: dict[str, Any] = {
        "id": document["id"],
        "title": document["title"],
        "occupation_code": get("occupation_code"),
        "occupation_name": get("occupation_name") or None,
        "county": {"adcode": adcode, "name": get("county_name") or adcode},
        "wage": {"min": document["wage_min"], "max": document["wage_max"], "unit": document["wage_unit"]},
        "work_type": document["work_type"],
        "start_date": _iso_date(int(document["start_date"])),
        "benefits": list(get("benefits") or ()),
        "headcount": document["headcount"],
        "posted_at": None if posted is None else datetime.fromtimestamp(posted, tz),
    }
    if origin is not None and document.get("lat") is not None and document.get("lng") is not None:
        hit["distance_km"] = round(distance_km(origin, GeoPoint(document["lat"], document["lng"])), 1)
    formatted = document.get("_formatted")
    if formatted and HIGHLIGHT_PRE in str(formatted.get("title", "")):
        hit["highlight"] = {"title": safe_highlight(str(formatted["title"]))}
    return hit


def order_hits(raw_hits: Sequence[Mapping[str, Any]], origin: GeoPoint | None, tz: Any) -> list[dict[str, Any]]:
    """Public hits in Meilisearch's order, except that among equally good ones (the same ranking score to
    three decimals) the nearer comes first when the kiosk gave its position. Stable otherwise."""
    hits = [public_hit(h, origin, tz) for h in raw_hits]
    if origin is None:
        return hits
    scores = [round(float(h.get("_rankingScore", 0.0)), 3) for h in raw_hits]
    keyed = sorted(range(len(hits)), key=lambda i: (-scores[i], hits[i].get("distance_km", math.inf), i))
    return [hits[i] for i in keyed]
