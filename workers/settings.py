"""Settings of the worker deployable (built by `load_worker_settings()`, passed in)."""

from __future__ import annotations

from pydantic import Field

from services.api.notifications.settings import NotificationSettings
from services.api.settings import ApiSettings, require_production_secrets


class WorkerSettings(ApiSettings, NotificationSettings):
    """The worker reads the same stores as the API, plus its own knobs (notification delivery: NotificationSettings)."""

    worker_max_jobs: int = Field(default=10, ge=1)
    job_timeout_seconds: int = Field(default=600, ge=1)
    # How long an idle worker sleeps between looks at its queue (arq's poll_delay; arq's own default is 0.5 s).
    # Every job waits up to this long before it starts, once per hop of a chain (posting → index and match →
    # webhook); a look costs one Redis command, so 20 a second per idle worker is cheap.
    arq_poll_delay_seconds: float = Field(default=0.05, gt=0, le=5)
    # The reconciler re-enqueues outbox rows left undone this long after they were written or last enqueued.
    outbox_stale_after_seconds: float = Field(default=30.0, gt=0)
    outbox_reconcile_batch: int = Field(default=500, ge=1)
    # A worker process proves it is alive by renewing a lease in Redis (workers/lease.py); a job whose process
    # died is handed to a new job by the next reconciler round (every 30 s) after the lease lapses, instead of
    # after arq's job timeout. Shorter means a faster hand-over, and more duplicate runs if Redis stalls longer.
    worker_lease_seconds: float = Field(default=20.0, ge=0.5)
    # Done outbox rows are kept this long (what was indexed, matched or sent, and when), then deleted hourly.
    outbox_retention_hours: int = Field(default=168, ge=1)
    # Matching → notifications (workers/match_tasks.py): a new or changed open posting / available profile
    # notifies about the pairs scoring at least this, the best this many per posting (per profile).
    match_notify_min_score: float = Field(default=0.6, ge=0, le=1)
    match_notify_top_n: int = Field(default=20, ge=1, le=500)
    # Whether `import.match` matches what an import stored (notifications). A backfill/migration switch: false
    # marks those rows done without matching (logged as `import.matching_skipped`), e.g. while seeding a
    # corpus through the import endpoints. Single records (POST, PATCH) are matched either way.
    import_matching: bool = True
    # The most of the time an import's matching may keep its one slot busy: after each record it rests
    # (1/share − 1) × what the record took. Background work must not take the cores interactive requests need.
    import_match_share: float = Field(default=0.25, gt=0, le=1)


def load_worker_settings(**overrides: object) -> WorkerSettings:
    settings = WorkerSettings(**overrides)  # type: ignore[arg-type]
    require_production_secrets(settings)
    return settings
