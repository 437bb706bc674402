"""Settings of the API deployable. Built by `load_api_settings()` and passed in; never read at import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PostgresDsn, RedisDsn, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matching.credit_grades import DEFAULT_BASE_SCORE, DEFAULT_GRADE_THRESHOLDS, InvalidThresholds, check_thresholds


class ApiSettings(BaseSettings):
    """Every field is documented in README.md (Configuration). Environment names are the field names upper-cased."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: PostgresDsn = PostgresDsn("postgresql://postgres@127.0.0.1:5432/bashu")
    database_pool_min: int = 2
    database_pool_max: int = 10

    redis_url: RedisDsn = RedisDsn("redis://127.0.0.1:6379/0")
    # Prefixed so tests and several stacks can share one Redis without reading each other's jobs.
    arq_queue_name: str = "bashu:queue"

    meili_url: str = "http://127.0.0.1:7700"
    meili_master_key: SecretStr = SecretStr("")
    # Index names are prefixed so tests can use unique, throwaway indexes on a shared server.
    meili_index_prefix: str = "bashu"
    meili_timeout_seconds: float = 5.0
    # Kiosk search keeps each phrase's interpretation per catalogue version (pure; taps repeat). Off only to
    # measure what a phrase nobody typed before costs (loadtests/search_benchmark.py --no-memo).
    kiosk_interpretation_memo: bool = True
    # GET /v1/kiosk/search answered in front of the router (services/api/kiosk/lane.py); off, the route
    # answers it: the same functions, FastAPI's layers around them (for comparison and tests).
    kiosk_search_lane: bool = True

    # Personal data keys: "k1:<base64 32 bytes>,k2:<…>"; the active one encrypts, all decrypt.
    pii_keyring: SecretStr = SecretStr("")
    pii_active_key_id: str = "k1"
    pii_blind_index_key: SecretStr = SecretStr("")

    # Signs pagination cursors so a forged or edited cursor is refused instead of reaching a query.
    cursor_secret: SecretStr = SecretStr("")

    max_json_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=64 * 1_048_576, ge=1024)

    job_default_ttl_days: int = Field(default=30, ge=1)
    # The furthest a posting's expires_at may be set (renewing extends it again): stale postings are the top complaint.
    job_max_ttl_days: int = Field(default=90, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # Both provinces must approve a catalogue draft before it can be published (clause 19).
    catalogue_required_approvals: tuple[str, ...] = ("CQ", "SC")
    # A catalogue spreadsheet of 2,000 entries is well under 2 MB; anything much bigger is a mistake.
    catalogue_max_upload_bytes: int = Field(default=8 * 1_048_576, ge=1024)

    # Integrity credit (clause 20): score = base + the ledger's points; grade A/B/C at or above these minimum
    # scores (strictly decreasing), D below the last. A set that does not order refuses to start.
    credit_base_score: int = DEFAULT_BASE_SCORE
    credit_grade_thresholds: tuple[int, int, int] = DEFAULT_GRADE_THRESHOLDS
    # An enterprise with this many distinct postings upheld as fake has its new postings held for review.
    credit_fake_postings_before_hold: int = Field(default=2, ge=1)
    # Reports from the field: at most this many per API key per window (a kiosk files for many people).
    report_rate_limit: int = Field(default=30, ge=1)
    report_rate_window_seconds: int = Field(default=3600, ge=1)

    log_json: bool | None = None  # None: JSON everywhere except development
    log_level: str = "INFO"

    @field_validator("credit_grade_thresholds")
    @classmethod
    def _credit_thresholds_order(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        # A field validator, so the error shows only this value (never the other settings, secrets included).
        try:
            return check_thresholds(value)
        except InvalidThresholds as exc:
            raise ValueError(f"CREDIT_GRADE_THRESHOLDS: {exc}") from None

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment != "development"


class MissingProductionSecrets(ValueError):
    """Production must never start half-configured (development and tests may: the features that need a
    secret then answer a clear problem)."""


PRODUCTION_SECRETS = ("pii_keyring", "pii_blind_index_key", "cursor_secret", "meili_master_key")


def require_production_secrets(settings: ApiSettings) -> None:
    if settings.environment != "production":
        return
    missing = [name.upper() for name in PRODUCTION_SECRETS if not getattr(settings, name).get_secret_value()]
    if missing:
        # Names only: an error message must never carry a secret's value.
        raise MissingProductionSecrets(f"production requires {', '.join(missing)}")


def load_api_settings(**overrides: object) -> ApiSettings:
    settings = ApiSettings(**overrides)  # type: ignore[arg-type]
    require_production_secrets(settings)
    return settings
