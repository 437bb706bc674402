"""The arq Redis connection of a process, built without pinging so the API starts (and keeps accepting
writes into the outbox) while Redis is down; the reconciler enqueues what piled up once it is back."""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

# A connect is judged by the event loop's clock: a loop busy with a CPU-bound step (a 2,000-row import batch) on a
# loaded machine missed a 1 s deadline on loopback in CI. A Redis that is really down is still noticed in seconds.
CONNECT_TIMEOUT_SECONDS = 5


def create_arq_redis(url: str, *, queue_name: str) -> ArqRedis:
    pool = ConnectionPool.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=5.0)
    return ArqRedis(connection_pool=pool, default_queue_name=queue_name)
