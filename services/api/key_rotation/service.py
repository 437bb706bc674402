"""Rotating the personal-data key: re-encrypt every sealed value that another key wrote under the active one.

Adding a key is a settings change (`PII_KEYRING=k2:…,k1:…`, `PII_ACTIVE_KEY_ID=k2`): new writes use k2 at once
and k1's blobs stay readable, because each blob names its key. `bashu pii rotate` then rewrites the old blobs
page by page — each page one transaction, each row swapped only if it still holds the blob that was read, so it
runs alongside the API and worker and can be stopped and started again — and reports what is left. A key may
leave the keyring once the rotation reports nothing left under it.

Blind indexes (HMAC) are not touched: their key is separate and does not rotate with these (see
`services.privacy.cipher`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import structlog

from services.api.idempotency.service import reseal_replays, unrotated_replays
from services.api.imports.service import chunk_context
from services.api.key_rotation import repository
from services.api.key_rotation.repository import SealedColumn
from services.api.notifications.service import secret_context
from services.api.organisations.contact import context as org_contact_context
from services.api.reports.service import contact_context as report_contact_context
from services.api.worker_profiles.service import field_context as worker_field_context
from services.privacy.cipher import PersonalDataCipher

log = structlog.get_logger("bashu.key_rotation")

BATCH = 500
_ID = (("id", "uuid"),)

ContextOf = Callable[[asyncpg.Record], str]


def _worker_field(name: str) -> tuple[SealedColumn, ContextOf]:
    return SealedColumn("worker_profiles", f"{name}_enc", _ID), lambda row: worker_field_context(row["id"], name)


# Every bytea column written by `PersonalDataCipher.encrypt`, with the context its rows were sealed under.
# Stored idempotency replays hold sealed values inside JSON and are re-sealed by their own domain.
SEALED_COLUMNS: tuple[tuple[SealedColumn, ContextOf], ...] = (
    _worker_field("name"), _worker_field("id_number"), _worker_field("phone"), _worker_field("notes"),
    (SealedColumn("organisations", "contact_enc", _ID), lambda row: org_contact_context(row["id"])),
    (SealedColumn("webhook_endpoints", "secret_enc", _ID), lambda row: secret_context(row["id"])),
    (SealedColumn("reports", "contact_enc", _ID), lambda row: report_contact_context(row["id"])),
    # Upload chunks are 1 MiB each: a few per page keeps a page's memory (old and new blobs) to tens of MiB.
    (SealedColumn("import_chunks", "data", (("import_id", "uuid"), ("seq", "int")), max_page=8),
     lambda row: chunk_context(row["import_id"], row["seq"])),
)


@dataclass
class RotationReport:
    active_key_id: str
    rewritten: dict[str, int] = field(default_factory=dict)  # "table.column" → blobs re-encrypted
    remaining: dict[str, int] = field(default_factory=dict)  # "table.column" → blobs still under other keys

    @property
    def done(self) -> bool:
        return not any(self.remaining.values())


async def _rotate_column(conn: asyncpg.Connection, cipher: PersonalDataCipher, sealed: SealedColumn,
                         context_of: ContextOf, *, batch: int) -> int:
    rewritten = 0
    after: tuple[object, ...] | None = None
    batch = min(batch, sealed.max_page)
    while True:
        async with conn.transaction():
            rows = await repository.stale_blobs(conn, sealed, active_key_id=cipher.active_key_id, after=after,
                                                limit=batch)
            swaps = [(tuple(row[name] for name in sealed.key_names), bytes(row["blob"]),
                      cipher.reencrypt(row["blob"], context=context_of(row))) for row in rows]
            rewritten += await repository.replace_blobs(conn, sealed, swaps)
        if len(rows) < batch:
            return rewritten
        after = swaps[-1][0]


async def rotate_keys(conn: asyncpg.Connection, cipher: PersonalDataCipher, *, batch: int = BATCH) -> RotationReport:
    """Re-encrypt under `cipher`'s active key every sealed value another key wrote; safe to run twice and
    alongside the API (a row changed meanwhile keeps its newer value, which the active key wrote)."""
    report = RotationReport(active_key_id=cipher.active_key_id)
    for sealed, context_of in SEALED_COLUMNS:
        name = f"{sealed.table}.{sealed.column}"
        report.rewritten[name] = await _rotate_column(conn, cipher, sealed, context_of, batch=batch)
        report.remaining[name] = await repository.count_stale(conn, sealed, active_key_id=cipher.active_key_id)
    report.rewritten["idempotency_records.response_body"] = await reseal_replays(conn, cipher, batch=batch)
    # Counted like the columns: a replay sealed meanwhile by a process with the old active key needs that key.
    report.remaining["idempotency_records.response_body"] = await unrotated_replays(conn, cipher, batch=batch)
    # Counts and names only: never a value.
    log.info("key_rotation.finished", active_key_id=report.active_key_id, rewritten=report.rewritten,
             remaining={k: v for k, v in report.remaining.items() if v})
    return report
