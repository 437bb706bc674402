"""arq worker configuration built from settings (no client is created at import)."""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from arq import cron, func
from arq.connections import RedisSettings

from services.api.catalogue.runtime import EXTENSION_KEY as CATALOGUE_EXTENSION
from services.api.catalogue.runtime import start_runtime
from services.api.logging_setup import configure_logging
from services.api.redis_connection import CONNECT_TIMEOUT_SECONDS, create_arq_redis
from services.api.search_index import create_search_client
from services.db.pool import create_serving_pool
from workers.context import WorkerResources
from workers.handlers import load_handlers
from workers.indexing_tasks import expire_postings
from workers.lease import WorkerLease
from workers.maintenance_tasks import purge_done_outbox, purge_idempotency_records
from workers.notification_tasks import close_notifications, notification_cron_jobs, notification_functions
from workers.outbox import process_outbox, reconcile_outbox
from workers.placement_tasks import placement_reminders
from workers.settings import WorkerSettings
from workers.stats_tasks import refresh_figures

log = structlog.get_logger("bashu.worker")


def build_worker_settings(settings: WorkerSettings) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker`: functions, cron jobs, startup and shutdown."""
    load_handlers()

    async def on_startup(ctx: dict[str, Any]) -> None:
        configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)
        pool = await create_serving_pool(str(settings.database_url), min_size=1,
                                         max_size=settings.worker_max_jobs + 2)
        redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
        lease = WorkerLease(redis, settings.worker_lease_seconds)
        await lease.start()
        ctx["resources"] = WorkerResources(
            settings=settings, pool=pool, redis=redis, lease=lease,
            search=create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value(),
                                        timeout_seconds=settings.meili_timeout_seconds),
        )
        # The published catalogue, its analyzer and typeahead for this process (follows publications).
        await start_runtime(ctx["resources"].pool, ctx["resources"].extensions)
        log.info("worker.started", queue=settings.arq_queue_name, instance=lease.instance_id)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        resources: WorkerResources | None = ctx.get("resources")
        if resources is not None:
            await close_notifications(resources)
            catalogue_runtime = resources.extensions.get(CATALOGUE_EXTENSION)
            if catalogue_runtime is not None:
                await catalogue_runtime.close()
            await resources.search.aclose()
            if resources.lease is not None:
                await resources.lease.stop()
            await resources.redis.aclose(close_connection_pool=True)
            await resources.pool.close()

    return {
        # keep_result=0: a finished job leaves no result key, so the reconciler may enqueue the same job id
        # again if the row is still undone.
        "functions": [func(process_outbox, name="process_outbox", keep_result=0, max_tries=3),
                      *notification_functions(settings)],
        "cron_jobs": [cron(reconcile_outbox, second={0, 30}, run_at_startup=True, unique=True),
                      # Postings past expires_at leave the index within a minute (search also filters on it).
                      cron(expire_postings, second={15}, unique=True),
                      # Supply–demand snapshots: the open month and quarter every 10 minutes; ended periods freeze.
                      cron(refresh_figures, minute=set(range(2, 60, 10)), second={40}, run_at_startup=True,
                           unique=True),
                      # Ask brokers to confirm arrival and retention when those dates come.
                      cron(placement_reminders, minute={5}, second={20}, run_at_startup=True, unique=True),
                      # Idempotency records past their TTL can no longer be replayed: drop them hourly.
                      cron(purge_idempotency_records, minute={17}, second={10}, unique=True),
                      # Done outbox rows past OUTBOX_RETENTION_HOURS: hourly.
                      cron(purge_done_outbox, minute={23}, second={10}, unique=True),
                      *notification_cron_jobs()],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": dataclasses.replace(RedisSettings.from_dsn(str(settings.redis_url)),
                                              conn_timeout=CONNECT_TIMEOUT_SECONDS),
        "queue_name": settings.arq_queue_name,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.arq_poll_delay_seconds,
        "job_timeout": settings.job_timeout_seconds,
        "handle_signals": True,
        # arq writes `<queue>:health-check` this often (jobs done/failed/ongoing); `arq --check` and monitoring
        # read it, and a missing or stale key means the worker is gone.
        "health_check_interval": 30,
    }
