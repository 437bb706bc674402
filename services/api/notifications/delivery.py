"""Worker-side notification delivery: fan-out of a recorded notification to its channels, signed webhook
attempts with backoff, SMS with consent and quiet hours, digests and the daily cap, and the sweeper.

Every push is a row before it is an arq job. A job takes the row id, *claims* the row (status delivering/
sending with a lease), makes one attempt, and records the outcome only if it still owns the claim; so a job run
twice, or a job that died mid-attempt and was replaced after its lease lapsed, never records twice. A webhook
message carries the same `webhook-id` on every attempt: after a crash between the receiver's 2xx and our
commit it is sent again, and the receiver recognises it (at-least-once delivery, exactly-once in effect).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import structlog
from arq.connections import ArqRedis
from standardwebhooks import Webhook

from matching.identity import mobile_number
from services.api.china_calendar import CHINA_TZ
from services.api.database import PendingWork
from services.api.notifications import repository
from services.api.notifications.clock import Clock
from services.api.notifications.schemas import DIGEST_EVENT
from services.api.notifications.service import CAPPED_EVENTS, record_notification, secret_context
from services.api.notifications.settings import NotificationSettings
from services.api.notifications.urls import UnsafeUrl, checked_target
from services.api.organisations import service as organisations
from services.outbox.dispatch import enqueue_committed
from services.privacy.cipher import PersonalDataCipher
from services.sms.provider import SmsError, SmsProvider

log = structlog.get_logger("bashu.notifications.delivery")

DELIVER_WEBHOOK = "deliver_webhook"
SEND_SMS = "send_sms"
USER_AGENT = "BashuBridge-Webhooks/1.0"
SWEEP_BATCH = 500


@dataclass(slots=True)
class Delivery:
    """What delivery jobs borrow from the worker process."""

    pool: asyncpg.Pool
    redis: ArqRedis
    settings: NotificationSettings
    environment: str
    clock: Clock
    cipher: PersonalDataCipher
    sms: SmsProvider
    http: httpx.AsyncClient

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.notification_timezone)


def webhook_http_client(settings: NotificationSettings) -> httpx.AsyncClient:
    # Redirects are never followed: a 3xx to an internal address would bypass the address check.
    return httpx.AsyncClient(timeout=httpx.Timeout(settings.webhook_timeout_seconds), follow_redirects=False,
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                             trust_env=False)


# ================================================================================================ timing


def backoff_seconds(attempts: int, settings: NotificationSettings, rng: random.Random | None = None) -> float:
    """Delay before the next attempt after `attempts` failed ones: exponential, capped, with equal jitter
    (between half and all of the step), so endpoints that failed together are not retried together."""
    step = min(settings.webhook_backoff_max_seconds,
               settings.webhook_backoff_base_seconds * 2.0 ** max(attempts - 1, 0))
    jitter: float = (rng or random).uniform(0, step / 2)
    return step / 2 + jitter


def local_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def in_quiet_hours(now: datetime, settings: NotificationSettings, tz: ZoneInfo) -> bool:
    start, end = settings.sms_quiet_start_hour, settings.sms_quiet_end_hour
    hour = now.astimezone(tz).hour
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def after_quiet_hours(now: datetime, settings: NotificationSettings, tz: ZoneInfo) -> datetime:
    """`now`, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(now, settings, tz):
        return now
    local = now.astimezone(tz)
    end = local.replace(hour=settings.sms_quiet_end_hour, minute=0, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)


def digest_boundaries(now: datetime, settings: NotificationSettings, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """(start of the current local hour, the latest daily digest time at or before now): holds from before
    these are due."""
    local = now.astimezone(tz)
    hourly = local.replace(minute=0, second=0, microsecond=0)
    daily = local.replace(hour=settings.digest_daily_hour, minute=0, second=0, microsecond=0)
    if daily > local:
        daily -= timedelta(days=1)
    return hourly.astimezone(UTC), daily.astimezone(UTC)


# ============================================================================================ enqueueing


def webhook_job_id(delivery_id: UUID, rounds: int, attempts: int) -> str:
    # One job per (delivery, round, attempt): arq refuses a second enqueue of a queued one, and a job stuck
    # behind a dead worker's claim never blocks the next attempt (a new id once the claim lapsed).
    return f"whd:{delivery_id}:{rounds}:{attempts}"


def sms_job_id(sms_id: UUID, attempts: int) -> str:
    return f"sms:{sms_id}:{attempts}"


async def _enqueue(redis: ArqRedis, function: str, entity_id: UUID, job_id: str, run_at: datetime | None,
                   now: datetime) -> bool:
    """Never raises: a push that could not be enqueued waits for the sweeper."""
    try:
        # A delay measured on our clock (the row's time is what the claim checks; arq only wakes the job).
        defer = run_at - now if run_at is not None and run_at > now else None
        await redis.enqueue_job(function, str(entity_id), _job_id=job_id, _defer_by=defer)
    except Exception as exc:
        log.warning("notifications.enqueue_failed", function=function, id=str(entity_id), error=type(exc).__name__)
        return False
    return True


async def enqueue_deliveries(d: Delivery, conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    now = d.clock.now()
    sent = [r["id"] for r in rows
            if await _enqueue(d.redis, DELIVER_WEBHOOK, r["id"], webhook_job_id(r["id"], r["rounds"], r["attempts"]),
                              r["next_attempt_at"], now)]
    if sent:
        await repository.mark_deliveries_enqueued(conn, sent, now)
    return len(sent)


async def enqueue_sms(d: Delivery, conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    now = d.clock.now()
    sent = [r["id"] for r in rows
            if await _enqueue(d.redis, SEND_SMS, r["id"], sms_job_id(r["id"], r["attempts"]),
                              r["next_attempt_at"], now)]
    if sent:
        await repository.mark_sms_enqueued(conn, sent, now)
    return len(sent)


# ============================================================================================== bodies


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def notification_body(n: Mapping[str, Any]) -> str:
    """The Standard Webhooks payload shape: {type, timestamp, data}."""
    data = {"notification_id": str(n["id"]), **dict(n["payload"])}
    return orjson.dumps({"type": n["event"], "timestamp": _iso(n["created_at"]), "data": data}).decode()


def digest_body(digest_id: UUID, period: str, items: Sequence[Mapping[str, Any]], now: datetime) -> str:
    return orjson.dumps({
        "type": DIGEST_EVENT, "timestamp": _iso(now),
        "data": {"digest_id": str(digest_id), "period": period, "count": len(items),
                 "items": [{"type": i["event"], "notification_id": str(i["id"]), "timestamp": _iso(i["created_at"]),
                            "data": dict(i["payload"])} for i in items]},
    }).decode()


def _wage_text(wage: Any) -> str:
    if not isinstance(wage, Mapping):
        return ""
    unit = {"hour": "时", "day": "天", "month": "月", "piece": "件"}.get(str(wage.get("unit")), "")
    return f"，{wage.get('min'):g}-{wage.get('max'):g}元/{unit}" if wage.get("min") is not None else ""


def sms_text(n: Mapping[str, Any]) -> str:
    """A short message without personal data; the broker has the details."""
    payload = dict(n["payload"])
    if n["event"] == "match.created":
        # A match notice carries the posting under `job` (workers/match_tasks.py: {"job", "worker", …}); read at the
        # top level, every worker was texted "有适合您的岗位：新岗位" with neither title nor pay.
        job = payload.get("job")
        posting = job if isinstance(job, Mapping) else payload
        title = str(posting.get("title") or "新岗位")[:30]
        return f"【巴蜀劳务桥】有适合您的岗位：{title}{_wage_text(posting.get('wage'))}。详情请联系您的劳务经纪人。"
    if payload.get("kind") == "workers":  # a profile has no title: "新岗位" (a new job) would be wrong
        return "【巴蜀劳务桥】您的订阅有新的求职者匹配。请登录平台查看。"
    title = str(payload.get("title") or "新岗位")[:30]
    return f"【巴蜀劳务桥】您的订阅有新的岗位匹配：{title}。请登录平台查看。"


def digest_sms_text(channel_recipient: str, count: int) -> str:
    if channel_recipient.startswith("worker:"):
        return f"【巴蜀劳务桥】有{count}个适合您的新岗位，详情请联系您的劳务经纪人。"
    return f"【巴蜀劳务桥】您的订阅有{count}条新匹配，请登录平台查看。"


# ============================================================================================ dispatch


def _recipient(kind: str, ident: UUID) -> str:
    return f"{kind}:{ident}"


async def dispatch(d: Delivery, notification_id: UUID, *, deliver_now: bool = False) -> str:
    """Fan one notification out to its push channels (once: `dispatched_at` under a row lock), then enqueue
    what is due. Safe to run again: it only re-enqueues the notification's pending pushes.

    `deliver_now`: make the first attempt of each webhook delivery that is due right here instead of through
    an arq job (a poll delay and a queue round trip less before the recipient hears). As safe as the job: the
    attempt claims the row (`deliver_webhook`), and a delivery this process dies before finishing is picked up
    by the sweeper (not enqueued: due; or its claim lapsed)."""
    direct: list[UUID] = []
    async with d.pool.acquire() as conn:
        async with conn.transaction():
            n = await repository.get_notification(conn, notification_id, for_update=True)
            if n is None:
                return "missing"
            outcome = "again"
            if n["dispatched_at"] is None:
                if n["worker_id"] is not None and await repository.worker_gone_for(
                        conn, notification_id, today=d.clock.now().astimezone(CHINA_TZ).date()):
                    # Erased, no longer shared, or its broker's licence lapsed since it was recorded: inbox only,
                    # no push.
                    log.info("notifications.push_skipped", notification_id=str(notification_id), reason="worker")
                else:
                    await _fan_out(d, conn, n)
                await repository.mark_dispatched(conn, notification_id, d.clock.now())
                outcome = "dispatched"
        kick = await repository.deliveries_to_kick(conn, notification_id=notification_id)
        if deliver_now:
            now = d.clock.now()
            direct = [r["id"] for r in kick if r["next_attempt_at"] <= now]
            kick = [r for r in kick if r["next_attempt_at"] > now]
            if direct:
                # As an enqueue would: the sweeper leaves them to us for its grace period.
                await repository.mark_deliveries_enqueued(conn, direct, now)
        await enqueue_deliveries(d, conn, kick)
        await enqueue_sms(d, conn, await repository.sms_to_kick(conn, notification_id=notification_id))
    for delivery_id in direct:
        await deliver_webhook(d, delivery_id)
    return outcome


async def _fan_out(d: Delivery, conn: asyncpg.Connection, n: asyncpg.Record) -> None:
    now = d.clock.now()
    day = local_day(now, d.tz)
    org_id: UUID = n["recipient_org_id"]
    capped = n["event"] in CAPPED_EVENTS
    # Over the cap, an instant notification waits for the next daily digest.
    held_period = n["digest"] if n["digest"] != "instant" else "daily"

    if "webhook" in n["channels"]:
        endpoints = [e for e in await repository.active_endpoints(conn, org_id) if n["event"] in e["events"]]
        if endpoints:
            recipient = _recipient("org", org_id)
            if n["digest"] == "instant" and (not capped or await repository.take_from_cap(
                    conn, channel="webhook", recipient=recipient, day=day, cap=d.settings.notification_daily_cap)):
                body = notification_body(n)
                for endpoint in endpoints:
                    await repository.insert_delivery(
                        conn, delivery_id=uuid.uuid4(), webhook_id=endpoint["id"], org_id=org_id,
                        message_id=f"msg_{n['id'].hex}", event=n["event"], notification_id=n["id"], digest_id=None,
                        body=body, now=now)
            else:
                await repository.hold(conn, notification_id=n["id"], channel="webhook", recipient=recipient,
                                      org_id=org_id, period=held_period, now=now)

    if "sms" in n["channels"]:
        worker_id: UUID | None = n["sms_worker_id"]
        if worker_id is not None:
            facts = await repository.worker_sms_facts(conn, worker_id)
            if not (facts and facts["status"] == "available" and facts["consent_contact_by_sms"]):
                log.info("notifications.sms_skipped", notification_id=str(n["id"]), reason="no consent")
                return
            recipient = _recipient("worker", worker_id)
        elif n["sms_to_org"]:
            recipient = _recipient("org", org_id)
        else:
            return
        # A text recorded in the quiet hours goes out when they end, maybe the next local day: it counts against
        # that day's cap, the day the person receives it. Counted on the day it was recorded, the texts of a late
        # evening and of the early morning (each day's cap) all arrived together at 08:00, twice the cap.
        send_at = after_quiet_hours(now, d.settings, d.tz)
        if n["digest"] == "instant" and (not capped or await repository.take_from_cap(
                conn, channel="sms", recipient=recipient, day=local_day(send_at, d.tz),
                cap=d.settings.sms_daily_cap)):
            await repository.insert_sms(
                conn, sms_id=uuid.uuid4(), org_id=org_id, worker_id=worker_id, recipient=recipient,
                notification_id=n["id"], digest_id=None, text=sms_text(n), not_before=send_at, now=now)
        else:
            await repository.hold(conn, notification_id=n["id"], channel="sms", recipient=recipient, org_id=org_id,
                                  period=held_period, now=now)


# ============================================================================================= digests


async def build_due_digests(d: Delivery) -> int:
    """Fold every due group of held notifications into one digest per (channel, recipient, period)."""
    now = d.clock.now()
    hourly_before, daily_before = digest_boundaries(now, d.settings, d.tz)
    # No text goes out in the quiet hours, so an SMS digest built in them would only wait for their end: hourly ones
    # piled up through the night (one a hour, 22:00 to 07:00) and all arrived together at 08:00. Their holds stay
    # held instead, and the first run after the quiet hours folds them into one digest.
    sms_quiet = in_quiet_hours(now, d.settings, d.tz)
    built = 0
    async with d.pool.acquire() as conn:
        groups = await repository.due_hold_groups(conn, hourly_before=hourly_before, daily_before=daily_before)
        for g in groups:
            if sms_quiet and g["channel"] == "sms":
                continue
            before = hourly_before if g["period"] == "hourly" else daily_before
            digest_id = uuid.uuid4()
            async with conn.transaction():
                await repository.lock_digest_group(conn, g["channel"], g["recipient"], g["period"])
                await repository.drop_unshareable_holds(conn, channel=g["channel"], recipient=g["recipient"],
                                                        period=g["period"], today=now.astimezone(CHINA_TZ).date())
                await repository.insert_digest(conn, digest_id=digest_id, channel=g["channel"],
                                               recipient=g["recipient"], org_id=g["org_id"], period=g["period"],
                                               items=0, now=now)
                items = await repository.fold_holds(conn, digest_id=digest_id, channel=g["channel"],
                                                    recipient=g["recipient"], period=g["period"], before=before)
                if not items:  # another run folded them first
                    await repository.delete_digest(conn, digest_id)
                    continue
                await repository.set_digest_items(conn, digest_id, len(items))
                if g["channel"] == "webhook":
                    await _digest_deliveries(conn, g, digest_id, items, now)
                else:
                    worker_id = UUID(g["recipient"].split(":", 1)[1]) if g["recipient"].startswith("worker:") else None
                    await repository.insert_sms(
                        conn, sms_id=uuid.uuid4(), org_id=g["org_id"], worker_id=worker_id, recipient=g["recipient"],
                        notification_id=None, digest_id=digest_id, text=digest_sms_text(g["recipient"], len(items)),
                        not_before=after_quiet_hours(now, d.settings, d.tz), now=now)
            built += 1
            await enqueue_deliveries(d, conn, await repository.deliveries_to_kick(conn, digest_id=digest_id))
            await enqueue_sms(d, conn, await repository.sms_to_kick(conn, digest_id=digest_id))
    if built:
        log.info("notifications.digests_built", count=built)
    return built


async def _digest_deliveries(conn: asyncpg.Connection, g: asyncpg.Record, digest_id: UUID,
                             items: Sequence[asyncpg.Record], now: datetime) -> None:
    for endpoint in await repository.active_endpoints(conn, g["org_id"]):
        wanted = [i for i in items if i["event"] in endpoint["events"]]
        if wanted:
            await repository.insert_delivery(
                conn, delivery_id=uuid.uuid4(), webhook_id=endpoint["id"], org_id=g["org_id"],
                message_id=f"msg_{digest_id.hex}", event=DIGEST_EVENT, notification_id=None, digest_id=digest_id,
                body=digest_body(digest_id, g["period"], wanted, now), now=now)


# ====================================================================================== webhook attempts


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at.astimezone(UTC), body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def _post(d: Delivery, url: str, message_id: str, body: str, secret: str) -> AttemptResult:
    started = time.monotonic()

    def result(ok: bool, code: int | None, error: str | None) -> AttemptResult:
        return AttemptResult(ok, code, error, int((time.monotonic() - started) * 1000))

    try:
        target, addresses = await checked_target(url, environment=d.environment)
    except UnsafeUrl as exc:
        return result(False, None, f"refused: {exc}")
    # The signature's timestamp is wall-clock time: receivers check it against theirs.
    headers = signed_headers(secret, message_id, body, datetime.now(UTC))
    headers["host"] = target.host_header
    timeout = d.settings.webhook_timeout_seconds
    try:
        # httpx's timeout bounds each phase; this bounds the whole attempt (a receiver trickling bytes).
        async with asyncio.timeout(timeout):
            async with d.http.stream(
                    "POST", target.url_for(addresses[0]), content=body.encode(), headers=headers,
                    extensions={"sni_hostname": target.host} if target.scheme == "https" else {}) as response:
                code = response.status_code
    except (TimeoutError, httpx.TimeoutException):
        return result(False, None, f"timeout after {timeout:g}s")
    except httpx.HTTPError as exc:
        return result(False, None, f"{type(exc).__name__}: {str(exc)[:200]}")
    if 200 <= code < 300:
        return result(True, code, None)
    return result(False, code, f"HTTP {code}")


async def deliver_webhook(d: Delivery, delivery_id: UUID) -> str:
    """One attempt at one delivery, if it is due and nobody else holds it."""
    now = d.clock.now()
    lease = now + timedelta(seconds=d.settings.webhook_timeout_seconds + d.settings.delivery_lease_margin_seconds)
    async with d.pool.acquire() as conn:
        row = await repository.claim_delivery(conn, delivery_id, now=now, lease_until=lease)
        if row is None:
            return "skipped"
        endpoint = await repository.endpoint_for_delivery(conn, row["webhook_id"])
    if endpoint is None or endpoint["status"] != "active":
        status = "cancelled" if endpoint is None or endpoint["status"] == "deleted" else "failed"
        async with d.pool.acquire() as conn:
            await repository.finish_delivery(conn, delivery_id, status=status, next_attempt_at=now, status_code=None,
                                             error=f"webhook {endpoint['status'] if endpoint else 'deleted'}", now=now)
        return status
    secret = d.cipher.decrypt(endpoint["secret_enc"], context=secret_context(endpoint["id"]))
    outcome = await _post(d, endpoint["url"], row["message_id"], row["body"], secret)
    return await _record_attempt(d, row, endpoint, outcome)


async def _record_attempt(d: Delivery, row: asyncpg.Record, endpoint: asyncpg.Record, outcome: AttemptResult) -> str:
    now = d.clock.now()
    delivery_id: UUID = row["id"]
    pending = PendingWork()
    async with d.pool.acquire() as conn:
        async with conn.transaction():
            await repository.lock_endpoint(conn, endpoint["id"])
            await repository.log_attempt(conn, delivery_id, at=now, status_code=outcome.status_code,
                                         error=outcome.error, duration_ms=outcome.duration_ms)
            if outcome.ok:
                status, next_at = "delivered", now
            elif row["attempts"] >= d.settings.webhook_max_attempts:
                status, next_at = "failed", now
            else:
                status = "pending"
                next_at = now + timedelta(seconds=backoff_seconds(row["attempts"], d.settings))
            finished = await repository.finish_delivery(
                conn, delivery_id, status=status, next_attempt_at=next_at, status_code=outcome.status_code,
                error=outcome.error, now=now)
            if finished is None:
                # Our claim lapsed and another attempt took over: it records the outcome, not us.
                return "superseded"
            if outcome.ok:
                await repository.endpoint_succeeded(conn, endpoint["id"])
            else:
                await _count_failure(d, conn, pending, endpoint["id"], now)
        if status == "pending":
            await enqueue_deliveries(d, conn, [finished])
        await enqueue_committed(d.redis, conn, pending.outbox_ids)
    log.info("webhook.attempt", delivery_id=str(delivery_id), status=status, code=outcome.status_code,
             error=outcome.error, attempts=row["attempts"])
    return status


async def _count_failure(d: Delivery, conn: asyncpg.Connection, pending: PendingWork, webhook_id: UUID,
                         now: datetime) -> None:
    endpoint = await repository.endpoint_failed(conn, webhook_id, now)
    failing_for = (now - endpoint["failing_since"]).total_seconds()
    if (endpoint["status"] != "active" or endpoint["consecutive_failures"] < d.settings.webhook_disable_min_failures
            or failing_for < d.settings.webhook_disable_after_seconds):
        return
    reason = (f"连续失败 {endpoint['consecutive_failures']} 次 / {endpoint['consecutive_failures']} failed attempts "
              f"since {_iso(endpoint['failing_since'])} without a success")
    disabled = await repository.disable_endpoint(conn, webhook_id, reason=reason, now=now)
    if disabled is None:
        return
    await repository.fail_pending_of_endpoint(conn, webhook_id, reason="webhook disabled")
    # The notice goes to the inbox only (its own webhook is the one that is failing).
    await record_notification(
        conn, pending, recipient_org_id=disabled["org_id"], event="webhook.disabled",
        subject_id=f"{webhook_id}:{disabled['times_disabled']}", channels=(),
        payload={"webhook_id": str(webhook_id), "url": disabled["url"], "reason": reason,
                 "enable": f"POST /v1/webhooks/{webhook_id}/enable"}, now=now)
    log.warning("webhook.disabled", webhook_id=str(webhook_id), failures=endpoint["consecutive_failures"])


# ================================================================================================= SMS


async def _sms_phone(d: Delivery, conn: asyncpg.Connection, sms: asyncpg.Record) -> str | None:
    """The phone to text, re-checking consent at send time; reading a worker's phone is audited."""
    if sms["worker_id"] is None:  # the organisation's own contact phone (its SMS subscriptions)
        org_phone = await organisations.contact_phone(conn, sms["org_id"], d.cipher)
        # A fixed line cannot take a text: stored before contact phones were checked, or changed since the
        # subscription was made. Not sent, nor logged as read for sending, rather than handed to the gateway to fail.
        # A mobile stored before they were normalised (138-0013-8000) is texted at its 11 digits.
        mobile = mobile_number(org_phone) if org_phone is not None else None
        if mobile is None:
            return None
        await repository.log_org_contact_phone_read_for_sms(conn, org_id=sms["org_id"])
        return mobile
    facts = await repository.worker_sms_facts(conn, sms["worker_id"])
    if not (facts and facts["status"] == "available" and facts["consent_contact_by_sms"] and facts["phone_enc"]):
        return None
    # The broker's switch as well as the person's consent, both as they are now: a broker that turned
    # `sms_to_workers` off (a worker complained at night, say) stops the texts still waiting for the quiet hours to
    # end or for the next digest, not only the ones after.
    prefs = await repository.get_preferences(conn, facts["broker_org_id"])
    if not (prefs and prefs["sms_to_workers"]):
        return None
    # Same encryption context as services/api/worker_profiles (worker:<id>:phone).
    phone = d.cipher.decrypt(facts["phone_enc"], context=f"worker:{sms['worker_id']}:phone")
    await repository.log_worker_phone_read_for_sms(conn, org_id=facts["broker_org_id"], worker_id=sms["worker_id"])
    return phone


async def send_sms(d: Delivery, sms_id: UUID) -> str:
    now = d.clock.now()
    async with d.pool.acquire() as conn:
        if in_quiet_hours(now, d.settings, d.tz):
            # Held, not lost: due again when the quiet hours end.
            held = await repository.postpone_pending_sms(conn, sms_id, after_quiet_hours(now, d.settings, d.tz))
            if held is not None:
                await enqueue_sms(d, conn, [held])
            return "quiet"
        lease = now + timedelta(seconds=d.settings.sms_timeout_seconds + d.settings.delivery_lease_margin_seconds)
        sms = await repository.claim_sms(conn, sms_id, now=now, lease_until=lease)
        if sms is None:
            return "skipped"
        phone = await _sms_phone(d, conn, sms)
        if phone is None:
            await repository.finish_sms(conn, sms_id, status="cancelled", next_attempt_at=now,
                                        error="no consent or no phone", provider_message_id=None, now=now)
            return "cancelled"
    error: str | None = None
    retryable = False
    provider_id: str | None = None
    try:
        async with asyncio.timeout(d.settings.sms_timeout_seconds):
            provider_id = (await d.sms.send(phone, sms["text"], message_id=str(sms_id))).provider_message_id
    except TimeoutError:
        error, retryable = f"timeout after {d.settings.sms_timeout_seconds:g}s", True
    except SmsError as exc:
        error, retryable = str(exc), exc.retryable
    now = d.clock.now()
    if error is None:
        status, next_at = "sent", now
    elif retryable and sms["attempts"] < d.settings.sms_max_attempts:
        status, next_at = "pending", now + timedelta(seconds=backoff_seconds(sms["attempts"], d.settings))
    else:
        status, next_at = "failed", now
    async with d.pool.acquire() as conn:
        await repository.finish_sms(conn, sms_id, status=status, next_attempt_at=next_at, error=error,
                                    provider_message_id=provider_id, now=now)
        if status == "pending":
            await enqueue_sms(d, conn, [{"id": sms_id, "attempts": sms["attempts"], "next_attempt_at": next_at}])
    return status


# ============================================================================================= sweeping


async def sweep(d: Delivery) -> int:
    """Re-enqueue pushes whose job was lost (Redis down, a worker killed): due a while ago, or a lapsed claim."""
    now = d.clock.now()
    due_before = now - timedelta(seconds=d.settings.delivery_sweep_grace_seconds)
    async with d.pool.acquire() as conn:
        n = await enqueue_deliveries(d, conn, await repository.stale_deliveries(
            conn, due_before=due_before, now=now, limit=SWEEP_BATCH))
        n += await enqueue_sms(d, conn, await repository.stale_sms(conn, due_before=due_before, now=now,
                                                                    limit=SWEEP_BATCH))
    if n:
        log.info("notifications.swept", re_enqueued=n)
    return n


async def announce_expiring_postings(d: Delivery) -> int:
    """`job.expiring` to the enterprise of each open posting expiring soon (once per expiry time)."""
    from services.api.notifications.service import expiry_subject

    now = d.clock.now()
    until = now + timedelta(hours=d.settings.job_expiring_notice_hours)
    pending = PendingWork()
    async with d.pool.acquire() as conn:
        async with conn.transaction():
            rows = await repository.jobs_expiring(conn, now=now, until=until, limit=SWEEP_BATCH)
            for job in rows:
                await record_notification(
                    conn, pending, recipient_org_id=job["org_id"], event="job.expiring", job_id=job["id"],
                    subject_id=expiry_subject(job["expires_at"]),
                    payload={"job_id": str(job["id"]), "title": job["title"], "adcode": job["adcode"],
                             "expires_at": _iso(job["expires_at"]),
                             "renew": f"PATCH /v1/jobs/{job['id']} with a later expires_at"}, now=now)
        await enqueue_committed(d.redis, conn, pending.outbox_ids)
    return len(rows)
