"""The matching trigger of notifications (issue 6): a new or changed posting or profile → `match.created`.

1. `job.index` / `worker.index` (workers/indexing_tasks.py) upsert a searchable document, wait until Meilisearch
   has applied it, then match it in the same job (`match_when_visible`; their outbox row is done only once the
   notifications are committed, so a crash re-runs both). Waiting matters when a posting and a fitting profile
   arrive together: each match run then starts after its own document is visible, so the later of the two runs
   sees the other and the pair is never missed. `request_matching` records a `job.match` / `worker.match` row
   instead, for callers that want matching in a job of its own (the topics stay handled).
2. The handler here (`match_job` / `match_worker`) reads the current row and stops unless the posting is
   still open (the profile still available, consenting, not held). It ranks the other side through the
   matches service (`services.api.matches.service.rank_workers_for_job` / `rank_jobs_for_worker`: candidates
   from Meilisearch under the hard filters, then `matching.scoring.score`), keeps scores ≥
   `MATCH_NOTIFY_MIN_SCORE`, re-checks the candidates' current rows (a document may lag its row), never tells
   the organisation that made the change about its own posting or worker, and keeps the best
   `MATCH_NOTIFY_TOP_N`.
3. In ONE transaction: `record_match_notifications` (posting → the workers' brokers, direction
   `job_for_worker`; profile → the postings' enterprises, direction `worker_for_job`) and the `job.matched` /
   `worker.matched` row that evaluates saved subscriptions (workers/notification_tasks.py). After the commit
   the notifications' `notification.dispatch` rows are processed in this job (`workers.outbox.process_now`:
   fan-out and the first webhook attempt), so a posting's commit reaches its webhooks through one arq job.

Safe to run twice: notifications are unique per (recipient, job, worker, event), so a re-run, a retry or a
re-index without a material change records nothing new. Summaries carry public fields only
(`public_job`, `masked_worker`: never a name, ID number, phone, contact or notes).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from services.api.china_calendar import CHINA_TZ
from services.api.database import PendingWork
from services.api.jobs import repository as jobs_repository
from services.api.matches import service as matches
from services.api.notifications.clock import clock_of
from services.api.notifications.service import MatchNotice, record_match_notifications
from services.api.worker_profiles import repository as workers_repository
from services.indexing.catalogue_source import current_catalogue
from services.indexing.documents import (
    build_job_document,
    build_worker_document,
    job_facts,
    job_is_indexable,
    worker_facts,
    worker_is_indexable,
)
from services.indexing.sync import Kind, SyncResult, indexer_for
from services.outbox.dispatch import enqueue_committed
from workers.context import WorkerResources
from workers.notification_tasks import FAN_OUT_ONLY, JOB_MATCHED_TOPIC, WORKER_MATCHED_TOPIC
from workers.outbox import OutboxHandler, outbox_handler, process_now

log = structlog.get_logger("bashu.worker.matching")

JOB_MATCH_TOPIC = "job.match"
# Fan-out without webhook attempts is PostgreSQL work (~ms a notice); past this, a slow database leaves the rest
# of a record's notices to arq rather than stretching a many-record job (import matching) towards its timeout.
FAN_OUT_BUDGET_SECONDS = 2.0
WORKER_MATCH_TOPIC = "worker.match"
# How long an index handler waits for Meilisearch to apply its document before giving up (the outbox row then
# fails and the reconciler runs the handler again: re-sync, wait, request matching).
INDEX_WAIT_MS = 30_000
# Reasons are worked out (the costly part of ranking: ~70 µs a candidate) for the top N plus this many, which
# covers what the re-checks below usually drop (the recipient's own records, rows changed since indexing); only
# when they drop more is every candidate the service fetched ranked (it scores them all anyway).
_RANK_MARGIN = 10
_RANK_ALL = 10_000


class IndexTaskFailed(RuntimeError):
    pass


async def _wait_until_visible(resources: WorkerResources, synced: SyncResult) -> None:
    for uid in synced.task_uids:
        task = await resources.search.wait_for_task(uid, timeout_in_ms=INDEX_WAIT_MS, interval_in_ms=20)
        if task.status != "succeeded":
            raise IndexTaskFailed(f"Meilisearch task {uid} {task.status}: {task.error}")


async def request_matching(resources: WorkerResources, topic: str, entity_id: str, synced: SyncResult) -> None:
    """Called by an index handler after it upserted `entity_id`: wait for the document, then record `topic`
    (matching in a job of its own; `match_when_visible` matches in the caller's job instead)."""
    if not synced.upserted:
        return  # deleted (closed, expired, held, no consent …): nothing to match
    await _wait_until_visible(resources, synced)
    pending = PendingWork()
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            await pending.record(conn, topic, entity_id)
        await enqueue_committed(resources.redis, conn, pending.outbox_ids)


async def match_when_visible(resources: WorkerResources, matcher: OutboxHandler, entity_id: str,
                             synced: SyncResult) -> None:
    """Called by an index handler after it upserted `entity_id`: wait for the document, then match it here
    (`match_job` / `match_worker`), saving the arq hop of a `job.match` / `worker.match` row.

    The caller's outbox row is done only once this returns, i.e. once the notifications are committed: a crash
    or a failure before that re-runs indexing and matching together, and a re-run records nothing twice (the
    notifications' unique key)."""
    if not synced.upserted:
        return  # deleted (closed, expired, held, no consent …): nothing to match
    await _wait_until_visible(resources, synced)
    await matcher(resources, entity_id)


async def _env(resources: WorkerResources) -> matches.MatchEnv:
    snapshot = await current_catalogue(resources.extensions)
    # Matching searches the other side's index, which may not exist yet or be another process's creation whose
    # filterable attributes are not applied yet; once per process and index, after that a set lookup.
    indexer = indexer_for(resources.extensions, resources.search, resources.settings.meili_index_prefix)
    kinds: tuple[Kind, ...] = ("jobs", "workers")
    for kind in kinds:
        await indexer.ensure_index(kind, snapshot.catalogue, snapshot.regions)
    return matches.MatchEnv(catalogue=snapshot.catalogue, regions=snapshot.regions,
                            http=resources.search.http_client, prefix=resources.settings.meili_index_prefix)


# How long a process reuses its list of lapsed brokers (`brokers_unlicensed_on`): an import matches each of its
# postings or profiles, and a licence that lapses at midnight or is renewed may take this long to count for notices.
UNLICENSED_BROKERS_SECONDS = 60.0
_UNLICENSED_KEY = "matching.unlicensed_brokers"


async def _unlicensed_brokers(resources: WorkerResources, conn: asyncpg.Connection, today: date) -> list[UUID]:
    held: tuple[date, float, list[UUID]] | None = resources.extensions.get(_UNLICENSED_KEY)
    if held is not None and held[0] == today and time.monotonic() - held[1] < UNLICENSED_BROKERS_SECONDS:
        return held[2]
    brokers = await workers_repository.brokers_unlicensed_on(conn, today)
    resources.extensions[_UNLICENSED_KEY] = (today, time.monotonic(), brokers)
    return brokers


def forget_unlicensed_brokers(resources: WorkerResources) -> None:
    """This process reads the lapsed brokers afresh on its next match (a licence was just renewed)."""
    resources.extensions.pop(_UNLICENSED_KEY, None)


def _reasons(ranked: matches.Ranked) -> list[dict[str, Any]]:
    return [{"code": r.code, "text": r.text, "weight": r.weight} for r in ranked.match.reasons]


def _extras(ranked: matches.Ranked) -> dict[str, Any]:
    m = ranked.match
    return {"distance_km": m.distance_km, "transfer": m.transfer, "cross_province": m.cross_province}


async def _record(resources: WorkerResources, notices: list[MatchNotice], matched_topic: str, entity_id: str,
                  now: Any, *, webhooks_inline: bool) -> int:
    dispatches = PendingWork()
    matched = PendingWork()
    async with resources.pool.acquire() as conn:
        async with conn.transaction():
            # The profiles were read before ranking (several searches ago): a person who withdrew consent, was
            # erased or placed meanwhile is not announced. Locked, so such a change waits for this commit.
            shareable = {r["id"] for r in await workers_repository.share_locked(conn, [n.worker_id for n in notices])
                         if worker_is_indexable(r)}
            notices = [n for n in notices if n.worker_id in shareable]
            created = await record_match_notifications(conn, dispatches, notices, now=now)
            await matched.record(conn, matched_topic, entity_id)
        # Subscriptions (`job.matched`) in a job of their own, in parallel with this one.
        await enqueue_committed(resources.redis, conn, matched.outbox_ids)
    # The notifications' dispatch here, after their commit: one arq hop less, and no flood of one-notice jobs
    # ahead of interactive work in the queue when an import is matched. With `webhooks_inline` the first
    # webhook attempts are made here too; without, only the fan-out (PostgreSQL work) is, and the attempts
    # are arq jobs. Failures are left to the reconciler, as a failed dispatch job's would be; past one webhook
    # timeout (a hanging receiver) the rest go to arq.
    if webhooks_inline:
        await process_now(resources, dispatches.outbox_ids, budget_seconds=resources.settings.webhook_timeout_seconds)
    else:
        await process_now(resources, dispatches.outbox_ids, budget_seconds=FAN_OUT_BUDGET_SECONDS,
                          handlers=FAN_OUT_ONLY)
    return len(created)


async def _top_notices(
    resources: WorkerResources, rank: Callable[[int], Awaitable[list[matches.Ranked]]],
    current_rows: Callable[[asyncpg.Connection, Sequence[UUID]], Awaitable[list[asyncpg.Record]]],
    notice_of: Callable[[matches.Ranked, asyncpg.Record | None], MatchNotice | None],
) -> tuple[int, list[MatchNotice]]:
    """The best MATCH_NOTIFY_TOP_N notices, re-checked against the candidates' current rows: reasons worked out
    for the top N + _RANK_MARGIN first, every candidate only when the re-checks drop too many. Returns how many
    were ranked, and the notices."""
    top_n = resources.settings.match_notify_top_n
    for limit in (top_n + _RANK_MARGIN, _RANK_ALL):
        ranked = await rank(limit)
        async with resources.pool.acquire() as conn:
            current = {r["id"]: r for r in await current_rows(conn, [UUID(str(r.document["id"])) for r in ranked])}
        notices: list[MatchNotice] = []
        for item in ranked:
            notice = notice_of(item, current.get(UUID(str(item.document["id"]))))
            if notice is not None:
                notices.append(notice)
                if len(notices) >= top_n:
                    break
        if len(notices) >= top_n or len(ranked) < limit:
            break
    return len(ranked), notices


@outbox_handler(JOB_MATCH_TOPIC)
async def match_job(resources: WorkerResources, entity_id: str, *, webhooks_inline: bool = True) -> None:
    """An open posting → its best workers → their brokers (`job_for_worker`). `webhooks_inline=False` leaves
    the first webhook attempts to arq jobs: for callers matching many records in one job (imports), whose
    time must not depend on the recipients' receivers."""
    settings = resources.settings
    now = clock_of(resources.extensions).now()
    today = now.astimezone(CHINA_TZ).date()
    async with resources.pool.acquire() as conn:
        record = await matches.load_job(conn, UUID(entity_id))
        if record is None or not job_is_indexable(record):
            return
        unlicensed = await _unlicensed_brokers(resources, conn, today)
    env = await _env(resources)
    job_summary = matches.public_job(build_job_document(record, env.catalogue, env.regions), env.regions)

    def notice_of(item: matches.Ranked, worker: asyncpg.Record | None) -> MatchNotice | None:
        if worker is None or not worker_is_indexable(worker) or worker["broker_org_id"] == record["org_id"]:
            return None
        summary = {"job": job_summary, "worker": matches.masked_worker(item.document, env.catalogue, env.regions),
                   **_extras(item)}
        return MatchNotice(recipient_org_id=worker["broker_org_id"], job_id=record["id"], worker_id=worker["id"],
                           score=item.match.score, direction="job_for_worker", reasons=_reasons(item),
                           summary=summary, sms_consent=bool(worker["consent_contact_by_sms"]))

    ranked, notices = await _top_notices(
        resources, lambda limit: matches.rank_workers_for_job(env, job_facts(record), today, limit=limit,
                                                              min_score=settings.match_notify_min_score,
                                                              unlicensed_brokers=unlicensed),
        workers_repository.get_many, notice_of)
    created = await _record(resources, notices, JOB_MATCHED_TOPIC, entity_id, now, webhooks_inline=webhooks_inline)
    log.info("matching.job", job_id=entity_id, ranked=ranked, notices=len(notices), created=created)


@outbox_handler(WORKER_MATCH_TOPIC)
async def match_worker(resources: WorkerResources, entity_id: str, *, webhooks_inline: bool = True) -> None:
    """An available, consenting profile → the open postings it fits → their enterprises (`worker_for_job`).
    `webhooks_inline` as for `match_job`."""
    settings = resources.settings
    now = clock_of(resources.extensions).now()
    today = now.astimezone(CHINA_TZ).date()
    async with resources.pool.acquire() as conn:
        record = await matches.load_worker(conn, UUID(entity_id))
        # worker_is_indexable: available, consented to being shown to enterprises, not held for review. A
        # broker whose licence expired may not post (issue 2): its profiles are not offered to enterprises.
        if (record is None or record["erased_at"] is not None or not worker_is_indexable(record)
                or record["broker_org_id"] in await _unlicensed_brokers(resources, conn, today)):
            return
    env = await _env(resources)
    worker_summary = matches.masked_worker(build_worker_document(record, env.catalogue, env.regions, today),
                                           env.catalogue, env.regions)

    def notice_of(item: matches.Ranked, job: asyncpg.Record | None) -> MatchNotice | None:
        if job is None or not job_is_indexable(job) or job["org_id"] == record["broker_org_id"]:
            return None
        summary = {"worker": worker_summary, "job": matches.public_job(item.document, env.regions), **_extras(item)}
        return MatchNotice(recipient_org_id=job["org_id"], job_id=job["id"], worker_id=record["id"],
                           score=item.match.score, direction="worker_for_job", reasons=_reasons(item),
                           summary=summary)

    ranked, notices = await _top_notices(
        resources, lambda limit: matches.rank_jobs_for_worker(env, worker_facts(record, today), today, now,
                                                              limit=limit, min_score=settings.match_notify_min_score),
        jobs_repository.get_many, notice_of)
    created = await _record(resources, notices, WORKER_MATCHED_TOPIC, entity_id, now,
                            webhooks_inline=webhooks_inline)
    log.info("matching.worker", worker_id=entity_id, ranked=ranked, notices=len(notices), created=created)
