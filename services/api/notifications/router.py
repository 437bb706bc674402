"""HTTP routes: /v1/webhooks, /v1/notifications (the inbox) and /v1/subscriptions."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.api.auth.caller import AnyCaller
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.notifications import service
from services.api.notifications.clock import clock_of
from services.api.notifications.schemas import (
    DeliveryList,
    DeliveryOut,
    NotificationList,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources
from services.api.worker_profiles.service import personal_data_cipher

Res = Annotated[Resources, Depends(get_resources)]

webhooks_router = APIRouter(prefix="/v1/webhooks", tags=["notifications"],
                            responses=problem_responses(401, 403, 404, 422))
notifications_router = APIRouter(prefix="/v1/notifications", tags=["notifications"],
                                 responses=problem_responses(401, 403, 404, 422))
subscriptions_router = APIRouter(prefix="/v1/subscriptions", tags=["notifications"],
                                 responses=problem_responses(401, 403, 404, 422))


def _cursor_secret(resources: Resources) -> str:
    return resources.settings.cursor_secret.get_secret_value()


# ---------------------------------------------------------------------------------------------- webhooks


@webhooks_router.post("", status_code=201, response_model=WebhookCreated,
                      responses={**located(201), **problem_responses(409)})
async def create_webhook(body: WebhookCreate, request: Request, conn: Connection, caller: AnyCaller,
                         idempotency_key: IdempotencyKey, resources: Res) -> JSONResponse:
    """Register an endpoint for the listed events. Deliveries are signed per the Standard Webhooks spec
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`: `v1,` + base64 HMAC-SHA256 of
    `{id}.{timestamp}.{body}` with the secret); the `webhook-id` is the same on every retry of a message, so
    drop one you have already accepted. The secret (`whsec_…`, generated when not given) is shown only here.
    The URL must be https and must not resolve to a private, link-local or reserved address. At most 10
    endpoints per organisation (409 `too_many_webhooks` past that: delete one first)."""
    cipher = personal_data_cipher(resources.settings, resources.extensions)
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_webhook(conn, caller, body, cipher=cipher,
                                              environment=resources.settings.environment,
                                              now=clock_of(resources.extensions).now()),
        # The signing secret is shown only once: the stored response holds it encrypted, the replay decrypts it.
        sealed_fields=("secret",), cipher=lambda: cipher,
        location=lambda created: f"/v1/webhooks/{created['id']}",
    )


@webhooks_router.get("", response_model=WebhookList)
async def list_webhooks(conn: Connection, caller: AnyCaller, resources: Res, limit: Limit = DEFAULT_LIMIT,
                        cursor: CursorParam = None) -> WebhookList:
    return await service.list_webhooks(conn, caller, cursor_secret=_cursor_secret(resources), cursor=cursor,
                                       limit=limit)


@webhooks_router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: UUID, conn: Connection, caller: AnyCaller) -> WebhookOut:
    return await service.get_webhook(conn, caller, webhook_id)


@webhooks_router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: UUID, conn: Connection, caller: AnyCaller, resources: Res) -> Response:
    """Stop sending to this endpoint; its pending deliveries are cancelled."""
    await service.delete_webhook(conn, caller, webhook_id, clock_of(resources.extensions).now())
    return Response(status_code=204)


@webhooks_router.post("/{webhook_id}/enable", response_model=WebhookOut)
async def enable_webhook(webhook_id: UUID, conn: Connection, caller: AnyCaller) -> WebhookOut:
    """Turn a disabled endpoint back on (failed deliveries can then be retried)."""
    return await service.enable_webhook(conn, caller, webhook_id)


@webhooks_router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    webhook_id: UUID, conn: Connection, caller: AnyCaller, resources: Res,
    status: Annotated[Literal["pending", "delivering", "delivered", "failed", "cancelled"] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> DeliveryList:
    """Messages sent (or being sent) to this endpoint, newest first, with every attempt and the last error."""
    return await service.list_deliveries(conn, caller, webhook_id, status=status,
                                         cursor_secret=_cursor_secret(resources), cursor=cursor, limit=limit)


@webhooks_router.post("/{webhook_id}/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut,
                      responses=problem_responses(409))
async def retry_delivery(webhook_id: UUID, delivery_id: UUID, conn: Connection, caller: AnyCaller,
                         pending: PostCommit, resources: Res) -> DeliveryOut:
    """Send a failed delivery again (same `webhook-id`, a fresh set of attempts)."""
    return await service.retry_delivery(conn, caller, pending, webhook_id, delivery_id,
                                        clock_of(resources.extensions).now())


# ------------------------------------------------------------------------------------------------- inbox


@notifications_router.get("", response_model=NotificationList)
async def list_notifications(conn: Connection, caller: AnyCaller, resources: Res,
                             unread: Annotated[bool, Query(description="Only unread ones.")] = False,
                             limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> NotificationList:
    """The calling organisation's inbox, newest first: every notification, whatever its push channels."""
    return await service.list_inbox(conn, caller, unread_only=unread, cursor_secret=_cursor_secret(resources),
                                    cursor=cursor, limit=limit)


@notifications_router.get("/preferences", response_model=PreferencesOut)
async def get_preferences(conn: Connection, caller: AnyCaller) -> PreferencesOut:
    return await service.get_preferences(conn, caller)


@notifications_router.put("/preferences", response_model=PreferencesOut)
async def put_preferences(body: PreferencesIn, conn: Connection, caller: AnyCaller, resources: Res) -> PreferencesOut:
    """`digest`: how match notifications reach webhooks and SMS (instant up to the daily cap, or hourly/daily
    digests); `sms_to_workers` (brokers): text workers who consented to SMS about fitting jobs."""
    return await service.put_preferences(conn, caller, body, clock_of(resources.extensions).now())


@notifications_router.post("/{notification_id}/read", response_model=NotificationOut)
async def mark_read(notification_id: UUID, conn: Connection, caller: AnyCaller, resources: Res) -> NotificationOut:
    return await service.mark_read(conn, caller, notification_id, clock_of(resources.extensions).now())


# ----------------------------------------------------------------------------------------- subscriptions


@subscriptions_router.post("", status_code=201, response_model=SubscriptionOut,
                           responses={**located(201), **problem_responses(409)})
async def create_subscription(body: SubscriptionCreate, request: Request, conn: Connection, caller: AnyCaller,
                              idempotency_key: IdempotencyKey, resources: Res) -> JSONResponse:
    """A standing search: `jobs` (brokers) with the kiosk filters, or `workers` (enterprises). Each new or
    changed posting/profile that fits is notified once, through `channel` (inbox always; webhook; sms to the
    organisation's contact phone), at once or as an hourly/daily `digest`. At most 50 per organisation (409
    `too_many_subscriptions` past that)."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_subscription(
            conn, caller, body, clock_of(resources.extensions).now(),
            cipher=personal_data_cipher(resources.settings, resources.extensions)),
        location=lambda created: f"/v1/subscriptions/{created['id']}",
    )


@subscriptions_router.get("", response_model=SubscriptionList)
async def list_subscriptions(conn: Connection, caller: AnyCaller, resources: Res, limit: Limit = DEFAULT_LIMIT,
                             cursor: CursorParam = None) -> SubscriptionList:
    return await service.list_subscriptions(conn, caller, cursor_secret=_cursor_secret(resources), cursor=cursor,
                                            limit=limit)


@subscriptions_router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(subscription_id: UUID, conn: Connection, caller: AnyCaller) -> SubscriptionOut:
    return await service.get_subscription(conn, caller, subscription_id)


@subscriptions_router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(subscription_id: UUID, conn: Connection, caller: AnyCaller,
                              resources: Res) -> Response:
    await service.delete_subscription(conn, caller, subscription_id, clock_of(resources.extensions).now())
    return Response(status_code=204)
