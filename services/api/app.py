"""The application factory. `create_app(settings)` wires routers, middleware and problem handlers; the
lifespan opens the PostgreSQL pool, Redis and the Meilisearch client once and closes them on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import structlog
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from services.api.catalogue.router import occupations_router
from services.api.catalogue.router import router as catalogue_router
from services.api.catalogue.runtime import start_runtime
from services.api.credit.router import router as credit_router
from services.api.dashboard.router import router as dashboard_router
from services.api.health.router import router as health_router
from services.api.imports.router import router as imports_router
from services.api.jobs.router import router as jobs_router
from services.api.kiosk.lane import KioskSearchLane
from services.api.kiosk.router import router as kiosk_router
from services.api.kiosk_page.router import api_router as kiosk_page_api_router
from services.api.kiosk_page.router import page_router as kiosk_page_router
from services.api.logging_setup import configure_logging
from services.api.matches.router import router as matches_router
from services.api.meili_reader import MeiliReader
from services.api.middleware import BodySizeLimitMiddleware, HeadAsGetMiddleware, RequestContextMiddleware
from services.api.notifications.router import notifications_router, subscriptions_router, webhooks_router
from services.api.organisations.router import router as organisations_router
from services.api.pagination import refuse_undeclared_paging
from services.api.placements.router import router as placements_router
from services.api.problems import install_problem_handlers, install_problem_openapi
from services.api.redis_connection import create_arq_redis
from services.api.regions.router import router as regions_router
from services.api.reports.router import router as reports_router
from services.api.resources import Resources
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from services.api.stats.router import router as stats_router
from services.api.worker_profiles.router import router as worker_profiles_router
from services.db.pool import create_serving_pool

log = structlog.get_logger("bashu.api")


class LifespanState(TypedDict):
    resources: Resources


def create_app(settings: ApiSettings) -> FastAPI:
    configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[LifespanState]:
        pool = await create_serving_pool(str(settings.database_url), min_size=settings.database_pool_min,
                                         max_size=settings.database_pool_max)
        redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
        search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value(),
                                      timeout_seconds=settings.meili_timeout_seconds)
        reader = (MeiliReader(settings.meili_url, settings.meili_master_key.get_secret_value(),
                              timeout=settings.meili_timeout_seconds)
                  if MeiliReader.supports(settings.meili_url) else None)
        resources = Resources(settings=settings, pool=pool, redis=redis, search=search, meili_reader=reader)
        # The published catalogue, its typeahead and analyzer for this process (empty before the first one).
        catalogue_runtime = await start_runtime(pool, resources.extensions)
        log.info("api.started", environment=settings.environment)
        try:
            yield {"resources": resources}
        finally:
            await catalogue_runtime.close()
            if reader is not None:
                await reader.aclose()
            await search.aclose()
            await redis.aclose(close_connection_pool=True)
            await pool.close()
            log.info("api.stopped")

    app = FastAPIOffline(
        title="Bashu Bridge API (巴蜀劳务桥)",
        version="1.0.0",
        summary="Cross-regional job matching and workforce transfer for the Chengdu–Chongqing economic circle.",
        lifespan=lifespan,
    )
    if settings.kiosk_search_lane:
        # Innermost of ours: behind the request id, access log and body limit, in front of the router.
        app.add_middleware(KioskSearchLane, exception_handlers=app.exception_handlers,
                           dependency_overrides=app.dependency_overrides)
    # Outside the lane, which then answers a kiosk search's HEAD as its GET; inside the access log, which logs HEAD.
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_json_bytes=settings.max_json_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestContextMiddleware)

    def log_unexpected(exc: Exception) -> None:
        log.error("request.unexpected_error", exc_info=exc)

    install_problem_handlers(app, log_unexpected)
    install_problem_openapi(app)
    # Kiosk search first: Starlette tries routes in order, and it is the request every market hall repeats.
    for router in (kiosk_router, health_router, organisations_router, regions_router, catalogue_router,
                   occupations_router, kiosk_page_router, kiosk_page_api_router,
                   imports_router, worker_profiles_router, jobs_router, matches_router,
                   webhooks_router, notifications_router, subscriptions_router, placements_router,
                   stats_router, dashboard_router):
        app.include_router(router, dependencies=[Depends(refuse_undeclared_paging)])
    for router in (reports_router, credit_router):
        app.include_router(router, dependencies=[Depends(refuse_undeclared_paging)])
    return app
