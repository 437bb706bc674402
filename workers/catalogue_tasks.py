"""The catalogue drives search: what a worker does when a catalogue version is published.

`catalogue.published` (outbox row written in the publishing transaction, entity id = version number):
1. reload this worker's CatalogueRuntime (analyzer, typeahead) at once;
2. set Meilisearch `synonyms` (aliases ↔ names) and `dictionary` (trade and place words kept whole) on the
   jobs and workers indexes (created with primary key `id` when missing);
3. re-index the documents whose occupation data changed (name, aliases, shortage level, retirement), through
   services/indexing (Indexer.reindex_by_occupation_codes);
4. once a version is newly applied, record an `occupations.reinfer` row: text typed before may name other trades
   under the new names and aliases (workers/reinference_tasks.py).

Like every outbox handler it works from the current state: it applies the version published *now* (a newer
one if it was published meanwhile), so running it twice, or out of order, converges on the same settings.
The documents to re-index are those of the codes changed since the last version whose search side was applied
(`catalogue_search_applied`, advanced once the settings and re-index succeeded): the union of the changes of
every version published after it, not only the newest one's, so a publication handled after the next one was
published still reaches the documents. Nothing applied yet (a fresh database): every code of the version.
One application at a time (a PostgreSQL advisory lock): concurrent rows wait, then find the work done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import pairwise

import asyncpg
import structlog
from meilisearch_python_sdk import AsyncClient

from matching.catalogue import Catalogue
from services.api.catalogue import repository
from services.api.catalogue.reference import reference_regions
from services.api.catalogue.runtime import EXTENSION_KEY, CatalogueRuntime, load_published
from services.api.catalogue.service import PUBLISHED_TOPIC
from services.api.china_calendar import china_today
from services.indexing.sync import Indexer, Kind, indexer_for
from workers.context import WorkerResources
from workers.import_tasks import hand_over
from workers.outbox import outbox_handler
from workers.reinference_tasks import REINFER_TOPIC

log = structlog.get_logger("bashu.worker.catalogue")

INDEX_KINDS: tuple[Kind, ...] = ("jobs", "workers")
# Settings changes re-index the whole index inside Meilisearch: at 500k documents that takes minutes,
# far beyond the SDK's 5 s default.
SETTINGS_TIMEOUT_MS = 15 * 60 * 1000
# Fields whose change alters what a document carries or which code it resolves to.
DOCUMENT_FIELDS = frozenset({"name", "aliases", "shortage_level", "replaced_by", "industry"})


async def apply_search_settings(client: AsyncClient, uid: str, *, synonyms: dict[str, list[str]],
                                dictionary: list[str], timeout_ms: int = SETTINGS_TIMEOUT_MS) -> None:
    """Set `dictionary` and `synonyms` on an existing index and wait for both tasks."""
    index = client.index(uid)
    # The dictionary first: synonyms are matched on the words the segmenter produces.
    for task in (await index.update_word_dictionary(dictionary), await index.update_synonyms(synonyms)):
        result = await client.wait_for_task(task.task_uid, timeout_in_ms=timeout_ms)
        if result.status != "succeeded":
            raise RuntimeError(f"Meilisearch task {task.task_uid} on {uid} ended {result.status}: {result.error}")


def affected_codes(older: Catalogue | None, newer: Catalogue) -> set[str]:
    """Occupation codes whose documents carry different data under `newer` than under `older`."""
    if older is None:
        return {e.occupation_code for e in newer.entries}
    change = older.diff(newer)
    codes = set(change.added) | set(change.removed)
    for field_change in change.changed:
        if field_change.field in DOCUMENT_FIELDS:
            codes.add(field_change.occupation_code)
            if field_change.field == "replaced_by" and isinstance(field_change.after, str):
                codes.add(field_change.after)
    # Documents of a retired code carry its replacement's data: they change when the replacement does.
    codes.update(e.occupation_code for e in newer.entries if newer.resolve(e.occupation_code) in codes)
    return codes


def changed_codes(catalogues: Sequence[Catalogue], *, complete: bool) -> set[str]:
    """Occupation codes whose documents may carry data other than the last catalogue's, given the run of
    published versions (oldest first) since the one last applied to search. `complete`: the run starts at the
    version applied (else nothing is known to be applied and every code of the last version counts). The union
    of each step's changes: a change undone later still left documents indexed in between."""
    current = catalogues[-1]
    if not complete:
        return affected_codes(None, current)
    codes: set[str] = set()
    for older, newer in pairwise(catalogues):
        codes |= affected_codes(older, newer)
    codes.update(e.occupation_code for e in current.entries if current.resolve(e.occupation_code) in codes)
    return codes


async def catalogues_since(conn: asyncpg.Connection, applied: int | None,
                           current: Catalogue) -> tuple[list[Catalogue], bool]:
    """The published versions from `applied` (included) to `current`, oldest first, and whether the run reaches
    `applied` (False when nothing was applied, or it is not an ancestor of `current`: then only `current`)."""
    if applied == current.version:
        return [current], True
    if applied is None:
        return [current], False
    versions = await repository.lineage(conn, current.version, stop_at=applied)
    if versions[-1] != applied:
        return [current], False
    older = [Catalogue(v, await repository.entries(conn, v)) for v in reversed(versions[1:])]
    return [*older, current], True


async def reindex_occupations(resources: WorkerResources, catalogue: Catalogue, codes: set[str]) -> int:
    """Re-index open postings and live profiles holding any of `codes` with `catalogue`'s data (occupation
    name, aliases, shortage level, the code a retired one resolves to); returns how many documents were written."""
    if not codes:
        return 0
    result = await _indexer(resources).reindex_by_occupation_codes(
        resources.pool, codes, catalogue, reference_regions(), china_today())
    return result.upserted + result.deleted


def _indexer(resources: WorkerResources) -> Indexer:
    return indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)


def runtime_of_worker(resources: WorkerResources) -> CatalogueRuntime | None:
    runtime: CatalogueRuntime | None = resources.extensions.get(EXTENSION_KEY)
    return runtime


@outbox_handler(PUBLISHED_TOPIC)
async def apply_published_catalogue(resources: WorkerResources, entity_id: str) -> None:
    runtime = runtime_of_worker(resources)
    if runtime is not None:
        await runtime.refresh()
    async with resources.pool.acquire() as conn:
        await repository.lock_search_applying(conn)
        try:
            await _apply_published(resources, conn, entity_id)
        finally:
            await repository.unlock_search_applying(conn)


async def _apply_published(resources: WorkerResources, conn: asyncpg.Connection, entity_id: str) -> None:
    """Under the lock: settings of the version published now, re-index of the codes changed since the version
    last applied, then that version recorded as applied (a failure before leaves it for the retry)."""
    version, _, catalogue = await load_published(conn)
    if version == 0:
        log.info("catalogue.nothing_published", outbox_entity=entity_id)
        return
    applied = await repository.search_applied_version(conn)
    run, complete = await catalogues_since(conn, applied, catalogue)
    regions = reference_regions()
    synonyms = catalogue.meilisearch_synonyms()
    # Deciding the dictionary segments every word in context with jieba (~1.5 s once per version): off the loop.
    dictionary = await asyncio.to_thread(catalogue.meilisearch_dictionary, regions)
    indexer = _indexer(resources)
    for kind in INDEX_KINDS:
        # Creates a missing index (primary key `id`) with the structural settings of services/indexing.
        await indexer.ensure_index(kind, catalogue, regions)
    # The jobs index only: the workers index is not searched by text (matching/documents.py), and a new dictionary
    # makes Meilisearch re-index every document of an index it is set on, for nothing there.
    await apply_search_settings(resources.search, indexer.uid("jobs"), synonyms=synonyms, dictionary=dictionary)
    codes = changed_codes(run, complete=complete)
    queued = await reindex_occupations(resources, catalogue, codes)
    await repository.set_search_applied_version(conn, version)
    if applied != version:
        # New names and aliases may infer other trades for text typed before (workers/reinference_tasks.py).
        await hand_over(resources, REINFER_TOPIC, "")
    log.info("catalogue.applied", version=version, previously_applied=applied, versions=len(run) - 1,
             outbox_entity=entity_id, synonyms=len(synonyms), dictionary=len(dictionary),
             affected_codes=len(codes), reindexed=queued)
