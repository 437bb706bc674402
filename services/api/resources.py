"""What the lifespan opens once per process and every request borrows: typed, no globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from arq.connections import ArqRedis
from fastapi import Request
from meilisearch_python_sdk import AsyncClient

from services.api.meili_reader import MeiliReader
from services.api.settings import ApiSettings


@dataclass(slots=True)
class Resources:
    settings: ApiSettings
    pool: asyncpg.Pool
    redis: ArqRedis
    search: AsyncClient
    # The keep-alive reader for the search hot paths; None when Meilisearch is not plain http (the SDK then).
    meili_reader: MeiliReader | None = None
    # Domain packages hang their per-process state here (catalogue analyzer, caches …) by name.
    extensions: dict[str, Any] = field(default_factory=dict)


async def get_resources(request: Request) -> Resources:
    # A coroutine on purpose: FastAPI runs plain-`def` dependencies in its thread pool, a hop per request.
    resources: Resources = request.state.resources
    return resources
