"""Kiosk search and typeahead: the hot path of the gig-market terminals.

Per request: the interpreter (jieba + catalogue + county names, in memory) turns the phrase into filters,
matching/kiosk_search_query.py builds the Meilisearch request, one POST goes to Meilisearch over the
process's keep-alive client (meili_reader.py: identity encoding, one write per request), and the hits are
shaped from the index alone: no database query besides the API-key check (itself cached for kiosk keys, see
auth/caller.py). The catalogue comes from the per-process CatalogueRuntime (it checks for a newer published
version at most every 2 s) or, before anything is published, the shipped catalogue.

Repeated taps are answered from a per-process cache of Meilisearch answers (`SearchCache`), keyed by the
exact request body (which holds the filter, hence the expiry minute and the start-date day) and the jobs
index's version (`createdAt` + `updatedAt` of `GET /indexes/<uid>`, which Meilisearch moves in the same
write as every document addition, update or deletion). The version is read on every request before the
cache is consulted, so a cached answer is never older than the index it is served for: a posting that
changes is seen exactly when raw Meilisearch would see it. The version read is a cheap round trip; the
search with facets it saves is not. `Cache-Control: no-cache` on the request skips the cache.

Meilisearch's own errors never reach the caller: a missing index is an empty answer, anything else a 503
problem with the details in the log.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
import httpx2
import orjson
import structlog

from matching.catalogue import Catalogue, WageUnit
from matching.geo import GeoPoint, parse_lat_lng
from matching.job_terms import BENEFIT_WORDS, WorkType
from matching.kiosk_query import Interpretation, KioskQueryInterpreter
from matching.kiosk_search_query import (
    FACETS,
    KioskParams,
    SearchPlan,
    Strategy,
    build_plan,
    order_hits,
    radius_cells,
    search_body,
)
from matching.regions import RegionDirectory
from matching.segmentation import Analyzer
from matching.typeahead import Suggestion, Typeahead
from services.api.china_calendar import CHINA_TZ
from services.api.kiosk import cursor as cursors
from services.api.meili_reader import MeiliReader, MeiliReaderError
from services.api.problems import FieldError, InvalidInput, ServiceUnavailable
from services.indexing.catalogue_source import current_catalogue

log = structlog.get_logger("bashu.kiosk")

MAX_WINDOW = 1000  # the jobs index's pagination.maxTotalHits: no page starts beyond it
_CONTEXT_KEY = "kiosk.context"
_CONTEXT_LOCK_KEY = "kiosk.context_lock"
_MAX_INTERPRETATIONS = 20_000


# ------------------------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class KioskContext:
    """What one catalogue version gives the kiosk: built once per version and process, then shared."""

    key: tuple[int, int, int]
    catalogue: Catalogue
    regions: RegionDirectory
    interpreter: KioskQueryInterpreter
    typeahead: Typeahead
    # Phrase → interpretation for this catalogue version (pure: no clock, no state); taps repeat.
    interpretations: dict[str, Interpretation] = field(default_factory=dict)

    def interpret(self, text: str) -> Interpretation:
        found = self.interpretations.get(text)
        if found is None:
            found = self.interpreter.interpret(text)
            if len(self.interpretations) >= _MAX_INTERPRETATIONS:
                self.interpretations.clear()
            self.interpretations[text] = found
        return found


def _build_context(key: tuple[int, int, int], catalogue: Catalogue, regions: RegionDirectory,
                   analyzer: Analyzer, typeahead: Typeahead | None) -> KioskContext:
    return KioskContext(key=key, catalogue=catalogue, regions=regions,
                        interpreter=KioskQueryInterpreter(catalogue, regions, analyzer),
                        typeahead=typeahead if typeahead is not None else Typeahead(catalogue, regions))


async def kiosk_context(extensions: dict[str, Any]) -> KioskContext:
    snapshot = await current_catalogue(extensions)
    key = (snapshot.catalogue.version, id(snapshot.catalogue), id(snapshot.analyzer))
    held: KioskContext | None = extensions.get(_CONTEXT_KEY)
    if held is not None and held.key == key:
        return held
    return await _rebuild_context(extensions, snapshot, key)


async def _rebuild_context(extensions: dict[str, Any], snapshot: Any, key: tuple[int, int, int]) -> KioskContext:
    lock: asyncio.Lock = extensions.setdefault(_CONTEXT_LOCK_KEY, asyncio.Lock())
    async with lock:
        held: KioskContext | None = extensions.get(_CONTEXT_KEY)
        if held is not None and held.key == key:
            return held
        # The runtime's typeahead is for the published catalogue; reuse it when that is the one in use.
        runtime = extensions.get("catalogue")
        typeahead = None
        runtime_snapshot = getattr(runtime, "snapshot", None)
        if runtime_snapshot is not None and runtime_snapshot.catalogue is snapshot.catalogue:
            typeahead = runtime_snapshot.typeahead
        built = await asyncio.to_thread(_build_context, key, snapshot.catalogue, snapshot.regions,
                                        snapshot.analyzer, typeahead)
        extensions[_CONTEXT_KEY] = built
        return built


# ------------------------------------------------------------------------------------------- request


@dataclass(frozen=True, slots=True)
class KioskSearchRequest:
    """The query string of `GET /v1/kiosk/search`, shape-checked by FastAPI; meaning-checked by `validate`."""

    q: str | None = None
    adcodes: tuple[str, ...] = ()
    near: str | None = None
    radius_km: float | None = None
    work_type: WorkType | None = None
    wage_min: int | None = None
    wage_unit: WageUnit | None = None
    start_within_days: int | None = None
    benefits: tuple[str, ...] = ()
    limit: int = 20
    cursor: str | None = None


def _parse_near(text: str) -> GeoPoint:
    point = parse_lat_lng(text)
    if point is None:
        raise InvalidInput("near 无效 / invalid near", errors=[FieldError(
            field="near", message="应为 纬度,经度，例如 29.50,106.45 / expected lat,lng within ±90,±180")])
    return point


def validate(request: KioskSearchRequest, regions: RegionDirectory) -> KioskParams:
    errors: list[FieldError] = []
    for code in request.adcodes:
        if code not in regions and not regions.county_group(code):  # 500100 / 500200: Chongqing's groupings
            errors.append(FieldError(field="adcode", message=f"未知的地区代码 / unknown adcode {code[:12]!r}"))
    benefits: list[str] = []
    for word in request.benefits:
        canonical = BENEFIT_WORDS.get(word.strip())
        if canonical is None:
            errors.append(FieldError(field="benefits", message=f"未知的福利 / unknown benefit {word[:12]!r}"))
        else:
            benefits.extend(canonical)
    near = None
    if request.near is not None:
        try:
            near = _parse_near(request.near)
        except InvalidInput as exc:
            errors.extend(exc.errors or [])
    if request.radius_km is not None and request.near is None:
        errors.append(FieldError(field="radius_km", message="需要同时提供 near / radius_km needs near"))
    elif near is not None and request.radius_km is not None and not radius_cells(near, request.radius_km):
        errors.append(FieldError(field="radius_km", message="此处该半径无法检索，请缩小半径 / this radius cannot be "
                                                          "searched around this point; use a smaller one"))
    if request.wage_unit is not None and request.wage_min is None:
        errors.append(FieldError(field="wage_unit", message="需要同时提供 wage_min / wage_unit needs wage_min"))
    if errors:
        raise InvalidInput(f"{len(errors)} 个参数无效 / {len(errors)} parameter(s) invalid", errors=errors)
    return KioskParams(adcodes=tuple(dict.fromkeys(request.adcodes)), near=near, radius_km=request.radius_km,
                       work_type=request.work_type, wage_min=request.wage_min, wage_unit=request.wage_unit,
                       start_within_days=request.start_within_days, benefits=tuple(dict.fromkeys(benefits)))


def _fingerprint(request: KioskSearchRequest) -> str:
    return cursors.fingerprint([request.q or "", sorted(request.adcodes), request.near, request.radius_km,
                                request.work_type, request.wage_min, request.wage_unit, request.start_within_days,
                                sorted(request.benefits)])


# ------------------------------------------------------------------------------------------- search


class SearchCache:
    """Meilisearch answers by exact request body, each tagged with the index version it was read at.

    Bounded LRU (`max_entries` bodies); an entry answers only for the version it was stored under. Answers
    are shared between requests: `shape` never mutates them. Admission on second sight: a body seen for
    the first time goes straight to Meilisearch without the version read (one-off typed phrases pay
    nothing for the cache); from its second request on it is cached."""

    def __init__(self, max_entries: int = 2048, max_seen: int = 16_384) -> None:
        self.max_entries = max_entries
        self.max_seen = max_seen
        self._entries: OrderedDict[bytes, tuple[str, dict[str, Any]]] = OrderedDict()
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def worth_checking(self, key: bytes) -> bool:
        """Whether this body is cached or was asked before (then read the version); else remember it."""
        if key in self._entries or key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > self.max_seen:
            self._seen.popitem(last=False)
        return False

    def get(self, key: bytes, version: str) -> dict[str, Any] | None:
        found = self._entries.get(key)
        if found is None or found[0] != version:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: bytes, version: str, result: dict[str, Any]) -> None:
        self._entries[key] = (version, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


_CACHE_KEY = "kiosk.search_cache"


def process_cache(extensions: dict[str, Any]) -> SearchCache:
    cache: SearchCache | None = extensions.get(_CACHE_KEY)
    if cache is None:
        cache = extensions[_CACHE_KEY] = SearchCache()
    return cache


class FallbackOdds:
    """How often, lately, the first search of a phrase that has fallbacks came back empty, per number of
    words left for full-text search (1, 2, 3 or more); per process.

    A phrase whose leftover words the postings do not contain (电焊 学徒, 找个工地的活) costs its first search
    and then each fallback, one after the other: up to three Meilisearch searches back to back. While most
    such phrases lately fell back, the whole chain is sent at once (its searches run on both cores side by
    side) and the first answer in the chain's order that finds something is used: the same answer and
    `matching_strategy` as one after the other. When phrases stop falling back, the chain goes back to one
    search at a time, so a first search that finds something does not pay for fallbacks it never needed."""

    def __init__(self, weight: float = 0.1, threshold: float = 0.5) -> None:
        self.weight = weight
        self.threshold = threshold
        self._rates: dict[int, float] = {}
        # Of the `all → last → filters` chains whose `all` came back empty: how often `last` did too.
        self._through_last: dict[int, float] = {}

    def likely_empty(self, plan: SearchPlan) -> bool:
        return self._rates.get(min(plan.words, 3), 0.0) >= self.threshold

    def likely_empty_through_last(self, plan: SearchPlan) -> bool:
        return self._through_last.get(min(plan.words, 3), 0.0) >= self.threshold

    def record(self, plan: SearchPlan, first_was_empty: bool) -> None:
        self._update(self._rates, plan, first_was_empty)

    def record_last(self, plan: SearchPlan, last_was_empty: bool) -> None:
        self._update(self._through_last, plan, last_was_empty)

    def _update(self, rates: dict[int, float], plan: SearchPlan, empty: bool) -> None:
        key = min(plan.words, 3)
        rate = rates.get(key, 0.0)
        rates[key] = rate + self.weight * ((1.0 if empty else 0.0) - rate)


_ODDS_KEY = "kiosk.fallback_odds"


def process_odds(extensions: dict[str, Any]) -> FallbackOdds:
    odds: FallbackOdds | None = extensions.get(_ODDS_KEY)
    if odds is None:
        odds = extensions[_ODDS_KEY] = FallbackOdds()
    return odds


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """Where the jobs index lives: the process's Meilisearch HTTP client and the index uid; with a cache,
    repeated searches are answered from it while the index version is unchanged."""

    http: MeiliReader | httpx2.AsyncClient | httpx.AsyncClient  # the SDK's client is httpx2; tests may pass httpx
    uid: str
    cache: SearchCache | None = None
    odds: FallbackOdds | None = None  # None: fallbacks always one after the other


_UNAVAILABLE = "搜索暂时不可用 / search is temporarily unavailable"


async def _meili(index: SearchIndex, method: str, segments: tuple[str, ...],
                 body: bytes | None) -> tuple[int, bytes]:
    try:
        if isinstance(index.http, MeiliReader):
            return await index.http.request(method, index.http.path(*segments), body)
        response = await index.http.request(method, "/" + "/".join(segments), content=body,
                                            headers={"Content-Type": "application/json"})
        return response.status_code, response.content
    except (MeiliReaderError, httpx2.HTTPError, httpx.HTTPError) as exc:
        log.error("kiosk.search_unreachable", error=type(exc).__name__)
        raise ServiceUnavailable(_UNAVAILABLE) from None


def _error_code(content: bytes) -> Any:
    try:
        return orjson.loads(content).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        return None


async def index_version(index: SearchIndex) -> str | None:
    """The jobs index's version (created and last written), None when the index does not exist yet."""
    status, content = await _meili(index, "GET", ("indexes", index.uid), None)
    if status == 200:
        data = orjson.loads(content)
        return f"{data.get('createdAt')}|{data.get('updatedAt')}"
    code = _error_code(content)
    if code == "index_not_found":
        return None
    log.error("kiosk.index_version_failed", status=status, code=code, body=content[:500].decode(errors="replace"))
    raise ServiceUnavailable(_UNAVAILABLE)


async def _meili_search(index: SearchIndex, body: dict[str, Any]) -> dict[str, Any] | None:
    """Meilisearch's answer, None when the index does not exist yet; ServiceUnavailable otherwise."""
    status, content = await _meili(index, "POST", ("indexes", index.uid, "search"), orjson.dumps(body))
    if status == 200:
        result: dict[str, Any] = orjson.loads(content)
        return result
    code = _error_code(content)
    if code == "index_not_found":
        return None
    # Our own request was refused: a bug, logged with Meilisearch's message, answered without it.
    log.error("kiosk.search_failed", status=status, code=code, body=content[:500].decode(errors="replace"))
    raise ServiceUnavailable(_UNAVAILABLE)


def interpretation_dict(interpretation: Interpretation) -> dict[str, Any]:
    data = interpretation.as_dict()
    if interpretation.corrections:
        data["corrections"] = [{"from": c.original, "to": c.corrected} for c in interpretation.corrections]
    return data


async def search(ctx: KioskContext, index: SearchIndex, request: KioskSearchRequest, *, cursor_secret: str,
                 now: datetime | None = None, memo: bool = True) -> dict[str, Any]:
    """One kiosk search; `memo=False` interprets the phrase afresh instead of taking the context's memo."""
    started = time.perf_counter()
    params = validate(request, ctx.regions)
    search_fingerprint = _fingerprint(request)
    position = cursors.decode(cursor_secret, request.cursor, search_fingerprint) if request.cursor else None
    moment = now or datetime.now(CHINA_TZ)
    today: date = moment.astimezone(CHINA_TZ).date()
    interpretation = ctx.interpret(request.q or "") if memo else ctx.interpreter.interpret(request.q or "")
    plan = build_plan(interpretation, params, ctx.regions, moment, today)

    offset = position.offset if position else 0
    limit = max(0, min(request.limit, MAX_WINDOW - offset))
    first_page = position is None
    strategy: Strategy = position.strategy if position else plan.strategy
    version: str | None = None
    if index.cache is not None and limit > 0 and index.cache.worth_checking(
            orjson.dumps(search_body(plan, offset=offset, limit=limit, strategy=strategy, facets=first_page))):
        # Read before any search: an answer is cached under the version that was current before it was
        # computed, so a later write always moves the version past it. No index yet: no caching.
        version = await index_version(index)
    # `all` found nothing: every word was required; let Meilisearch drop words from the end, and when the
    # words still find nothing, answer with what the understood filters find.
    chain = (strategy, *plan.fallbacks()) if first_page else (strategy,)
    if len(chain) > 1 and index.odds is not None and index.odds.likely_empty(plan):
        result, strategy, first_empty = await _run_chain_at_once(index, plan, offset, limit, chain, version)
    else:
        result = await _run(index, plan, offset, limit, strategy, first_page, version)
        first_empty = None if result is None else not result.get("hits")
        if first_empty:
            for strategy in chain[1:]:
                result = await _run(index, plan, offset, limit, strategy, first_page, version)
                if strategy == "last" and result is not None and len(chain) == 3 and index.odds is not None:
                    index.odds.record_last(plan, not result.get("hits"))
                if result is None or result.get("hits"):
                    break
    if len(chain) > 1 and index.odds is not None and first_empty is not None:
        index.odds.record(plan, first_empty)
    answer = shape(result, plan, interpretation, params, offset, limit, strategy, first_page,
                   cursor_secret=cursor_secret, search_fingerprint=search_fingerprint)
    answer["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return answer


async def _run_chain_at_once(index: SearchIndex, plan: SearchPlan, offset: int, limit: int,
                             chain: tuple[Strategy, ...], version: str | None,
                             ) -> tuple[dict[str, Any] | None, Strategy, bool | None]:
    """The chain's strategies sent together; the answer the one-after-the-other loop would have stopped at
    (the first that finds something, no index, or the last one), its strategy, and whether the first search
    came back empty (None: no index). An error counts only if that loop would have met it.

    `all → last → filters` sends `last` and `filters` only: whatever `all` finds, `last` finds too
    (Meilisearch's `last` starts with the documents matching every word and only then drops words), so an
    empty `last` means an empty `all`, and the filters answer. Only when `last` finds something is `all`
    asked (after it): two searches instead of three for the phrases these odds expect to fall back."""
    if chain == ("all", "last", "filters") and index.odds is not None and index.odds.likely_empty_through_last(plan):
        last, filters = await asyncio.gather(*(_run(index, plan, offset, limit, step, True, version)
                                               for step in chain[1:]), return_exceptions=True)
        if not isinstance(last, BaseException) and last is not None:
            index.odds.record_last(plan, not last.get("hits"))
            if not last.get("hits"):
                if isinstance(filters, BaseException):
                    raise filters
                return filters, "filters", True
            found = await _run(index, plan, offset, limit, "all", True, version)
            if found is None or found.get("hits"):
                return found, "all", None if found is None else False
            return last, "last", True
        # No index or an error on `last`: what the loop would have met, asked in its order.
        outcomes: list[dict[str, Any] | BaseException | None] = [
            *await asyncio.gather(_run(index, plan, offset, limit, "all", True, version), return_exceptions=True),
            last, filters]
    else:
        outcomes = list(await asyncio.gather(*(_run(index, plan, offset, limit, step, True, version)
                                               for step in chain), return_exceptions=True))
    first = outcomes[0]
    first_empty = None if isinstance(first, BaseException) or first is None else not first.get("hits")
    if chain == ("all", "last", "filters") and first_empty and index.odds is not None:
        second = outcomes[1]
        if not isinstance(second, BaseException) and second is not None:
            index.odds.record_last(plan, not second.get("hits"))
    for step, outcome in zip(chain, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None or outcome.get("hits") or step == chain[-1]:
            return outcome, step, first_empty
    raise AssertionError("unreachable: the chain's last step always answers")


async def _run(index: SearchIndex, plan: SearchPlan, offset: int, limit: int, strategy: Strategy,
               facets: bool, version: str | None) -> dict[str, Any] | None:
    if limit <= 0:
        return {"hits": [], "estimatedTotalHits": 0}
    body = search_body(plan, offset=offset, limit=limit, strategy=strategy, facets=facets)
    if index.cache is None or version is None:
        return await _meili_search(index, body)
    key = orjson.dumps(body)
    cached = index.cache.get(key, version)
    if cached is not None:
        return cached
    result = await _meili_search(index, body)
    if result is not None:
        index.cache.put(key, version, result)
    return result


def shape(result: dict[str, Any] | None, plan: SearchPlan, interpretation: Interpretation, params: KioskParams,
          offset: int, limit: int, strategy: Strategy, first_page: bool, *, cursor_secret: str,
          search_fingerprint: str) -> dict[str, Any]:
    result = result or {"hits": [], "estimatedTotalHits": 0}
    raw_hits: list[dict[str, Any]] = result.get("hits", [])
    total = int(result.get("estimatedTotalHits", result.get("totalHits", 0)) or 0)
    distribution = result.get("facetDistribution") or {}
    facets = {name: dict(distribution.get(name) or {}) for name in FACETS}
    end = offset + len(raw_hits)
    next_cursor = None
    if raw_hits and len(raw_hits) == limit and end < min(total, MAX_WINDOW):
        next_cursor = cursors.encode(cursor_secret, cursors.KioskCursor(end, strategy), search_fingerprint)
    query: dict[str, Any] = {"interpreted": interpretation_dict(interpretation), "text": plan.q,
                             "matching_strategy": strategy}
    if interpretation.corrected is not None:
        query["corrected"] = interpretation.corrected
    return {
        "hits": order_hits(raw_hits, params.near, CHINA_TZ),
        "total": total,
        "facets": facets if first_page else {name: {} for name in FACETS},
        "query": query,
        "next_cursor": next_cursor,
    }


# ------------------------------------------------------------------------------------------- suggest


SUGGEST_KINDS = ("occupation", "region")


def suggestion_dict(s: Suggestion) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": s.kind, "text": s.label, "code": s.code, "matched": s.matched}
    if s.kind == "occupation":
        item["occupation_code"] = s.code
        item["shortage_level"] = s.shortage_level
    else:
        item["adcode"] = s.code
    return item


def suggest(ctx: KioskContext, q: str, limit: int, kinds: Sequence[str] = SUGGEST_KINDS) -> list[dict[str, Any]]:
    wanted = tuple(k for k in SUGGEST_KINDS if k in kinds)
    return [suggestion_dict(s) for s in ctx.typeahead.suggest(q, limit=limit, kinds=wanted)]  # type: ignore[arg-type]
