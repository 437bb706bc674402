"""Bulk imports in the worker: `import.process` runs (or resumes) an import; `import.batch` does the
follow-up work of one committed batch (indexing its records) in one job; `import.finished` tells the uploader
(inbox, and webhooks subscribed to `import.finished`).

The processing itself lives in `services/api/imports/processing.py`; this module only binds it to outbox
topics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import structlog

from services.api.database import PendingWork
from services.api.imports import repository
from services.api.imports.processing import ImportEnv, process_import
from services.api.imports.service import BATCH_TOPIC, FINISHED_TOPIC, PROCESS_TOPIC
from services.api.notifications.delivery import flush_outbox
from services.api.notifications.service import record_import_finished
from workers.context import WorkerResources
from workers.outbox import OUTBOX_HANDLERS, outbox_handler

log = structlog.get_logger("bashu.worker.imports")

# topic → a function that handles many entity ids at once (e.g. one Meilisearch upsert for a batch). Topics
# without one fall back to their single-entity outbox handler, called for each id in this one job.
BatchHandler = Callable[[WorkerResources, list[str]], Awaitable[None]]
BATCH_HANDLERS: dict[str, BatchHandler] = {}


def batch_handler(topic: str) -> Callable[[BatchHandler], BatchHandler]:
    def register(handler: BatchHandler) -> BatchHandler:
        BATCH_HANDLERS[topic] = handler
        return handler

    return register


def import_env(resources: WorkerResources) -> ImportEnv:
    env = resources.extensions.get("imports.env")
    if env is None:
        # Shares the worker's extensions, so the cipher and the catalogue snapshot are built once per process.
        env = ImportEnv(settings=resources.settings, pool=resources.pool, redis=resources.redis,
                        extensions=resources.extensions)
        resources.extensions["imports.env"] = env
    assert isinstance(env, ImportEnv)
    return env


def _time_budget(resources: WorkerResources) -> float:
    # Hand over to a fresh job well before arq's job timeout cancels this one.
    return max(5.0, resources.settings.job_timeout_seconds * 0.6)


@outbox_handler(PROCESS_TOPIC)
async def run_import(resources: WorkerResources, entity_id: str) -> None:
    outcome = await process_import(import_env(resources), UUID(entity_id),
                                   time_budget_seconds=_time_budget(resources))
    log.info("import.run", import_id=entity_id, outcome=outcome)


@outbox_handler(BATCH_TOPIC)
async def run_batch_follow_up(resources: WorkerResources, entity_id: str) -> None:
    import_id, _, batch_no = entity_id.partition(":")
    async with resources.pool.acquire() as conn:
        groups = await repository.batch_entities(conn, UUID(import_id), int(batch_no))
    for group in groups:
        topic, ids = group["topic"], list(group["entity_ids"])
        batch = BATCH_HANDLERS.get(topic)
        if batch is not None:
            await batch(resources, ids)
            continue
        single = OUTBOX_HANDLERS.get(topic)
        if single is None:
            raise LookupError(f"no outbox handler for topic {topic!r}")
        for entity in ids:
            await single(resources, entity)


@batch_handler("worker.index")
async def index_workers(resources: WorkerResources, entity_ids: list[str]) -> None:
    """One read and one Meilisearch write for a whole batch (the per-id handler does one per profile)."""
    from services.api.worker_profiles.service import china_today
    from services.indexing.catalogue_source import current_catalogue
    from services.indexing.sync import indexer_for

    snapshot = await current_catalogue(resources.extensions)
    indexer = indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)
    await indexer.sync_workers(resources.pool, [UUID(i) for i in entity_ids], snapshot.catalogue,
                               snapshot.regions, china_today())


@batch_handler("job.index")
async def index_jobs(resources: WorkerResources, entity_ids: list[str]) -> None:
    from services.indexing.catalogue_source import current_catalogue
    from services.indexing.sync import indexer_for

    snapshot = await current_catalogue(resources.extensions)
    indexer = indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)
    await indexer.sync_jobs(resources.pool, [UUID(i) for i in entity_ids], snapshot.catalogue, snapshot.regions)


@outbox_handler(FINISHED_TOPIC)
async def import_finished(resources: WorkerResources, entity_id: str) -> None:
    """The uploading organisation hears of it: an `import.finished` notification in its inbox, delivered to its
    webhooks subscribed to `import.finished` too (the notifications domain fans it out). Unique per recipient and
    import, so a rerun of this job records nothing new. Counts only: no row data, no file name."""
    pending = PendingWork()
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            record = await repository.get_import(conn, UUID(entity_id))
            if record is None:
                log.warning("import.finished_unknown", import_id=entity_id)
                return
            summary = {key: record[key] for key in ("kind", "status", "detail", "total", "created", "updated",
                                                    "unchanged", "rejected")}
            summary["errors_total"] = await repository.error_count(conn, record["id"])
            summary["finished_at"] = record["finished_at"].isoformat() if record["finished_at"] else None
            notification_id = await record_import_finished(conn, pending, org_id=record["org_id"],
                                                           import_id=record["id"], summary=summary)
        await flush_outbox(resources.redis, conn, pending)
    log.info("import.finished_event", import_id=entity_id, notified=notification_id is not None)
