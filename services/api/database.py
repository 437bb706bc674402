"""One transaction per request, and the outbox rows it wrote enqueued only after it committed.

`scope="function"` makes FastAPI leave the dependency (commit) before the response is built, so a failed
commit becomes an error response instead of a 201 for data that was never stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.api.resources import Resources, get_resources
from services.outbox import repository as outbox_repository
from services.outbox.dispatch import enqueue_committed

_STATE_KEY = "db_connection"


class PendingWork:
    """Outbox rows written in this request's transaction, to enqueue once it has committed."""

    def __init__(self) -> None:
        self.outbox_ids: list[int] = []

    async def record(self, conn: asyncpg.Connection, topic: str, entity_id: str) -> int:
        outbox_id = await outbox_repository.record(conn, topic, entity_id)
        self.outbox_ids.append(outbox_id)
        return outbox_id


def _pending_work() -> PendingWork:
    return PendingWork()


PostCommit = Annotated[PendingWork, Depends(_pending_work)]


def request_connection(request: Request) -> asyncpg.Connection | None:
    """The request's own connection, when its transaction has begun: later dependencies of the same request
    (the caller's key lookup) read through it instead of taking a second connection from the pool."""
    conn: asyncpg.Connection | None = getattr(request.state, _STATE_KEY, None)
    return conn


async def _transaction(
    request: Request, resources: Annotated[Resources, Depends(get_resources)], pending: PostCommit,
) -> AsyncIterator[asyncpg.Connection]:
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            # A request holding one connection must never wait for a second: with as many such requests in
            # flight as the pool has connections, each would wait for the others for ever.
            setattr(request.state, _STATE_KEY, conn)
            try:
                yield conn
            finally:
                setattr(request.state, _STATE_KEY, None)  # released with the transaction
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)


Connection = Annotated[asyncpg.Connection, Depends(_transaction, scope="function")]
