"""Recording notifications (the seam other domains call, inside their own transaction), and the API's
webhooks, inbox, subscriptions and preferences.

Recording is the *decision* to notify: one row per (recipient, event, job, worker, subject), inserted with
ON CONFLICT DO NOTHING, plus an outbox row `notification.dispatch` in the same transaction. Whatever is
retried or re-indexed upstream, a second call is a no-op. Fan-out to channels (webhook deliveries, SMS, digest
holds, the daily cap) happens in the worker (`services.api.notifications.delivery`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg
import structlog

from matching.facts import Wage
from matching.geo import GeoPoint, distance_km
from matching.identity import mask_numbers_in_free_text, mobile_number
from matching.kiosk_search_query import monthly_equivalent, resolve_wage_unit
from matching.regions import load_regions
from services.api.auth.caller import Caller, licence_valid_on
from services.api.china_calendar import CHINA_TZ
from services.api.notifications import repository
from services.api.notifications.schemas import (
    DeliveryAttemptOut,
    DeliveryList,
    DeliveryOut,
    NotificationList,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionQuery,
    WageUnit,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from services.api.notifications.urls import UnsafeUrl, checked_target
from services.api.organisations import service as organisations
from services.api.pagination import Position, decode_cursor, next_cursor
from services.api.problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.outbox.recorder import OutboxRecorder
from services.privacy.cipher import PersonalDataCipher

log = structlog.get_logger("bashu.notifications")

DISPATCH_TOPIC = "notification.dispatch"
DELIVER_TOPIC = "webhook.deliver"  # a manual retry: deliver this delivery id now
MATCH_EVENT = "match.created"
SUBSCRIPTION_EVENT = "subscription.matched"
# Events that can flood (one per fitting pair): capped per day and folded into digests. The others are rare
# operational notices and always go out at once.
CAPPED_EVENTS = frozenset({MATCH_EVENT, SUBSCRIPTION_EVENT})
DIGEST_ORDER = {"instant": 0, "hourly": 1, "daily": 2}
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks secret prefix, not a secret


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


# ============================================================================================ recording


async def record_notification(
    conn: asyncpg.Connection, outbox: OutboxRecorder, *, recipient_org_id: UUID, event: str,
    payload: Mapping[str, Any], job_id: UUID | None = None, worker_id: UUID | None = None,
    subject_id: str | None = None, digest: str | None = None, channels: Iterable[str] = ("webhook",),
    sms_worker_id: UUID | None = None, sms_to_org: bool = False, now: datetime | None = None,
) -> UUID | None:
    """Record one notification in the caller's transaction; None if this one was recorded before.

    `digest`: None → the recipient's preference for capped (match) events, `instant` for the others.
    `channels`: push channels besides the inbox (`webhook`, `sms`); `sms` needs `sms_worker_id` (a worker who
    consented) or `sms_to_org` (the organisation's contact phone, for its own subscriptions)."""
    channel_list = sorted(set(channels) & {"webhook", "sms"})
    if "sms" in channel_list and sms_worker_id is None and not sms_to_org:
        channel_list.remove("sms")
    if digest is None:
        digest = "instant"
        if event in CAPPED_EVENTS:
            prefs = await repository.get_preferences(conn, recipient_org_id)
            digest = prefs["digest"] if prefs else "instant"
    elif event not in CAPPED_EVENTS:
        digest = "instant"
    notification_id = await repository.insert_notification(
        conn, notification_id=uuid.uuid4(), recipient_org_id=recipient_org_id, event=event, job_id=job_id,
        worker_id=worker_id, subject_id=subject_id, payload=dict(payload), digest=digest, channels=channel_list,
        sms_worker_id=sms_worker_id if "sms" in channel_list else None,
        sms_to_org=sms_to_org and "sms" in channel_list, now=_now(now))
    if notification_id is not None:
        await outbox.record(conn, DISPATCH_TOPIC, str(notification_id))
    return notification_id


@dataclass(frozen=True, slots=True)
class MatchNotice:
    """One fitting (job, worker) pair for one recipient, as the matching core decided it.

    direction `job_for_worker`: a job was found for a worker → the worker's broker is the recipient (and the
    worker may get an SMS if they consented and the broker turned `sms_to_workers` on).
    direction `worker_for_job`: a worker was found for a job → the job's enterprise is the recipient.
    `summary`: public fields only (title, county, wage … of the job; trade, county … of the worker) — it is
    shown in the inbox and sent to webhooks. `sms_consent`: the worker's `consent.contact_by_sms`, or None to
    read it from the worker profile."""

    recipient_org_id: UUID
    job_id: UUID
    worker_id: UUID
    score: float
    direction: Literal["job_for_worker", "worker_for_job"]
    reasons: Sequence[Mapping[str, Any]] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    sms_consent: bool | None = None


async def _worker_consents_to_sms(conn: asyncpg.Connection, worker_id: UUID) -> bool:
    try:
        facts = await repository.worker_sms_facts(conn, worker_id)
    except asyncpg.UndefinedTableError:
        return False
    return bool(facts and facts["status"] == "available" and facts["consent_contact_by_sms"])


async def record_match_notifications(conn: asyncpg.Connection, outbox: OutboxRecorder,
                                     notices: Sequence[MatchNotice], *, now: datetime | None = None) -> list[UUID]:
    """Record `match.created` for each notice, in the caller's transaction (the one that decided the match).

    Unique per (recipient, job, worker, event): a pair already notified is skipped, however often matching
    runs again. Returns the ids of the notifications created now."""
    created: list[UUID] = []
    sms_wanted: dict[UUID, bool] = {}
    for notice in notices:
        sms_worker: UUID | None = None
        if notice.direction == "job_for_worker":
            if notice.recipient_org_id not in sms_wanted:
                prefs = await repository.get_preferences(conn, notice.recipient_org_id)
                sms_wanted[notice.recipient_org_id] = bool(prefs and prefs["sms_to_workers"])
            if sms_wanted[notice.recipient_org_id]:
                consent = notice.sms_consent
                if consent is None:
                    consent = await _worker_consents_to_sms(conn, notice.worker_id)
                sms_worker = notice.worker_id if consent else None
        payload = {**notice.summary, "direction": notice.direction, "job_id": str(notice.job_id),
                   "worker_id": str(notice.worker_id), "score": round(float(notice.score), 4),
                   "reasons": [dict(r) for r in notice.reasons]}
        notification_id = await record_notification(
            conn, outbox, recipient_org_id=notice.recipient_org_id, event=MATCH_EVENT, payload=payload,
            job_id=notice.job_id, worker_id=notice.worker_id,
            channels=("webhook", "sms") if sms_worker else ("webhook",), sms_worker_id=sms_worker, now=now)
        if notification_id is not None:
            created.append(notification_id)
    return created


async def record_match_notification(
    conn: asyncpg.Connection, outbox: OutboxRecorder, *, recipient_org_id: UUID, job_id: UUID, worker_id: UUID,
    score: float, direction: Literal["job_for_worker", "worker_for_job"],
    reasons: Sequence[Mapping[str, Any]] = (), summary: Mapping[str, Any] | None = None,
    sms_consent: bool | None = None, now: datetime | None = None,
) -> UUID | None:
    created = await record_match_notifications(
        conn, outbox, [MatchNotice(recipient_org_id=recipient_org_id, job_id=job_id, worker_id=worker_id,
                                   score=score, direction=direction, reasons=reasons, summary=summary or {},
                                   sms_consent=sms_consent)], now=now)
    return created[0] if created else None


async def record_import_finished(conn: asyncpg.Connection, outbox: OutboxRecorder, *, org_id: UUID,
                                 import_id: UUID, summary: Mapping[str, Any],
                                 now: datetime | None = None) -> UUID | None:
    """`import.finished` to the uploading organisation (call from the import's `import.finished` handler)."""
    return await record_notification(
        conn, outbox, recipient_org_id=org_id, event="import.finished", subject_id=str(import_id),
        payload={"import_id": str(import_id), **summary}, now=now)


async def record_job_closed(conn: asyncpg.Connection, outbox: OutboxRecorder, job_id: UUID, *,
                            reason: str | None = None, subject_id: str | None = None,
                            now: datetime | None = None, also_to: Sequence[UUID] = ()) -> list[UUID]:
    """`job.closed` to every organisation that was told about this job (so brokers stop offering it), and to
    `also_to` (brokers whose placements on it the close ended).

    Unique per recipient, job and `subject_id`: the jobs domain calls this once per close, in the closing
    transaction, with the posting's expiry as the subject (`services.api.jobs.service.record_posting_closed`), so
    a posting renewed after it expired and ended again is announced again."""
    created: list[UUID] = []
    told = await repository.orgs_told_about_job(conn, job_id)
    for recipient_org_id in dict.fromkeys([*told, *also_to]):
        notification_id = await record_notification(
            conn, outbox, recipient_org_id=recipient_org_id, event="job.closed", job_id=job_id,
            subject_id=subject_id, payload={"job_id": str(job_id), "reason": reason}, now=now)
        if notification_id is not None:
            created.append(notification_id)
    return created


def expiry_subject(expires_at: datetime) -> str:
    # Must agree with repository.jobs_expiring: a renewed posting (new expires_at) is announced again.
    return expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------------------- subscriptions


def _area_matches(wanted: Sequence[str], adcodes: Iterable[str | None]) -> bool:
    """A county code matches itself; a city, province or grouping code every county in it
    (`RegionDirectory.area_prefix`)."""
    present = [a for a in adcodes if a]
    regions = load_regions()
    for code in wanted:
        prefix = regions.area_prefix(code)
        if prefix is not None and any(a.startswith(prefix) for a in present):
            return True
    return False


def _unknown_areas(wanted: Sequence[str]) -> list[str]:
    """The adcodes in which no county of the circle lies (999999, or six non-ASCII digits, which the pattern's
    \\d lets through): a subscription to one would never fit anything, silently."""
    regions = load_regions()
    return [code for code in wanted if not code.isascii() or regions.area_prefix(code) is None]


def _occupation_matches(wanted: str, codes: Iterable[str | None]) -> bool:
    return any(c and (c == wanted or c.startswith(wanted + "-")) for c in codes)


def _terms(q: str | None) -> list[str]:
    return [t for t in re.split(r"\s+", q or "") if t]


def _job_point(job: Mapping[str, Any]) -> GeoPoint | None:
    # As the posting's search document places it: its own coordinates, else its county's.
    if job["lat"] is not None and job["lng"] is not None:
        return GeoPoint(float(job["lat"]), float(job["lng"]))
    region = load_regions().get(job["adcode"])
    return GeoPoint(region.lat, region.lng) if region else None


def job_matches_query(job: Mapping[str, Any], query: SubscriptionQuery, *, today: date | None = None) -> bool:
    """The kiosk filters over one posting (open postings only). `q`: every word must appear in the title or
    description (the kiosk's interpretation of free text lives in search; a subscription is a standing filter).
    `start_within_days` counts from `today` (China's date when the posting is matched, as kiosk search counts)."""
    if job["status"] != "open":
        return False
    near = query.near_point()
    if near is not None and query.radius_km is not None:
        point = _job_point(job)
        if point is None or distance_km(near, point) > query.radius_km:
            return False
    if query.start_within_days is not None:
        day = today or datetime.now(CHINA_TZ).date()
        if job["start_date"] > day + timedelta(days=query.start_within_days):
            return False
    if query.adcode and not _area_matches(query.adcode, [job["adcode"]]):
        return False
    if query.work_type and job["work_type"] != query.work_type:
        return False
    if query.wage_min is not None and not _pays_at_least(job, query.wage_min, query.wage_unit):
        return False
    if query.benefits and not set(query.benefits) <= set(job["benefits"] or ()):
        return False
    if query.occupation_code and not _occupation_matches(query.occupation_code, [job["occupation_code"]]):
        return False
    text = f"{job['title']} {job['description'] or ''}"
    return all(term in text for term in _terms(query.q))


def _pays_at_least(job: Mapping[str, Any], amount: float, unit: WageUnit | None) -> bool:
    """Kiosk search's wage filter (matching/kiosk_search_query.py), which api.md says a subscription shares: the
    posting's best pay as a monthly equivalent reaches what was asked, a bare amount read as the kiosk reads it
    (1,000 or more a month, less a day). So 200 a day is met by 9,000 a month, and 5,000 a month by 300 a day;
    comparing the raw numbers (or only postings paid in the unit asked) missed both. A piece rate has no monthly
    equivalent: only piece-rate postings meet a piece-rate wish, by their rate."""
    if unit == "piece" or job["wage_unit"] == "piece":
        return unit == "piece" and job["wage_unit"] == "piece" and float(job["wage_max"]) >= amount
    wanted = monthly_equivalent(amount, resolve_wage_unit(int(amount), unit))
    offered = Wage(float(job["wage_min"]), float(job["wage_max"]), job["wage_unit"]).monthly()
    # Rounded as the posting's search document rounds it (matching/documents.py).
    return wanted is not None and offered is not None and round(offered[1]) >= wanted


def worker_matches_query(worker: Mapping[str, Any], query: SubscriptionQuery) -> bool:
    """The same filters over a worker profile: only available workers who agreed to be shown to enterprises."""
    if worker["status"] != "available" or not worker["consent_share_with_enterprises"]:
        return False
    if query.adcode and not _area_matches(
            query.adcode, [worker["home_adcode"], worker["current_adcode"], *(worker["desired_adcodes"] or ())]):
        return False
    if query.work_type and query.work_type not in (worker["work_types"] or ()):
        return False
    if query.occupation_code and not _occupation_matches(query.occupation_code, worker["occupation_codes"] or ()):
        return False
    text = " ".join([*(worker["occupation_terms"] or ()), *(worker["skills"] or ()),
                     *(worker["certificates"] or ()), worker["labour_brand"] or ""])
    return all(term in text for term in _terms(query.q))


def _job_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    return {"title": job["title"], "occupation_code": job["occupation_code"], "adcode": job["adcode"],
            "wage": {"min": float(job["wage_min"]), "max": float(job["wage_max"]), "unit": job["wage_unit"]},
            "work_type": job["work_type"], "start_date": job["start_date"].isoformat(),
            "benefits": list(job["benefits"] or ()), "headcount": job["headcount"]}


def _worker_summary(worker: Mapping[str, Any]) -> dict[str, Any]:
    # Public fields only: never a name, ID number or phone, not even one typed into the free text (as the
    # index document masks it: matching/documents.py).
    brand = worker["labour_brand"]
    return {"occupation_codes": list(worker["occupation_codes"] or ()), "home_adcode": worker["home_adcode"],
            "current_adcode": worker["current_adcode"], "work_types": list(worker["work_types"] or ()),
            "skills": [mask_numbers_in_free_text(s) for s in worker["skills"] or ()],
            "labour_brand": mask_numbers_in_free_text(brand) if brand else brand}


async def _record_subscription_hits(conn: asyncpg.Connection, outbox: OutboxRecorder,
                                    hits: Sequence[asyncpg.Record], *, job_id: UUID | None,
                                    worker_id: UUID | None, payload: dict[str, Any],
                                    owner_org_id: UUID | None, now: datetime | None) -> list[UUID]:
    by_org: dict[UUID, list[asyncpg.Record]] = {}
    for sub in hits:
        if sub["org_id"] != owner_org_id:
            by_org.setdefault(sub["org_id"], []).append(sub)
    created: list[UUID] = []
    for org_id, subs in by_org.items():
        channels = {s["channel"] for s in subs}
        digest = min((s["digest"] for s in subs), key=DIGEST_ORDER.__getitem__)
        # Whether the contact phone is still there is checked when the text is sent (delivery._sms_phone),
        # as a worker's consent is: decrypting it here for every hit would read personal data for nothing.
        sms_to_org = "sms" in channels
        notification_id = await record_notification(
            conn, outbox, recipient_org_id=org_id, event=SUBSCRIPTION_EVENT, job_id=job_id, worker_id=worker_id,
            payload={**payload, "subscription_ids": sorted(str(s["id"]) for s in subs)}, digest=digest,
            channels=channels, sms_to_org=sms_to_org, now=now)
        if notification_id is not None:
            created.append(notification_id)
    return created


async def record_subscription_matches_for_job(conn: asyncpg.Connection, outbox: OutboxRecorder, job_id: UUID, *,
                                              now: datetime | None = None) -> list[UUID]:
    job = await repository.open_job(conn, job_id)
    if job is None or job["status"] != "open":
        return []
    today = (now or datetime.now(UTC)).astimezone(CHINA_TZ).date()
    hits = [s for s in await repository.active_subscriptions(conn, "jobs")
            if job_matches_query(job, SubscriptionQuery.model_validate(s["query"]), today=today)]
    return await _record_subscription_hits(
        conn, outbox, hits, job_id=job_id, worker_id=None, owner_org_id=job["org_id"], now=now,
        payload={"kind": "jobs", "job_id": str(job_id), **_job_summary(job)})


async def record_subscription_matches_for_worker(conn: asyncpg.Connection, outbox: OutboxRecorder,
                                                 worker_id: UUID, *, now: datetime | None = None) -> list[UUID]:
    worker = await repository.worker_for_subscriptions(conn, worker_id)
    if worker is None:
        return []
    # A broker whose licence expired may not post (issue 2): its profiles are not offered to enterprises.
    if not licence_valid_on(worker["broker_licence_valid_until"],
                            (now or datetime.now(UTC)).astimezone(CHINA_TZ).date()):
        return []
    hits = [s for s in await repository.active_subscriptions(conn, "workers")
            if worker_matches_query(worker, SubscriptionQuery.model_validate(s["query"]))]
    return await _record_subscription_hits(
        conn, outbox, hits, job_id=None, worker_id=worker_id, owner_org_id=worker["broker_org_id"], now=now,
        payload={"kind": "workers", "worker_id": str(worker_id), **_worker_summary(worker)})


# =============================================================================================== the API

NOTIFY_ROLES = ("broker", "enterprise", "authority", "admin")
# New postings are announced to the brokers who have workers for them (product.md); authorities review postings
# through GET /v1/jobs and have no use for a standing feed of them.
_SUBSCRIPTION_ROLES = {"jobs": {"broker", "admin"}, "workers": {"enterprise", "authority", "admin"}}


def ensure_may_use_notifications(caller: Caller) -> None:
    if caller.role not in NOTIFY_ROLES:
        raise Forbidden("此角色不接收通知 / this role does not receive notifications")


def _position(row: asyncpg.Record) -> Position:
    return Position(created_at=row["created_at"], id=row["id"])


def _after(cursor_secret: str, scope: str, cursor: str | None) -> Position | None:
    return decode_cursor(cursor_secret, scope, cursor) if cursor else None


def _page(rows: list[asyncpg.Record], cursor_secret: str, scope: str,
          limit: int) -> tuple[list[asyncpg.Record], str | None]:
    return rows[:limit], next_cursor(cursor_secret, scope, [_position(r) for r in rows], limit)


# ------------------------------------------------------------------------------------------------ webhooks


def secret_context(webhook_id: UUID) -> str:
    return f"webhook:{webhook_id}:secret"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# Per organisation. Every live subscription is evaluated on every change of its kind, and every endpoint gets its
# own delivery (and retries) of every notice: without a cap one organisation could slow matching for all
# (review, 2026-11-26). Far above what a broker or an enterprise needs.
MAX_SUBSCRIPTIONS_PER_ORG = 50
MAX_WEBHOOKS_PER_ORG = 10


def _valid_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(raw) <= 64


def _webhook_out(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": row["id"], "url": row["url"], "events": list(row["events"]), "status": row["status"],
            "disabled_at": row["disabled_at"], "disabled_reason": row["disabled_reason"],
            "consecutive_failures": row["consecutive_failures"], "created_at": row["created_at"]}


async def create_webhook(conn: asyncpg.Connection, caller: Caller, body: WebhookCreate, *, cipher: PersonalDataCipher,
                         environment: str, now: datetime) -> WebhookCreated:
    ensure_may_use_notifications(caller)
    try:
        await checked_target(body.url, environment=environment)
    except UnsafeUrl as exc:
        raise InvalidInput("回调地址不可用 / webhook URL refused",
                           errors=[FieldError(field="url", message=str(exc))]) from None
    if body.secret is not None and not _valid_secret(body.secret):
        raise InvalidInput("密钥格式无效 / invalid secret", errors=[FieldError(
            field="secret", message="须为 whsec_ 加 24–64 字节的 base64 / must be whsec_ + base64 of 24–64 bytes")])
    if await repository.live_endpoint_count(conn, caller.org_id) >= MAX_WEBHOOKS_PER_ORG:
        raise Conflict(f"回调地址已达上限 {MAX_WEBHOOKS_PER_ORG} 个 / at most {MAX_WEBHOOKS_PER_ORG} webhook "
                       "endpoints per organisation: delete one first", extra={"reason": "too_many_webhooks"})
    secret = body.secret or generate_secret()
    webhook_id = uuid.uuid4()
    row = await repository.insert_endpoint(
        conn, webhook_id=webhook_id, org_id=caller.org_id, url=body.url.strip(), events=body.events,
        secret_enc=cipher.encrypt(secret, context=secret_context(webhook_id)), now=now)
    return WebhookCreated(**_webhook_out(row), secret=secret)


async def list_webhooks(conn: asyncpg.Connection, caller: Caller, *, cursor_secret: str, cursor: str | None,
                        limit: int) -> WebhookList:
    ensure_may_use_notifications(caller)
    rows = await repository.list_endpoints(conn, caller.org_id, after=_after(cursor_secret, "webhooks", cursor),
                                           limit=limit + 1)
    page, cursor_out = _page(rows, cursor_secret, "webhooks", limit)
    return WebhookList(items=[WebhookOut(**_webhook_out(r)) for r in page], next_cursor=cursor_out)


def _webhook_not_found() -> NotFound:
    return NotFound("没有此回调 / no such webhook")


async def get_webhook(conn: asyncpg.Connection, caller: Caller, webhook_id: UUID) -> WebhookOut:
    ensure_may_use_notifications(caller)
    row = await repository.get_endpoint(conn, caller.org_id, webhook_id)
    if row is None:
        raise _webhook_not_found()
    return WebhookOut(**_webhook_out(row))


async def delete_webhook(conn: asyncpg.Connection, caller: Caller, webhook_id: UUID, now: datetime) -> None:
    ensure_may_use_notifications(caller)
    if await repository.delete_endpoint(conn, caller.org_id, webhook_id, now) is None:
        raise _webhook_not_found()


async def enable_webhook(conn: asyncpg.Connection, caller: Caller, webhook_id: UUID) -> WebhookOut:
    ensure_may_use_notifications(caller)
    row = await repository.enable_endpoint(conn, caller.org_id, webhook_id)
    if row is None:
        raise _webhook_not_found()
    return WebhookOut(**_webhook_out(row))


def _delivery_out(row: asyncpg.Record, attempts: list[asyncpg.Record]) -> DeliveryOut:
    return DeliveryOut(
        id=row["id"], webhook_id=row["webhook_id"], message_id=row["message_id"], event=row["event"],
        notification_id=row["notification_id"], status=row["status"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] in {"pending", "delivering"} else None,
        last_attempt_at=row["last_attempt_at"], last_status_code=row["last_status_code"],
        last_error=row["last_error"], delivered_at=row["delivered_at"], created_at=row["created_at"],
        attempt_log=[DeliveryAttemptOut(at=a["at"], status_code=a["status_code"], error=a["error"],
                                        duration_ms=a["duration_ms"]) for a in attempts])


async def list_deliveries(conn: asyncpg.Connection, caller: Caller, webhook_id: UUID, *, status: str | None,
                          cursor_secret: str, cursor: str | None, limit: int) -> DeliveryList:
    ensure_may_use_notifications(caller)
    if await repository.get_endpoint(conn, caller.org_id, webhook_id) is None:
        raise _webhook_not_found()
    scope = f"deliveries:{webhook_id}"
    rows = await repository.list_deliveries(conn, webhook_id, status=status, after=_after(cursor_secret, scope, cursor),
                                            limit=limit + 1)
    page, cursor_out = _page(rows, cursor_secret, scope, limit)
    attempts: dict[UUID, list[asyncpg.Record]] = {}
    for a in await repository.attempts_of(conn, [r["id"] for r in page]):
        attempts.setdefault(a["delivery_id"], []).append(a)
    return DeliveryList(items=[_delivery_out(r, attempts.get(r["id"], [])) for r in page], next_cursor=cursor_out)


async def retry_delivery(conn: asyncpg.Connection, caller: Caller, outbox: OutboxRecorder, webhook_id: UUID,
                         delivery_id: UUID, now: datetime) -> DeliveryOut:
    """A new round for a failed delivery: same `webhook-id`, attempts from zero, sent as soon as a worker can."""
    ensure_may_use_notifications(caller)
    endpoint = await repository.get_endpoint(conn, caller.org_id, webhook_id)
    if endpoint is None:
        raise _webhook_not_found()
    row = await repository.retry_delivery(conn, webhook_id, delivery_id, now)
    if row is None:
        existing = await repository.get_delivery(conn, delivery_id)
        if existing is None or existing["webhook_id"] != webhook_id:
            raise NotFound("没有此投递 / no such delivery")
        raise Conflict(f"投递状态为 {existing['status']}，无需重试 / delivery is {existing['status']}; "
                       "only failed or cancelled deliveries can be retried")
    if endpoint["status"] == "disabled":
        raise Conflict("回调已停用，请先启用 / the webhook is disabled; enable it first "
                       f"(POST /v1/webhooks/{webhook_id}/enable)")
    await outbox.record(conn, DELIVER_TOPIC, str(delivery_id))
    return _delivery_out(row, [])


# --------------------------------------------------------------------------------------------------- inbox


def notification_out(row: asyncpg.Record) -> NotificationOut:
    return NotificationOut(id=row["id"], event=row["event"], job_id=row["job_id"], worker_id=row["worker_id"],
                           subject_id=row["subject_id"], data=dict(row["payload"]), created_at=row["created_at"],
                           read_at=row["read_at"])


async def list_inbox(conn: asyncpg.Connection, caller: Caller, *, unread_only: bool, cursor_secret: str,
                     cursor: str | None, limit: int) -> NotificationList:
    ensure_may_use_notifications(caller)
    scope = "notifications:unread" if unread_only else "notifications"
    rows = await repository.list_inbox(conn, caller.org_id, after=_after(cursor_secret, scope, cursor),
                                       limit=limit + 1, unread_only=unread_only)
    page, cursor_out = _page(rows, cursor_secret, scope, limit)
    return NotificationList(items=[notification_out(r) for r in page], next_cursor=cursor_out)


async def mark_read(conn: asyncpg.Connection, caller: Caller, notification_id: UUID, now: datetime) -> NotificationOut:
    ensure_may_use_notifications(caller)
    row = await repository.mark_read(conn, caller.org_id, notification_id, now)
    if row is None:
        raise NotFound("没有此通知 / no such notification")
    return notification_out(row)


# ------------------------------------------------------------------------------------------- subscriptions


def _subscription_out(row: asyncpg.Record) -> SubscriptionOut:
    return SubscriptionOut(id=row["id"], kind=row["kind"], query=SubscriptionQuery.model_validate(row["query"]),
                           channel=row["channel"], digest=row["digest"], created_at=row["created_at"])


# Filters over a posting's place, date, pay and benefits: a profile has none of them, and worker_matches_query reads
# none of them, so a workers subscription naming one would store a filter that silently filters nothing.
_JOBS_ONLY_FILTERS = ("near", "radius_km", "start_within_days", "wage_min", "wage_unit", "benefits")


def _check_place_and_date(body: SubscriptionCreate) -> None:
    """Kiosk search's place, date, pay and benefit filters are over postings (_JOBS_ONLY_FILTERS). A standing
    filter has no order, so `near` (which in search also sorts) needs `radius_km`, and the reverse; `wage_unit`
    says what `wage_min` is counted in, so alone it filters nothing (kiosk search refuses it alone too)."""
    query, errors = body.query, []
    if body.kind == "workers":
        errors = [FieldError(field=f"query.{name}", message="仅用于岗位订阅 / only for job subscriptions")
                  for name in _JOBS_ONLY_FILTERS if getattr(query, name) not in (None, [])]
    else:
        if (query.near is None) != (query.radius_km is None):
            missing = "radius_km" if query.radius_km is None else "near"
            errors.append(FieldError(field=f"query.{missing}", message="near 与 radius_km 须同时提供 / a "
                                                                      "subscription's near and radius_km go together"))
        if query.wage_unit is not None and query.wage_min is None:
            errors.append(FieldError(field="query.wage_unit",
                                     message="需要同时提供 wage_min / wage_unit needs wage_min"))
    if errors:
        raise InvalidInput(f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors)


async def create_subscription(conn: asyncpg.Connection, caller: Caller, body: SubscriptionCreate,
                              now: datetime, *, cipher: PersonalDataCipher) -> SubscriptionOut:
    ensure_may_use_notifications(caller)
    if caller.role not in _SUBSCRIPTION_ROLES[body.kind]:
        raise Forbidden(f"此角色不能订阅 {body.kind} / this role may not subscribe to {body.kind}")
    if body.channel == "sms":
        phone = await organisations.contact_phone(conn, caller.org_id, cipher)
        if phone is None:
            raise InvalidInput("短信订阅需要机构联系电话 / an SMS subscription needs the organisation's contact phone",
                               errors=[FieldError(field="channel",
                                                  message="机构未登记联系电话 / no contact phone on file")])
        if mobile_number(phone) is None:  # stored as typed before registration normalised it: 138-0013-8000
            raise InvalidInput("短信订阅需要手机号码 / an SMS subscription needs a mobile contact phone",
                               errors=[FieldError(field="channel",
                                                  message="机构联系电话是固定电话或 400/800 电话，收不到短信 / the "
                                                          "contact phone on file is a fixed line or a 400/800 "
                                                          "number, which cannot take a text")])
    # Checked here, not in SubscriptionQuery: stored queries are read back through that model, and one refused
    # there would stop every subscription's fan-out.
    unknown = _unknown_areas(body.query.adcode)
    if unknown:
        raise InvalidInput("未知的区县代码 / unknown adcode(s)", errors=[
            FieldError(field="query.adcode", message=f"没有区县属于 {code} / no county lies in {code}")
            for code in unknown])
    _check_place_and_date(body)
    if await repository.live_subscription_count(conn, caller.org_id) >= MAX_SUBSCRIPTIONS_PER_ORG:
        raise Conflict(f"订阅已达上限 {MAX_SUBSCRIPTIONS_PER_ORG} 个 / at most {MAX_SUBSCRIPTIONS_PER_ORG} "
                       "subscriptions per organisation: delete one first", extra={"reason": "too_many_subscriptions"})
    row = await repository.insert_subscription(
        conn, subscription_id=uuid.uuid4(), org_id=caller.org_id, kind=body.kind,
        query=body.query.model_dump(mode="json", exclude_defaults=True), channel=body.channel, digest=body.digest,
        now=now)
    return _subscription_out(row)


async def list_subscriptions(conn: asyncpg.Connection, caller: Caller, *, cursor_secret: str, cursor: str | None,
                             limit: int) -> SubscriptionList:
    ensure_may_use_notifications(caller)
    rows = await repository.list_subscriptions(conn, caller.org_id,
                                               after=_after(cursor_secret, "subscriptions", cursor), limit=limit + 1)
    page, cursor_out = _page(rows, cursor_secret, "subscriptions", limit)
    return SubscriptionList(items=[_subscription_out(r) for r in page], next_cursor=cursor_out)


async def get_subscription(conn: asyncpg.Connection, caller: Caller, subscription_id: UUID) -> SubscriptionOut:
    ensure_may_use_notifications(caller)
    row = await repository.get_subscription(conn, caller.org_id, subscription_id)
    if row is None:
        raise NotFound("没有此订阅 / no such subscription")
    return _subscription_out(row)


async def delete_subscription(conn: asyncpg.Connection, caller: Caller, subscription_id: UUID,
                              now: datetime) -> None:
    ensure_may_use_notifications(caller)
    deleted = await repository.delete_subscription(conn, caller.org_id, subscription_id, now)
    if deleted is None:
        raise NotFound("没有此订阅 / no such subscription")
    # Deleting its last SMS subscription is how an organisation stops the texts to its phone: the ones already
    # waiting (held through the quiet hours, or for the next digest) must not arrive after it.
    if deleted["channel"] == "sms" and not await repository.has_live_sms_subscription(conn, caller.org_id):
        await repository.stop_texts_to_org(conn, caller.org_id, reason="短信订阅已删除 / SMS subscription deleted")


# --------------------------------------------------------------------------------------------- preferences


async def get_preferences(conn: asyncpg.Connection, caller: Caller) -> PreferencesOut:
    ensure_may_use_notifications(caller)
    row = await repository.get_preferences(conn, caller.org_id)
    if row is None:
        return PreferencesOut()
    return PreferencesOut(digest=row["digest"], sms_to_workers=row["sms_to_workers"])


async def put_preferences(conn: asyncpg.Connection, caller: Caller, body: PreferencesIn,
                          now: datetime) -> PreferencesOut:
    ensure_may_use_notifications(caller)
    if body.sms_to_workers and caller.role != "broker":
        raise InvalidInput("仅劳务经纪人可向劳动者发短信 / only brokers can text their workers",
                           errors=[FieldError(field="sms_to_workers", message="brokers only")])
    row = await repository.put_preferences(conn, caller.org_id, digest=body.digest,
                                           sms_to_workers=body.sms_to_workers, now=now)
    return PreferencesOut(digest=row["digest"], sms_to_workers=row["sms_to_workers"])
