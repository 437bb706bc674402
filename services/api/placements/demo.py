"""Demo data for `make run`: placements between the demo brokers' workers and the demo enterprises' postings in
every state of the lifecycle (made through the service functions, so the rules, transfer marks, audit trail and
headcount closing all apply), then figures: the open month and quarter computed, and a few past months written as
demo snapshots (`source = 'demo'`, shown as 演示数据) so the dashboard has a trend on first start.

Called by services/demo/loader.py as `await seed_demo_placements(conn, settings=settings, org_ids=result.org_ids)`
(conn outside a transaction; org_ids maps demo names such as "broker_cq" to organisation ids). Idempotent: when
the demo enterprises already have placements none are added; past months with figures are left alone.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.api.china_calendar import CHINA_TZ
from services.api.placements import repository, service
from services.api.placements.schemas import PlacementCreate
from services.api.placements.service import Actor
from services.api.problems import ProblemError
from services.api.stats.service import write_demo_history
from services.outbox.recorder import UnqueuedOutbox

# Final state → (share of the demo placements, days ago the lifecycle started)
_PLAN: list[tuple[str, float, int]] = [
    ("proposed", 0.15, 1), ("accepted", 0.10, 3), ("hired", 0.25, 6), ("arrived", 0.20, 20),
    ("retained_30", 0.12, 45), ("retained_90", 0.08, 110), ("ended", 0.10, 30),
]

# The final states a lifecycle reaches through the worker's arrival, and when it comes after the proposal (a day to
# accept, a day to hire, two days to arrive).
_ARRIVED = frozenset({"arrived", "retained_30", "retained_90", "ended"})
_TO_ARRIVAL = timedelta(days=4)


async def _advance(conn: asyncpg.Connection, target: str, placement_id: UUID, *, enterprise: Actor, broker: Actor,
                   start: datetime) -> None:
    """Walk one proposed placement to `target`, each step a little later than the one before."""
    steps = {"accepted": 1, "hired": 2, "arrived": 3, "retained_30": 4, "retained_90": 5, "ended": 3}[target]
    assert (target in _ARRIVED) == (steps >= 3)
    when = start
    if steps >= 1:
        when += timedelta(days=1)
        await service.accept(conn, enterprise, placement_id, now=when)
    if steps >= 2:
        when += timedelta(days=1)
        await service.hire(conn, enterprise, placement_id, outbox=UnqueuedOutbox(), now=when)
    if steps >= 3:
        when = start + _TO_ARRIVAL
        await service.arrive(conn, broker, placement_id, now=when)
    arrived = when
    if steps >= 4:
        await service.retain(conn, broker, placement_id, milestone=30, now=arrived + timedelta(days=31))
    if steps >= 5:
        await service.retain(conn, broker, placement_id, milestone=90, now=arrived + timedelta(days=91))
    if target == "ended":
        await service.end(conn, enterprise, placement_id, reason="left", outbox=UnqueuedOutbox(), note="演示：工人返乡",
                          now=arrived + timedelta(days=12))


async def seed_demo_placements(conn: asyncpg.Connection, *, settings: Any = None, org_ids: dict[str, str],
                               count: int = 160, seed: int = 8, now: datetime | None = None) -> str:
    """Create up to `count` demo placements and the demo figures; returns a one-line summary."""
    now = now or datetime.now(UTC)
    enterprises = {UUID(v): k for k, v in org_ids.items() if k.startswith("enterprise")}
    brokers = {UUID(v): k for k, v in org_ids.items() if k.startswith("broker")}
    created = 0
    refused = 0
    if enterprises and brokers and await repository.count_for_orgs(conn, list(enterprises)) == 0:
        jobs, workers = await repository.demo_candidates(conn, enterprise_ids=list(enterprises),
                                                         broker_ids=list(brokers))
        rng = random.Random(seed)  # noqa: S311  (demo data, not security)
        rng.shuffle(jobs)
        by_code: dict[str, list[asyncpg.Record]] = {}
        for w in workers:
            for code in w["occupation_codes"]:
                by_code.setdefault(code, []).append(w)
        used: set[UUID] = set()
        plan = [state for state, share, _ in _PLAN for _ in range(round(share * count))]
        rng.shuffle(plan)
        starts = {state: days for state, _, days in _PLAN}
        for job in jobs:
            if not plan:
                break
            candidates = [w for w in by_code.get(job["occupation_code"], []) if w["id"] not in used]
            if not candidates:
                continue
            worker = rng.choice(candidates)
            used.add(worker["id"])
            target = plan.pop()
            enterprise = Actor(org_id=job["org_id"], key_id=None, role="enterprise")
            broker = Actor(org_id=worker["broker_org_id"], key_id=None, role="broker")
            start = now - timedelta(days=starts[target], hours=rng.randint(0, 20))
            try:
                async with conn.transaction():
                    if target in _ARRIVED:
                        # An arrival is confirmed from the job's start date on, and the demo postings start today
                        # or later: this one started by the day its worker arrived, weeks ago.
                        arrival_day = (start + _TO_ARRIVAL).astimezone(CHINA_TZ).date()
                        await repository.demo_start_by(conn, job["id"], arrival_day)
                    placed = await service.propose(conn, broker, PlacementCreate(job_id=job["id"],
                                                                                 worker_id=worker["id"]), now=start)
                    if target != "proposed":
                        await _advance(conn, target, placed.id, enterprise=enterprise, broker=broker, start=start)
                created += 1
            except ProblemError:
                refused += 1
    history = await write_demo_history(conn, months=5, now=now)
    return (f"{created} placements created ({refused} refused by the rules); demo months "
            f"{', '.join(history) or 'kept'}; current month and quarter computed")
