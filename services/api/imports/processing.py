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
  `import.batch` outbox row, so 100,000 rows make 20 indexing jobs, not 100,000. Worker profiles are indexed
  from memory right after their batch commits (DirectIndex: no read back, the job only waits until
  Meilisearch has applied the write); the outbox row stays the safety net and indexes by reading the rows
  whenever that did not happen.
- One processor per import at a time (a PostgreSQL advisory lock held for the run; the checkpoint is also
  checked under `FOR UPDATE` in every batch).
- A long import hands over to a fresh job (a new `import.process` outbox row) before arq's job timeout.
- At the end the chunks are deleted (the upload holds personal data) and `import.finished` is recorded, with
  one `import.match` row that matches everything the import stored (notifications) once its indexing is done.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import asyncpg
import orjson
import structlog
from arq.connections import ArqRedis
from meilisearch_python_sdk import AsyncClient
from pydantic import BaseModel

from matching.identity import InvalidIdNumber, normalise_id_number
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
from services.outbox.dispatch import enqueue_committed

log = structlog.get_logger("bashu.imports")

# Rows per transaction, per indexing job and per Meilisearch write. 5,000: fewer per-batch costs (round trips,
# arq jobs, and above all Meilisearch batches, which cost it less CPU per document the larger they are), while a
# resumed import redoes at most one batch and memory stays bounded (one batch in flight: ~400 MiB peak for the
# worker process against ~345 MiB with 2,000 rows; 10,000 rows took it to ~500 MiB for no measurable gain).
BATCH_ROWS = 5000
# Row errors kept per import (all are counted in `rejected`): enough to fix a file, bounded for a bad one.
MAX_STORED_ERRORS = 10_000

# Young-generation threshold of the garbage collector while an import is processed (default 700). A batch keeps
# a few hundred thousand small objects alive (rows, bodies, models, encrypted rows, documents) and allocates
# many more, so with the default the collector ran every 700 allocations and kept traversing the batch's
# survivors: ~35 % of the worker's CPU per row in an in-process measurement (loadtests/README.md). Collection
# stays on (cyclic garbage is still freed), only less often; memory is bounded by the batch either way.
IMPORT_GC_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_holders = 0
_gc_saved: tuple[int, int, int] | None = None

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
    # Kinds indexed from memory after commit (workers): (index topic, the last save()'s written records by id as
    # the indexer reads them, given the caller's org id and the transaction's now()). None: read back instead.
    index_rows: tuple[str, Callable[[UUID, datetime], dict[str, dict[str, Any]]]] | None = None


SaverFactory = Callable[[ApiSettings, dict[str, Any], BatchOutbox], Awaitable[RecordSaver]]


async def _worker_saver(settings: ApiSettings, extensions: dict[str, Any], outbox: BatchOutbox) -> RecordSaver:
    from services.api.worker_profiles import service as workers
    from services.api.worker_profiles.repository import index_row_of
    from services.api.worker_profiles.schemas import WorkerFields

    ctx = await workers.build_context(settings, extensions, outbox)
    written: dict[UUID, workers.WrittenWorker] = {}

    def prepare(bodies: list[BaseModel]) -> workers.PreparedWorkers:
        assert all(isinstance(b, WorkerFields) for b in bodies)
        return workers.prepare_workers(ctx, bodies)  # type: ignore[arg-type]

    async def save(conn: asyncpg.Connection, caller: Caller, bodies: list[BaseModel], prepared: Any) -> list[Saved]:
        written.clear()
        results = await workers.save_workers(conn, ctx, caller, bodies, prepared=prepared,  # type: ignore[arg-type]
                                             written=written)
        return [r if isinstance(r, ProblemError) else r[0] for r in results]

    def index_rows(broker_org_id: UUID, now: datetime) -> dict[str, dict[str, Any]]:
        return {str(worker_id): index_row_of(worker_id, broker_org_id, w.row, status=w.status,
                                             held_for_review=w.held_for_review, updated_at=now)
                for worker_id, w in written.items()}

    return RecordSaver(prepare, save, (workers.INDEX_TOPIC, index_rows))


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
    # With a search client, committed batches of the kinds that support it are indexed from memory (DirectIndex);
    # without one, every batch's `import.batch` job reads its rows back and indexes them.
    search: AsyncClient | None = None


# ------------------------------------------------------------------------------------------------ helpers


@contextmanager
def relaxed_gc(threshold: int = IMPORT_GC_THRESHOLD) -> Iterator[None]:
    """Raise the collector's young-generation threshold while bulk work runs in this process (see
    IMPORT_GC_THRESHOLD); restored when the last concurrent holder leaves. Process-wide, like the collector."""
    global _gc_holders, _gc_saved
    with _gc_lock:
        if _gc_holders == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(threshold, _gc_saved[0]), *_gc_saved[1:])
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


async def _caller_for(conn: asyncpg.Connection, import_id: UUID) -> Caller:
    row = await repository.owner_and_key(conn, import_id)
    assert row is not None
    return Caller(org_id=row["id"], role=row["type"], key_id=row["api_key_id"] or row["id"],
                  province=row["province"], licence_valid_until=row["licence_valid_until"],
                  kiosk_adcode=row["kiosk_adcode"])


async def _materialise(conn: asyncpg.Connection, env: ImportEnv, import_id: UUID, path: Path) -> None:
    cipher = cipher_of(env.settings, env.extensions)
    with path.open("wb") as handle:
        async for seq, blob in repository.iter_chunks(conn, import_id):
            handle.write(decrypt_chunk(cipher, import_id, seq, blob))


async def _enqueue(env: ImportEnv, conn: asyncpg.Connection, outbox_ids: list[int]) -> None:
    await enqueue_committed(env.redis, conn, outbox_ids)


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


class _SeenInFile:
    """The external_refs and (workers) people of the file's rows so far, each with the first row that named it.

    A later row naming one again is a row error. Saved in order, the second row updated what the first had just
    written (another external_ref for the same person, another description for the same posting), so uploading
    the same file again changed it twice more: back to the first row, then to the second (`updated`, reindexed
    and rematched each time), where the same file must change nothing. People are kept as digests of their
    normalised ID numbers, not the numbers."""

    def __init__(self, kind: str) -> None:
        self.people = kind == "workers"
        self.first: dict[tuple[str, str | bytes], int] = {}

    def _keys(self, model: BaseModel) -> list[tuple[str, str | bytes]]:
        keys: list[tuple[str, str | bytes]] = []
        ref = getattr(model, "external_ref", None)
        if ref is not None:
            keys.append(("external_ref", ref))
        if self.people:
            try:
                person = normalise_id_number(getattr(model, "id_number", ""))
            except InvalidIdNumber:
                return keys  # the row is refused for its ID number anyway
            keys.append(("id_number", hashlib.blake2b(person.encode(), digest_size=16).digest()))
        return keys

    def errors(self, number: int, model: BaseModel) -> list[RowError]:
        """The row's errors for keys an earlier row named; records the keys it names first."""
        errors: list[RowError] = []
        for key in self._keys(model):
            earlier = self.first.setdefault(key, number)
            if earlier == number:
                continue
            if key[0] == "external_ref":
                message = (f"与第 {earlier} 行的外部编号相同：每个外部编号在一个文件中只能出现一次 / the same "
                           f"external_ref as row {earlier}: each may appear once in a file")
            else:
                message = (f"与第 {earlier} 行是同一人（身份证号相同）：每人在一个文件中只能出现一次 / the same "
                           f"person (ID number) as row {earlier}: each person may appear once in a file")
            errors.append(RowError(number, key[0], message))
        return errors


def _batches(source: OpenedSource, mapper: RowMapper, *, after_row: int, size: int) -> Iterator[_Batch]:
    """Mapped and schema-validated rows after the checkpoint, `size` at a time (the rows before it are read for
    their external_refs and people only, so a resumed import refuses the same repeats, _SeenInFile)."""
    batch = _Batch()
    tabular = source.headers is not None
    seen = _SeenInFile(mapper.kind)
    for row in source.rows:
        mapped = mapper.map_tabular(row) if tabular else mapper.map_json(row)
        model = mapper.validate(mapped)
        if model is not None and (repeats := seen.errors(row.number, model)):
            mapped.errors.extend(repeats)
            model = None
        if row.number <= after_row:
            continue
        batch.rows.append((mapped, model))
        batch.last_row = row.number
        if len(batch.rows) >= size:
            yield batch
            batch = _Batch()
    if batch.rows:
        yield batch


# ------------------------------------------------------------------------------------------ direct indexing

# Documents per direct indexing write (DirectIndex): a committed batch's documents wait for the next ones until
# this many are pending, so Meilisearch gets fewer, larger writes (it spends much less CPU per document on one
# large batch than on several small ones into a growing index).
INDEX_WRITE_ROWS = BATCH_ROWS
# How long the note "this batch was indexed from memory, by these Meilisearch tasks" is kept for the batch's
# `import.batch` job (in Redis: losing it only means the job indexes the batch again, by reading its rows).
INDEXED_NOTE_SECONDS = 24 * 3600


def _indexed_key(import_id: str, batch_no: int) -> str:
    return f"bashu:imports:indexed:{import_id}:{batch_no}"


@dataclass(frozen=True, slots=True)
class IndexedNote:
    """A committed batch whose `topic` records were indexed from memory by the Meilisearch tasks `task_uids`."""

    topic: str
    task_uids: list[int]
    upserted: int
    deleted: int


async def indexed_note(redis: ArqRedis, import_id: str, batch_no: int) -> IndexedNote | None:
    raw = await redis.get(_indexed_key(import_id, batch_no))
    if raw is None:
        return None
    data = orjson.loads(raw)
    return IndexedNote(data["topic"], [int(t) for t in data["task_uids"]], int(data["upserted"]),
                       int(data["deleted"]))


@dataclass(slots=True)
class _Pending:
    batch_no: int
    outbox_id: int
    rows: list[dict[str, Any]] | None  # None: this batch is indexed by its job (reads its rows back)


class DirectIndex:
    """Indexes committed batches from memory instead of each `import.batch` job reading its rows back.

    The outbox row of every batch is committed with the batch as always (the safety net). After the commit the
    records the batch wrote, as the indexer would read them, are kept here; once INDEX_WRITE_ROWS are pending
    (or the run ends, pauses or hands over) they are written to Meilisearch in one go, a note naming the
    Meilisearch tasks is left per batch (Redis), and only then are the batches' outbox rows enqueued. Their
    `import.batch` job finds the note, waits until those tasks are applied and is done; without a note (a
    crash before the write, Redis lost, the write failed, a profile of the batch changed after its commit) or
    with a failed task it indexes the batch by reading its rows, as before. Any failure here leaves exactly
    that fallback: the import itself never fails because of indexing.
    """

    def __init__(self, env: ImportEnv, import_id: UUID, topic: str, *, rows_per_write: int = INDEX_WRITE_ROWS) -> None:
        assert env.search is not None
        self.env = env
        self.search = env.search
        self.import_id = import_id
        self.topic = topic
        self.rows_per_write = rows_per_write
        self.pending: list[_Pending] = []
        self.pending_rows = 0

    def add(self, batch_no: int, outbox_id: int, rows: dict[str, dict[str, Any]] | None) -> None:
        self.pending.append(_Pending(batch_no, outbox_id, list(rows.values()) if rows is not None else None))
        self.pending_rows += len(rows) if rows is not None else 0

    @property
    def due(self) -> bool:
        return self.pending_rows >= self.rows_per_write

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write what is pending, leave the notes, enqueue the pending outbox rows. Never raises for indexing;
        raises only if enqueueing fails (then the reconciler enqueues the rows)."""
        pending, self.pending, self.pending_rows = self.pending, [], 0
        direct = [p for p in pending if p.rows is not None]
        if direct:
            try:
                await self._write(conn, direct)
            except Exception as exc:  # the batches' jobs index them by reading their rows
                log.warning("import.direct_index_failed", import_id=str(self.import_id), error=type(exc).__name__)
        await _enqueue(self.env, conn, [p.outbox_id for p in pending])

    async def _unchanged(self, conn: asyncpg.Connection, batches: list[_Pending]) -> list[_Pending]:
        """The batches none of whose profiles changed (or went) since their commit."""
        from services.api.worker_profiles.repository import changed_since_written

        changed = await changed_since_written(conn, [(row["id"], row["updated_at"]) for p in batches
                                                     for row in p.rows or ()])
        if not changed:
            return batches
        log.info("import.direct_index_skipped", import_id=str(self.import_id), changed=len(changed))
        return [p for p in batches if not any(row["id"] in changed for row in p.rows or ())]

    async def _write(self, conn: asyncpg.Connection, batches: list[_Pending]) -> None:
        from services.api.china_calendar import china_today
        from services.indexing.catalogue_source import current_catalogue
        from services.indexing.documents import worker_is_indexable
        from services.indexing.repository import lock_for_sync
        from services.indexing.sync import indexer_for

        # The rows in memory are the batch's as committed. A profile changed since (PATCH, erasure, consent
        # withdrawn, placed, a later import) may already have had its own `worker.index` job write the newer
        # state; writing the old one now would put it back (Meilisearch applies the later task last), erased
        # profiles included. Such batches get no note: their jobs read the current rows, as before.
        snapshot = await current_catalogue(self.env.extensions)
        indexer = indexer_for(self.env.extensions, self.search, self.env.settings.meili_index_prefix)
        async with conn.transaction():
            # The profiles' index locks, as every sync takes them (services/indexing/repository.py): a change's
            # own index job cannot read and write between our look and our write, so the look holds until the
            # write is queued. (The batch's outbox row may already have been enqueued by the reconciler and done,
            # so a stale write here would not be repaired by it.)
            await lock_for_sync(conn, "workers", [row["id"] for p in batches for row in p.rows or ()])
            batches = await self._unchanged(conn, batches)
            if not batches:
                return
            rows = [row for p in batches for row in p.rows or ()]
            result = await indexer.write_worker_rows(rows, snapshot.catalogue, snapshot.regions, china_today())
        async with self.env.redis.pipeline(transaction=False) as pipe:
            for p in batches:
                upserted = sum(1 for row in p.rows or () if worker_is_indexable(row))
                note = {"topic": self.topic, "task_uids": result.task_uids, "upserted": upserted,
                        "deleted": len(p.rows or ()) - upserted}
                pipe.set(_indexed_key(str(self.import_id), p.batch_no), orjson.dumps(note), ex=INDEXED_NOTE_SECONDS)
            await pipe.execute()


# ------------------------------------------------------------------------------------------------ the run


async def process_import(env: ImportEnv, import_id: UUID, *, batch_rows: int = BATCH_ROWS,
                         max_batches: int | None = None, time_budget_seconds: float | None = None) -> Outcome:
    """Process (or resume) one import. `max_batches` stops after that many batches without finishing
    (tests use it to stand for a worker killed between batches); `time_budget_seconds` hands the rest over
    to a new job once exceeded."""
    async with env.pool.acquire() as conn:
        if not await repository.try_lock(conn, import_id):
            # Another worker is on it. Raising (not returning) keeps this outbox row undone, so if that
            # worker dies the reconciler brings the import back.
            raise ImportBusy(str(import_id))
        try:
            with relaxed_gc():
                return await _run(env, conn, import_id, batch_rows=batch_rows, max_batches=max_batches,
                                  time_budget_seconds=time_budget_seconds)
        finally:
            await repository.unlock(conn, import_id)


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
    caller = await _caller_for(conn, import_id)
    checkpoint = record["checkpoint_row"]
    batch_no = record["batches"]
    stored_errors = await repository.error_count(conn, import_id)
    done = 0
    batches = _batches(source, mapper, after_row=checkpoint, size=batch_rows)
    direct = (DirectIndex(env, import_id, save.index_rows[0])
              if env.search is not None and save.index_rows is not None else None)

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
                                                caller, save, outbox, stored_errors, direct)
            checkpoint = batch.last_row
            done += 1
            if max_batches is not None and done >= max_batches:
                await _flush(direct, conn)
                return "paused"
            if time_budget_seconds is not None and time.monotonic() - started > time_budget_seconds:
                await _flush(direct, conn)
                async with conn.transaction():
                    outbox_id = await outbox_repository.record(conn, PROCESS_TOPIC, str(import_id))
                await _enqueue(env, conn, [outbox_id])
                log.info("import.continued", import_id=str(import_id), checkpoint=checkpoint)
                return "continued"
    except ImportFileError as exc:
        await _flush(direct, conn)
        return await _finish(env, conn, import_id, status="failed", detail=exc.message)
    except Forbidden as exc:  # e.g. the broker's licence expired: no row could be stored
        await _flush(direct, conn)
        return await _finish(env, conn, import_id, status="failed", detail=exc.detail or exc.title)
    finally:
        if ahead is not None:
            # A batch read and not written is simply read again by the next run (after the checkpoint).
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: a read-ahead failure after a stop is not an error of this run
        if direct is not None and direct.pending:
            # Stopped by an error: committed batches still get their indexing (or the reconciler sees to it).
            try:
                await _flush(direct, conn)
            except Exception as exc:
                log.warning("import.flush_failed", import_id=str(import_id), error=type(exc).__name__)
    await _flush(direct, conn)
    return await _finish(env, conn, import_id, status="completed", detail=None)


async def _flush(direct: DirectIndex | None, conn: asyncpg.Connection) -> None:
    if direct is not None and direct.pending:
        await direct.flush(conn)


async def _commit_batch(env: ImportEnv, conn: asyncpg.Connection, import_id: UUID, batch: _Batch, batch_no: int,
                        checkpoint: int, caller: Caller, save: RecordSaver, outbox: BatchOutbox,
                        stored_errors: int, direct: DirectIndex | None = None) -> int:
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
        now = await repository.transaction_time(conn) if direct is not None and valid else None
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
    if direct is None or not outbox_ids:
        await _enqueue(env, conn, outbox_ids)
        return stored_errors + len(kept)
    rows: dict[str, dict[str, Any]] | None = None
    if save.index_rows is not None and now is not None and set(follow_up) == {direct.topic}:
        rows = save.index_rows[1](caller.org_id, now)
        if rows.keys() != set(follow_up[direct.topic]):
            rows = None  # not exactly what the batch records for indexing: its job reads the rows back
    direct.add(batch_no, outbox_ids[0], rows)
    if direct.due:
        await direct.flush(conn)
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
