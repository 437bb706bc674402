"""Processing a stored upload in batches (run by the arq worker, `workers/import_tasks.py`).

- The upload is decrypted chunk by chunk into a private temporary file and read row by row (readers.py).
- Rows are mapped to the single-record create schema (mapping.py) and stored a batch at a time with that record
  type's own service (`worker_profiles.service.save_workers`, `jobs.service.save_jobs`, the batch forms of
  `save_worker` / `save_job`, with the same outcome per row): every rule is theirs. A row that
  matches a stored record (external_ref, or for workers the same person by blind index) updates it or leaves
  it unchanged, so uploading the same file twice stores nothing new.
- Each batch (5,000 rows) commits in ONE transaction together with its row errors, the progress counters and
  the checkpoint (last source row done). A worker killed mid-import resumes after the checkpoint: rows of
  an uncommitted batch were rolled back with it, rows of committed ones are skipped.
- Follow-up work the services record per row (`worker.index` …) is collected per batch into one
  `import.batch` outbox row, so 100,000 rows make 20 indexing jobs (20 Meilisearch writes), not 100,000.
- One processor per import at a time (a PostgreSQL advisory lock held for the run; the checkpoint is also
  checked under `FOR UPDATE` in every batch).
- A long import hands over to a fresh job (a new `import.process` outbox row) before arq's job timeout.
- At the end the chunks are deleted (the upload holds personal data) and `import.finished` is recorded, with
  one `import.match` row that matches everything the import stored (notifications) once its indexing is done.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import asyncpg
import structlog
from arq.connections import ArqRedis
from pydantic import BaseModel

from services.api.auth.caller import Caller
from services.api.imports import repository
from services.api.imports.mapping import MappedRow, RowError, RowMapper
from services.api.imports.readers import ImportFileError, OpenedSource, open_source
from services.api.imports.schemas import ImportKind
from services.api.imports.service import (
    BATCH_TOPIC,
    FINISHED_TOPIC,
    MATCH_TOPIC,
    PROCESS_TOPIC,
    cipher_of,
    decrypt_chunk,
    mapper_for,
)
from services.api.problems import Forbidden, ProblemError
from services.api.settings import ApiSettings
from services.outbox import repository as outbox_repository
from services.outbox.dispatch import enqueue_outbox

log = structlog.get_logger("bashu.imports")

# Rows per transaction, per indexing job and per Meilisearch write. 5,000: fewer per-batch costs (round trips,
# arq jobs, and above all Meilisearch batches, which cost it less CPU per document the larger they are), while a
# resumed import redoes at most one batch and memory stays bounded (one batch in flight: ~400 MiB peak for the
# worker process against ~345 MiB with 2,000 rows; 10,000 rows took it to ~500 MiB for no measurable gain).
BATCH_ROWS = 5000
# Row errors kept per import (all are counted in `rejected`): enough to fix a file, bounded for a bad one.
MAX_STORED_ERRORS = 10_000
_LOCK_NAMESPACE = 7_236_118

SaveOutcome = Literal["created", "updated", "unchanged"]
Outcome = Literal["completed", "failed", "paused", "continued", "skipped"]


class BatchOutbox:
    """An outbox recorder for the record services that collects entity ids per topic instead of writing one
    outbox row per record; the batch writes one `import.batch` row for all of them."""

    def __init__(self) -> None:
        self.by_topic: dict[str, dict[str, None]] = {}

    async def record(self, conn: asyncpg.Connection, topic: str, entity_id: str) -> int:
        self.by_topic.setdefault(topic, {})[entity_id] = None
        return 0

    def take(self) -> dict[str, list[str]]:
        taken = {topic: list(ids) for topic, ids in self.by_topic.items() if ids}
        self.by_topic.clear()
        return taken


Saved = SaveOutcome | ProblemError


@dataclass(frozen=True, slots=True)
class RecordSaver:
    """Stores a batch of schema-valid rows through the record type's service, in two steps:

    - `prepare(bodies)`: the work that needs no database (validation, normalisation, encryption …). CPU only
      and thread-safe: the processor runs it in a thread, so the worker's event loop keeps serving other jobs.
    - `save(conn, caller, bodies, prepared)`: per row and in order its outcome, or the ProblemError that
      rejected it (nothing of a rejected row is written); raises Forbidden when no row may be stored (e.g. the
      broker's licence expired).
    """

    prepare: Callable[[list[BaseModel]], Any]
    save: Callable[[asyncpg.Connection, Caller, list[BaseModel], Any], Awaitable[list[Saved]]]


SaverFactory = Callable[[ApiSettings, dict[str, Any], BatchOutbox], Awaitable[RecordSaver]]


async def _worker_saver(settings: ApiSettings, extensions: dict[str, Any], outbox: BatchOutbox) -> RecordSaver:
    from services.api.worker_profiles import service as workers
    from services.api.worker_profiles.schemas import WorkerFields

    ctx = await workers.build_context(settings, extensions, outbox)

    def prepare(bodies: list[BaseModel]) -> workers.PreparedWorkers:
        assert all(isinstance(b, WorkerFields) for b in bodies)
        return workers.prepare_workers(ctx, bodies)  # type: ignore[arg-type]

    async def save(conn: asyncpg.Connection, caller: Caller, bodies: list[BaseModel], prepared: Any) -> list[Saved]:
        results = await workers.save_workers(conn, ctx, caller, bodies, prepared=prepared)  # type: ignore[arg-type]
        return [r if isinstance(r, ProblemError) else r[0] for r in results]

    return RecordSaver(prepare, save)


async def _job_saver(settings: ApiSettings, extensions: dict[str, Any], outbox: BatchOutbox) -> RecordSaver:
    from services.api.jobs import service as jobs
    from services.api.jobs.schemas import JobFields

    ctx = await jobs.build_context(settings, extensions, outbox)

    def prepare(bodies: list[BaseModel]) -> None:
        assert all(isinstance(b, JobFields) for b in bodies)

    async def save(conn: asyncpg.Connection, caller: Caller, bodies: list[BaseModel], prepared: Any) -> list[Saved]:
        results = await jobs.save_jobs(conn, ctx, caller, bodies)  # type: ignore[arg-type]
        return [r if isinstance(r, ProblemError) else r[0] for r in results]

    return RecordSaver(prepare, save)


SAVERS: dict[str, SaverFactory] = {"workers": _worker_saver, "jobs": _job_saver}


@dataclass(slots=True)
class ImportEnv:
    """What a processor borrows from the worker process (or a test)."""

    settings: ApiSettings
    pool: asyncpg.Pool
    redis: ArqRedis
    extensions: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ helpers


async def _caller_for(conn: asyncpg.Connection, org_id: UUID, api_key_id: UUID | None) -> Caller:
    row = await conn.fetchrow(
        "SELECT id, type, province, licence_valid_until, kiosk_adcode FROM organisations WHERE id = $1", org_id)
    assert row is not None
    return Caller(org_id=row["id"], role=row["type"], key_id=api_key_id or org_id, province=row["province"],
                  licence_valid_until=row["licence_valid_until"], kiosk_adcode=row["kiosk_adcode"])


async def _materialise(conn: asyncpg.Connection, env: ImportEnv, import_id: UUID, path: Path) -> None:
    cipher = cipher_of(env.settings, env.extensions)
    with path.open("wb") as handle:
        async for seq, blob in repository.iter_chunks(conn, import_id):
            handle.write(decrypt_chunk(cipher, import_id, seq, blob))


async def _enqueue(env: ImportEnv, conn: asyncpg.Connection, outbox_ids: list[int]) -> None:
    if outbox_ids:
        sent = await enqueue_outbox(env.redis, outbox_ids)
        if sent:
            await outbox_repository.mark_enqueued(conn, sent)


def _errors_of(row_number: int, exc: ProblemError) -> list[RowError]:
    if exc.errors:
        return [RowError(row_number, e.field, e.message) for e in exc.errors]
    reason = exc.extra.get("reason")
    field_name = {"duplicate_person": "id_number", "duplicate_external_ref": "external_ref"}.get(str(reason))
    return [RowError(row_number, field_name, exc.detail or exc.title)]


@dataclass(slots=True)
class _Batch:
    rows: list[tuple[MappedRow, BaseModel | None]] = field(default_factory=list)
    last_row: int = 0
    prepared: Any = None  # RecordSaver.prepare of the schema-valid rows

    @property
    def valid(self) -> list[tuple[MappedRow, BaseModel]]:
        return [(mapped, model) for mapped, model in self.rows if model is not None]


def _batches(source: OpenedSource, mapper: RowMapper, *, after_row: int, size: int) -> Iterator[_Batch]:
    """Mapped and schema-validated rows after the checkpoint, `size` at a time."""
    batch = _Batch()
    tabular = source.headers is not None
    for row in source.rows:
        if row.number <= after_row:
            continue
        mapped = mapper.map_tabular(row) if tabular else mapper.map_json(row)
        model = mapper.validate(mapped)
        batch.rows.append((mapped, model))
        batch.last_row = row.number
        if len(batch.rows) >= size:
            yield batch
            batch = _Batch()
    if batch.rows:
        yield batch


# ------------------------------------------------------------------------------------------------ the run


async def process_import(env: ImportEnv, import_id: UUID, *, batch_rows: int = BATCH_ROWS,
                         max_batches: int | None = None, time_budget_seconds: float | None = None) -> Outcome:
    """Process (or resume) one import. `max_batches` stops after that many batches without finishing
    (tests use it to stand for a worker killed between batches); `time_budget_seconds` hands the rest over
    to a new job once exceeded."""
    async with env.pool.acquire() as conn:
        locked = await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", _LOCK_NAMESPACE,
                                     str(import_id))
        if not locked:
            # Another worker is on it. Raising (not returning) keeps this outbox row undone, so if that
            # worker dies the reconciler brings the import back.
            raise ImportBusy(str(import_id))
        try:
            return await _run(env, conn, import_id, batch_rows=batch_rows, max_batches=max_batches,
                              time_budget_seconds=time_budget_seconds)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK_NAMESPACE, str(import_id))


class ImportBusy(RuntimeError):
    pass


async def _run(env: ImportEnv, conn: asyncpg.Connection, import_id: UUID, *, batch_rows: int,
               max_batches: int | None, time_budget_seconds: float | None) -> Outcome:
    record = await repository.get_import(conn, import_id)
    if record is None or record["status"] in ("completed", "failed"):
        return "skipped"
    kind: ImportKind = record["kind"]
    started = time.monotonic()
    fd, name = tempfile.mkstemp(prefix="bashu-import-", suffix="." + record["format"])
    os.close(fd)
    path = Path(name)
    try:
        await _materialise(conn, env, import_id, path)
        with path.open("rb") as handle:  # noqa: ASYNC230 - local temp file read row by row
            mapper = mapper_for(kind)
            try:
                source = open_source(path, handle, record["format"], mapper.header_score)
            except ImportFileError as exc:
                return await _finish(env, conn, import_id, status="failed", detail=exc.message)
            try:
                problems = mapper.plan(source.headers) if source.headers is not None else []
                if problems:
                    raise ImportFileError("columns", "；".join(problems))
                outbox = BatchOutbox()
                save = await SAVERS[kind](env.settings, env.extensions, outbox)
            except ImportFileError as exc:
                source.close()
                return await _finish(env, conn, import_id, status="failed", detail=exc.message)
            try:
                return await _process_rows(env, conn, import_id, record, source, mapper, save, outbox,
                                           batch_rows=batch_rows, max_batches=max_batches, started=started,
                                           time_budget_seconds=time_budget_seconds)
            finally:
                source.close()
    finally:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - local temp file


async def _process_rows(env: ImportEnv, conn: asyncpg.Connection, import_id: UUID, record: asyncpg.Record,
                        source: OpenedSource, mapper: RowMapper, save: RecordSaver, outbox: BatchOutbox, *,
                        batch_rows: int, max_batches: int | None, started: float,
                        time_budget_seconds: float | None) -> Outcome:
    await repository.mark_started(conn, import_id, source.encoding)
    caller = await _caller_for(conn, record["org_id"], await conn.fetchval(
        "SELECT api_key_id FROM imports WHERE id = $1", import_id))
    checkpoint = record["checkpoint_row"]
    batch_no = record["batches"]
    stored_errors = await repository.error_count(conn, import_id)
    done = 0
    batches = _batches(source, mapper, after_row=checkpoint, size=batch_rows)

    def produce() -> _Batch | None:
        batch = next(batches, None)
        if batch is not None:
            batch.prepared = save.prepare([model for _, model in batch.valid])
        return batch

    # The CPU work of a batch (reading, mapping, validating, encrypting) runs in a thread so that the worker's
    # other jobs keep being served meanwhile; one batch at a time (working on the next one while this one is
    # written measured no faster in loadtests/import_benchmark.py and held two batches in memory).
    ahead: asyncio.Future[_Batch | None] | None = None
    try:
        while True:
            ahead = asyncio.ensure_future(asyncio.to_thread(produce))
            # Shielded: if this job is cancelled, the thread still finishes (below) before the source is closed.
            batch = await asyncio.shield(ahead)
            ahead = None
            if batch is None:
                break
            batch_no += 1
            stored_errors = await _commit_batch(env, conn, import_id, batch, batch_no, checkpoint,
                                                caller, save, outbox, stored_errors)
            checkpoint = batch.last_row
            done += 1
            if max_batches is not None and done >= max_batches:
                return "paused"
            if time_budget_seconds is not None and time.monotonic() - started > time_budget_seconds:
                async with conn.transaction():
                    outbox_id = await outbox_repository.record(conn, PROCESS_TOPIC, str(import_id))
                await _enqueue(env, conn, [outbox_id])
                log.info("import.continued", import_id=str(import_id), checkpoint=checkpoint)
                return "continued"
    except ImportFileError as exc:
        return await _finish(env, conn, import_id, status="failed", detail=exc.message)
    except Forbidden as exc:  # e.g. the broker's licence expired: no row could be stored
        return await _finish(env, conn, import_id, status="failed", detail=exc.detail or exc.title)
    finally:
        if ahead is not None:
            # A batch read and not written is simply read again by the next run (after the checkpoint).
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: a read-ahead failure after a stop is not an error of this run
    return await _finish(env, conn, import_id, status="completed", detail=None)


async def _commit_batch(env: ImportEnv, conn: asyncpg.Connection, import_id: UUID, batch: _Batch, batch_no: int,
                        checkpoint: int, caller: Caller, save: RecordSaver, outbox: BatchOutbox,
                        stored_errors: int) -> int:
    counts = {"total": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    errors: list[RowError] = []
    outbox.take()
    async with conn.transaction():
        current = await repository.lock_import(conn, import_id)
        if current is None or current["checkpoint_row"] != checkpoint or current["status"] != "processing":
            raise ImportBusy(f"{import_id}: checkpoint moved under this worker")
        valid = batch.valid
        for mapped, model in batch.rows:
            counts["total"] += 1
            if model is None:
                counts["rejected"] += 1
                errors.extend(mapped.errors)
        # One call for the batch (the services do a few set-based queries per batch, not several per row). They
        # never leave a partial write behind a rejected row, so no savepoint per row is needed here; Forbidden
        # (no row may be stored) fails the import.
        outcomes = await save.save(conn, caller, [model for _, model in valid], batch.prepared) if valid else []
        assert len(outcomes) == len(valid)
        for (mapped, _), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, ProblemError):
                counts["rejected"] += 1
                errors.extend(_errors_of(mapped.number, outcome))
            else:
                counts[outcome] += 1
        errors.sort(key=lambda e: e.row)
        room = max(0, MAX_STORED_ERRORS - stored_errors)
        kept = errors[:room]
        await repository.insert_errors(conn, import_id, [(e.row, e.field, e.message) for e in kept])
        await repository.commit_batch(conn, import_id, checkpoint_row=batch.last_row, counts=counts)
        follow_up = outbox.take()
        outbox_ids: list[int] = []
        if follow_up:
            await repository.insert_batch_entities(conn, import_id, batch_no, follow_up)
            outbox_ids.append(await outbox_repository.record(conn, BATCH_TOPIC, f"{import_id}:{batch_no}"))
    await _enqueue(env, conn, outbox_ids)
    return stored_errors + len(kept)


async def _finish(env: ImportEnv, conn: asyncpg.Connection, import_id: UUID, *, status: str,
                  detail: str | None) -> Outcome:
    async with conn.transaction():
        await repository.finish(conn, import_id, status=status, detail=detail)
        await repository.delete_chunks(conn, import_id)
        outbox_ids = [await outbox_repository.record(conn, FINISHED_TOPIC, str(import_id))]
        if await repository.batches_from(conn, import_id, 1):
            # Matching of what the import stored (notifications), from its first batch, once it is all in:
            # workers/import_tasks.py `match_import`.
            outbox_ids.append(await outbox_repository.record(conn, MATCH_TOPIC, f"{import_id}:1"))
    await _enqueue(env, conn, outbox_ids)
    log.info("import.finished", import_id=str(import_id), status=status)
    return "completed" if status == "completed" else "failed"
