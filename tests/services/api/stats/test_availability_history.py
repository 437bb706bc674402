"""Available workers as of a moment follow the placements' history, not the profiles' current status: a worker
hired after that moment still counts for it. Hand-computed on a small data set built through the API in time
order, with one moment `A` in the middle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from services.api.china_calendar import CHINA_TZ
from services.api.stats import repository
from services.api.stats.periods import month_of
from services.api.stats.service import compute_period
from tests.conftest import MakeOrg
from tests.services.api.placements.support import act, hired_placement, make_job, make_worker

WELDER = "6-18-02-04"


async def test_availability_as_of_a_moment_follows_the_placements_history(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    job = await make_job(client, enterprise, adcode="500107", headcount=5, occupation_code=WELDER)

    async def worker(home: str = "500235") -> str:
        return str((await make_worker(client, broker, home=home, occupations=[WELDER]))["id"])

    async def hire(worker_id: str) -> str:
        return str((await hired_placement(client, enterprise, broker, job["id"], worker_id))["id"])

    async def no_show(placement_id: str) -> None:
        assert (await act(client, enterprise, placement_id, "end", {"reason": "no_show"})).status_code == 200

    # All at home in 云阳 500235, except the late consenter (营山 511322).
    w_free = await worker()                     # never placed
    w_hired_after = await worker()              # hired after A: placed now, available at A
    w_employed = await worker()                 # hired before A, still employed at A
    w_back = await worker()                     # hired and ended before A: available again at A
    w_ended_after = await worker()              # hired before A, ended after A: employed at A
    w_inactive = await worker()                 # taken off the market by the broker (no history: never counted)
    w_late_consent = await worker(home="511322")  # consent given (again) only after A
    await hire(w_employed)
    await no_show(await hire(w_back))
    ending_later = await hire(w_ended_after)

    moment_a = datetime.now(UTC)

    await hire(w_hired_after)
    await no_show(ending_later)
    w_registered_after = await worker()         # registered after A
    await db.execute("UPDATE worker_profiles SET consent_given_at = now() WHERE id = $1", uuid.UUID(w_late_consent))
    assert (await client.patch(f"/v1/workers/{w_inactive}", json={"status": "inactive"},
                               headers=broker.headers)).status_code == 200
    statuses = {str(r["id"]): r["status"] for r in await db.fetch("SELECT id, status FROM worker_profiles")}
    assert statuses[w_hired_after] == "placed"
    assert statuses[w_employed] == "placed"
    assert statuses[w_ended_after] == "available"

    rows = await repository.available_workers_at(db, moment_a, moment_a.astimezone(CHINA_TZ).date())
    assert {str(r["id"]) for r in rows} == {w_free, w_hired_after, w_back}
    assert w_registered_after not in {str(r["id"]) for r in rows}

    # The open month as of A: 云阳 has three welders available; 营山 none yet; 九龙坡 5 wanted, 3 hired by A.
    month = month_of(moment_a)
    assert (await compute_period(db, month, now=moment_a)).status == "computed"
    figures = {(r["adcode"], r["occupation_code"]): (r["open_headcount"], r["available_workers"])
               for r in await db.fetch("SELECT * FROM stats_supply_demand WHERE period = $1 AND level = 'county'",
                                       month.label)}
    assert figures[("500235", WELDER)] == (0, 3)
    assert figures[("500235", "")] == (0, 3)
    assert ("511322", WELDER) not in figures
    assert figures[("500107", WELDER)] == (2, 0)
