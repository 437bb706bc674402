"""What a worker process opens once and every job borrows (the arq `ctx`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from arq.connections import ArqRedis
from meilisearch_python_sdk import AsyncClient

from workers.settings import WorkerSettings


@dataclass(slots=True)
class WorkerResources:
    settings: WorkerSettings
    pool: asyncpg.Pool
    redis: ArqRedis
    search: AsyncClient
    extensions: dict[str, Any] = field(default_factory=dict)


def resources_of(ctx: dict[str, Any]) -> WorkerResources:
    resources: WorkerResources = ctx["resources"]
    return resources
