"""SQL for notifications, webhook endpoints and deliveries, SMS, subscriptions, digests and caps.

Times that decide behaviour (due, held, leases, caps) are passed in from the caller's Clock, never `now()`,
so tests can move time; `created_at` of rows that are only listed uses the same value for consistency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.api.pagination import Position

# ------------------------------------------------------------------------------------------ preferences


async def get_preferences(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT org_id, digest, sms_to_workers, updated_at FROM notification_preferences WHERE org_id = $1", org_id)


async def put_preferences(conn: asyncpg.Connection, org_id: UUID, *, digest: str, sms_to_workers: bool,
                          now: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO notification_preferences (org_id, digest, sms_to_workers, updated_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (org_id) DO UPDATE SET digest = $2, sms_to_workers = $3, updated_at = $4
           RETURNING org_id, digest, sms_to_workers, updated_at""",
        org_id, digest, sms_to_workers, now)
    return row


# ---------------------------------------------------------------------------------------- notifications

_NOTIFICATION_COLUMNS = """id, recipient_org_id, event, job_id, worker_id, subject_id, payload, digest, channels,
    sms_worker_id, sms_to_org, dispatched_at, created_at, read_at"""


async def insert_notification(
    conn: asyncpg.Connection, *, notification_id: UUID, recipient_org_id: UUID, event: str, job_id: UUID | None,
    worker_id: UUID | None, subject_id: str | None, payload: dict[str, Any], digest: str, channels: Sequence[str],
    sms_worker_id: UUID | None, sms_to_org: bool, now: datetime,
) -> UUID | None:
    """The new notification's id, or None if this (recipient, event, job, worker, subject) was notified before."""
    inserted: UUID | None = await conn.fetchval(
        """INSERT INTO notifications (id, recipient_org_id, event, job_id, worker_id, subject_id, payload, digest,
                                      channels, sms_worker_id, sms_to_org, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING
           RETURNING id""",
        notification_id, recipient_org_id, event, job_id, worker_id, subject_id, payload,
        digest, list(channels), sms_worker_id, sms_to_org, now)
    return inserted


async def get_notification(conn: asyncpg.Connection, notification_id: UUID, *,
                           for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1{lock}",
                               notification_id)


async def mark_dispatched(conn: asyncpg.Connection, notification_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE notifications SET dispatched_at = $2 WHERE id = $1", notification_id, now)


async def orgs_told_about_job(conn: asyncpg.Connection, job_id: UUID) -> list[UUID]:
    """Organisations that received a `match.created` or `subscription.matched` notification for this job."""
    rows = await conn.fetch(
        """SELECT DISTINCT recipient_org_id FROM notifications
            WHERE job_id = $1 AND event IN ('match.created', 'subscription.matched')""", job_id)
    return [r["recipient_org_id"] for r in rows]


async def list_inbox(conn: asyncpg.Connection, org_id: UUID, *, after: Position | None, limit: int,
                     unread_only: bool) -> list[asyncpg.Record]:
    unread = " AND read_at IS NULL" if unread_only else ""
    if after is None:
        return list(await conn.fetch(
            f"""SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE recipient_org_id = $1{unread}
                ORDER BY created_at DESC, id DESC LIMIT $2""", org_id, limit))
    return list(await conn.fetch(
        f"""SELECT {_NOTIFICATION_COLUMNS} FROM notifications
             WHERE recipient_org_id = $1{unread} AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC LIMIT $4""", org_id, after.created_at, after.id, limit))


async def mark_read(conn: asyncpg.Connection, org_id: UUID, notification_id: UUID,
                    now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE notifications SET read_at = coalesce(read_at, $3)
             WHERE id = $1 AND recipient_org_id = $2 RETURNING {_NOTIFICATION_COLUMNS}""",
        notification_id, org_id, now)


async def undispatched(conn: asyncpg.Connection, *, older_than: datetime, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM notifications WHERE dispatched_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2",
        older_than, limit)
    return [r["id"] for r in rows]


# ------------------------------------------------------------------------------------- other domains' rows


async def worker_sms_facts(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    """Consent and status of a worker profile (issue 2's table), for the SMS decision and its re-check."""
    return await conn.fetchrow(
        """SELECT id, broker_org_id, status, consent_contact_by_sms, phone_enc
             FROM worker_profiles WHERE id = $1""", worker_id)


async def log_worker_phone_read_for_sms(conn: asyncpg.Connection, *, org_id: UUID, worker_id: UUID) -> None:
    """Audit (pii_access_log): a worker's phone was decrypted to send it an SMS notification."""
    await conn.execute(
        """INSERT INTO pii_access_log (org_id, api_key_id, subject_kind, subject_id, fields, purpose, request_id)
           VALUES ($1, NULL, 'worker', $2, $3, 'sms_notification', NULL)""",
        org_id, worker_id, ["phone"])


async def log_org_contact_phone_read_for_sms(conn: asyncpg.Connection, *, org_id: UUID) -> None:
    """Audit (pii_access_log): an organisation's contact person's phone was decrypted to text it its own
    notifications (its SMS subscriptions)."""
    await conn.execute(
        """INSERT INTO pii_access_log (org_id, api_key_id, subject_kind, subject_id, fields, purpose, request_id)
           VALUES ($1, NULL, 'organisation_contact', $1, $2, 'sms_notification', NULL)""",
        org_id, ["phone"])


async def open_job(conn: asyncpg.Connection, job_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, org_id, status, title, description, occupation_code, adcode, lat, lng, wage_min, wage_max,
                  wage_unit, work_type, start_date, benefits, headcount, expires_at
             FROM job_postings WHERE id = $1""", job_id)


async def worker_for_subscriptions(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    """Locked against changes until the caller's transaction ends (as share_locked in worker_profiles): the
    notice recorded from it copies the profile, and an erasure committing meanwhile would strip the notices it
    saw while this one, recorded from the row as it was, kept the person's skills and counties."""
    return await conn.fetchrow(
        """SELECT id, broker_org_id, status, home_adcode, current_adcode, desired_adcodes, occupation_codes,
                  occupation_terms, skills, certificates, labour_brand, work_types, expected_wage_min,
                  expected_wage_max, expected_wage_unit, consent_share_with_enterprises,
                  (SELECT licence_valid_until FROM organisations WHERE id = broker_org_id) AS broker_licence_valid_until
             FROM worker_profiles WHERE id = $1 FOR SHARE""", worker_id)


async def jobs_expiring(conn: asyncpg.Connection, *, now: datetime, until: datetime,
                        limit: int) -> list[asyncpg.Record]:
    """Open postings expiring in (now, until] not yet announced."""
    return list(await conn.fetch(
        """SELECT j.id, j.org_id, j.title, j.adcode, j.expires_at FROM job_postings j
            WHERE j.status = 'open' AND j.expires_at > $1 AND j.expires_at <= $2
              AND NOT EXISTS (SELECT 1 FROM notifications n
                               WHERE n.recipient_org_id = j.org_id AND n.event = 'job.expiring' AND n.job_id = j.id
                                 AND n.worker_id IS NULL AND n.subject_id = to_char(j.expires_at AT TIME ZONE 'UTC',
                                                                                   'YYYY-MM-DD"T"HH24:MI:SS'))
            ORDER BY j.expires_at LIMIT $3""", now, until, limit))


# ---------------------------------------------------------------------------------------- subscriptions

_SUBSCRIPTION_COLUMNS = "id, org_id, kind, query, channel, digest, created_at"


# Two-key advisory lock (namespace, org): one creation of a subscription or webhook endpoint per organisation
# at a time, so two concurrent requests cannot both pass the per-organisation cap.
_CREATE_LOCK_NAMESPACE = 7_236_121


async def live_subscription_count(conn: asyncpg.Connection, org_id: UUID) -> int:
    """Held until the transaction ends: the count stays true for the insert that follows."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _CREATE_LOCK_NAMESPACE, str(org_id))
    count: int = await conn.fetchval(
        "SELECT count(*) FROM notification_subscriptions WHERE org_id = $1 AND deleted_at IS NULL", org_id)
    return count


async def live_endpoint_count(conn: asyncpg.Connection, org_id: UUID) -> int:
    """As live_subscription_count, for webhook endpoints (active or disabled: a disabled one can be re-enabled)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _CREATE_LOCK_NAMESPACE, str(org_id))
    count: int = await conn.fetchval(
        "SELECT count(*) FROM webhook_endpoints WHERE org_id = $1 AND status <> 'deleted'", org_id)
    return count


async def insert_subscription(conn: asyncpg.Connection, *, subscription_id: UUID, org_id: UUID, kind: str,
                              query: dict[str, Any], channel: str, digest: str, now: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"""INSERT INTO notification_subscriptions (id, org_id, kind, query, channel, digest, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_SUBSCRIPTION_COLUMNS}""",
        subscription_id, org_id, kind, query, channel, digest, now)
    return row


async def get_subscription(conn: asyncpg.Connection, org_id: UUID, subscription_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_SUBSCRIPTION_COLUMNS} FROM notification_subscriptions
             WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL""", subscription_id, org_id)


async def list_subscriptions(conn: asyncpg.Connection, org_id: UUID, *, after: Position | None,
                             limit: int) -> list[asyncpg.Record]:
    if after is None:
        return list(await conn.fetch(
            f"""SELECT {_SUBSCRIPTION_COLUMNS} FROM notification_subscriptions
                 WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2""",
            org_id, limit))
    return list(await conn.fetch(
        f"""SELECT {_SUBSCRIPTION_COLUMNS} FROM notification_subscriptions
             WHERE org_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC LIMIT $4""", org_id, after.created_at, after.id, limit))


async def delete_subscription(conn: asyncpg.Connection, org_id: UUID, subscription_id: UUID,
                              now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE notification_subscriptions SET deleted_at = $3
             WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL RETURNING {_SUBSCRIPTION_COLUMNS}""",
        subscription_id, org_id, now)


async def has_live_sms_subscription(conn: asyncpg.Connection, org_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM notification_subscriptions
                           WHERE org_id = $1 AND channel = 'sms' AND deleted_at IS NULL)""", org_id)
    return found


async def stop_texts_to_org(conn: asyncpg.Connection, org_id: UUID, *, reason: str) -> int:
    """The organisation's own texts still to come (its contact phone: worker_id NULL) cancelled, and the notices
    held for its next SMS digest let go (they stay in its inbox). Returns how many texts were cancelled."""
    await conn.execute(
        "DELETE FROM notification_holds WHERE channel = 'sms' AND recipient = $1 AND digest_id IS NULL",
        f"org:{org_id}")
    status = await conn.execute(
        """UPDATE sms_messages SET status = 'cancelled', lease_until = NULL, last_error = $2
            WHERE id IN (SELECT id FROM sms_messages WHERE org_id = $1 AND worker_id IS NULL AND status = 'pending'
                          ORDER BY id FOR UPDATE)""", org_id, reason)
    return int(status.split()[-1])


async def active_subscriptions(conn: asyncpg.Connection, kind: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM notification_subscriptions WHERE kind = $1 AND deleted_at IS NULL",
        kind))


# ------------------------------------------------------------------------------------ webhook endpoints

_ENDPOINT_COLUMNS = """id, org_id, url, events, secret_enc, status, consecutive_failures, failing_since,
    disabled_at, disabled_reason, times_disabled, created_at"""


async def insert_endpoint(conn: asyncpg.Connection, *, webhook_id: UUID, org_id: UUID, url: str,
                          events: Sequence[str], secret_enc: bytes, now: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"""INSERT INTO webhook_endpoints (id, org_id, url, events, secret_enc, created_at)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_ENDPOINT_COLUMNS}""",
        webhook_id, org_id, url, list(events), secret_enc, now)
    return row


async def get_endpoint(conn: asyncpg.Connection, org_id: UUID, webhook_id: UUID, *,
                       for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"""SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE id = $1 AND org_id = $2 AND status <> 'deleted'{lock}""", webhook_id, org_id)


async def list_endpoints(conn: asyncpg.Connection, org_id: UUID, *, after: Position | None,
                         limit: int) -> list[asyncpg.Record]:
    if after is None:
        return list(await conn.fetch(
            f"""SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND status <> 'deleted'
                ORDER BY created_at DESC, id DESC LIMIT $2""", org_id, limit))
    return list(await conn.fetch(
        f"""SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE org_id = $1 AND status <> 'deleted' AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC LIMIT $4""", org_id, after.created_at, after.id, limit))


async def active_endpoints(conn: asyncpg.Connection, org_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND status = 'active' ORDER BY id",
        org_id))


async def endpoint_for_delivery(conn: asyncpg.Connection, webhook_id: UUID) -> asyncpg.Record | None:
    """The endpoint a delivery goes to, in any status (deleted included), with its sealed secret."""
    return await conn.fetchrow(
        "SELECT id, org_id, url, status, secret_enc FROM webhook_endpoints WHERE id = $1", webhook_id)


async def delete_endpoint(conn: asyncpg.Connection, org_id: UUID, webhook_id: UUID,
                          now: datetime) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET status = 'deleted', deleted_at = $3
             WHERE id = $1 AND org_id = $2 AND status <> 'deleted' RETURNING {_ENDPOINT_COLUMNS}""",
        webhook_id, org_id, now)
    if row is not None:
        await conn.execute(
            """UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL,
                      last_error = coalesce(last_error, 'webhook deleted')
                WHERE id IN (SELECT id FROM webhook_deliveries
                              WHERE webhook_id = $1 AND status IN ('pending', 'delivering')
                              ORDER BY id FOR UPDATE)""", webhook_id)
    return row


async def enable_endpoint(conn: asyncpg.Connection, org_id: UUID, webhook_id: UUID) -> asyncpg.Record | None:
    """A disabled endpoint starts afresh; an active one is left as it is: resetting its failure count on every
    call let a client keep a failing endpoint from ever being disabled by calling this on a timer."""
    return await conn.fetchrow(
        f"""UPDATE webhook_endpoints
               SET status = 'active',
                   consecutive_failures = CASE WHEN status = 'disabled' THEN 0 ELSE consecutive_failures END,
                   failing_since = CASE WHEN status = 'disabled' THEN NULL ELSE failing_since END,
                   disabled_at = NULL, disabled_reason = NULL
             WHERE id = $1 AND org_id = $2 AND status <> 'deleted' RETURNING {_ENDPOINT_COLUMNS}""",
        webhook_id, org_id)


async def endpoint_succeeded(conn: asyncpg.Connection, webhook_id: UUID) -> None:
    await conn.execute(
        """UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL
            WHERE id = $1 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)""", webhook_id)


async def endpoint_failed(conn: asyncpg.Connection, webhook_id: UUID, now: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
                   failing_since = coalesce(failing_since, $2)
             WHERE id = $1 RETURNING {_ENDPOINT_COLUMNS}""", webhook_id, now)
    return row


async def disable_endpoint(conn: asyncpg.Connection, webhook_id: UUID, *, reason: str,
                           now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET status = 'disabled', disabled_at = $2, disabled_reason = $3,
                   times_disabled = times_disabled + 1
             WHERE id = $1 AND status = 'active' RETURNING {_ENDPOINT_COLUMNS}""", webhook_id, now, reason)


# ----------------------------------------------------------------------------------- webhook deliveries

_DELIVERY_COLUMNS = """id, webhook_id, org_id, message_id, event, notification_id, digest_id, body, status,
    attempts, rounds, next_attempt_at, lease_until, enqueued_at, last_attempt_at, last_status_code, last_error,
    delivered_at, created_at"""


async def insert_delivery(conn: asyncpg.Connection, *, delivery_id: UUID, webhook_id: UUID, org_id: UUID,
                          message_id: str, event: str, notification_id: UUID | None, digest_id: UUID | None,
                          body: str, now: datetime) -> UUID | None:
    inserted: UUID | None = await conn.fetchval(
        """INSERT INTO webhook_deliveries (id, webhook_id, org_id, message_id, event, notification_id, digest_id,
                                           body, next_attempt_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
           ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING RETURNING id""",
        delivery_id, webhook_id, org_id, message_id, event, notification_id, digest_id, body, now)
    return inserted


async def get_delivery(conn: asyncpg.Connection, delivery_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1", delivery_id)


async def list_deliveries(conn: asyncpg.Connection, webhook_id: UUID, *, status: str | None,
                          after: Position | None, limit: int) -> list[asyncpg.Record]:
    args: list[Any] = [webhook_id]
    where = "webhook_id = $1"
    if status is not None:
        args.append(status)
        where += f" AND status = ${len(args)}"
    if after is not None:
        args += [after.created_at, after.id]
        where += f" AND (created_at, id) < (${len(args) - 1}, ${len(args)})"
    args.append(limit)
    return list(await conn.fetch(
        f"""SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where}
             ORDER BY created_at DESC, id DESC LIMIT ${len(args)}""", *args))


async def claim_delivery(conn: asyncpg.Connection, delivery_id: UUID, *, now: datetime,
                         lease_until: datetime) -> asyncpg.Record | None:
    """Take a due delivery (or one whose claimer died) for one attempt; None if not due or owned elsewhere."""
    return await conn.fetchrow(
        f"""UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1, lease_until = $3,
                   last_attempt_at = $2
             WHERE id = $1 AND ((status = 'pending' AND next_attempt_at <= $2)
                                OR (status = 'delivering' AND lease_until < $2))
             RETURNING {_DELIVERY_COLUMNS}""", delivery_id, now, lease_until)


async def finish_delivery(conn: asyncpg.Connection, delivery_id: UUID, *, status: str, next_attempt_at: datetime,
                          status_code: int | None, error: str | None, now: datetime) -> asyncpg.Record | None:
    """Record an attempt's outcome, if this attempt still owns the delivery (status 'delivering')."""
    return await conn.fetchrow(
        f"""UPDATE webhook_deliveries SET status = $2, next_attempt_at = $3, lease_until = NULL,
                   last_status_code = $4, last_error = $5,
                   delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END
             WHERE id = $1 AND status = 'delivering' RETURNING {_DELIVERY_COLUMNS}""",
        delivery_id, status, next_attempt_at, status_code, error and error[:2000], now)


async def log_attempt(conn: asyncpg.Connection, delivery_id: UUID, *, at: datetime, status_code: int | None,
                      error: str | None, duration_ms: int) -> None:
    await conn.execute(
        """INSERT INTO webhook_delivery_attempts (delivery_id, at, status_code, error, duration_ms)
           VALUES ($1, $2, $3, $4, $5)""", delivery_id, at, status_code, error and error[:2000], duration_ms)


async def attempts_of(conn: asyncpg.Connection, delivery_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_delivery_attempts
            WHERE delivery_id = ANY($1::uuid[]) ORDER BY id""", list(delivery_ids)))


async def retry_delivery(conn: asyncpg.Connection, webhook_id: UUID, delivery_id: UUID,
                         now: datetime) -> asyncpg.Record | None:
    """A new round for a failed (or cancelled) delivery: same message id, attempts from zero, due now."""
    return await conn.fetchrow(
        f"""UPDATE webhook_deliveries SET status = 'pending', attempts = 0, rounds = rounds + 1,
                   next_attempt_at = $3, lease_until = NULL, enqueued_at = NULL
             WHERE id = $1 AND webhook_id = $2 AND status IN ('failed', 'cancelled')
             RETURNING {_DELIVERY_COLUMNS}""", delivery_id, webhook_id, now)


async def lock_endpoint(conn: asyncpg.Connection, webhook_id: UUID) -> None:
    """Take the endpoint's row lock first: recording an attempt locks its delivery and then the endpoint, and
    disabling an endpoint locks the endpoint and then its pending deliveries; without one order for both, two
    attempts finishing together deadlock (seen in CI: the loser's delivery stayed `delivering`)."""
    await conn.execute("SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR UPDATE", webhook_id)


async def fail_pending_of_endpoint(conn: asyncpg.Connection, webhook_id: UUID, *, reason: str) -> int:
    result: str = await conn.execute(
        # Rows locked in id order, as erasure (deliveries_carrying) locks them: two many-row updates taking
        # locks in different orders can deadlock.
        """UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL, last_error = $2
            WHERE id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'
                          ORDER BY id FOR UPDATE)""", webhook_id, reason)
    return int(result.split()[-1])


async def mark_deliveries_enqueued(conn: asyncpg.Connection, ids: Sequence[UUID], now: datetime) -> None:
    # Only a hint for the sweeper, so rows another transaction holds (an attempt recording its outcome, an
    # endpoint being disabled) are skipped rather than waited for: a many-row UPDATE taking row locks in its own
    # order deadlocked with those (seen in tests); a skipped row may at worst be enqueued twice, and the
    # attempt's claim keeps that to one send.
    await conn.execute(
        """UPDATE webhook_deliveries SET enqueued_at = $2
            WHERE id IN (SELECT id FROM webhook_deliveries WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED)""",
        list(ids), now)


async def deliveries_to_kick(conn: asyncpg.Connection, *, notification_id: UUID | None = None,
                             digest_id: UUID | None = None) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT id, attempts, rounds, next_attempt_at FROM webhook_deliveries
            WHERE status = 'pending' AND (notification_id = $1 OR digest_id = $2)""", notification_id, digest_id))


async def stale_deliveries(conn: asyncpg.Connection, *, due_before: datetime, now: datetime,
                           limit: int) -> list[asyncpg.Record]:
    """Pending deliveries due a while ago (their job was lost or never enqueued), and lapsed claims."""
    return list(await conn.fetch(
        """SELECT id, attempts, rounds, next_attempt_at FROM webhook_deliveries
            WHERE (status = 'pending' AND next_attempt_at <= $1 AND (enqueued_at IS NULL OR enqueued_at <= $1))
               OR (status = 'delivering' AND lease_until < $2)
            ORDER BY next_attempt_at LIMIT $3""", due_before, now, limit))


# ------------------------------------------------------------------------------------------------- SMS

_SMS_COLUMNS = """id, org_id, worker_id, recipient, notification_id, digest_id, text, status, attempts,
    next_attempt_at, lease_until, enqueued_at, last_error, provider_message_id, sent_at, created_at"""


async def insert_sms(conn: asyncpg.Connection, *, sms_id: UUID, org_id: UUID, worker_id: UUID | None,
                     recipient: str, notification_id: UUID | None, digest_id: UUID | None, text: str,
                     not_before: datetime, now: datetime) -> UUID | None:
    inserted: UUID | None = await conn.fetchval(
        """INSERT INTO sms_messages (id, org_id, worker_id, recipient, notification_id, digest_id, text,
                                     next_attempt_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id""",
        sms_id, org_id, worker_id, recipient, notification_id, digest_id, text, not_before, now)
    return inserted


async def get_sms(conn: asyncpg.Connection, sms_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_SMS_COLUMNS} FROM sms_messages WHERE id = $1", sms_id)


async def claim_sms(conn: asyncpg.Connection, sms_id: UUID, *, now: datetime,
                    lease_until: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE sms_messages SET status = 'sending', attempts = attempts + 1, lease_until = $3
             WHERE id = $1 AND ((status = 'pending' AND next_attempt_at <= $2)
                                OR (status = 'sending' AND lease_until < $2))
             RETURNING {_SMS_COLUMNS}""", sms_id, now, lease_until)


async def finish_sms(conn: asyncpg.Connection, sms_id: UUID, *, status: str, next_attempt_at: datetime,
                     error: str | None, provider_message_id: str | None, now: datetime) -> None:
    await conn.execute(
        """UPDATE sms_messages SET status = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4,
                  provider_message_id = coalesce($5, provider_message_id),
                  sent_at = CASE WHEN $2 = 'sent' THEN $6 ELSE sent_at END
            WHERE id = $1 AND status = 'sending'""",
        sms_id, status, next_attempt_at, error and error[:2000], provider_message_id, now)


async def postpone_pending_sms(conn: asyncpg.Connection, sms_id: UUID,
                               not_before: datetime) -> asyncpg.Record | None:
    """Move a still-pending SMS's next attempt to `not_before` (quiet hours); None when it is not pending."""
    return await conn.fetchrow(
        """UPDATE sms_messages SET next_attempt_at = $2 WHERE id = $1 AND status = 'pending'
           RETURNING id, attempts, next_attempt_at""", sms_id, not_before)


async def mark_sms_enqueued(conn: asyncpg.Connection, ids: Sequence[UUID], now: datetime) -> None:
    # A hint for the sweeper, as mark_deliveries_enqueued: rows another transaction holds are skipped.
    await conn.execute(
        """UPDATE sms_messages SET enqueued_at = $2
            WHERE id IN (SELECT id FROM sms_messages WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED)""",
        list(ids), now)


async def sms_to_kick(conn: asyncpg.Connection, *, notification_id: UUID | None = None,
                      digest_id: UUID | None = None) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT id, attempts, next_attempt_at FROM sms_messages
            WHERE status = 'pending' AND (notification_id = $1 OR digest_id = $2)""", notification_id, digest_id))


async def stale_sms(conn: asyncpg.Connection, *, due_before: datetime, now: datetime,
                    limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT id, attempts, next_attempt_at FROM sms_messages
            WHERE (status = 'pending' AND next_attempt_at <= $1 AND (enqueued_at IS NULL OR enqueued_at <= $1))
               OR (status = 'sending' AND lease_until < $2)
            ORDER BY next_attempt_at LIMIT $3""", due_before, now, limit))


# ------------------------------------------------------------------------------------ caps and digests


async def take_from_cap(conn: asyncpg.Connection, *, channel: str, recipient: str, day: date, cap: int) -> bool:
    """Count one instant push for the recipient's day, unless the cap is reached (atomic under concurrency)."""
    sent: int | None = await conn.fetchval(
        """INSERT INTO notification_counters AS c (channel, recipient, day, sent) VALUES ($1, $2, $3, 1)
           ON CONFLICT (channel, recipient, day) DO UPDATE SET sent = c.sent + 1 WHERE c.sent < $4
           RETURNING sent""", channel, recipient, day, cap)
    return sent is not None


async def hold(conn: asyncpg.Connection, *, notification_id: UUID, channel: str, recipient: str, org_id: UUID,
               period: str, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO notification_holds (notification_id, channel, recipient, org_id, period, held_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        notification_id, channel, recipient, org_id, period, now)


async def due_hold_groups(conn: asyncpg.Connection, *, hourly_before: datetime,
                          daily_before: datetime) -> list[asyncpg.Record]:
    """(channel, recipient, org, period) groups with held notifications whose digest is due."""
    return list(await conn.fetch(
        """SELECT DISTINCT channel, recipient, org_id, period FROM notification_holds
            WHERE digest_id IS NULL
              AND ((period = 'hourly' AND held_at < $1) OR (period = 'daily' AND held_at < $2))""",
        hourly_before, daily_before))


# A notice about a person is not pushed once the person is erased, nor to anyone but their own broker once they
# stopped being shareable (consent withdrawn, placed, inactive, held): the rule of worker_is_indexable
# (services/indexing/documents.py), re-checked at push time because notices wait (digests, the daily cap). Nor
# once their broker's licence has lapsed: such a broker's profiles are not offered to enterprises (issue 2), and
# a notice recorded before the lapse would otherwise still offer one. `{today}` is the day in China.
_WORKER_GONE = """w.status = 'erased'
    OR (n.recipient_org_id <> w.broker_org_id
        AND NOT (w.status = 'available' AND w.consent_share_with_enterprises AND NOT w.held_for_review
                 AND EXISTS (SELECT 1 FROM organisations b
                              WHERE b.id = w.broker_org_id AND b.licence_valid_until >= {today})))"""


async def drop_unshareable_holds(conn: asyncpg.Connection, *, channel: str, recipient: str, period: str,
                                 today: date) -> int:
    """Delete the group's waiting holds of notices whose person may no longer be pushed (see _WORKER_GONE); the
    notices stay in the inbox they were recorded in. Returns how many were dropped."""
    status = await conn.execute(
        f"""DELETE FROM notification_holds h
             USING notifications n JOIN worker_profiles w ON w.id = n.worker_id
             WHERE h.notification_id = n.id AND h.digest_id IS NULL
               AND h.channel = $1 AND h.recipient = $2 AND h.period = $3
               AND ({_WORKER_GONE.format(today="$4")})""", channel, recipient, period, today)
    return int(status.split()[-1])


async def worker_gone_for(conn: asyncpg.Connection, notification_id: UUID, *, today: date) -> bool:
    """The notice is about a person who may no longer be pushed to its recipient (see _WORKER_GONE)."""
    gone: bool | None = await conn.fetchval(
        f"""SELECT {_WORKER_GONE.format(today="$2")} FROM notifications n JOIN worker_profiles w ON w.id = n.worker_id
             WHERE n.id = $1""", notification_id, today)
    return bool(gone)


async def fold_holds(conn: asyncpg.Connection, *, digest_id: UUID, channel: str, recipient: str, period: str,
                     before: datetime) -> list[asyncpg.Record]:
    """Attach the group's due holds to a digest; the notifications they hold, oldest first."""
    return list(await conn.fetch(
        """WITH folded AS (
               UPDATE notification_holds SET digest_id = $1
                WHERE digest_id IS NULL AND channel = $2 AND recipient = $3 AND period = $4 AND held_at < $5
                RETURNING notification_id)
           SELECT n.id, n.event, n.job_id, n.worker_id, n.payload, n.created_at
             FROM notifications n JOIN folded f ON f.notification_id = n.id
            ORDER BY n.created_at, n.id""", digest_id, channel, recipient, period, before))


async def insert_digest(conn: asyncpg.Connection, *, digest_id: UUID, channel: str, recipient: str, org_id: UUID,
                        period: str, items: int, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO notification_digests (id, channel, recipient, org_id, period, items, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""", digest_id, channel, recipient, org_id, period, items, now)


async def set_digest_items(conn: asyncpg.Connection, digest_id: UUID, items: int) -> None:
    await conn.execute("UPDATE notification_digests SET items = $2 WHERE id = $1", digest_id, items)


async def delete_digest(conn: asyncpg.Connection, digest_id: UUID) -> None:
    await conn.execute("DELETE FROM notification_digests WHERE id = $1", digest_id)


async def lock_digest_group(conn: asyncpg.Connection, channel: str, recipient: str, period: str) -> None:
    """Serialise digest building per group (two cron runs never fold the same holds twice)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 6))", f"{channel}|{recipient}|{period}")


# ------------------------------------------------------------------------------------------- erasure


async def notifications_about_worker(conn: asyncpg.Connection, worker_id: UUID) -> list[asyncpg.Record]:
    """The person's notices, locked (a dispatch fanning one out waits for the erasure, then finds it gone)."""
    return list(await conn.fetch(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE worker_id = $1 ORDER BY id FOR UPDATE",
        worker_id))


async def set_payloads(conn: asyncpg.Connection, payloads: Sequence[tuple[UUID, dict[str, Any]]]) -> None:
    await conn.executemany("UPDATE notifications SET payload = $2 WHERE id = $1", payloads)


async def drop_open_holds(conn: asyncpg.Connection, notification_ids: Sequence[UUID]) -> None:
    await conn.execute("DELETE FROM notification_holds WHERE notification_id = ANY($1) AND digest_id IS NULL",
                       list(notification_ids))


async def deliveries_carrying(conn: asyncpg.Connection, notification_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Webhook deliveries whose body holds one of these notices: their own, and digests that folded them in."""
    return list(await conn.fetch(
        """SELECT id, notification_id, digest_id, body, status FROM webhook_deliveries
            WHERE notification_id = ANY($1)
               OR digest_id IN (SELECT digest_id FROM notification_holds
                                 WHERE notification_id = ANY($1) AND digest_id IS NOT NULL)
            ORDER BY id FOR UPDATE""", list(notification_ids)))


async def rewrite_delivery(conn: asyncpg.Connection, delivery_id: UUID, *, body: str, cancel: bool,
                           reason: str) -> None:
    """New body; with `cancel`, a delivery still to be sent is not sent (an attempt in flight records nothing:
    finish_delivery only updates a delivery still `delivering`)."""
    await conn.execute(
        """UPDATE webhook_deliveries SET body = $2,
                  status = CASE WHEN $3 AND status IN ('pending', 'delivering') THEN 'cancelled' ELSE status END,
                  lease_until = CASE WHEN $3 AND status IN ('pending', 'delivering') THEN NULL ELSE lease_until END,
                  last_error = CASE WHEN $3 AND status IN ('pending', 'delivering') THEN $4 ELSE last_error END
            WHERE id = $1""", delivery_id, body, cancel, reason)


async def cancel_sms_to_worker(conn: asyncpg.Connection, worker_id: UUID, *, reason: str) -> int:
    status = await conn.execute(
        """UPDATE sms_messages SET status = 'cancelled', lease_until = NULL, last_error = $2
            WHERE id IN (SELECT id FROM sms_messages WHERE worker_id = $1 AND status IN ('pending', 'sending')
                          ORDER BY id FOR UPDATE)""", worker_id, reason)
    return int(status.split()[-1])
