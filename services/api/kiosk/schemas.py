"""Response shapes of kiosk search and typeahead (for the OpenAPI document; the hot path serialises with
orjson directly and tests check that answers validate against these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class KioskSearchQuery(BaseModel):
    """The query string of `GET /v1/kiosk/search`, validated in one call by the router (`search_query`)
    rather than parameter by parameter by FastAPI; the router writes its OpenAPI entries from this model."""

    q: str | None = Field(default=None, max_length=200, description=(
        "Free text: any mix of trade, district and pay words (九龙坡 电焊 日结 包住)"))
    adcode: list[str] | None = Field(default=None, max_length=20, description=(
        "County, city or province code (repeatable; any of them). Chongqing has no city level: 500000 is all of "
        "it, and GB/T 2260's 500100 (市辖区) and 500200 (县) are its districts and its counties"))
    near: str | None = Field(default=None, max_length=64, description="lat,lng of the kiosk or the user")
    # allow_inf_nan=False: NaN compares false with every bound and would be refused as "≤ 300".
    radius_km: float | None = Field(default=None, gt=0, le=300, allow_inf_nan=False, description=(
        "Only postings within about this distance of `near`"))
    work_type: Literal["full_time", "seasonal", "gig", "daily"] | None = None
    wage_min: int | None = Field(default=None, ge=0, le=1_000_000, description=(
        "Lowest pay wanted, per `wage_unit` (default: month from 1000 up, else day)"))
    wage_unit: Literal["hour", "day", "month"] | None = None
    start_within_days: int | None = Field(default=None, ge=0, le=365)
    benefits: list[str] | None = Field(default=None, max_length=10, description="包吃, 包住, 社保 … (all of them)")
    limit: int = Field(default=20, ge=1, le=100, description="Hits per page (default 20, max 100; more is a 422)")
    cursor: str | None = Field(default=None, max_length=512, description="`next_cursor` of the previous page")


class County(BaseModel):
    adcode: str
    name: str


class HitWage(BaseModel):
    min: float
    max: float
    unit: Literal["hour", "day", "month", "piece"]


class KioskHit(BaseModel):
    id: str
    title: str
    occupation_code: str | None
    occupation_name: str | None
    county: County
    wage: HitWage
    work_type: Literal["full_time", "seasonal", "gig", "daily"]
    start_date: str = Field(description="ISO 8601 date")
    benefits: list[str]
    distance_km: float | None = Field(default=None, description="From `near`, when given (exact, computed here)")
    headcount: int = Field(description="Places still open")
    posted_at: str | None = Field(description="RFC 3339")
    highlight: dict[str, str] | None = Field(
        default=None, description="`title` with the matched words in <em>…</em>; the rest HTML-escaped")


class Facets(BaseModel):
    adcode: dict[str, int]
    work_type: dict[str, int]
    occupation_code: dict[str, int]


class KioskQuery(BaseModel):
    corrected: str | None = Field(default=None, description="The phrase after homophone correction, when corrected")
    interpreted: dict[str, Any] = Field(description="adcodes, city_adcodes, provinces, occupation_codes, work_type, "
                                                    "benefits, wage_min, wage_unit, start_within_days, "
                                                    "remaining_text (and corrections: [{from, to}])")
    text: str = Field(description="The words sent to full-text search")
    matching_strategy: Literal["all", "last", "filters"] = Field(
        description="`filters`: the words found nothing, the understood filters alone answered")


class KioskSearchResponse(BaseModel):
    hits: list[KioskHit]
    total: int = Field(description="Estimated number of matching postings")
    facets: Facets = Field(description="Counts for the filter buttons (first page only; empty on later pages)")
    query: KioskQuery
    next_cursor: str | None
    took_ms: float


class KioskSuggestion(BaseModel):
    kind: Literal["occupation", "region"]
    text: str
    code: str
    matched: str
    occupation_code: str | None = None
    shortage_level: int | None = None
    adcode: str | None = None


class KioskSuggestions(BaseModel):
    items: list[KioskSuggestion]
