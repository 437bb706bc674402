"""Indexing job postings and worker profiles, and the periodic expiry of postings.

`job.index` / `worker.index` outbox rows carry only the entity id; the handler reads the current row and
upserts or deletes its document (services/indexing/sync.py), so a repeated or late run converges. After an
upsert it waits for the document and matches it in the same job (workers/match_tasks.py: matching →
notifications).

`workers.remask` (one row, recorded by migration 0021; `workers.remask_cards` by 0023 for bank cards) re-indexes, page
by page, the live profiles whose free text may hold a number `mask_numbers_in_free_text` masks differently since that
release; it does not match them.

`expire_postings` (cron) marks postings past `expires_at` as expired and records a `job.index` row (and the
`job.closed` notifications) for each in the same transaction, so they leave the index even if this process dies
right after. Until the sweep has run, documents carry `expires_at` and search filters `expires_at > now`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import structlog

from services.api.china_calendar import china_today
from services.api.database import PendingWork
from services.api.jobs import repository as jobs_repository
from services.api.jobs.service import INDEX_TOPIC as JOB_INDEX_TOPIC
from services.api.jobs.service import record_posting_closed
from services.api.worker_profiles import repository as workers_repository
from services.api.worker_profiles.service import INDEX_TOPIC as WORKER_INDEX_TOPIC
from services.indexing.catalogue_source import current_catalogue
from services.indexing.sync import Indexer, indexer_for
from services.outbox.dispatch import enqueue_committed
from workers.context import WorkerResources, resources_of
from workers.import_tasks import hand_over, time_budget
from workers.match_tasks import IndexTaskFailed, match_job, match_when_visible, match_worker
from workers.outbox import outbox_handler

log = structlog.get_logger("bashu.worker.indexing")

EXPIRY_BATCH = 500
REMASK_TOPIC = "workers.remask"
# The same walk for migration 0023 (bank cards) under a topic a worker of an earlier release does not know: it would
# run a `workers.remask` row with its own, older masking and mark it done; an unknown topic fails there and is
# retried until a worker of this release takes it.
REMASK_CARDS_TOPIC = "workers.remask_cards"
# Profiles re-indexed per Meilisearch write; the walk waits for each write before the next, at most this long (behind
# an import's large writes a page may wait; past it the row fails and is retried from where it started).
REMASK_PAGE = 500
REMASK_WAIT_MS = 120_000


def _indexer(resources: WorkerResources) -> Indexer:
    return indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)


@outbox_handler(JOB_INDEX_TOPIC)
async def index_job(resources: WorkerResources, entity_id: str) -> None:
    snapshot = await current_catalogue(resources.extensions)
    synced = await _indexer(resources).sync_jobs(resources.pool, [UUID(entity_id)], snapshot.catalogue,
                                                 snapshot.regions)
    await match_when_visible(resources, match_job, entity_id, synced)


@outbox_handler(WORKER_INDEX_TOPIC)
async def index_worker(resources: WorkerResources, entity_id: str) -> None:
    snapshot = await current_catalogue(resources.extensions)
    synced = await _indexer(resources).sync_workers(resources.pool, [UUID(entity_id)], snapshot.catalogue,
                                                    snapshot.regions, china_today())
    await match_when_visible(resources, match_worker, entity_id, synced)


@outbox_handler(REMASK_TOPIC)
async def remask_worker_documents(resources: WorkerResources, entity_id: str) -> None:
    await _remask(resources, entity_id, REMASK_TOPIC)


@outbox_handler(REMASK_CARDS_TOPIC)
async def remask_worker_documents_for_cards(resources: WorkerResources, entity_id: str) -> None:
    await _remask(resources, entity_id, REMASK_CARDS_TOPIC)


async def _remask(resources: WorkerResources, entity_id: str, topic: str) -> None:
    """Re-index the live profiles with 11 or more digits in an item of free text, from after the id `entity_id` on
    ("": from the start), so documents built by an older `mask_numbers_in_free_text` are masked as it masks now.

    Indexing only, no `worker.index` row and no matching: nothing about these people changed, and re-matching them
    would tell enterprises of matches as if they were new. Each page is written under the index jobs' per-profile
    locks (`Indexer.sync_workers`: a change committed meanwhile is not overwritten by this older read) and waited
    for before the next, so the walk goes at the pace Meilisearch applies it; past the time budget it hands over to
    a new row by id. A failure leaves the row to the reconciler, which starts it again from its own id: pages done
    are written again, which changes nothing."""
    after = UUID(entity_id) if entity_id else None
    loop = asyncio.get_running_loop()
    started, written = loop.time(), 0
    while True:
        async with resources.pool.acquire() as conn:
            ids = await workers_repository.ids_with_numbers_in_free_text(conn, after=after, limit=REMASK_PAGE)
        if ids:
            snapshot = await current_catalogue(resources.extensions)
            synced = await _indexer(resources).sync_workers(resources.pool, ids, snapshot.catalogue,
                                                            snapshot.regions, china_today())
            for uid in synced.task_uids:
                task = await resources.search.wait_for_task(uid, timeout_in_ms=REMASK_WAIT_MS, interval_in_ms=50)
                if task.status != "succeeded":
                    raise IndexTaskFailed(f"Meilisearch task {uid} {task.status}")
            written += len(ids)
            after = ids[-1]
        if len(ids) < REMASK_PAGE:
            log.info("indexing.remasked", profiles=written, outbox_entity=entity_id)
            return
        if loop.time() - started > time_budget(resources):
            await hand_over(resources, topic, str(after))
            log.info("indexing.remask_continued", profiles=written, after=str(after))
            return


async def expire_postings(ctx: dict[str, Any]) -> int:
    """Mark postings past their expiry, in batches; each batch commits with its outbox rows (`job.index`, and
    `job.closed` notifications through jobs.service.record_posting_closed)."""
    resources = resources_of(ctx)
    expired = 0
    while True:
        pending = PendingWork()
        async with resources.pool.acquire() as conn:
            async with conn.transaction():
                ids = await jobs_repository.mark_expired(conn, limit=EXPIRY_BATCH)
                for job_id in ids:
                    await record_posting_closed(conn, pending, job_id, reason="expired")
            await enqueue_committed(resources.redis, conn, pending.outbox_ids)
        expired += len(ids)
        if len(ids) < EXPIRY_BATCH:
            break
    if expired:
        log.info("jobs.expired", count=expired)
    return expired
