"""The arq Redis connection of a process, built without pinging so the API starts (and keeps accepting
writes into the outbox) while Redis is down; the reconciler enqueues what piled up once it is back."""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool


def create_arq_redis(url: str, *, queue_name: str) -> ArqRedis:
    pool = ConnectionPool.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
    return ArqRedis(connection_pool=pool, default_queue_name=queue_name)
