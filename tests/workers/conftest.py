"""What the worker tests share: the resources a worker process holds, for calling its handlers directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from services.db.pool import create_pool
from workers.context import WorkerResources
from workers.handlers import load_handlers
from workers.settings import WorkerSettings


@pytest.fixture
async def resources(settings: ApiSettings) -> AsyncIterator[WorkerResources]:
    load_handlers()
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=6)
    redis = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        yield WorkerResources(settings=WorkerSettings(**settings.model_dump()), pool=pool, redis=redis, search=search)
    finally:
        await search.aclose()
        await redis.aclose(close_connection_pool=True)
        await pool.close()
