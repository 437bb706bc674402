"""Reliability of notification delivery with real Redis, PostgreSQL, worker processes and a receiver on loopback:
Redis down when notifications are recorded, and a worker killed with SIGKILL in the middle of a batch."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.api.database import PendingWork
from services.api.notifications import delivery, service
from services.api.notifications.clock import SYSTEM_CLOCK
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg
from tests.services.api.notifications.conftest import (  # noqa: F401 - fixtures used by name
    FAST,
    MakeDelivery,
    Record,
    RunWorker,
    make_delivery,
    receiver,
    record,
    register_webhook,
    run_worker,
    running_worker,
    uuid_of,
    wait_until,
)
from tests.services.api.notifications.receiver import Receiver, Reply
from tests.workers.worker_process import kill_worker_once


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens here once the socket is closed


def matches(org_id: uuid.UUID, n: int) -> Any:
    async def work(conn: asyncpg.Connection, pending: PendingWork) -> list[uuid.UUID]:
        notices = [service.MatchNotice(recipient_org_id=org_id, job_id=uuid.uuid4(), worker_id=uuid.uuid4(),
                                       score=0.7, direction="worker_for_job", summary={"title": f"岗位{i}"})
                   for i in range(n)]
        return await service.record_match_notifications(conn, pending, notices)

    return work


async def test_redis_down_when_recorded_loses_nothing(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, run_worker: RunWorker,  # noqa: F811
        receiver: Receiver, db: asyncpg.Connection) -> None:  # noqa: F811
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    created = await record(matches(uuid_of(enterprise), 5), redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    assert len(created) == 5
    # Committed, but nothing reached Redis: the rows wait.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE enqueued_at IS NULL AND done_at IS NULL") == 5
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE dispatched_at IS NULL") == 5
    assert receiver.requests == []

    # Redis is back: the reconciler (run at worker start) enqueues them, and everything is delivered once.
    await run_worker()
    assert len(receiver.accepted) == 5
    assert set(receiver.accepted.values()) == {1}
    assert not receiver.duplicates
    assert all(r.verified for r in receiver.requests)
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 5


async def test_a_worker_killed_mid_batch_loses_nothing_and_no_message_is_accepted_twice(
        client: httpx.AsyncClient, make_org: MakeOrg, record: Record, settings: ApiSettings,  # noqa: F811
        receiver: Receiver, db: asyncpg.Connection, make_delivery: MakeDelivery,  # noqa: F811
        tmp_path: Path) -> None:
    total = 30
    enterprise = await make_org("enterprise")
    hook = await register_webhook(client, enterprise, receiver.url)
    receiver.secret = hook["secret"]
    # Slow answers keep several deliveries in flight when the worker dies.
    receiver.behaviour = lambda _r, _nth: Reply(200, delay=0.3)
    await record(matches(uuid_of(enterprise), total))

    async def mid_batch() -> bool:
        undispatched = await db.fetchval("SELECT count(*) FROM notifications WHERE dispatched_at IS NULL")
        return undispatched == 0 and len(receiver.accepted) >= 5

    await kill_worker_once(settings, tmp_path / "worker.log", mid_batch, within=60, **FAST, worker_max_jobs=10)

    delivered_before = await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
    assert delivered_before < total  # it really died mid-batch
    receiver.behaviour = lambda _r, _nth: Reply(200)

    # Restart: a new worker, and the sweeper (a cron every 30 s in production) run every half second here.
    sweeper = await make_delivery(clock=SYSTEM_CLOCK)
    async with running_worker(settings):
        async def all_delivered() -> bool:
            await delivery.sweep(sweeper)
            return await db.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == total

        await wait_until(all_delivered, within=60)

    assert len(receiver.accepted) == total
    assert set(receiver.accepted.values()) == {1}  # none accepted twice (resends of in-flight ones are duplicates)
    assert all(r.verified for r in receiver.requests)
    assert await db.fetchval("SELECT count(*) FROM notifications") == total

