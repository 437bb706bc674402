"""Bulk imports in the worker: `import.process` runs (or resumes) an import; `import.batch` does the
follow-up work of one committed batch (indexing its records, or only waiting until Meilisearch has applied
what the processor wrote from memory: processing.DirectIndex) in one job; `import.finished` tells the uploader
(inbox, and webhooks subscribed to `import.finished`); `import.match` matches what the import stored
(notifications, issue 6).

Matching after an import is what `job.index` / `worker.index` do for a single record
(`workers.match_tasks.request_matching`: wait until the document is visible, then match it), for the whole
import at once and after it: `import.batch` is done only once Meilisearch has applied its documents; the import
records ONE `import.match` row when it finishes, whose handler waits until every `import.batch` row of the
import is done, then calls `match_worker` / `match_job` for the stored ids one at a time with rests
(IMPORT_MATCH_SHARE), handing over to a fresh job before arq's timeout; one import per worker process at a
time, the others handing their rows over to later jobs instead of waiting in arq slots. So a 100,000-row import
adds one matching job to the queue, not 100,000; and its matching starts once the import is stored and
searchable instead of competing with it. The notifications it records are fanned out in this job (PostgreSQL
work, inside the record's share of time: one arq job per notice flooded the queue ahead of interactive work,
e.g. a posting's `job.index` waited 2.5 min behind ~11,000 of them), their webhook attempts and SMS by arq jobs
(a slow receiver must not stretch this job past its timeout), and an id whose matching fails gets a
single-record `worker.match` / `job.match` row of its own instead of failing the import's row. Safe to run
twice: notifications are unique per (recipient, job, worker, event). Still per profile: each match records a
`worker.matched` / `job.matched` row (saved subscriptions), one small arq job each.

The processing itself lives in `services/api/imports/processing.py`; this module only binds it to outbox
topics."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from uuid import UUID

import structlog
from meilisearch_python_sdk.errors import MeilisearchApiError

from services.api.database import PendingWork
from services.api.imports import repository
from services.api.imports.processing import ImportEnv, IndexedNote, indexed_note, process_import, relaxed_gc
from services.api.imports.service import BATCH_TOPIC, FINISHED_TOPIC, MATCH_TOPIC, PROCESS_TOPIC
from services.api.notifications.service import record_import_finished
from services.indexing.sync import SyncResult
from services.outbox.dispatch import enqueue_committed
from workers.context import WorkerResources
from workers.match_tasks import JOB_MATCH_TOPIC, WORKER_MATCH_TOPIC, IndexTaskFailed, match_job, match_worker
from workers.outbox import OUTBOX_HANDLERS, outbox_handler

log = structlog.get_logger("bashu.worker.imports")

# Matching one imported record is four concurrent Meilisearch searches (services/api/matches/service.py: the trade
# and the rest of its small group, near and elsewhere), scoring, its own transaction and `worker.matched` job: at
# 200,000 postings ~10–40 ms of worker CPU and as much of Meilisearch's (measured when it was two searches), so a
# 10,000-row import's matching is minutes of both cores. It is background work (notifications nobody is waiting
# on), so it runs one record at a time and rests between records (IMPORT_MATCH_SHARE), leaving the cores to kiosk
# searches, match queries and single postings.

# How long `import.batch` waits for Meilisearch to apply its documents before it fails (and the reconciler
# runs it again: re-sync, wait). Longer than a single record's wait: an import's writes queue.
INDEX_WAIT_MS = 120_000
# How long `import.match` waits for the import's indexing rows before it fails (the reconciler retries it).
INDEXED_WAIT_SECONDS = 60.0
# `import.match` jobs matching in one worker process at a time. A second one does not wait in its arq slot:
# thirteen of them once sat in all ten of a worker's slots waiting for their turn while `import.process` and
# `job.index` jobs queued behind them for minutes (issue-size load run). It hands its row over to a new one,
# enqueued MATCH_DEFER_SECONDS later, and ends.
MATCHING_IMPORTS_PER_PROCESS = 1
MATCH_DEFER_SECONDS = 30.0  # two small outbox rows and jobs a minute per waiting import
_MATCHING_IMPORTS_KEY = "imports.matching_now"
_LAST_DEFERRAL_KEY = "imports.matching_last_deferral"
# Records of a batch matched between two looks at the time budget. A batch holds up to 5,000 records and with
# the rests each can take a second or more on a busy machine, so a check per batch let one batch outlast arq's
# job timeout: the job was cancelled and its row ran again from the same batch, never getting past it. A look
# after every record (they run one at a time anyway): a record's fan-out and rest can take tens of seconds
# when PostgreSQL is slow, and 20 of them could outlast the timeout's margin.
MATCH_CHUNK = 1

# topic → a function that handles many entity ids at once (e.g. one Meilisearch upsert for a batch), returning
# what it wrote when matching should follow. Topics without one fall back to their single-entity outbox
# handler, called for each id in this one job.
BatchHandler = Callable[[WorkerResources, list[str]], Awaitable[SyncResult | None]]
BATCH_HANDLERS: dict[str, BatchHandler] = {}
# index topic → the matching handler of one of its ids (what `request_matching` leads to for a single record)
# and the single-record matching topic that retries an id it failed on.
Matcher = Callable[..., Awaitable[None]]
MATCHERS: dict[str, tuple[Matcher, str]] = {
    "worker.index": (match_worker, WORKER_MATCH_TOPIC), "job.index": (match_job, JOB_MATCH_TOPIC)}


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
                        extensions=resources.extensions, search=resources.search)
        resources.extensions["imports.env"] = env
    assert isinstance(env, ImportEnv)
    return env


def time_budget(resources: WorkerResources) -> float:
    # Hand over to a fresh job well before arq's job timeout cancels this one.
    return max(5.0, resources.settings.job_timeout_seconds * 0.6)


@outbox_handler(PROCESS_TOPIC)
async def run_import(resources: WorkerResources, entity_id: str) -> None:
    outcome = await process_import(import_env(resources), UUID(entity_id),
                                   time_budget_seconds=time_budget(resources))
    log.info("import.run", import_id=entity_id, outcome=outcome)


@outbox_handler(BATCH_TOPIC)
async def run_batch_follow_up(resources: WorkerResources, entity_id: str) -> None:
    import_id, _, batch_no = entity_id.partition(":")
    async with resources.pool.acquire() as conn:
        groups = await repository.batch_entities(conn, UUID(import_id), int(batch_no))
    # The processor may have indexed this batch from memory already (processing.DirectIndex): then only wait
    # until Meilisearch has applied it; anything else (no note, a failed task) indexes it by reading the rows.
    note = await indexed_note(resources.redis, import_id, int(batch_no))
    synced = SyncResult()
    for group in groups:
        topic, ids = group["topic"], list(group["entity_ids"])
        if note is not None and note.topic == topic:
            applied = await _applied(resources, note)
            if applied is not None:
                if topic in MATCHERS:
                    synced.add(applied)
                continue
            log.warning("import.direct_index_redone", import_id=import_id, batch=batch_no)
        batch = BATCH_HANDLERS.get(topic)
        if batch is not None:
            with relaxed_gc():  # thousands of rows and documents at once, as in the processing
                result = await batch(resources, ids)
            if result is not None and topic in MATCHERS:
                synced.add(result)
            continue
        single = OUTBOX_HANDLERS.get(topic)
        if single is None:
            raise LookupError(f"no outbox handler for topic {topic!r}")
        for entity in ids:
            await single(resources, entity)
    if synced.upserted:
        # Done means applied: `import.match` waits for this row, so matching sees what the batch indexed.
        await _wait_until_applied(resources, synced)


async def _applied(resources: WorkerResources, note: IndexedNote) -> SyncResult | None:
    """The note's writes once Meilisearch has applied them, or None if one of them failed or is unknown."""
    for uid in note.task_uids:
        try:
            task = await resources.search.wait_for_task(uid, timeout_in_ms=INDEX_WAIT_MS, interval_in_ms=50)
        except MeilisearchApiError:  # e.g. no such task (Meilisearch's task history was pruned or reset)
            return None
        if task.status != "succeeded":
            return None
    return SyncResult(upserted=note.upserted, deleted=note.deleted, task_uids=list(note.task_uids))


async def _wait_until_applied(resources: WorkerResources, synced: SyncResult) -> None:
    for uid in synced.task_uids:
        task = await resources.search.wait_for_task(uid, timeout_in_ms=INDEX_WAIT_MS, interval_in_ms=50)
        if task.status != "succeeded":
            raise IndexTaskFailed(f"Meilisearch task {uid} {task.status}: {task.error}")


class ImportNotIndexed(RuntimeError):
    """Some `import.batch` row of the import is still undone: matching is retried later."""


def rest_after(took: float, share: float) -> float:
    """How long import matching rests after a record that took `took` seconds, to be busy at most `share` of the
    time (IMPORT_MATCH_SHARE): a record that took longer, e.g. on a busy machine, is followed by a longer rest."""
    return took * (1 / share - 1)


@outbox_handler(MATCH_TOPIC)
async def match_import(resources: WorkerResources, entity_id: str) -> None:
    """Match what an import stored, from batch `<n>` of `<import id>:<n>` on (`<import id>:<n>:<k>`: from the
    record after the first k of batch n, where an earlier job handed over): `match_worker` / `match_job` per
    id (each reads the current row and skips what is no longer available/open), one at a time, once every
    `import.batch` row of the import is done (its documents are visible). While another import is being matched
    in this process, deferred (`_defer_matching`)."""
    import_id, _, first = entity_id.partition(":")
    # `<n>:<k>`: a job handed over inside batch n after matching its first k records.
    first, _, skip = first.partition(":")
    if not resources.settings.import_matching:  # backfill switch (IMPORT_MATCHING=false): done, nothing matched
        log.info("import.matching_skipped", import_id=import_id)
        return
    matching_now: set[str] = resources.extensions.setdefault(_MATCHING_IMPORTS_KEY, set())
    if len(matching_now) >= MATCHING_IMPORTS_PER_PROCESS:
        await _defer_matching(resources, entity_id)
        return
    matching_now.add(entity_id)
    try:
        follow = await _match_import(resources, entity_id, import_id, int(first), int(skip or 0))
    finally:
        matching_now.discard(entity_id)
    if follow is not None:
        # Handed over before arq's timeout (after the slot is free, so the next job cannot find this one still
        # in it). Turns: while other imports wait in this process, the next part waits its turn like they do.
        last_deferral = resources.extensions.get(_LAST_DEFERRAL_KEY, -math.inf)
        others_waiting = _loop_time() - last_deferral < 2 * MATCH_DEFER_SECONDS
        await hand_over(resources, MATCH_TOPIC, follow,
                        defer_seconds=MATCH_DEFER_SECONDS if others_waiting else None)
        log.info("import.matching_continued", import_id=import_id, next=follow, after_others=others_waiting)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _defer_matching(resources: WorkerResources, entity_id: str) -> None:
    """Leave the matching for later without holding an arq slot: the same entity in a new outbox row (this one
    is done), enqueued to run MATCH_DEFER_SECONDS from now; if that enqueue is lost, the reconciler's."""
    resources.extensions[_LAST_DEFERRAL_KEY] = _loop_time()
    await hand_over(resources, MATCH_TOPIC, entity_id, defer_seconds=MATCH_DEFER_SECONDS)
    log.info("import.matching_deferred", entity=entity_id)


async def hand_over(resources: WorkerResources, topic: str, entity_id: str, *,
                    defer_seconds: float | None = None) -> None:
    """Record a new outbox row for the rest of this job's work and enqueue it (from `defer_seconds` on); the
    reconciler's if the enqueue is lost."""
    pending = PendingWork()
    async with resources.pool.acquire() as conn:
        await pending.record(conn, topic, entity_id)
        await enqueue_committed(resources.redis, conn, pending.outbox_ids, defer_seconds=defer_seconds)


async def _match_import(resources: WorkerResources, entity_id: str, import_id: str, first: int,
                        skip: int) -> str | None:
    """Match from batch `first` (after its first `skip` records) on; the entity to hand over to when the time
    budget ran out before the end, else None."""
    started = asyncio.get_running_loop().time()
    while True:
        async with resources.pool.acquire() as conn:  # not held while sleeping: the batch rows need the pool
            undone = await repository.undone_batch_follow_ups(conn, UUID(import_id), BATCH_TOPIC)
            if not undone:
                batch_nos = await repository.batches_from(conn, UUID(import_id), first)
                break
        if asyncio.get_running_loop().time() - started > INDEXED_WAIT_SECONDS:
            raise ImportNotIndexed(import_id)
        await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    share = resources.settings.import_match_share

    async def match(handler: Matcher, entity: str) -> None:
        began = loop.time()
        # Notifications fanned out here (counted in this record's time, so in the share); webhook attempts
        # through arq: this job's time must not depend on how fast the recipients' receivers are.
        await handler(resources, entity, webhooks_inline=False)
        await asyncio.sleep(rest_after(loop.time() - began, share))

    for position, batch_no in enumerate(batch_nos):
        async with resources.pool.acquire() as conn:
            groups = await repository.batch_entities(conn, UUID(import_id), batch_no)
        records = [(matcher, entity) for group in groups if (matcher := MATCHERS.get(group["topic"])) is not None
                   for entity in group["entity_ids"]]
        done = skip if position == 0 else 0
        while done < len(records):
            chunk = records[done:done + MATCH_CHUNK]
            results = await asyncio.gather(*(match(handler, entity) for (handler, _), entity in chunk),
                                           return_exceptions=True)
            if stop := next((r for r in results if isinstance(r, BaseException)
                             and not isinstance(r, Exception)), None):
                raise stop  # cancelled (arq's timeout, shutdown): the row is run again
            failed = [(retry_topic, entity, r) for ((_, retry_topic), entity), r in zip(chunk, results, strict=True)
                      if isinstance(r, Exception)]
            if failed:
                # Each failed id gets its own single-record matching row (retried with the outbox's backoff),
                # so one record that keeps failing holds up neither the rest of the import nor this row.
                retries = PendingWork()
                async with resources.pool.acquire() as conn:
                    async with conn.transaction():
                        for retry_topic, entity, _ in failed:
                            await retries.record(conn, retry_topic, entity)
                    await enqueue_committed(resources.redis, conn, retries.outbox_ids)
                log.warning("import.matching_failed", import_id=import_id, batch=batch_no, failed=len(failed),
                            error=type(failed[0][2]).__name__)
            done += len(chunk)
            rest = batch_nos[position + 1:]
            over_budget = asyncio.get_running_loop().time() - started > time_budget(resources)
            if over_budget and (done < len(records) or rest):
                return f"{import_id}:{batch_no}:{done}" if done < len(records) else f"{import_id}:{rest[0]}"
    return None


@batch_handler("worker.index")
async def index_workers(resources: WorkerResources, entity_ids: list[str]) -> SyncResult:
    """One read and one Meilisearch write for a whole batch (the per-id handler does one per profile)."""
    from services.api.china_calendar import china_today
    from services.indexing.catalogue_source import current_catalogue
    from services.indexing.sync import indexer_for

    snapshot = await current_catalogue(resources.extensions)
    indexer = indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)
    return await indexer.sync_workers(resources.pool, [UUID(i) for i in entity_ids], snapshot.catalogue,
                                      snapshot.regions, china_today())


@batch_handler("job.index")
async def index_jobs(resources: WorkerResources, entity_ids: list[str]) -> SyncResult:
    from services.indexing.catalogue_source import current_catalogue
    from services.indexing.sync import indexer_for

    snapshot = await current_catalogue(resources.extensions)
    indexer = indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)
    return await indexer.sync_jobs(resources.pool, [UUID(i) for i in entity_ids], snapshot.catalogue,
                                   snapshot.regions)


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
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)
    log.info("import.finished_event", import_id=entity_id, notified=notification_id is not None)
