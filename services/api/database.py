"""One transaction per request, and the outbox rows it wrote enqueued only after it committed.

`scope="function"` makes FastAPI leave the dependency (commit) before the response is built, so a failed
commit becomes an error response instead of a 201 for data that was never stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends

from services.api.resources import Resources, get_resources
from services.outbox import repository as outbox_repository
from services.outbox.dispatch import enqueue_outbox


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


async def _transaction(
    resources: Annotated[Resources, Depends(get_resources)], pending: PostCommit,
) -> AsyncIterator[asyncpg.Connection]:
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            yield conn
        if pending.outbox_ids:
            sent = await enqueue_outbox(resources.redis, pending.outbox_ids)
            if sent:
                await outbox_repository.mark_enqueued(conn, sent)


Connection = Annotated[asyncpg.Connection, Depends(_transaction, scope="function")]
