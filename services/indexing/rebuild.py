"""`bashu index rebuild`: every posting and profile sent to Meilisearch again from PostgreSQL.

Meilisearch holds derived data only. This is how it is rebuilt after its data is lost, and how documents
written by older code are brought up to what today's document builders write (a new normalisation, a fixed
field). It runs beside the API and the worker: each batch is read and written under the same per-entity locks
as the index jobs (`Indexer.sync_*`), so a change committed meanwhile is never overwritten by an older read,
and it may be stopped and run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from services.api.catalogue.runtime import start_runtime
from services.api.china_calendar import china_today
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from services.db.pool import create_serving_pool
from services.indexing.catalogue_source import current_catalogue
from services.indexing.sync import SETTINGS_TIMEOUT_MS, Indexer, Kind

log = structlog.get_logger("bashu.indexing.rebuild")

# Each write is one Meilisearch task of up to WRITE_BATCH_SIZE documents; a busy instance may take minutes.
TASK_TIMEOUT_MS = 10 * 60_000


@dataclass(frozen=True, slots=True)
class RebuiltIndex:
    kind: Kind
    upserted: int
    deleted: int
    failed_tasks: int


async def rebuild_indexes(settings: ApiSettings, kinds: Sequence[Kind]) -> list[RebuiltIndex]:
    pool = await create_serving_pool(str(settings.database_url), min_size=1, max_size=3)
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value(),
                                  timeout_seconds=max(settings.meili_timeout_seconds, SETTINGS_TIMEOUT_MS / 1000))
    extensions: dict[str, object] = {}
    runtime = await start_runtime(pool, extensions)
    try:
        snapshot = await current_catalogue(extensions)
        indexer = Indexer(client, settings.meili_index_prefix)
        rebuilt: list[RebuiltIndex] = []
        for kind in kinds:
            await indexer.ensure_index(kind, snapshot.catalogue, snapshot.regions)
            # Whole settings, not only the structural ones ensure_index restores: after Meilisearch lost its
            # data, a running worker may already have created the index bare, without the catalogue's synonyms
            # and dictionary.
            await indexer.apply_full_settings(kind, snapshot.catalogue, snapshot.regions)
            result = await indexer.reindex_all(pool, kind, snapshot.catalogue, snapshot.regions, china_today())
            for task_uid in result.task_uids:
                await client.wait_for_task(task_uid, timeout_in_ms=TASK_TIMEOUT_MS)
            failed = await indexer.failed_task_uids(result.task_uids)
            rebuilt.append(RebuiltIndex(kind=kind, upserted=result.upserted, deleted=result.deleted,
                                        failed_tasks=len(failed)))
            log.info("indexing.rebuilt", index=indexer.uid(kind), upserted=result.upserted, deleted=result.deleted,
                     failed_tasks=len(failed))
        return rebuilt
    finally:
        await runtime.close()
        await client.aclose()
        await pool.close()
