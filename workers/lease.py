"""A worker process's lease: proof in Redis that the process is alive, renewed while it runs.

Every outbox run records the lease of the process running it (`outbox.claimed_by`). When a worker is killed
(OOM, SIGKILL, a lost VM) arq keeps that job's id marked in progress until arq's job timeout, 10 minutes; the
reconciler sees the claim's lease has expired and lets arq run that job again at once instead, in its first round
(every 30 s) after the lease lapses (workers/outbox.py, `rescue_dead_claims`). Handlers are safe to run twice, so a
lease lost to a Redis hiccup while the process still runs costs a duplicate run, not a wrong result."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable

import structlog
from arq.connections import ArqRedis

log = structlog.get_logger("bashu.worker.lease")

_KEY_PREFIX = "bashu:worker-lease:"


def lease_key(instance_id: str) -> str:
    # Global to the Redis database, like arq's job keys: ids are random, so stacks sharing a Redis never meet.
    return _KEY_PREFIX + instance_id


class WorkerLease:
    """Held from `start()` to `stop()`; expires `ttl_seconds` after the last renewal if the process dies."""

    def __init__(self, redis: ArqRedis, ttl_seconds: float) -> None:
        self.instance_id = uuid.uuid4().hex
        self._redis = redis
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Taken before the first job can start, so no claim ever names a lease that was never there.
        await self._renew()
        self._task = asyncio.create_task(self._keep_renewing(), name="worker-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # A graceful stop gives up the lease at once: whatever this process left claimed is handed over by
        # the next reconciler round. (Jobs arq cancelled at shutdown gave up their claims: arq puts them back
        # on its queue itself, `process_outbox`.)
        with contextlib.suppress(Exception):
            await self._redis.delete(lease_key(self.instance_id))

    async def _renew(self) -> None:
        await self._redis.set(lease_key(self.instance_id), b"1", px=self._ttl_ms)

    async def _keep_renewing(self) -> None:
        # Three renewals per period, on a fixed schedule, each given at most a third of the period: a renewal
        # that hangs (Redis slow, its client's 5 s timeout) or fails is followed by the next one before the
        # lease runs out, whatever the period (sleeping a third *after* a slow renewal did not ensure that).
        period = self._ttl_ms / 3000
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += period
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await asyncio.wait_for(self._renew(), timeout=period)
            except Exception as exc:  # Redis away: keep trying; the claims may be handed over meanwhile
                log.warning("worker.lease_renewal_failed", error=type(exc).__name__)
            due = max(due, loop.time() - period)  # after a long pause of the loop, no burst of catch-up renewals


async def expired_leases(redis: ArqRedis, instance_ids: Iterable[str]) -> set[str]:
    """The instance ids among these whose lease is gone (their process died or stopped)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return set()
    present = await redis.mget([lease_key(i) for i in ids])
    return {i for i, value in zip(ids, present, strict=True) if value is None}
