"""Knobs of notification delivery (issue 6). Mixed into `workers.settings.WorkerSettings`; environment names are
the field names upper-cased, like every other setting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # Webhooks: every outbound call has this timeout (connect, read, write, pool).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Attempts per message before it is `failed` (then only a manual retry sends it again).
    webhook_max_attempts: int = Field(default=8, ge=1)
    # Backoff before attempt n+1: min(max, base × 2^(n-1)), the upper half of it jittered ("equal jitter").
    webhook_backoff_base_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # An endpoint failing without a single success for this long, and at least this many attempts, is disabled.
    webhook_disable_after_seconds: float = Field(default=86_400.0, ge=0)
    webhook_disable_min_failures: int = Field(default=10, ge=1)
    # A claimed delivery belongs to its job for timeout + this margin; after that a crashed job's claim lapses.
    delivery_lease_margin_seconds: float = Field(default=30.0, gt=0)
    # The sweeper re-enqueues pushes due this long ago whose arq job was lost.
    delivery_sweep_grace_seconds: float = Field(default=15.0, ge=0)

    # No floods: instant pushes per recipient and local day; the rest is folded into the next daily digest.
    notification_daily_cap: int = Field(default=50, ge=1)
    sms_daily_cap: int = Field(default=3, ge=1)
    notification_timezone: str = "Asia/Shanghai"
    # The daily digest goes out at this local hour (hourly digests at the top of every hour).
    digest_daily_hour: int = Field(default=8, ge=0, le=23)
    # Postings expiring within this many hours are announced to their enterprise (once per posting).
    job_expiring_notice_hours: int = Field(default=48, ge=1)

    # SMS: no texts from start to end hour, local time (22 → 8 spans midnight); held ones go out after.
    sms_quiet_start_hour: int = Field(default=22, ge=0, le=23)
    sms_quiet_end_hour: int = Field(default=8, ge=0, le=23)
    sms_provider: Literal["logging", "http"] = "logging"
    sms_http_url: str | None = None
    sms_http_username: str = ""
    sms_http_password: SecretStr = SecretStr("")
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_max_attempts: int = Field(default=5, ge=1)
