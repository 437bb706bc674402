"""Request and response bodies of /v1/webhooks, /v1/notifications and /v1/subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matching.geo import GeoPoint, parse_lat_lng
from matching.identity import mask_numbers_in_text
from matching.visible_text import is_blank
from services.api.json_scalars import JsonBool, JsonFloat, JsonInt

Digest = Literal["instant", "hourly", "daily"]
Channel = Literal["inbox", "webhook", "sms"]
WorkType = Literal["full_time", "seasonal", "gig", "daily"]
WageUnit = Literal["hour", "day", "month", "piece"]

# Events a webhook can ask for. A digest (`notifications.digest`) carries events of these kinds and goes to an
# endpoint only with the items whose event it asked for.
WEBHOOK_EVENTS: tuple[str, ...] = (
    "match.created",         # a fitting job for a broker's worker, or fitting workers for an enterprise's job
    "subscription.matched",  # a job or worker that fits a saved subscription
    "job.expiring",          # an open posting expires soon (its enterprise)
    "job.closed",            # a posting the recipient was notified about closed
    "import.finished",       # a bulk import finished (its uploader)
    "webhook.disabled",      # an endpoint of the organisation was disabled after failing
)
DIGEST_EVENT = "notifications.digest"
ADCODE_PATTERN = r"^\d{6}$"
OCCUPATION_PATTERN = r"^\d-\d{2}(-\d{2}){0,2}$"


_SHOWN_CHARS = 40


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str = Field(min_length=8, max_length=2048,
                     description="https (http only for loopback in development and test); never a private address.")
    events: list[str] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))
    secret: str | None = Field(default=None, min_length=30, max_length=200,
                               description="whsec_ + base64 of 24–64 random bytes; generated when omitted.")

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str]) -> list[str]:
        unknown = [e for e in events if e not in WEBHOOK_EVENTS]
        if unknown:
            # Named so the client finds its mistake, but not echoed whole: an event name is the client's own text.
            shown = [mask_numbers_in_text(e[:_SHOWN_CHARS]) + ("…" if len(e) > _SHOWN_CHARS else "") for e in unknown]
            raise ValueError(f"未知事件 / unknown events {shown}; known: {list(WEBHOOK_EVENTS)}")
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    id: UUID
    url: str
    events: list[str]
    status: Literal["active", "disabled"]
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    consecutive_failures: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret, shown only in this response.")


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryAttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: UUID
    webhook_id: UUID
    message_id: str = Field(description="The `webhook-id` header, the same on every retry.")
    event: str
    notification_id: UUID | None
    status: Literal["pending", "delivering", "delivered", "failed", "cancelled"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[DeliveryAttemptOut] = Field(default_factory=list)


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class NotificationOut(BaseModel):
    id: UUID
    event: str
    job_id: UUID | None
    worker_id: UUID | None
    subject_id: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class SubscriptionQuery(BaseModel):
    """The kiosk search filters (a `jobs` subscription), or their counterparts over worker profiles."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    q: str | None = Field(default=None, max_length=200, description="Words that must all appear.")
    adcode: list[str] = Field(default_factory=list, max_length=50)
    work_type: WorkType | None = None
    # Finite only (1e400 reads as infinity, which was stored as no filter at all). No upper bound: stored
    # queries are read back through this model, and one that fails would stop every subscription's fan-out.
    wage_min: JsonFloat | None = Field(default=None, gt=0, allow_inf_nan=False)
    wage_unit: WageUnit | None = None
    benefits: list[str] = Field(default_factory=list, max_length=20)
    occupation_code: str | None = Field(default=None, pattern=OCCUPATION_PATTERN,
                                        description="A code, or a group prefix (6-18, 6-18-02).")
    # Kiosk search's place and date filters, for `jobs` subscriptions (api.md: the same filters as search). The
    # bounds are kiosk search's; that `near` comes with `radius_km` and both only for jobs is checked at creation.
    near: str | None = Field(default=None, max_length=64,
                             description="`lat,lng` (jobs, with `radius_km`): postings within that distance of it.")
    radius_km: JsonFloat | None = Field(default=None, gt=0, le=300, allow_inf_nan=False)
    start_within_days: JsonInt | None = Field(default=None, ge=0, le=365,
                                              description="Jobs starting within this many days of the notice.")

    @field_validator("near")
    @classmethod
    def _near(cls, value: str | None) -> str | None:
        if value is None:
            return None
        point = parse_lat_lng(value)
        if point is None:
            raise ValueError("应为 纬度,经度，例如 29.50,106.45 / expected lat,lng within ±90,±180")
        return f"{point.lat},{point.lng}"

    def near_point(self) -> GeoPoint | None:
        return parse_lat_lng(self.near) if self.near is not None else None

    @field_validator("q")
    @classmethod
    def _blank_q(cls, value: str | None) -> str | None:
        # Kiosk search reads a blank q as no words; so does a subscription, stored without one. Blank includes
        # zero-width characters (matching/visible_text.py), which strip() keeps.
        return None if value is None or is_blank(value) else value

    @field_validator("adcode")
    @classmethod
    def _adcodes(cls, values: list[str]) -> list[str]:
        import re

        bad = [v for v in values if not re.fullmatch(ADCODE_PATTERN, v)]
        if bad:
            # Quoted masked: a mistyped value may be an ID number or phone pasted into the wrong box.
            shown = [mask_numbers_in_text(v) for v in bad]
            raise ValueError(f"adcode 须为 6 位数字 / adcodes must be 6 digits: {shown}")
        return list(dict.fromkeys(values))


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["jobs", "workers"]
    query: SubscriptionQuery = Field(default_factory=SubscriptionQuery)
    channel: Channel = "inbox"
    digest: Digest = "instant"


class SubscriptionOut(BaseModel):
    id: UUID
    kind: Literal["jobs", "workers"]
    query: SubscriptionQuery
    channel: Channel
    digest: Digest
    created_at: datetime


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digest: Digest = "instant"
    sms_to_workers: JsonBool = Field(default=False, description="Brokers: text consenting workers about fitting jobs.")


class PreferencesOut(PreferencesIn):
    pass
