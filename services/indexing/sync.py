"""Keeping the jobs and workers indexes equal to PostgreSQL, by id.

Every function reads the *current* rows and converges the index on them: a row that is searchable is
upserted, anything else (closed, expired, held, erased, no consent, missing) is deleted by id. Running it
twice, late, or out of order gives the same index, which is what the outbox's at-least-once delivery needs.

Writes are sent in batches and not awaited (Meilisearch applies an index's tasks in order); the handler hot
path does not wait for tasks. Each change has its own outbox row and job, and those jobs may run at the same
time: a job that read a profile before its erasure (or a posting before it closed) must not queue its write
after the erasure's own delete. So `sync_jobs` / `sync_workers` read the rows and queue their write while holding
the entities' advisory locks (`repository.lock_for_sync`); the later job reads the later state and queues after.
`failed_task_uids` lets a reconciling caller check a batch's tasks cheaply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import UUID

import asyncpg
import structlog
from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchApiError
from meilisearch_python_sdk.models.settings import MeilisearchSettings

from matching.catalogue import Catalogue
from matching.documents import JOBS_INDEX_SETTINGS, WORKERS_INDEX_SETTINGS, jobs_index_settings, workers_index_settings
from matching.regions import RegionDirectory
from services.api.jobs import repository as jobs_repository
from services.api.search_index import index_name
from services.api.worker_profiles import repository as workers_repository
from services.indexing import repository as indexing_repository
from services.indexing.documents import (
    build_job_document,
    build_worker_document,
    job_is_indexable,
    worker_is_indexable,
)

log = structlog.get_logger("bashu.indexing")

Kind = Literal["jobs", "workers"]
# Ids read per query when walking a whole index (reindex_*).
BATCH_SIZE = 1000
# Documents per Meilisearch request. Each request is a task, and Meilisearch indexes a few large batches with
# much less CPU than many small ones (about half at 100,000 documents: loadtests/README.md, import benchmark),
# so an import batch goes out whole.
WRITE_BATCH_SIZE = 10_000
# How long a new or restored index's settings may take to apply (they queue behind other indexes' writes).
SETTINGS_TIMEOUT_MS = 60_000
# Settings the catalogue does not own: when an index carries other values (e.g. it was created bare by
# another process), they are set again. Synonyms and dictionary belong to the catalogue publication.
_STRUCTURAL_KEYS = ("searchableAttributes", "filterableAttributes", "sortableAttributes", "rankingRules",
                    "localizedAttributes", "facetSearch", "prefixSearch")
_BASE_SETTINGS: dict[Kind, dict[str, Any]] = {"jobs": JOBS_INDEX_SETTINGS, "workers": WORKERS_INDEX_SETTINGS}
_INDEXER_KEY = "indexing.indexer"
# Documents built on the event loop at most (a single record's job); more are built in a thread.
INLINE_DOCUMENTS = 50


def _job_documents(rows: Sequence[Mapping[str, Any]], catalogue: Catalogue,
                   regions: RegionDirectory) -> list[dict[str, Any]]:
    return [build_job_document(r, catalogue, regions) for r in rows]


@dataclass(slots=True)
class SyncResult:
    upserted: int = 0
    deleted: int = 0
    task_uids: list[int] = field(default_factory=list)

    def add(self, other: SyncResult) -> None:
        self.upserted += other.upserted
        self.deleted += other.deleted
        self.task_uids.extend(other.task_uids)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _normalise(value: Any) -> Any:
    # Meilisearch answers filterable attributes as it stores them (sorted, possibly as objects): compare sets.
    if isinstance(value, list):
        return sorted((_normalise(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


class IndexSettingsFailed(RuntimeError):
    """Meilisearch refused or cancelled an index's settings."""


class Indexer:
    """Writes documents of one index prefix. One per process (`indexer_for`), remembering which indexes it
    has already checked."""

    def __init__(self, client: AsyncClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._ready: set[str] = set()
        self._lock = asyncio.Lock()

    def uid(self, kind: Kind) -> str:
        return index_name(self.prefix, kind)

    async def ensure_index(self, kind: Kind, catalogue: Catalogue, regions: RegionDirectory) -> None:
        """Create the index with its full settings when missing; restore the structural settings when they
        differ (never `_geo`: filtering by geohash cells, see matching/geo.py)."""
        uid = self.uid(kind)
        if uid in self._ready:
            return
        # Concurrent jobs of one worker would otherwise both find the index missing and both create it.
        async with self._lock:
            if uid not in self._ready:
                await self._ensure_index(kind, uid, catalogue, regions)

    async def _ensure_index(self, kind: Kind, uid: str, catalogue: Catalogue, regions: RegionDirectory) -> None:
        # Every path waits for the settings, not only the creation: a search between the two fails ("Attribute
        # status is not filterable") and its outbox row is retried; every first start logged dozens.
        try:
            index = await self.client.get_index(uid)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise
            # Off the loop: the settings' dictionary is decided with jieba (~1.5 s once per catalogue version).
            await self.client.create_index(uid, primary_key="id")  # waits for the creation (or a racing one)
            await self.apply_full_settings(kind, catalogue, regions)
            self._ready.add(uid)
            return
        # Another process's creation may still be applying its settings: wait for those rather than queue more.
        pending = await self.client.get_tasks(index_ids=[uid], types=["settingsUpdate"],
                                              statuses=["enqueued", "processing"])
        for task in pending.results:
            await self._wait_for_settings(uid, task.uid)
        base = _BASE_SETTINGS[kind]
        current = (await index.get_settings()).model_dump(by_alias=True)
        if any(_normalise(current.get(k)) != _normalise(base[k]) for k in _STRUCTURAL_KEYS):
            task_info = await index.update_settings(MeilisearchSettings.model_validate(base))
            await self._wait_for_settings(uid, task_info.task_uid)
            log.info("indexing.settings_restored", index=uid)
        self._ready.add(uid)

    async def apply_full_settings(self, kind: Kind, catalogue: Catalogue, regions: RegionDirectory) -> None:
        """The index's whole settings, the catalogue's synonyms and dictionary included, applied and waited for
        (a new index; a rebuild)."""
        build = jobs_index_settings if kind == "jobs" else workers_index_settings
        full = await asyncio.to_thread(build, catalogue, regions)
        task = await self.client.index(self.uid(kind)).update_settings(MeilisearchSettings.model_validate(full))
        await self._wait_for_settings(self.uid(kind), task.task_uid)

    async def _wait_for_settings(self, uid: str, task_uid: int) -> None:
        result = await self.client.wait_for_task(task_uid, timeout_in_ms=SETTINGS_TIMEOUT_MS)
        if result.status != "succeeded":
            # Not marked ready: the next job checks again instead of searching an index without its settings.
            raise IndexSettingsFailed(f"{uid}: settings task {task_uid} {result.status}: {result.error}")

    async def _write(self, kind: Kind, documents: list[dict[str, Any]], delete_ids: list[str]) -> SyncResult:
        index = self.client.index(self.uid(kind))
        result = SyncResult()
        for batch in _chunks(documents, WRITE_BATCH_SIZE):
            task = await index.add_documents(list(batch), primary_key="id")
            result.task_uids.append(task.task_uid)
            result.upserted += len(batch)
        for batch in _chunks(delete_ids, WRITE_BATCH_SIZE):
            task = await index.delete_documents(list(batch))
            result.task_uids.append(task.task_uid)
            result.deleted += len(batch)
        return result

    async def sync_jobs(self, pool: asyncpg.Pool, ids: Sequence[UUID], catalogue: Catalogue,
                        regions: RegionDirectory) -> SyncResult:
        await self.ensure_index("jobs", catalogue, regions)
        async with pool.acquire() as conn, conn.transaction():
            # Read and queue the write under the entities' locks (module docstring).
            await indexing_repository.lock_for_sync(conn, "jobs", ids)
            rows = {r["id"]: r for r in await jobs_repository.get_many(conn, ids)}
            indexable = [r for r in rows.values() if job_is_indexable(r)]
            if len(indexable) > INLINE_DOCUMENTS:
                documents = await asyncio.to_thread(_job_documents, indexable, catalogue, regions)
            else:
                documents = _job_documents(indexable, catalogue, regions)
            gone = [str(i) for i in ids if i not in rows or not job_is_indexable(rows[i])]
            return await self._write("jobs", documents, gone)

    async def sync_workers(self, pool: asyncpg.Pool, ids: Sequence[UUID], catalogue: Catalogue,
                           regions: RegionDirectory, today: date) -> SyncResult:
        await self.ensure_index("workers", catalogue, regions)
        async with pool.acquire() as conn, conn.transaction():
            await indexing_repository.lock_for_sync(conn, "workers", ids)
            rows = {r["id"]: r for r in await workers_repository.get_many_for_index(conn, ids)}
            if len(rows) > INLINE_DOCUMENTS:
                # Thousands (an import batch read back): in a thread, for the event loop and for the other index
                # jobs waiting on these locks meanwhile.
                documents, gone = await asyncio.to_thread(worker_documents, rows.values(), catalogue, regions, today)
            else:
                documents, gone = worker_documents(rows.values(), catalogue, regions, today)
            gone += [str(i) for i in ids if i not in rows]
            return await self._write("workers", documents, gone)

    async def write_worker_rows(self, rows: Sequence[Mapping[str, Any]], catalogue: Catalogue,
                                regions: RegionDirectory, today: date) -> SyncResult:
        """`sync_workers` for rows already in hand, with the columns `get_many_for_index` reads (the bulk importer
        has them in memory after a batch commits: `worker_profiles.repository.index_row_of`). Documents are
        built in a thread (thousands at a time)."""
        await self.ensure_index("workers", catalogue, regions)
        documents, gone = await asyncio.to_thread(worker_documents, rows, catalogue, regions, today)
        return await self._write("workers", documents, gone)

    async def reindex_by_occupation_codes(self, pool: asyncpg.Pool, codes: Iterable[str], catalogue: Catalogue,
                                          regions: RegionDirectory, today: date) -> SyncResult:
        """Re-index open postings and live profiles holding any of `codes` with `catalogue`'s data (after a
        catalogue publication changed names, aliases, shortage levels or retired codes). Keyset batches, so
        memory stays bounded whatever the count."""
        wanted = sorted(set(codes))
        total = SyncResult()
        if not wanted:
            return total
        for kind in ("jobs", "workers"):
            after: UUID | None = None
            while True:
                async with pool.acquire() as conn:
                    if kind == "jobs":
                        ids = await jobs_repository.ids_with_occupations(conn, wanted, after=after, limit=BATCH_SIZE)
                    else:
                        ids = await workers_repository.ids_with_occupations(conn, wanted, after=after,
                                                                            limit=BATCH_SIZE)
                if not ids:
                    break
                if kind == "jobs":
                    total.add(await self.sync_jobs(pool, ids, catalogue, regions))
                else:
                    total.add(await self.sync_workers(pool, ids, catalogue, regions, today))
                after = ids[-1]
        log.info("indexing.reindexed_occupations", codes=len(wanted), upserted=total.upserted, deleted=total.deleted)
        return total

    async def reindex_all(self, pool: asyncpg.Pool, kind: Kind, catalogue: Catalogue, regions: RegionDirectory,
                          today: date) -> SyncResult:
        """Every row of one kind (a rebuild: the index is derived data and can always be rebuilt)."""
        total = SyncResult()
        after: UUID | None = None
        while True:
            async with pool.acquire() as conn:
                repo = jobs_repository if kind == "jobs" else workers_repository
                ids = await repo.ids_after(conn, after=after, limit=BATCH_SIZE)
            if not ids:
                return total
            if kind == "jobs":
                total.add(await self.sync_jobs(pool, ids, catalogue, regions))
            else:
                total.add(await self.sync_workers(pool, ids, catalogue, regions, today))
            after = ids[-1]

    async def failed_task_uids(self, task_uids: Sequence[int]) -> list[int]:
        """Of these tasks, the ones Meilisearch finished as failed (not waiting for unfinished ones)."""
        if not task_uids:
            return []
        tasks = await self.client.get_tasks(uids=list(task_uids), statuses=["failed"])
        return [t.uid for t in tasks.results]


def worker_documents(rows: Iterable[Mapping[str, Any] | asyncpg.Record], catalogue: Catalogue,
                     regions: RegionDirectory, today: date) -> tuple[list[dict[str, Any]], list[str]]:
    """(documents of the indexable rows, ids of the others: to delete)."""
    documents: list[dict[str, Any]] = []
    gone: list[str] = []
    for row in rows:
        if worker_is_indexable(row):
            documents.append(build_worker_document(row, catalogue, regions, today))
        else:
            gone.append(str(row["id"]))
    return documents, gone


def indexer_for(extensions: dict[str, Any], client: AsyncClient, prefix: str) -> Indexer:
    indexer = extensions.get(_INDEXER_KEY)
    if not isinstance(indexer, Indexer) or indexer.client is not client or indexer.prefix != prefix:
        indexer = Indexer(client, prefix)
        extensions[_INDEXER_KEY] = indexer
    return indexer
