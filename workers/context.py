"""What a worker process opens once and every job borrows (the arq `ctx`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from arq.connections import ArqRedis
from meilisearch_python_sdk import AsyncClient

from workers.lease import WorkerLease
from workers.settings import WorkerSettings


@dataclass(slots=True)
class WorkerResources:
    settings: WorkerSettings
    pool: asyncpg.Pool
    redis: ArqRedis
    search: AsyncClient
    extensions: dict[str, Any] = field(default_factory=dict)
    # The process's lease (workers/lease.py); outbox runs are claimed under it. None in tests that call
    # handlers directly: their runs are claimed by no one, as before leases existed.
    lease: WorkerLease | None = None


def resources_of(ctx: dict[str, Any]) -> WorkerResources:
    resources: WorkerResources = ctx["resources"]
    return resources
