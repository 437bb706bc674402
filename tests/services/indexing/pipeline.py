"""Running the real pipeline in tests: an arq worker in burst mode, then waiting for Meilisearch's tasks."""

from __future__ import annotations

import warnings
from typing import Any

from arq.worker import Worker
from meilisearch_python_sdk.errors import MeilisearchApiError
from meilisearch_python_sdk.models.settings import MeilisearchSettings

from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.db.pool import create_pool
from workers.context import WorkerResources
from workers.outbox import reconcile_outbox
from workers.settings import WorkerSettings
from workers.worker_settings import build_worker_settings

MEILI_TIMEOUT_MS = 30_000


async def run_worker_burst(settings: ApiSettings, **overrides: Any) -> None:
    """Process every queued arq job (outbox rows) and return."""
    options = build_worker_settings(WorkerSettings(**{**settings.model_dump(), **overrides}))
    options.update(burst=True, handle_signals=False, poll_delay=0.05)
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        with warnings.catch_warnings():
            # arq's Worker.close() calls redis' deprecated close(); not ours to fix.
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()


async def reconcile(settings: ApiSettings, **overrides: Any) -> int:
    """Run the outbox reconciler once (what the worker's cron does every 30 s); returns rows re-enqueued."""
    worker_settings = WorkerSettings(**{**settings.model_dump(), **overrides})
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=2)
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        resources = WorkerResources(settings=worker_settings, pool=pool, redis=redis, search=search)
        return await reconcile_outbox({"resources": resources})
    finally:
        await search.aclose()
        await redis.aclose(close_connection_pool=True)
        await pool.close()


async def settle(settings: ApiSettings) -> None:
    """Wait until Meilisearch has applied every task of this test's indexes, and assert none failed."""
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        uids = [index_name(settings.meili_index_prefix, kind) for kind in ("jobs", "workers")]
        tasks = await client.get_tasks(index_ids=uids, limit=1000)
        for task in tasks.results:
            result = await client.wait_for_task(task.uid, timeout_in_ms=MEILI_TIMEOUT_MS)
            # Two processes creating the same index at once is a harmless race (the loser's task fails).
            benign = result.task_type == "indexCreation" and (result.error or {}).get("code") == "index_already_exists"
            assert result.status == "succeeded" or benign, (result.task_type, result.error)
    finally:
        await client.aclose()


async def document_ids(settings: ApiSettings, kind: str) -> set[str]:
    """Every document id in the test's index of `kind` (empty when the index does not exist)."""
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        index = client.index(index_name(settings.meili_index_prefix, kind))
        try:
            page = await index.get_documents(limit=1000, fields=["id"])
        except MeilisearchApiError as exc:
            if exc.code == "index_not_found":
                return set()
            raise
        return {str(d["id"]) for d in page.results}
    finally:
        await client.aclose()


async def get_document(settings: ApiSettings, kind: str, doc_id: str) -> dict[str, Any]:
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        index = client.index(index_name(settings.meili_index_prefix, kind))
        document: dict[str, Any] = await index.get_document(doc_id)
        return document
    finally:
        await client.aclose()


async def search(settings: ApiSettings, kind: str, query: str, **params: Any) -> list[dict[str, Any]]:
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        result = await client.index(index_name(settings.meili_index_prefix, kind)).search(query, **params)
        return list(result.hits)
    finally:
        await client.aclose()


async def index_documents(settings: ApiSettings, kind: str, documents: list[dict[str, Any]],
                          config: dict[str, Any]) -> None:
    """A fresh `kind` index of this test's prefix with `config` (the production settings), holding `documents`."""
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        index = await client.create_index(index_name(settings.meili_index_prefix, kind), primary_key="id",
                                          settings=MeilisearchSettings.model_validate(config), wait=True,
                                          timeout_in_ms=120_000)
        task = await index.add_documents(documents, primary_key="id")
        done = await client.wait_for_task(task.task_uid, timeout_in_ms=120_000)
        assert done.status == "succeeded", done.error
    finally:
        await client.aclose()
