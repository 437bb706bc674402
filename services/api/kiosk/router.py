"""`GET /v1/kiosk/search` and `GET /v1/kiosk/suggest` (kiosk keys)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from services.api.auth.caller import KIOSK_SECURITY, KioskRequest, kiosk_request
from services.api.kiosk import service
from services.api.kiosk.schemas import KioskSearchQuery, KioskSearchResponse, KioskSuggestions
from services.api.problems import problem_responses
from services.api.search_index import index_name

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk search"], responses=problem_responses(401, 403, 422, 503))

Kiosk = Annotated[KioskRequest, Depends(kiosk_request)]


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


_SEARCH_FIELDS = KioskSearchQuery.model_fields
_REPEATABLE = frozenset(name for name, info in _SEARCH_FIELDS.items() if "list" in str(info.annotation))


def _search_parameters() -> list[dict[str, Any]]:
    """The OpenAPI entries of the query string, as FastAPI writes them for separate parameters."""
    schema = KioskSearchQuery.model_json_schema()
    parameters = []
    for name, prop in schema["properties"].items():
        entry: dict[str, Any] = {"name": name, "in": "query", "required": False,
                                 "schema": {k: v for k, v in prop.items() if k != "description"}}
        if "description" in prop:
            entry["description"] = prop["description"]
        parameters.append(entry)
    return parameters


def search_query(request: Request) -> KioskSearchQuery:
    """The query string validated in one pydantic call. FastAPI's own per-parameter validation of the same
    eleven parameters cost ≈ 100 µs a request (≈ 5 % of a kiosk search's CPU); this ≈ 25 µs. Same rules
    (KioskSearchQuery), same 422 problem details (each error named by its parameter, as the service's own checks
    name them); unknown parameters are ignored as before, a repeated single-valued one keeps its last value as
    before."""
    query = request.query_params
    data = {name: query.getlist(name) if name in _REPEATABLE else value
            for name, value in query.items() if name in _SEARCH_FIELDS}
    try:
        return KioskSearchQuery.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])}
                                      for e in exc.errors(include_url=False)]) from None


SEARCH_PATH = "/v1/kiosk/search"


@router.get("/search", response_model=KioskSearchResponse,
            openapi_extra={"parameters": _search_parameters(), **KIOSK_SECURITY})
async def kiosk_search(kiosk: Kiosk, request: Request) -> Response:
    """Open, unexpired postings, public fields only. The phrase is interpreted (districts, trades, pay and
    benefit words become filters, homophone mistakes are corrected and reported in `query.corrected`); the
    remaining words are searched with `matchingStrategy: all`, falling back to `last` over the words of two or
    more characters when that finds nothing (a lone character such as 带 is never searched as a fallback).
    Places from `adcode` and from the phrase are combined (any of them). With `near`, hits carry
    `distance_km` and, among equally good hits, the nearer comes first; `radius_km` limits the area
    (geohash cells, coarser for wider radii: a posting outside the radius by up to about a cell may appear,
    with its exact distance — cells of ~5 km up to a radius of ~10 km, of ~20 × 35 km up to ~100 km
    (e.g. 50 km: hits up to ~85 km away), of ~150 km beyond; a radius no cells can hold,
    near the poles, is a 422).
    Repeated searches may be answered from a cache that is checked against the index's version on every
    request (never staler than the index); `Cache-Control: no-cache` skips it."""
    # GET is normally answered by services/api/kiosk/lane.py with the same functions, before the router.
    body = await answer_search(kiosk, search_query(request), request.headers.get("cache-control"))
    return Response(body, media_type="application/json")


async def answer_search(kiosk: KioskRequest, params: KioskSearchQuery, cache_control: str | None) -> bytes:
    """The JSON body of a kiosk search answer (shared by the route and the lane)."""
    resources = kiosk.resources
    ctx = await service.kiosk_context(resources.extensions)
    search_request = service.KioskSearchRequest(
        q=params.q, adcodes=tuple(params.adcode or ()), near=params.near, radius_km=params.radius_km,
        work_type=params.work_type, wage_min=params.wage_min, wage_unit=params.wage_unit,
        start_within_days=params.start_within_days, benefits=tuple(params.benefits or ()), limit=params.limit,
        cursor=params.cursor)
    settings = resources.settings
    http = resources.meili_reader
    no_cache = cache_control is not None and "no-cache" in cache_control.lower()
    index = service.SearchIndex(http=http or resources.search.http_client,
                                uid=index_name(settings.meili_index_prefix, "jobs"),
                                cache=None if no_cache else service.process_cache(resources.extensions),
                                odds=service.process_odds(resources.extensions))
    answer = await service.search(ctx, index, search_request,
                                  cursor_secret=settings.cursor_secret.get_secret_value(),
                                  memo=settings.kiosk_interpretation_memo)
    return orjson.dumps(answer)


@router.get("/suggest", response_model=KioskSuggestions, openapi_extra=KIOSK_SECURITY)
async def kiosk_suggest(
    kiosk: Kiosk,
    q: Annotated[str, Query(min_length=1, max_length=40, description="Characters, pinyin (hangong) or initials "
                                                                     "(hg, jlp)")],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    """Typeahead for trades (names, aliases, codes) and districts, by characters, pinyin and initials."""
    ctx = await service.kiosk_context(kiosk.resources.extensions)
    return _json({"items": service.suggest(ctx, q, limit)})
