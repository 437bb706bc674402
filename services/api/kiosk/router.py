"""`GET /v1/kiosk/search` and `GET /v1/kiosk/suggest` (kiosk keys)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response

from services.api.auth.caller import Caller, require_roles
from services.api.kiosk import service
from services.api.kiosk.schemas import KioskSearchResponse, KioskSuggestions
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources
from services.api.search_index import index_name

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk search"], responses=problem_responses(401, 403, 422, 503))

KioskCaller = Annotated[Caller, require_roles("kiosk")]
# An async dependency: a plain `def` one (get_resources) is run in the thread pool on every request.
ResourcesDep = Annotated[Resources, Depends(get_resources)]


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/search", response_model=KioskSearchResponse)
async def kiosk_search(
    _caller: KioskCaller,
    resources: ResourcesDep,
    q: Annotated[str | None, Query(max_length=200, description="Free text: any mix of trade, district and pay "
                                                                "words (九龙坡 电焊 日结 包住)")] = None,
    adcode: Annotated[list[str] | None, Query(max_length=20, description="County, city or province code "
                                                                         "(repeatable; any of them)")] = None,
    near: Annotated[str | None, Query(max_length=64, description="lat,lng of the kiosk or the user")] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=300, description="Only postings within about this "
                                                                       "distance of `near`")] = None,
    work_type: Literal["full_time", "seasonal", "gig", "daily"] | None = None,
    wage_min: Annotated[int | None, Query(ge=0, le=1_000_000, description=(
        "Lowest pay wanted, per `wage_unit` (default: month from 1000 up, else day)"))] = None,
    wage_unit: Literal["hour", "day", "month"] | None = None,
    start_within_days: Annotated[int | None, Query(ge=0, le=365)] = None,
    benefits: Annotated[list[str] | None, Query(max_length=10, description="包吃, 包住, 社保 … (all of them)")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Hits per page (default 20, max 100; more is a 422)")] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")] = None,
    cache_control: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Open, unexpired postings, public fields only. The phrase is interpreted (districts, trades, pay and
    benefit words become filters, homophone mistakes are corrected and reported in `query.corrected`); the
    remaining words are searched with `matchingStrategy: all`, falling back to `last` when that finds
    nothing. Places from `adcode` and from the phrase are combined (any of them). With `near`, hits carry
    `distance_km` and, among equally good hits, the nearer comes first; `radius_km` limits the area
    (coarse geohash cells: a posting just outside the radius may appear, with its exact distance).
    Repeated searches may be answered from a cache that is checked against the index's version on every
    request (never staler than the index); `Cache-Control: no-cache` skips it."""
    ctx = await service.kiosk_context(resources.extensions)
    request = service.KioskSearchRequest(
        q=q, adcodes=tuple(adcode or ()), near=near, radius_km=radius_km, work_type=work_type, wage_min=wage_min,
        wage_unit=wage_unit, start_within_days=start_within_days, benefits=tuple(benefits or ()), limit=limit,
        cursor=cursor)
    settings = resources.settings
    http = resources.meili_reader
    no_cache = cache_control is not None and "no-cache" in cache_control.lower()
    index = service.SearchIndex(http=http or resources.search.http_client,
                                uid=index_name(settings.meili_index_prefix, "jobs"),
                                cache=None if no_cache else service.process_cache(resources.extensions),
                                odds=service.process_odds(resources.extensions))
    answer = await service.search(ctx, index, request,
                                  cursor_secret=resources.settings.cursor_secret.get_secret_value())
    return _json(answer)


@router.get("/suggest", response_model=KioskSuggestions)
async def kiosk_suggest(
    _caller: KioskCaller,
    resources: ResourcesDep,
    q: Annotated[str, Query(min_length=1, max_length=40, description="Characters, pinyin (hangong) or initials "
                                                                     "(hg, jlp)")],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    """Typeahead for trades (names, aliases, codes) and districts, by characters, pinyin and initials."""
    ctx = await service.kiosk_context(resources.extensions)
    return _json({"items": service.suggest(ctx, q, limit)})
