"""`GET /v1/jobs/{id}/matches` (the owning enterprise) and `GET /v1/workers/{id}/matches` (the owning broker)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.api.auth.caller import Caller, require_roles
from services.api.matches import service
from services.api.matches.schemas import JobMatchList, WorkerMatchList
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources
from services.indexing.catalogue_source import current_catalogue

router = APIRouter(tags=["matches"], responses=problem_responses(401, 403, 404, 422, 503))

ResourcesDep = Annotated[Resources, Depends(get_resources)]  # async: no thread-pool hop per request
Limit = Annotated[int, Query(ge=1, le=100, description="How many matches (default 20, max 100)")]
# allow_inf_nan=False: NaN compares false with every bound and would be refused as "≤ 1".
MinScore = Annotated[float, Query(ge=0, le=1, allow_inf_nan=False,
                                  description="Only matches scoring at least this (0–1)")]


async def _env(resources: ResourcesDep) -> service.MatchEnv:
    snapshot = await current_catalogue(resources.extensions)
    settings = resources.settings
    http = resources.meili_reader
    return service.MatchEnv(catalogue=snapshot.catalogue, regions=snapshot.regions,
                            http=http or resources.search.http_client, prefix=settings.meili_index_prefix)


Env = Annotated[service.MatchEnv, Depends(_env)]


@router.get("/v1/jobs/{job_id}/matches", response_model=WorkerMatchList)
async def job_matches(job_id: UUID, caller: Annotated[Caller, require_roles("enterprise")], resources: ResourcesDep,
                      env: Env, limit: Limit = 20, min_score: MinScore = 0.0) -> Response:
    """The workers who fit this posting, best first, masked (never a name, ID number or phone), each with
    `score` (0–1), `reasons` (code, Chinese text, weight), `distance_km` and `transfer`. Only workers who
    consented to being shown to enterprises and are available, posted by a broker whose HR-service licence is
    still valid (an expired licence blocks posting); a posting that is not open has none.
    Required and held certificates are compared by the catalogue's official names, so a posting requiring
    焊工证 finds workers holding 特种作业操作证（焊接与热切割作业）."""
    # One read-only snapshot for the request's reads around the Meilisearch query (the posting, the brokers whose
    # licence lapsed, which candidates are still shown), as every other request runs in one transaction.
    async with resources.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        data = await service.matches_for_job(conn, env, caller.org_id, job_id, limit=limit, min_score=min_score)
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/v1/workers/{worker_id}/matches", response_model=JobMatchList)
async def worker_matches(worker_id: UUID, caller: Annotated[Caller, require_roles("broker")], resources: ResourcesDep,
                         env: Env, limit: Limit = 20, min_score: MinScore = 0.0) -> Response:
    """Open postings that fit this worker, best first, with the same scores and reasons. A profile that is not
    available has none, an erased one (its tombstone) included."""
    async with resources.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        data = await service.matches_for_worker(conn, env, caller.org_id, worker_id, limit=limit,
                                                min_score=min_score)
    return Response(orjson.dumps(data), media_type="application/json")
