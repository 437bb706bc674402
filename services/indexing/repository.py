"""Locks that order index writes per entity (PostgreSQL advisory locks, held for one sync's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

import asyncpg

# Two-key advisory locks (namespace, bucket); the namespaces must not change between releases (an old and a new
# worker must exclude each other) and must differ from the other two-key users (imports: 7_236_118).
_NAMESPACE = {"jobs": 7_236_119, "workers": 7_236_120}
# Entities share buckets so that a sync of thousands of ids takes at most this many locks: PostgreSQL's shared
# lock table holds ~6,400 entries by default (max_locks_per_transaction × max_connections) for the whole server.
# Two entities in one bucket merely wait for each other's few milliseconds.
BUCKETS = 64


def bucket_of(entity_id: UUID) -> int:
    return entity_id.int % BUCKETS


async def lock_for_sync(conn: asyncpg.Connection, kind: Literal["jobs", "workers"], ids: Sequence[UUID]) -> None:
    """Wait until no other sync of these entities is between reading their rows and queueing its Meilisearch
    write; held until the caller's transaction ends. Taken in ascending order (the volatile lock call is
    evaluated after the sort), so two syncs never wait for each other in a cycle."""
    buckets = sorted({bucket_of(i) for i in ids})
    await conn.execute("SELECT pg_advisory_xact_lock($1, b) FROM unnest($2::int[]) AS b ORDER BY b",
                       _NAMESPACE[kind], buckets)
