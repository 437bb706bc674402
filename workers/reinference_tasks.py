"""Occupations inferred again, so postings and profiles stored with a code inferred from free text follow the
catalogue and the inference as they are now, not as they were when the text was typed.

`occupations.reinfer` (one row: recorded by migration 0022 at the deploy that taught inference to read 数控车床操作工
as 车工, and after each newly published catalogue version is applied to search) walks, page by page, the live
postings whose occupation was inferred, then the live profiles with an occupation typed as text, and infers each
again with the current catalogue. Where a code changes it is stored with a `job.index` / `worker.index` row in the
same transaction: the document is re-indexed and the posting or profile matched again, so the people it fits now
hear of it (matching's notification keys keep anyone already told from being told twice). An item nothing is
inferred for now keeps its code (services/api/jobs/occupation_inference.py::inferred_again).

The row's entity id is where the walk stands: "" (the start), "jobs:<id>" or "workers:<id>" (after that id),
"workers:" (the first profile). Past the time budget it hands over to a new row; a failure leaves the row to the
reconciler, which starts again from the row's own cursor: pages done infer to the same codes and change nothing.
Writes are conditional on the text and codes read (an edit committed meanwhile inferred from its own text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID

import asyncpg
import structlog

from services.api.database import PendingWork
from services.api.jobs import repository as jobs_repository
from services.api.jobs.occupation_inference import inferred_again, occupations_resolved_again
from services.api.jobs.service import INDEX_TOPIC as JOB_INDEX_TOPIC
from services.api.worker_profiles import repository as workers_repository
from services.api.worker_profiles.service import INDEX_TOPIC as WORKER_INDEX_TOPIC
from services.api.worker_profiles.service import occupation_codes_of, occupation_terms_of
from services.indexing.catalogue_source import CatalogueSnapshot, current_catalogue
from services.outbox.dispatch import enqueue_committed
from workers.context import WorkerResources
from workers.import_tasks import hand_over, time_budget
from workers.outbox import outbox_handler

log = structlog.get_logger("bashu.worker.reinference")

REINFER_TOPIC = "occupations.reinfer"
# Postings or profiles inferred again per page (one transaction for the changed ones). Inference segments a title and
# up to 2,000 characters of description, ~1 ms a posting: a page runs in a thread, off the worker's event loop.
REINFER_PAGE = 200

Kind = Literal["jobs", "workers"]


class UnknownCursor(ValueError):
    """An `occupations.reinfer` entity id this code did not write."""


def _cursor(entity_id: str) -> tuple[Kind, UUID | None]:
    kind, _, after = entity_id.partition(":")
    if kind not in ("", "jobs", "workers"):
        raise UnknownCursor(entity_id)
    try:
        return ("workers" if kind == "workers" else "jobs"), (UUID(after) if after else None)
    except ValueError:
        raise UnknownCursor(entity_id) from None


@outbox_handler(REINFER_TOPIC)
async def infer_occupations_again(resources: WorkerResources, entity_id: str) -> None:
    kind, after = _cursor(entity_id)
    loop = asyncio.get_running_loop()
    started = loop.time()
    changed: dict[Kind, int] = {"jobs": 0, "workers": 0}
    while True:
        snapshot = await current_catalogue(resources.extensions)
        page = _postings_page if kind == "jobs" else _profiles_page
        read, last, count = await page(resources, snapshot, after)
        changed[kind] += count
        if read < REINFER_PAGE:
            if kind == "workers":
                log.info("reinference.done", postings=changed["jobs"], profiles=changed["workers"],
                         outbox_entity=entity_id)
                return
            kind, after = "workers", None
        else:
            after = last
        if loop.time() - started > time_budget(resources):
            cursor = f"{kind}:{after or ''}"
            await hand_over(resources, REINFER_TOPIC, cursor)
            log.info("reinference.continued", postings=changed["jobs"], profiles=changed["workers"], after=cursor)
            return


async def _postings_page(resources: WorkerResources, snapshot: CatalogueSnapshot,
                         after: UUID | None) -> tuple[int, UUID | None, int]:
    """Infer one page of postings again: (postings read, the last one's id, postings whose code changed)."""
    async with resources.pool.acquire() as conn:
        records = await jobs_repository.inferred_live_page(conn, after=after, limit=REINFER_PAGE)

    def infer() -> list[tuple[Any, Any]]:
        return [(r, code) for r in records
                if (code := inferred_again(r["title"], r["description"], r["occupation_code"], snapshot.catalogue,
                                           snapshot.analyzer)) is not None]

    async def write(conn: asyncpg.Connection, r: Any, code: Any) -> bool:
        return await jobs_repository.set_inferred_code(conn, r["id"], code, was=r["occupation_code"], title=r["title"],
                                                       description=r["description"])

    written = await _store(resources, await asyncio.to_thread(infer), write, JOB_INDEX_TOPIC)
    return len(records), (records[-1]["id"] if records else after), written


async def _profiles_page(resources: WorkerResources, snapshot: CatalogueSnapshot,
                         after: UUID | None) -> tuple[int, UUID | None, int]:
    """Resolve one page of profiles' typed occupations again: (profiles read, the last one's id, profiles changed)."""
    async with resources.pool.acquire() as conn:
        records = await workers_repository.free_text_occupations_page(conn, after=after, limit=REINFER_PAGE)

    def resolve() -> list[tuple[Any, Any]]:
        return [(r, again) for r in records
                if (again := occupations_resolved_again(r["occupations"], snapshot.catalogue, snapshot.analyzer,
                                                        snapshot.occupations)) is not None]

    async def write(conn: asyncpg.Connection, r: Any, again: Any) -> bool:
        return await workers_repository.set_occupations(
            conn, r["id"], again, codes=occupation_codes_of(again), terms=occupation_terms_of(again),
            was=r["occupations"])

    written = await _store(resources, await asyncio.to_thread(resolve), write, WORKER_INDEX_TOPIC)
    return len(records), (records[-1]["id"] if records else after), written


async def _store(resources: WorkerResources, changes: list[tuple[Any, Any]],
                 write: Callable[[asyncpg.Connection, Any, Any], Awaitable[bool]], topic: str) -> int:
    """Write `changes` (record, new value) in one transaction, each written one with its `topic` row, enqueued after
    commit; returns how many were written (a change whose record was edited meanwhile is not)."""
    if not changes:
        return 0
    pending = PendingWork()
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            for record, value in changes:
                if await write(conn, record, value):
                    await pending.record(conn, topic, str(record["id"]))
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)
    return len(pending.outbox_ids)
