"""arq side of notifications: outbox handlers, delivery jobs and cron jobs.

Outbox topics handled here:
- `notification.dispatch` (a notification id): fan out to channels, make the first webhook attempts that are
  due at once (in this job), enqueue the rest (deferred attempts, SMS).
- `webhook.deliver` (a delivery id): a manual retry from the API, attempted at once.
- `job.matched` / `worker.matched` (a job / worker id): the matching core records one of these once it has
  matched a new or changed posting/profile (its own `match.created` notices it records itself, in its own
  transaction, with `services.api.notifications.service.record_match_notifications`); here the saved
  subscriptions are evaluated against that posting/profile.

Jobs (`deliver_webhook`, `send_sms`) take a row id and are safe to run twice. Crons: digests, the sweeper
that re-enqueues pushes whose job was lost, and the expiring-postings notice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from arq import cron, func
from arq.cron import CronJob
from arq.worker import Function

from services.api.database import PendingWork
from services.api.notifications import delivery
from services.api.notifications.clock import clock_of
from services.api.notifications.service import (
    DELIVER_TOPIC,
    DISPATCH_TOPIC,
    record_subscription_matches_for_job,
    record_subscription_matches_for_worker,
)
from services.api.worker_profiles.service import personal_data_cipher
from services.outbox.dispatch import enqueue_committed
from services.sms.provider import sms_provider_from_settings
from workers.context import WorkerResources, resources_of
from workers.outbox import OutboxHandler, outbox_handler

JOB_MATCHED_TOPIC = "job.matched"
WORKER_MATCHED_TOPIC = "worker.matched"
_DELIVERY_KEY = "notifications.delivery"
SMS_PROVIDER_KEY = "notifications.sms_provider"


def delivery_of(resources: WorkerResources) -> delivery.Delivery:
    """The process's delivery context (HTTP client and SMS provider opened once). Tests may put an SMS provider
    at `extensions[SMS_PROVIDER_KEY]` and a clock at `extensions[CLOCK_KEY]` before the first job."""
    d: delivery.Delivery | None = resources.extensions.get(_DELIVERY_KEY)
    if d is None:
        settings = resources.settings
        sms = resources.extensions.get(SMS_PROVIDER_KEY) or sms_provider_from_settings(settings)
        resources.extensions[SMS_PROVIDER_KEY] = sms
        d = delivery.Delivery(
            pool=resources.pool, redis=resources.redis, settings=settings, environment=settings.environment,
            clock=clock_of(resources.extensions), cipher=personal_data_cipher(settings, resources.extensions),
            sms=sms, http=delivery.webhook_http_client(settings))
        resources.extensions[_DELIVERY_KEY] = d
    return d


async def close_notifications(resources: WorkerResources) -> None:
    """Close what `delivery_of` opened (called from the worker's on_shutdown)."""
    d: delivery.Delivery | None = resources.extensions.pop(_DELIVERY_KEY, None)
    if d is not None:
        await d.http.aclose()
        await d.sms.aclose()


# ------------------------------------------------------------------------------------------ outbox handlers


@outbox_handler(DISPATCH_TOPIC)
async def dispatch_notification(resources: WorkerResources, entity_id: str) -> None:
    # The webhook attempt in this job, not a job of its own: one arq hop less between a match and its webhook.
    await delivery.dispatch(delivery_of(resources), UUID(entity_id), deliver_now=True)


async def fan_out_notification(resources: WorkerResources, entity_id: str) -> None:
    """`notification.dispatch` without the first webhook attempts: inbox, digests and the deliveries' rows in
    PostgreSQL only; the webhook attempts and SMS go to arq jobs. For callers that dispatch many in one job."""
    await delivery.dispatch(delivery_of(resources), UUID(entity_id), deliver_now=False)


# For `process_now(..., handlers=FAN_OUT_ONLY)`.
FAN_OUT_ONLY: dict[str, OutboxHandler] = {DISPATCH_TOPIC: fan_out_notification}


@outbox_handler(DELIVER_TOPIC)
async def deliver_now(resources: WorkerResources, entity_id: str) -> None:
    await delivery.deliver_webhook(delivery_of(resources), UUID(entity_id))


async def _subscriptions(resources: WorkerResources, entity_id: str, *, kind: str) -> None:
    pending = PendingWork()
    now = clock_of(resources.extensions).now()
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            if kind == "jobs":
                await record_subscription_matches_for_job(conn, pending, UUID(entity_id), now=now)
            else:
                await record_subscription_matches_for_worker(conn, pending, UUID(entity_id), now=now)
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)


@outbox_handler(JOB_MATCHED_TOPIC)
async def job_matched(resources: WorkerResources, entity_id: str) -> None:
    await _subscriptions(resources, entity_id, kind="jobs")


@outbox_handler(WORKER_MATCHED_TOPIC)
async def worker_matched(resources: WorkerResources, entity_id: str) -> None:
    await _subscriptions(resources, entity_id, kind="workers")


# ------------------------------------------------------------------------------------------ arq functions


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> str:
    return await delivery.deliver_webhook(delivery_of(resources_of(ctx)), UUID(delivery_id))


async def send_sms(ctx: dict[str, Any], sms_id: str) -> str:
    return await delivery.send_sms(delivery_of(resources_of(ctx)), UUID(sms_id))


async def build_digests(ctx: dict[str, Any]) -> int:
    return await delivery.build_due_digests(delivery_of(resources_of(ctx)))


async def sweep_notifications(ctx: dict[str, Any]) -> int:
    return await delivery.sweep(delivery_of(resources_of(ctx)))


async def announce_expiring_postings(ctx: dict[str, Any]) -> int:
    return await delivery.announce_expiring_postings(delivery_of(resources_of(ctx)))


def notification_functions(settings: Any) -> list[Function]:
    # keep_result=0 so a finished job's id can be enqueued again; max_tries=1 because retries are ours
    # (backoff and attempts live in the row), and a crashed job is replaced by the sweeper once its claim lapses.
    timeout = int(max(settings.webhook_timeout_seconds, settings.sms_timeout_seconds)) + 30
    return [func(deliver_webhook, name=delivery.DELIVER_WEBHOOK, keep_result=0, max_tries=1, timeout=timeout),
            func(send_sms, name=delivery.SEND_SMS, keep_result=0, max_tries=1, timeout=timeout)]


def notification_cron_jobs() -> list[CronJob]:
    return [
        # Digests at the top of every hour (hourly, and the daily one at its hour); checked every minute so a
        # worker that was down at the boundary catches up.
        cron(build_digests, second={5}, unique=True, run_at_startup=True),
        cron(sweep_notifications, second={10, 40}, unique=True, run_at_startup=True),
        cron(announce_expiring_postings, minute={20}, second={0}, unique=True),
    ]
