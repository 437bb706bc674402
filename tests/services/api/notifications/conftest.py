"""Fixtures for notification tests: a controllable clock, a fake SMS provider, worker runs with both injected,
and helpers to record notifications the way producers do (in their own transaction, enqueued after commit)."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from arq.worker import Worker

from services.api.database import PendingWork
from services.api.notifications.clock import CLOCK_KEY
from services.api.redis_connection import create_arq_redis
from services.api.settings import ApiSettings
from services.outbox.dispatch import enqueue_committed
from services.sms.provider import SmsError, SmsSent
from tests.conftest import OrgKey
from tests.services.api.notifications.receiver import Receiver
from workers.notification_tasks import SMS_PROVIDER_KEY
from workers.settings import WorkerSettings
from workers.worker_settings import build_worker_settings

# Fast retries for tests; the defaults are minutes.
FAST = {"webhook_timeout_seconds": 2.0, "webhook_backoff_base_seconds": 0.05, "webhook_backoff_max_seconds": 0.2,
        "webhook_max_attempts": 3, "delivery_lease_margin_seconds": 1.0, "delivery_sweep_grace_seconds": 0.0,
        "outbox_stale_after_seconds": 0.01, "arq_poll_delay_seconds": 0.02}


class ManualClock:
    """Time that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class RealClockWithOffset:
    """Wall-clock time, shifted (quiet hours or a digest boundary without freezing the leases' clock)."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class FakeSms:
    """Behind the SmsProvider interface: remembers what was sent; can fail the first n sends."""

    fail_first: int = 0
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0

    async def send(self, phone: str, text: str, *, message_id: str) -> SmsSent:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise SmsError("gateway answered HTTP 503", retryable=True)
        self.sent.append((phone, text, message_id))
        return SmsSent(provider_message_id=f"fake-{len(self.sent)}")

    async def aclose(self) -> None:
        return None


def worker_settings(settings: ApiSettings, **overrides: Any) -> WorkerSettings:
    return WorkerSettings(**{**settings.model_dump(), **FAST, **overrides})


def worker_kwargs(settings: ApiSettings, *, clock: Any = None, sms: Any = None, **overrides: Any) -> dict[str, Any]:
    kwargs = build_worker_settings(worker_settings(settings, **overrides))
    on_startup = kwargs["on_startup"]

    async def startup(ctx: dict[str, Any]) -> None:
        await on_startup(ctx)
        if clock is not None:
            ctx["resources"].extensions[CLOCK_KEY] = clock
        if sms is not None:
            ctx["resources"].extensions[SMS_PROVIDER_KEY] = sms

    kwargs["on_startup"] = startup
    kwargs["handle_signals"] = False
    return kwargs


RunWorker = Callable[..., Awaitable[None]]


@pytest.fixture
def run_worker(settings: ApiSettings) -> RunWorker:
    """Run a burst worker until its queue is empty (deferred retries included)."""

    async def run(*, clock: Any = None, sms: Any = None, **overrides: Any) -> None:
        worker = Worker(**worker_kwargs(settings, clock=clock, sms=sms, **overrides), burst=True)
        try:
            await asyncio.wait_for(worker.main(), 60)
        finally:
            await close_worker(worker)

    return run


@contextlib.asynccontextmanager
async def running_worker(settings: ApiSettings, **kwargs: Any) -> AsyncIterator[Worker]:
    """A long-running worker in this event loop (crons included), stopped on exit."""
    worker = Worker(**worker_kwargs(settings, **kwargs))
    task = asyncio.create_task(worker.main())
    try:
        yield worker
    finally:
        # Stop gracefully: in burst mode with nothing more to start, main() ends its poll iteration, waits for
        # the jobs in flight and returns. Cancelling it could interrupt a Redis pipeline half-way (its connection
        # is then never released: an unclosed-client ResourceWarning), and arq's close() cancels unfinished jobs
        # and gathers them, raising CancelledError here.
        worker.burst, worker.max_burst_jobs = True, 0
        await asyncio.wait_for(task, 30)
        await close_worker(worker)


async def close_worker(worker: Worker) -> None:
    with warnings.catch_warnings():
        # arq's Worker.close() calls redis' deprecated close(); not ours to fix.
        warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
        await worker.close()


async def wait_until(predicate: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


Record = Callable[[Callable[[asyncpg.Connection, PendingWork], Awaitable[Any]]], Awaitable[Any]]


@pytest.fixture
def record(db: asyncpg.Connection, settings: ApiSettings) -> Record:
    """Run `work(conn, pending)` in one transaction (as a producer would), then enqueue its outbox rows."""

    async def run(work: Callable[[asyncpg.Connection, PendingWork], Awaitable[Any]],
                  *, redis_url: str | None = None) -> Any:
        pending = PendingWork()
        async with db.transaction():
            result = await work(db, pending)
        redis = create_arq_redis(redis_url or str(settings.redis_url), queue_name=settings.arq_queue_name)
        try:
            await enqueue_committed(redis, db, pending.outbox_ids)
        finally:
            await redis.aclose(close_connection_pool=True)
        return result

    return run


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def register_webhook(client: httpx.AsyncClient, org: OrgKey, url: str,
                           events: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", headers=org.headers,
                                 json={"url": url, "events": events or ["match.created"], **extra})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def uuid_of(org: OrgKey) -> UUID:
    return UUID(org.org_id)


MakeDelivery = Callable[..., Awaitable[Any]]


@pytest.fixture
async def make_delivery(settings: ApiSettings) -> AsyncIterator[MakeDelivery]:
    """A `Delivery` (what jobs borrow) built directly, for calling dispatch/digests/attempts step by step."""
    from services.api.notifications.delivery import Delivery, webhook_http_client
    from services.api.worker_profiles.service import personal_data_cipher
    from services.db.pool import create_pool

    opened: list[Any] = []

    async def make(*, clock: Any, sms: Any = None, **overrides: Any) -> Delivery:
        ws = worker_settings(settings, **overrides)
        pool = await create_pool(str(ws.database_url), min_size=1, max_size=3)
        redis = create_arq_redis(str(ws.redis_url), queue_name=ws.arq_queue_name)
        d = Delivery(pool=pool, redis=redis, settings=ws, environment=ws.environment, clock=clock,
                     cipher=personal_data_cipher(ws, {}), sms=sms or FakeSms(), http=webhook_http_client(ws))
        opened.append(d)
        return d

    yield make
    for d in opened:
        await d.http.aclose()
        await d.redis.aclose(close_connection_pool=True)
        await d.pool.close()
