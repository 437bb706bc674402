"""/healthz answers while the process runs; /readyz only when PostgreSQL, Redis and Meilisearch answer."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.api.health import repository
from services.api.problems import ServiceUnavailable, problem_responses
from services.api.resources import Resources, get_resources

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_postgres(resources: Resources) -> None:
    async with resources.pool.acquire(timeout=_CHECK_TIMEOUT_SECONDS) as conn:
        await repository.ping(conn)


async def _check_redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _check_meilisearch(resources: Resources) -> None:
    health = await resources.search.health()
    if health.status != "available":
        raise RuntimeError(health.status)


@router.get("/readyz", responses=problem_responses(503))
async def readyz(resources: Annotated[Resources, Depends(get_resources)]) -> JSONResponse:
    checks = {"postgresql": _check_postgres, "redis": _check_redis, "meilisearch": _check_meilisearch}

    async def run(check: object) -> str:
        try:
            await asyncio.wait_for(check(resources), _CHECK_TIMEOUT_SECONDS)  # type: ignore[operator]
        except Exception as exc:  # readiness reports any failure by name, never raises
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    results = dict(zip(checks, await asyncio.gather(*(run(c) for c in checks.values())), strict=True))
    if any(v != "ok" for v in results.values()):
        # Through the problem handler: a hand-built body let `"status": "unavailable"` replace the problem's
        # `"status": 503` (RFC 9457) and had no request_id to quote.
        raise ServiceUnavailable("not ready: " + ", ".join(k for k, v in results.items() if v != "ok"),
                                 extra={"checks": results})
    return JSONResponse({"status": "ready", "checks": results})
