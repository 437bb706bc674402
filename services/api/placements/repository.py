"""SQL for placements, their events and reminders, and the reads of postings and worker profiles they need."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.api.jobs.repository import open_headcount_sql
from services.api.pagination import Position

_COLUMNS = """id, job_id, worker_id, enterprise_org_id, broker_org_id, proposed_by, status, occupation_code,
              origin_adcode, destination_adcode, transfer, cross_province, job_posted_at, job_start_date,
              proposed_at, accepted_at, hired_at, arrived_at, retained_30_at, retained_90_at, ended_at, ended_from,
              end_reason, end_note, updated_at,
              -- The first day in China on which the arrival may be confirmed (service.arrive): the posting's start
              -- date as it is now (an enterprise may postpone it after a hire; the placement's copy if the posting
              -- is gone), or the hire's day if later (greatest ignores a NULL hired_at). The arrival reminder's day.
              greatest(coalesce((SELECT j.start_date FROM job_postings j WHERE j.id = placements.job_id),
                                job_start_date),
                       (hired_at AT TIME ZONE 'Asia/Shanghai')::date) AS arrival_confirmable_from,
              -- Whether the profile is `available` (not inactive, placed otherwise or erased) and still shared with
              -- enterprises: accept and hire need it, so that next_actions offers neither when they would be refused.
              coalesce((SELECT w.status = 'available' AND w.consent_share_with_enterprises
                          FROM worker_profiles w WHERE w.id = placements.worker_id), false) AS worker_available,
              -- Whether a hire could go through now (service.hire's refusals: the posting open, unexpired, with
              -- headcount left; the worker available and holding no job), so that next_actions offers no hire it
              -- would refuse.
              coalesce((SELECT j.status = 'open' AND j.expires_at > now() AND {open_headcount} > 0
                          FROM job_postings j WHERE j.id = placements.job_id), false)
              AND coalesce((SELECT w.status = 'available' AND w.consent_share_with_enterprises
                               FROM worker_profiles w WHERE w.id = placements.worker_id), false)
              AND NOT EXISTS (SELECT 1 FROM placements held
                               WHERE held.worker_id = placements.worker_id
                                 AND held.status IN ('hired', 'arrived', 'retained_30', 'retained_90'))
                  AS hire_possible""".format(open_headcount=open_headcount_sql("j"))

# Statuses in which the worker holds the job (a hire happened and nothing ended it).
EMPLOYED = ("hired", "arrived", "retained_30", "retained_90")


# ------------------------------------------------------------------------ postings and workers (read only)


async def job_facts(conn: asyncpg.Connection, job_id: UUID, *, for_update: bool = False,
                    for_share: bool = False) -> asyncpg.Record | None:
    """What a placement needs of a posting. `for_update` locks the row: hires of one posting run one at a time.
    `for_share` (a proposal): the posting cannot be closed until the proposal commits, so the close, which ends
    the posting's open placements, sees it; a close that came first is waited for and then seen."""
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    return await conn.fetchrow(
        f"""SELECT id, org_id, status, occupation_code, headcount, adcode, start_date, created_at,
                   CASE WHEN status IN ('open', 'pending_review') AND expires_at <= now() THEN 'expired'
                        ELSE status END AS effective_status
              FROM job_postings WHERE id = $1{lock}""", job_id)


async def worker_facts(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT w.id, w.broker_org_id, w.status, w.home_adcode, w.consent_share_with_enterprises, w.held_for_review,
                  o.licence_valid_until AS broker_licence_valid_until
             FROM worker_profiles w JOIN organisations o ON o.id = w.broker_org_id WHERE w.id = $1""", worker_id)


# ------------------------------------------------------------------------------------------ placements


async def insert(conn: asyncpg.Connection, *, placement_id: UUID, job: asyncpg.Record, worker: asyncpg.Record,
                 proposed_by: str, transfer: bool, cross_province: bool, at: datetime) -> asyncpg.Record:
    record = await conn.fetchrow(
        f"""INSERT INTO placements (id, job_id, worker_id, enterprise_org_id, broker_org_id, proposed_by, status,
                                    occupation_code, origin_adcode, destination_adcode, transfer, cross_province,
                                    job_posted_at, job_start_date, proposed_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, $8, $9, $10, $11, $12, $13, $14, $14)
            RETURNING {_COLUMNS}""",
        placement_id, job["id"], worker["id"], job["org_id"], worker["broker_org_id"], proposed_by,
        job["occupation_code"], worker["home_adcode"], job["adcode"], transfer, cross_province,
        job["created_at"], job["start_date"], at)
    assert record is not None
    return record


async def get(conn: asyncpg.Connection, placement_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM placements WHERE id = $1{lock}", placement_id)


async def live_for_pair(conn: asyncpg.Connection, job_id: UUID, worker_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM placements WHERE job_id = $1 AND worker_id = $2 AND status <> 'ended'",
        job_id, worker_id)


async def worker_erased(conn: asyncpg.Connection, worker_id: UUID) -> bool:
    """Whether the person was erased, read under a share lock: an erasure running now (it holds the row for
    update) is waited for and then seen; one that starts after waits for this transaction, and then strips
    what it wrote (forget_notes_about_worker)."""
    erased: bool | None = await conn.fetchval(
        "SELECT status = 'erased' FROM worker_profiles WHERE id = $1 FOR SHARE", worker_id)
    return bool(erased)


# The profile's standing for a placement step: its status, or `not_shared` for an available profile whose broker
# withdrew the consent to share it with enterprises since the proposal.
_STANDING = "CASE WHEN status = 'available' AND NOT consent_share_with_enterprises THEN 'not_shared' ELSE status END"


async def lock_worker(conn: asyncpg.Connection, worker_id: UUID) -> str | None:
    """Serialises hires of one worker: a second hire waits here until the first commits, then sees it. Returns
    the profile's standing (`_STANDING`) as it is once locked (None: no such profile)."""
    status: str | None = await conn.fetchval(f"SELECT {_STANDING} FROM worker_profiles WHERE id = $1 FOR UPDATE",
                                             worker_id)
    return status


async def worker_status(conn: asyncpg.Connection, worker_id: UUID) -> str | None:
    """The profile's standing (`_STANDING`) under a share lock: a PATCH or an erasure under way is waited for and
    then seen, and none can commit until this transaction does."""
    status: str | None = await conn.fetchval(f"SELECT {_STANDING} FROM worker_profiles WHERE id = $1 FOR SHARE",
                                             worker_id)
    return status


async def employment_of_worker(conn: asyncpg.Connection, worker_id: UUID) -> asyncpg.Record | None:
    """A placement in which the worker currently holds a job, if any."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM placements WHERE worker_id = $1 AND status = ANY($2::text[]) LIMIT 1",
        worker_id, list(EMPLOYED))


async def hires_of_job(conn: asyncpg.Connection, job_id: UUID) -> int:
    """Hires made for a posting (a hire counts against the headcount even if the worker left later)."""
    count: int = await conn.fetchval("SELECT count(*) FROM placements WHERE job_id = $1 AND hired_at IS NOT NULL",
                                     job_id)
    return count


# Statuses before the hire: the posting must still take hires for them to go on.
BEFORE_HIRE = ("proposed", "accepted")


async def end_before_hire_of_job(conn: asyncpg.Connection, job_id: UUID, *, note: str,
                                 detail: dict[str, Any]) -> list[asyncpg.Record]:
    """The posting stopped taking hires (filled, closed, rejected, removed, expired): its proposals and
    acceptances end (reason `other`, `note` saying why), each with an `end` event by no organisation (the
    platform) carrying `detail`, and their open reminders resolved. At the transaction's time, as the posting's
    own close. Returns (id, broker_org_id) of the placements ended."""
    return await _end_before_hire(conn, "job_id", job_id, note=note, detail=detail)


async def lock_before_hire_of_worker(conn: asyncpg.Connection, worker_id: UUID) -> None:
    """Erasure, before it locks the profile: the person's proposals and acceptances, in id order. Accept and hire
    hold the placement and then the profile; taking them the other way round could deadlock with one of them."""
    await conn.execute(
        "SELECT 1 FROM placements WHERE worker_id = $1 AND status = ANY($2::text[]) ORDER BY id FOR UPDATE",
        worker_id, list(BEFORE_HIRE))


async def end_before_hire_of_worker(conn: asyncpg.Connection, worker_id: UUID, *, note: str,
                                    detail: dict[str, Any]) -> list[asyncpg.Record]:
    """The person was erased: nobody can be hired through their proposals and acceptances any more, so they end
    as a closed posting's do (end_before_hire_of_job). Returns (id, enterprise_org_id) of the placements ended."""
    return await _end_before_hire(conn, "worker_id", worker_id, note=note, detail=detail)


async def _end_before_hire(conn: asyncpg.Connection, column: str, value: UUID, *, note: str,
                           detail: dict[str, Any]) -> list[asyncpg.Record]:
    assert column in ("job_id", "worker_id")  # fixed names only
    rows = list(await conn.fetch(
        f"""UPDATE placements SET ended_from = status, status = 'ended', ended_at = now(), end_reason = 'other',
                   end_note = $3, updated_at = now()
             WHERE {column} = $1 AND status = ANY($2::text[])
            RETURNING id, broker_org_id, enterprise_org_id, ended_from""", value, list(BEFORE_HIRE), note))
    if rows:
        await conn.executemany(
            """INSERT INTO placement_events (placement_id, action, from_status, to_status, detail, at)
               VALUES ($1, 'end', $2, 'ended', $3, now())""",
            [(r["id"], r["ended_from"], {**detail, "note": note}) for r in rows])
        await conn.execute(
            """UPDATE placement_reminders SET resolved_at = now()
                WHERE placement_id = ANY($1::uuid[]) AND resolved_at IS NULL""", [r["id"] for r in rows])
    return rows


_TIMESTAMP_COLUMN = {"accepted": "accepted_at", "hired": "hired_at", "arrived": "arrived_at",
                     "retained_30": "retained_30_at", "retained_90": "retained_90_at"}


async def move(conn: asyncpg.Connection, placement_id: UUID, *, to_status: str, at: datetime) -> asyncpg.Record:
    column = _TIMESTAMP_COLUMN[to_status]  # fixed names only
    record = await conn.fetchrow(
        f"""UPDATE placements SET status = $2, {column} = $3, updated_at = $3 WHERE id = $1
            RETURNING {_COLUMNS}""", placement_id, to_status, at)
    assert record is not None
    return record


async def end(conn: asyncpg.Connection, placement_id: UUID, *, reason: str, note: str | None,
              at: datetime) -> asyncpg.Record:
    record = await conn.fetchrow(
        f"""UPDATE placements SET ended_from = status, status = 'ended', ended_at = $4, end_reason = $2,
                   end_note = $3, updated_at = $4
             WHERE id = $1 RETURNING {_COLUMNS}""", placement_id, reason, note, at)
    assert record is not None
    return record


async def list_page(conn: asyncpg.Connection, *, enterprise_org_id: UUID | None, broker_org_id: UUID | None,
                    status: str | None, from_adcode: str | None, to_adcode: str | None,
                    after: Position | None, limit: int) -> list[asyncpg.Record]:
    """Newest proposal first, `limit + 1` rows. Both org filters None: every placement (authorities).
    An adcode filter matches a county exactly, or every county of a city/province given by its adcode prefix."""
    return list(await conn.fetch(
        f"""SELECT {_COLUMNS} FROM placements
             WHERE ($1::uuid IS NULL OR enterprise_org_id = $1)
               AND ($2::uuid IS NULL OR broker_org_id = $2)
               AND ($3::text IS NULL OR status = $3)
               AND ($4::text IS NULL OR origin_adcode LIKE $4)
               AND ($5::text IS NULL OR destination_adcode LIKE $5)
               AND ($6::timestamptz IS NULL OR (proposed_at, id) < ($6, $7::uuid))
             ORDER BY proposed_at DESC, id DESC LIMIT $8""",
        enterprise_org_id, broker_org_id, status, from_adcode, to_adcode,
        after.created_at if after else None, after.id if after else None, limit + 1))


# -------------------------------------------------------------------------------------------- events


async def add_event(conn: asyncpg.Connection, *, placement_id: UUID, action: str, from_status: str | None,
                    to_status: str, org_id: UUID | None, api_key_id: UUID | None, detail: dict[str, Any],
                    at: datetime) -> None:
    await conn.execute(
        """INSERT INTO placement_events (placement_id, action, from_status, to_status, org_id, api_key_id, detail, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        placement_id, action, from_status, to_status, org_id, api_key_id, detail, at)


async def forget_notes_about_worker(conn: asyncpg.Connection, worker_id: UUID) -> None:
    """Erasure: the free text written on the person's placements may name them. The placements and their
    events stay (figures, credit, the audit of who did what when); the notes go (the events' trigger allows
    exactly this change, and only for an erased worker: migrations 0014, 0016)."""
    await conn.execute(
        """UPDATE placement_events SET detail = detail - 'note'
            WHERE placement_id IN (SELECT id FROM placements WHERE worker_id = $1) AND detail ? 'note'""",
        worker_id)
    await conn.execute("UPDATE placements SET end_note = NULL WHERE worker_id = $1 AND end_note IS NOT NULL",
                       worker_id)


async def events_of(conn: asyncpg.Connection, placement_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT e.action, e.from_status, e.to_status, e.org_id, e.detail, e.at, o.type AS org_type
             FROM placement_events e LEFT JOIN organisations o ON o.id = e.org_id
            WHERE e.placement_id = $1 ORDER BY e.id""", placement_id))


# ----------------------------------------------------------------------------------------- reminders


async def due_reminders(conn: asyncpg.Connection, *, today: date, limit: int) -> list[asyncpg.Record]:
    """Reminders that fall due by `today` and were not written yet: (placement, broker, kind, due_on).

    Arrival: from the job's start date (or the hire, if later): the posting's as it is now, since an enterprise
    that still has headcount open may postpone it after a hire (the placement's copy is the start date when it was
    proposed). Retention: 30 and 90 days after arrival."""
    return list(await conn.fetch(
        """WITH due AS (
               SELECT p.id, p.broker_org_id, 'confirm_arrival' AS kind,
                      greatest(coalesce(j.start_date, p.job_start_date),
                               (p.hired_at AT TIME ZONE 'Asia/Shanghai')::date) AS due_on
                 FROM placements p LEFT JOIN job_postings j ON j.id = p.job_id WHERE p.status = 'hired'
               UNION ALL
               SELECT id, broker_org_id, 'confirm_retention_30',
                      (arrived_at AT TIME ZONE 'Asia/Shanghai')::date + 30
                 FROM placements WHERE status = 'arrived'
               UNION ALL
               SELECT id, broker_org_id, 'confirm_retention_90',
                      (arrived_at AT TIME ZONE 'Asia/Shanghai')::date + 90
                 FROM placements WHERE status = 'retained_30')
           SELECT d.id AS placement_id, d.broker_org_id, d.kind, d.due_on FROM due d
            WHERE d.due_on <= $1
              AND NOT EXISTS (SELECT 1 FROM placement_reminders r WHERE r.placement_id = d.id AND r.kind = d.kind)
            ORDER BY d.due_on, d.id LIMIT $2""", today, limit))


async def insert_reminder(conn: asyncpg.Connection, *, placement_id: UUID, broker_org_id: UUID, kind: str,
                          due_on: date) -> int | None:
    reminder_id: int | None = await conn.fetchval(
        """INSERT INTO placement_reminders (placement_id, broker_org_id, kind, due_on) VALUES ($1, $2, $3, $4)
           ON CONFLICT (placement_id, kind) DO NOTHING RETURNING id""", placement_id, broker_org_id, kind, due_on)
    return reminder_id


async def resolve_reminders(conn: asyncpg.Connection, placement_id: UUID, kinds: list[str] | None,
                            at: datetime) -> None:
    """Kinds None: every open reminder of the placement (it ended)."""
    await conn.execute(
        """UPDATE placement_reminders SET resolved_at = $3
            WHERE placement_id = $1 AND resolved_at IS NULL AND ($2::text[] IS NULL OR kind = ANY($2::text[]))""",
        placement_id, kinds, at)


async def unnotified_reminders(conn: asyncpg.Connection, *, limit: int) -> list[asyncpg.Record]:
    """Open reminders not yet recorded in the broker's inbox (locked, so two workers do not take the same)."""
    return list(await conn.fetch(
        """SELECT r.id, r.placement_id, r.broker_org_id, r.kind, r.due_on, p.job_id, p.worker_id
             FROM placement_reminders r JOIN placements p ON p.id = r.placement_id
            WHERE r.notified_at IS NULL AND r.resolved_at IS NULL
            ORDER BY r.id LIMIT $1 FOR UPDATE OF r SKIP LOCKED""", limit))


async def mark_reminders_notified(conn: asyncpg.Connection, reminder_ids: list[int], at: datetime) -> None:
    await conn.execute("UPDATE placement_reminders SET notified_at = $2 WHERE id = ANY($1::bigint[])",
                       reminder_ids, at)


async def open_reminders(conn: asyncpg.Connection, broker_org_id: UUID, *, after: tuple[date, int] | None,
                         limit: int) -> list[asyncpg.Record]:
    """The broker's open reminders, soonest due first, strictly after `after` (due_on, id): `limit + 1` rows."""
    return list(await conn.fetch(
        """SELECT r.id, r.placement_id, r.kind, r.due_on, r.created_at, p.status, p.job_id, p.worker_id
             FROM placement_reminders r JOIN placements p ON p.id = r.placement_id
            WHERE r.broker_org_id = $1 AND r.resolved_at IS NULL
              AND ($2::date IS NULL OR (r.due_on, r.id) > ($2, $3::bigint))
            ORDER BY r.due_on, r.id LIMIT $4""",
        broker_org_id, after[0] if after else None, after[1] if after else None, limit + 1))


# ---------------------------------------------------------------------------------------------- demo


async def demo_candidates(conn: asyncpg.Connection, *, enterprise_ids: list[UUID],
                          broker_ids: list[UUID]) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Open postings of the demo enterprises and available, consenting workers of the demo brokers."""
    jobs = await conn.fetch(
        """SELECT id, org_id, occupation_code, headcount FROM job_postings
            WHERE org_id = ANY($1::uuid[]) AND status = 'open' AND expires_at > now() ORDER BY id""", enterprise_ids)
    workers = await conn.fetch(
        """SELECT id, broker_org_id, occupation_codes FROM worker_profiles
            WHERE broker_org_id = ANY($1::uuid[]) AND status = 'available' AND consent_share_with_enterprises
              AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.worker_id = worker_profiles.id)
            ORDER BY id""", broker_ids)
    return list(jobs), list(workers)


async def demo_start_by(conn: asyncpg.Connection, job_id: UUID, day: date) -> None:
    """Demo data only: the posting starts on `day` at the latest, so that a demo placement's arrival on that day
    is not before the job starts."""
    await conn.execute("UPDATE job_postings SET start_date = least(start_date, $2) WHERE id = $1", job_id, day)


async def count_for_orgs(conn: asyncpg.Connection, org_ids: list[UUID]) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM placements WHERE enterprise_org_id = ANY($1::uuid[])", org_ids)
    return count
