"""Two-way ranked matches: candidates from Meilisearch under the hard filters, scored here.

job → workers (the owning enterprise) and worker → jobs (the owning broker):
1. the source object's facts from PostgreSQL, through its domain's repository (services/api/jobs,
   services/api/worker_profiles) and the indexer's row → facts functions;
2. four searches of the other side's index, sent at the same time and disjoint (no candidate fetched twice),
   each under the hard filter of matching/scoring.py (status, consent, availability overlap, required
   certificates, age range, place: same county, commute, desired regions or relocation): the exact trade
   near the source (its own county and those within NEAR_KM, up to NEAR_CANDIDATES) and elsewhere (up to
   EXACT_CANDIDATES), the rest of the small group near (NEAR_GROUP_CANDIDATES) and elsewhere
   (GROUP_CANDIDATES); within each, Meilisearch's order (freshest profile or posting first);
3. the candidates' documents back to facts (matching/document_facts.py: no database read per candidate),
   the exact predicate `hard_filter_violations` (geohash cells are a superset), the score
   (`matching.scoring.score_value`, the job's catalogue look-ups done once), sorted by score, then distance,
   then id; the reasons (`score_prepared`, the same numbers) only for the matches returned;
4. for the API, the kept candidates checked against their rows (one query): the index lags PostgreSQL, and a
   withdrawal of consent, an erasure or a closure counts from its commit, not from its indexing.

Why the place splits the searches: Meilisearch can only hand candidates over freshest first (`_geo` is neither
filterable nor sortable: it rebuilds the geo tree on every write), but freshness weighs 0.07 of the score and
distance 0.15. One freshest-first search per trade fetched 100 of the thousands of same-trade workers a busy county
has at 500k profiles, mostly far ones, and missed the best matches: the ones next door. Within NEAR_KM the distance
factor still spans 1 → 0.31 (0.10 of the score), more than freshness makes up, so the near tiers are searched
apart; beyond it, being closer gains at most 0.15 × 0.31 ≈ 0.05, below the freshness weight that orders the far
tiers. The small group is split the same way because a worker of the small group in the job's county (0.6 × 0.35 +
0.15) outscores an exact one far away, and sharing one near search, each crowds the other out in busy places. A
larger radius found fewer of the true top matches, not more: at 60 or 80 km the near tier has more members than it
fetches in busy places, and fresher ones of the ring push out the job's own county. The near tiers name counties
(`current_adcode`, `adcode`), not geohash cells: a worker's distance is measured from their county's point, so the
counties within NEAR_KM are exactly the workers within it (a posting's own location is only approximated by its
county's).

Workers appear masked to enterprises: the workers index holds no personal data, and `masked_worker` picks
public fields only from it (trade, skills, certificates, counties, an age band — never a name, ID number,
phone, gender or birth date).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import httpx
import httpx2
import orjson
import structlog

from matching.catalogue import Catalogue
from matching.document_facts import int_date, job_facts_from_document, worker_facts_from_document
from matching.facts import JobFacts, WorkerFacts
from matching.geo import GeoPoint
from matching.kiosk_search_query import next_minute_epoch
from matching.regions import RegionDirectory
from matching.scoring import (
    Match,
    PreparedJob,
    hard_filter_violations,
    job_candidate_filter,
    prepare_job,
    score_prepared,
    score_value,
    worker_candidate_filter,
)
from matching.search_filters import all_of, any_of, compare, none_of
from services.api.china_calendar import CHINA_TZ
from services.api.jobs import repository as jobs_repository
from services.api.meili_reader import MeiliReader, MeiliReaderError
from services.api.problems import NotFound, ServiceUnavailable
from services.api.worker_profiles import repository as workers_repository
from services.indexing.documents import job_facts, worker_facts

log = structlog.get_logger("bashu.matches")

# Candidates fetched per query. Measured at 500k workers (loadtests/README.md): Meilisearch's time grows with
# the documents it returns and each candidate costs JSON decoding, facts and scoring here, while an answer
# shows 20 by default (100 at most). The near tiers take most of them since the best scores are there (module
# docstring): 150 + 50 + 50 + 25 replaced 100 of the exact trade + 50 of the small group, which returned 79 %
# of the true top 20 over 60k generated workers and 34 % of the top 10 over 250k with every limit halved
# (the crowding of 500k); these tiers 97 % and 98 % (every same-group worker scored to find the true top).
# With 100 near ones, 94 % of the latter: in busy places the ring's fresher workers crowded out the county's.
NEAR_CANDIDATES = 150
NEAR_GROUP_CANDIDATES = 50
EXACT_CANDIDATES = 50
GROUP_CANDIDATES = 25
NEAR_KM = 50.0

WORKER_ATTRIBUTES: tuple[str, ...] = (
    "id", "occupation_codes", "occupation_names", "skills", "certificates", "labour_brand", "experience_years",
    "home_adcode", "current_adcode", "county_name", "desired_adcodes", "willing_to_relocate", "max_commute_km",
    "expected_wage_min", "expected_wage_unit", "work_types", "available_from", "available_until", "age",
    "status", "share_with_enterprises", "updated_at", "broker_org_id",
)
JOB_ATTRIBUTES: tuple[str, ...] = (
    "id", "title", "occupation_code", "occupation_name", "adcode", "county_name", "lat", "lng", "wage_min",
    "wage_max", "wage_unit", "work_type", "start_date", "end_date", "benefits", "required_certificates",
    "age_min", "age_max", "status", "posted_at", "updated_at", "expires_at", "headcount", "org_id",
)


@dataclass(frozen=True, slots=True)
class MatchEnv:
    """What matching needs from the process: the catalogue in use and the Meilisearch HTTP client."""

    catalogue: Catalogue
    regions: RegionDirectory
    http: MeiliReader | httpx2.AsyncClient | httpx.AsyncClient
    prefix: str


def china_now() -> datetime:
    return datetime.now(CHINA_TZ)


# ------------------------------------------------------------------------------------------- search


_UNAVAILABLE = "匹配暂时不可用 / matching is temporarily unavailable"


async def _search(env: MatchEnv, uid: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    body = orjson.dumps(query)
    try:
        if isinstance(env.http, MeiliReader):
            status, content = await env.http.request("POST", env.http.path("indexes", uid, "search"), body)
        else:
            response = await env.http.post(f"/indexes/{uid}/search", content=body,
                                           headers={"Content-Type": "application/json"})
            status, content = response.status_code, response.content
    except (MeiliReaderError, httpx2.HTTPError, httpx.HTTPError) as exc:
        log.error("matches.search_unreachable", error=type(exc).__name__)
        raise ServiceUnavailable(_UNAVAILABLE) from None
    if status == 200:
        return list(orjson.loads(content).get("hits", []))
    try:
        code = orjson.loads(content).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        code = None
    if code == "index_not_found":
        return []
    log.error("matches.search_failed", status=status, code=code, body=content[:500].decode(errors="replace"))
    raise ServiceUnavailable(_UNAVAILABLE)


async def _candidates(env: MatchEnv, uid: str, base_filter: str, trade_field: str, codes: Sequence[str],
                      place_field: str, near: Sequence[str], attributes: Sequence[str]) -> list[dict[str, Any]]:
    """Up to four disjoint searches sent at the same time, which Meilisearch answers in parallel (about the
    slowest one instead of their sum in one multi-search): the exact trade near (`near`: counties held in
    `place_field`, the county distance is measured from) and elsewhere, the rest of the small group (the base
    filter holds it) near and elsewhere; within each, Meilisearch's order (freshest first)."""
    common = {"q": "", "attributesToRetrieve": list(attributes)}
    here, elsewhere = (any_of(place_field, near), none_of(place_field, near)) if near else (None, None)
    tiers: list[tuple[str | None, str | None, int]] = []  # (trade clause, place clause, limit)
    if codes:
        exact, rest = any_of(trade_field, codes), none_of(trade_field, codes)
        if near:
            tiers += [(exact, here, NEAR_CANDIDATES), (rest, here, NEAR_GROUP_CANDIDATES)]
        tiers += [(exact, elsewhere, EXACT_CANDIDATES), (rest, elsewhere, GROUP_CANDIDATES)]
    else:  # no trade to tell apart: the place alone
        if near:
            tiers.append((None, here, NEAR_CANDIDATES))
        tiers.append((None, elsewhere, EXACT_CANDIDATES))
    # Disjoint filters, but two searches may read either side of an index write (a worker who moved county):
    # still one candidate per id.
    found = await asyncio.gather(*(_search(env, uid, {**common, "filter": all_of(base_filter, trade, place),
                                                      "limit": limit})
                                   for trade, place, limit in tiers))
    return _unique(list(found))


def _near_counties(point: GeoPoint | None, own: str, regions: RegionDirectory) -> list[str]:
    """The counties of the near tier: the pair's own county (distance factor 1 whatever the kilometres) and
    those whose point lies within NEAR_KM."""
    return list(dict.fromkeys([own, *(regions.counties_within(point, NEAR_KM) if point is not None else ())]))


def _unique(groups: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for hits in groups:
        for hit in hits:
            seen.setdefault(str(hit["id"]), hit)
    return list(seen.values())


# ------------------------------------------------------------------------------------------- ranking


@dataclass(frozen=True, slots=True)
class Ranked:
    document: dict[str, Any]
    match: Match


@dataclass(frozen=True, slots=True)
class _Candidate:
    document: dict[str, Any]
    job: PreparedJob
    worker: WorkerFacts
    score: float
    distance_km: float | None


# Of the candidates' ids, the ones whose row still allows showing them (None: the index is taken as it is).
StillShown = Callable[[list[UUID]], Awaitable[Collection[UUID]]]


async def _ranked(candidates: list[_Candidate], env: MatchEnv, limit: int, min_score: float,
                  still_shown: StillShown | None = None) -> list[Ranked]:
    """Best first (score, then distance, then id); reasons are worked out only for the ones returned.

    The indexes follow PostgreSQL through the outbox, seconds (minutes behind an import) later, so a document
    may still show a person who withdrew consent or was erased, or a posting that was closed: `still_shown`
    checks the kept candidates against their rows (one query over at most the four tiers' ids) before the cut."""
    kept = [c for c in candidates if c.score >= min_score]
    if still_shown is not None and kept:
        live = await still_shown([UUID(str(c.document["id"])) for c in kept])
        kept = [c for c in kept if UUID(str(c.document["id"])) in live]
    kept.sort(key=lambda c: (-c.score, c.distance_km if c.distance_km is not None else math.inf,
                             str(c.document["id"])))
    return [Ranked(c.document, score_prepared(c.job, c.worker, env.catalogue, env.regions)) for c in kept[:limit]]


async def rank_workers_for_job(env: MatchEnv, job: JobFacts, today: date, *, limit: int, min_score: float,
                               unlicensed_brokers: Sequence[UUID] = (),
                               still_shown: StillShown | None = None) -> list[Ranked]:
    """`unlicensed_brokers` (`brokers_unlicensed_on`): brokers whose profiles are not offered to enterprises."""
    if job.status != "open":
        return []
    base = worker_candidate_filter(job, env.regions, today)
    if unlicensed_brokers:
        base = all_of(base, none_of("broker_org_id", [str(b) for b in unlicensed_brokers]))
    codes = [env.catalogue.resolve(job.occupation_code)] if job.occupation_code else []
    prepared = prepare_job(job, env.catalogue, env.regions, today)  # once for all its candidates
    near = _near_counties(prepared.point, job.adcode, env.regions)
    candidates = []
    for document in await _candidates(env, f"{env.prefix}_workers", base, "occupation_codes", codes,
                                      "current_adcode", near, WORKER_ATTRIBUTES):
        worker = worker_facts_from_document(document)
        if hard_filter_violations(job, worker, env.regions, today):
            continue
        value, distance = score_value(prepared, worker, env.catalogue, env.regions)
        candidates.append(_Candidate(document, prepared, worker, value, distance))
    return await _ranked(candidates, env, limit, min_score, still_shown)


async def rank_jobs_for_worker(env: MatchEnv, worker: WorkerFacts, today: date, now: datetime, *, limit: int,
                               min_score: float, still_shown: StillShown | None = None) -> list[Ranked]:
    if worker.status != "available":
        return []
    base = all_of(job_candidate_filter(worker, env.regions, today),
                  compare("expires_at", ">", next_minute_epoch(now)))
    codes = sorted({env.catalogue.resolve(c) for c in worker.occupation_codes})
    where = env.regions.get(worker.location_adcode)
    near = _near_counties(GeoPoint(where.lat, where.lng) if where else None, worker.location_adcode, env.regions)
    candidates = []
    for document in await _candidates(env, f"{env.prefix}_jobs", base, "occupation_code", codes, "adcode", near,
                                      JOB_ATTRIBUTES):
        job = job_facts_from_document(document)
        # Consent is about showing the worker to enterprises; the broker looking for jobs for their own
        # worker is not that, so `no_consent` does not hide jobs here.
        if set(hard_filter_violations(job, worker, env.regions, today)) - {"no_consent"}:
            continue
        prepared = prepare_job(job, env.catalogue, env.regions, today)
        value, distance = score_value(prepared, worker, env.catalogue, env.regions)
        candidates.append(_Candidate(document, prepared, worker, value, distance))
    return await _ranked(candidates, env, limit, min_score, still_shown)


# ------------------------------------------------------------------------------------------- shaping


def _iso(value: int | None) -> str | None:
    day = int_date(value)
    return day.isoformat() if day else None


def _place(adcode: str, regions: RegionDirectory) -> dict[str, str]:
    region = regions.get(adcode)
    return {"adcode": adcode, "name": region.name if region else adcode}


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    low = age // 10 * 10
    return f"{low}–{low + 9}"


def masked_worker(document: Mapping[str, Any], catalogue: Catalogue, regions: RegionDirectory) -> dict[str, Any]:
    """Public fields of a worker for an enterprise; built from the index document, which has no personal data."""
    codes = list(document.get("occupation_codes") or ())
    home = document["home_adcode"]
    wage = None
    if document.get("expected_wage_min") is not None and document.get("expected_wage_unit"):
        wage = {"min": document["expected_wage_min"], "unit": document["expected_wage_unit"]}
    return {
        "id": str(document["id"]),
        "occupations": [{"code": c, "name": (e.name if (e := catalogue.by_code(c)) else None)} for c in codes],
        "skills": list(document.get("skills") or ()),
        "certificates": list(document.get("certificates") or ()),
        "labour_brand": document.get("labour_brand"),
        "experience_years": document.get("experience_years"),
        "age_band": age_band(document.get("age")),
        "home_county": _place(home, regions),
        "current_county": _place(document.get("current_adcode") or home, regions),
        "willing_to_relocate": bool(document.get("willing_to_relocate")),
        "work_types": list(document.get("work_types") or ()),
        "available_from": _iso(document.get("available_from")),
        "available_until": _iso(document.get("available_until")),
        "expected_wage": wage,
    }


def public_job(document: Mapping[str, Any], regions: RegionDirectory) -> dict[str, Any]:
    posted = document.get("posted_at")
    return {
        "id": str(document["id"]),
        "title": document["title"],
        "occupation_code": document.get("occupation_code"),
        "occupation_name": document.get("occupation_name") or None,
        "county": _place(document["adcode"], regions),
        "wage": {"min": document["wage_min"], "max": document["wage_max"], "unit": document["wage_unit"]},
        "work_type": document["work_type"],
        "start_date": _iso(document.get("start_date")),
        "end_date": _iso(document.get("end_date")),
        "benefits": list(document.get("benefits") or ()),
        "required_certificates": list(document.get("required_certificates") or ()),
        "headcount": document.get("headcount", 0),
        "posted_at": datetime.fromtimestamp(posted, CHINA_TZ).isoformat() if posted is not None else None,
    }


def match_item(kind: Literal["worker", "job"], ranked: Ranked, env: MatchEnv) -> dict[str, Any]:
    subject = (masked_worker(ranked.document, env.catalogue, env.regions) if kind == "worker"
               else public_job(ranked.document, env.regions))
    match = ranked.match
    return {
        kind: subject,
        "score": match.score,
        "reasons": [{"code": r.code, "text": r.text, "weight": r.weight} for r in match.reasons],
        "distance_km": match.distance_km,
        "transfer": match.transfer,
        "cross_province": match.cross_province,
    }


# ------------------------------------------------------------------------------------------- endpoints


def _job_not_found() -> NotFound:
    return NotFound("没有此岗位 / no such job posting")


def _worker_not_found() -> NotFound:
    return NotFound("没有此求职者 / no such worker profile")


async def load_job(conn: asyncpg.Connection, job_id: UUID) -> asyncpg.Record | None:
    rows = await jobs_repository.get_many(conn, [job_id])
    return rows[0] if rows else None


async def load_worker(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    rows = await workers_repository.get_many(conn, [worker_id])
    return rows[0] if rows else None


async def matches_for_job(conn: asyncpg.Connection, env: MatchEnv, org_id: UUID, job_id: UUID, *, limit: int,
                          min_score: float, now: datetime | None = None) -> dict[str, Any]:
    record = await load_job(conn, job_id)
    if record is None or record["org_id"] != org_id:
        raise _job_not_found()  # another organisation's posting is answered like a missing one
    today = (now or china_now()).astimezone(CHINA_TZ).date()
    ranked = await rank_workers_for_job(
        env, job_facts(record), today, limit=limit, min_score=min_score,
        unlicensed_brokers=await workers_repository.brokers_unlicensed_on(conn, today),
        still_shown=lambda ids: workers_repository.shown_to_enterprises(conn, ids))
    return {"items": [match_item("worker", r, env) for r in ranked], "next_cursor": None}


async def matches_for_worker(conn: asyncpg.Connection, env: MatchEnv, org_id: UUID, worker_id: UUID, *, limit: int,
                             min_score: float, now: datetime | None = None) -> dict[str, Any]:
    record = await load_worker(conn, worker_id)
    if record is None or record["broker_org_id"] != org_id:
        raise _worker_not_found()
    if record["erased_at"] is not None:
        # The tombstone is still the broker's profile (`GET /v1/workers/{id}` answers it, status "erased"), so its
        # matches are an empty list like those of any profile that is not available, not a 404 that would tell
        # the client the id is wrong; nothing is matched from what is left of the person.
        return {"items": [], "next_cursor": None}
    moment = now or china_now()
    today = moment.astimezone(CHINA_TZ).date()
    ranked = await rank_jobs_for_worker(env, worker_facts(record, today), today, moment, limit=limit,
                                        min_score=min_score,
                                        still_shown=lambda ids: jobs_repository.open_now(conn, ids))
    return {"items": [match_item("job", r, env) for r in ranked], "next_cursor": None}
