"""Settings of the API deployable. Built by `load_api_settings()` and passed in; never read at import."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PostgresDsn, RedisDsn, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    log_json: bool | None = None  # None: JSON everywhere except development
    log_level: str = "INFO"

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment != "development"


def load_api_settings(**overrides: object) -> ApiSettings:
    return ApiSettings(**overrides)  # type: ignore[arg-type]
