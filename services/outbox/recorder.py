"""Who writes outbox rows for a domain service: the interface services take, and the recorder that leaves its
rows to the reconciler. (A request's or a job's rows, enqueued once its transaction commits, are collected by
`services.api.database.PendingWork`.)"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from services.outbox import repository


class OutboxRecorder(Protocol):
    """Writes an outbox row in `conn` (the caller's transaction) and returns its id."""

    async def record(self, conn: asyncpg.Connection, topic: str, entity_id: str) -> int: ...


class UnqueuedOutbox:
    """Writes the rows and enqueues none: the worker's reconciler picks them up (seeding, one-off loads), so
    nothing has to reach Redis for the work to happen."""

    async def record(self, conn: asyncpg.Connection, topic: str, entity_id: str) -> int:
        return await repository.record(conn, topic, entity_id)
