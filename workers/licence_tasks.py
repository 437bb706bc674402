"""A lapsed broker's licence renewed (`broker.relicensed`, recorded by `PUT /v1/orgs/{id}/licence`): its available
profiles are matched again, so enterprises hear of them as of new ones. While the licence was lapsed, matching
left them out (an expired licence blocks posting), and postings opened then never saw them.

Paced like an import's matching (`IMPORT_MATCH_SHARE`: one profile at a time, resting in between) and handed over
to a fresh job before arq's timeout, by id (`<org id>:<last profile id done>`). Safe to run twice: notifications
are unique per (recipient, job, worker, event)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import structlog

from services.api.organisations.service import RELICENSED_TOPIC
from services.api.worker_profiles import repository as workers_repository
from workers.context import WorkerResources
from workers.import_tasks import MATCHERS, hand_over, rest_after, time_budget
from workers.match_tasks import forget_unlicensed_brokers
from workers.outbox import outbox_handler

log = structlog.get_logger("bashu.worker.licences")

# Profiles read per query; the job matches them one at a time.
PAGE = 200


@outbox_handler(RELICENSED_TOPIC)
async def match_relicensed_broker(resources: WorkerResources, entity_id: str) -> None:
    org_id, _, after_id = entity_id.partition(":")
    broker = UUID(org_id)
    after = UUID(after_id) if after_id else None
    forget_unlicensed_brokers(resources)  # this process may still hold the list from before the renewal
    match, retry_topic = MATCHERS["worker.index"]  # what an import's new profile gets, one at a time
    loop = asyncio.get_running_loop()
    started, matched = loop.time(), 0
    while True:
        async with resources.pool.acquire() as conn:
            ids = await workers_repository.available_ids_of_broker(conn, broker, after=after, limit=PAGE)
        if not ids:
            log.info("licence.rematched", org_id=org_id, profiles=matched)
            return
        for worker_id in ids:
            began = loop.time()
            try:
                await match(resources, str(worker_id), webhooks_inline=False)
            except Exception as exc:
                # Its own single-profile row, retried with the outbox's backoff: one profile that keeps failing
                # holds up neither the broker's other profiles nor this row.
                await hand_over(resources, retry_topic, str(worker_id))
                log.warning("licence.rematch_failed", org_id=org_id, worker_id=str(worker_id),
                            error=type(exc).__name__)
            matched += 1
            after = worker_id
            await asyncio.sleep(rest_after(loop.time() - began, resources.settings.import_match_share))
            last = worker_id == ids[-1] and len(ids) < PAGE
            if not last and loop.time() - started > time_budget(resources):
                await hand_over(resources, RELICENSED_TOPIC, f"{org_id}:{after}")
                log.info("licence.rematch_continued", org_id=org_id, profiles=matched)
                return

