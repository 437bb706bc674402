"""Placements: a match that turned into work, and its lifecycle.

    proposed ─accept→ accepted ─hire→ hired ─arrive→ arrived ─retain 30→ retained_30 ─retain 90→ retained_90
    └──────────────────── end (with a reason that fits the state) from any state but ended ────────────────────┘

Who may do what (the two sides are the job's enterprise and the worker's broker; authorities only read):

| action    | from        | by                                                                                 |
| --------- | ----------- | ---------------------------------------------------------------------------------- |
| propose   | –           | the enterprise (own open posting; a worker who consented to sharing, whose broker  |
|           |             | is licensed) or the broker (own worker; any open posting; licensed). Posting open  |
|           |             | with headcount left, worker available                                              |
| accept    | proposed    | the side that did not propose; the worker still available and shared               |
| hire      | accepted    | the enterprise; needs open headcount and the worker still available (not inactive, |
|           |             | placed, erased or no longer consenting to sharing: 409 worker_not_available); the  |
|           |             | hire of the last one closes the posting                                            |
| arrive    | hired       | the broker, from the job's start date (or the hire's day, if later: 409            |
|           |             | before_start_date until then; reminded that day)                                   |
| retain 30 | arrived     | the broker, from 30 days after arrival                                             |
| retain 90 | retained_30 | the broker, from 90 days after arrival                                             |
| end       | any but end | either side, with a reason that fits the state (END_REASONS)                       |

Retention is one action with `{milestone: 30|90}` and two states (retained_30, retained_90), so a list can ask
for either. Everything else is refused with a 409 problem whose `reason` says why; an organisation that is
neither side gets 404 (it must not learn that the placement exists).

Effects on other domains, in the transition's transaction: a hire marks the worker `placed` (their profile
leaves search and matching through `worker.index`); ending a placement in which the worker held the job makes them
`available` again (re-indexed); retention at 90 days adds a `placement_retained` event to the broker's credit
ledger (once per placement).

A posting that stops taking hires (filled, closed, rejected, removed, expired) ends its proposed and accepted
placements in the transaction that closed it (jobs.service.record_posting_closed: reason `other`, the event's
`posting_closed` says why, their brokers get `job.closed`); `next_actions` offers `hire` only when the hire would
go through (the posting open with headcount left, the worker available and not employed elsewhere). Erasing the
worker ends their proposed and accepted placements the same way (worker_profiles.service.erase_worker: reason
`other`, the event's `worker_erased`); a placement already hired goes on (its steps are still recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from matching.identity import mask_numbers_in_free_text
from matching.regions import load_regions, province_of
from services.api.auth.caller import Caller, licence_valid_on
from services.api.china_calendar import CHINA_TZ, china_today
from services.api.credit.points import SOURCE_POINTS
from services.api.credit.service import record_credit_event
from services.api.jobs import repository as jobs_repository
from services.api.jobs.service import INDEX_TOPIC as JOB_INDEX_TOPIC
from services.api.jobs.service import record_posting_closed
from services.api.pagination import Position, decode_cursor, encode_cursor, list_scope
from services.api.placements import repository
from services.api.placements.schemas import (
    County,
    PlacementCreate,
    PlacementEvent,
    PlacementList,
    PlacementOut,
    Reminder,
    ReminderList,
)
from services.api.problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.api.worker_profiles.service import set_worker_status
from services.outbox.recorder import OutboxRecorder

LIST_SCOPE = "placements"
REMINDERS_SCOPE = "placement_reminders"
Side = Literal["enterprise", "broker"]

# End reasons that fit each state (`other` always does).
END_REASONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"declined", "withdrawn", "other"}),
    "accepted": frozenset({"withdrawn", "not_hired", "other"}),
    "hired": frozenset({"no_show", "withdrawn", "other"}),
    "arrived": frozenset({"left", "dismissed", "contract_completed", "other"}),
    "retained_30": frozenset({"left", "dismissed", "contract_completed", "other"}),
    "retained_90": frozenset({"left", "dismissed", "contract_completed", "other"}),
}
RETENTION_STATE = {30: "retained_30", 90: "retained_90"}
RETENTION_FROM = {30: "arrived", 90: "retained_30"}
REMINDER_OF = {"arrived": ["confirm_arrival"], "retained_30": ["confirm_retention_30"],
               "retained_90": ["confirm_retention_90"]}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an API caller, or an operator's command (org None) such as the demo loader."""

    org_id: UUID | None
    key_id: UUID | None
    role: str
    # A broker whose HR-service licence has expired (policy clause 21): it may not start new placements, as it may
    # not post profiles, neither by proposing one nor by accepting an enterprise's proposal (nor may an enterprise
    # accept the broker's proposal made before the lapse); placements already accepted still record their steps
    # (the worker is on the job or about to be).
    licence_expired: bool = False

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        return cls(org_id=caller.org_id, key_id=caller.key_id, role=caller.role,
                   licence_expired=caller.role == "broker" and not caller.licence_valid_on(china_today()))


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _not_found() -> NotFound:
    return NotFound("没有此安置记录 / no such placement")


def _refused(reason: str, detail: str, **extra: Any) -> Conflict:
    return Conflict(detail, extra={"reason": reason, **extra})


def _county(adcode: str) -> County:
    region = load_regions().get(adcode)
    return County(adcode=adcode, name=region.name if region else None,
                  province=region.province if region else province_of(adcode))


def transfer_marks(origin_adcode: str, destination_adcode: str) -> tuple[bool, bool]:
    """(transfer, cross_province): a transfer when the home county is not the job's county."""
    transfer = origin_adcode != destination_adcode
    cross = transfer and province_of(origin_adcode) != province_of(destination_adcode)
    return transfer, cross


def retention_confirmable_from(record: asyncpg.Record, milestone: int) -> date:
    """The day in China from which retention at `milestone` days may be confirmed: the arrival's day plus the
    milestone, the day the broker's reminder falls due (repository.due_reminders counts the same way). Counted in
    days, not to the minute: the refusal names this date, and the reminder arrives at its start, so an arrival
    late in the evening must not keep the confirmation refused for most of the day it names."""
    arrived_on: date = record["arrived_at"].astimezone(CHINA_TZ).date()
    return arrived_on + timedelta(days=milestone)


def side_of(actor: Actor, record: asyncpg.Record) -> Side | None:
    if actor.role == "enterprise" and actor.org_id == record["enterprise_org_id"]:
        return "enterprise"
    if actor.role == "broker" and actor.org_id == record["broker_org_id"]:
        return "broker"
    return None


def next_actions(record: asyncpg.Record, side: Side | None, now: datetime, *,
                 licence_expired: bool = False) -> list[str]:
    """What `side` may do now (an empty list for authorities and for ended placements); `licence_expired`: the
    caller is a broker whose licence has lapsed (no accepting)."""
    status = record["status"]
    if side is None or status == "ended":
        return []
    actions: list[str] = []
    if (status == "proposed" and side != record["proposed_by"] and not (side == "broker" and licence_expired)
            and record["worker_available"]):
        actions.append("accept")
    if status == "accepted" and side == "enterprise" and record["hire_possible"]:
        actions.append("hire")
    if (status == "hired" and side == "broker"
            and now.astimezone(CHINA_TZ).date() >= record["arrival_confirmable_from"]):
        actions.append("arrive")
    if side == "broker":
        for milestone, source in RETENTION_FROM.items():
            if status == source and now.astimezone(CHINA_TZ).date() >= retention_confirmable_from(record, milestone):
                actions.append(f"retain:{milestone}")
    actions.append("end")
    return actions


def _readable_note(note: str | None, raw: bool) -> str | None:
    """A note as the reader may see it. Notes are free text, and brokers type the person's ID or mobile number into
    them (到岗 身份证 5002…); enterprises never see those (product.md), nor does anyone but the worker's broker, so
    numbers shaped like them are masked as a profile's free text is for enterprises (matching/documents.py)."""
    return note if raw or note is None else mask_numbers_in_free_text(note)


def _readable_detail(detail: dict[str, Any], raw: bool) -> dict[str, Any]:
    note = detail.get("note")
    return {**detail, "note": _readable_note(note, raw)} if isinstance(note, str) else detail


def placement_out(record: asyncpg.Record, actor: Actor, now: datetime,
                  events: list[asyncpg.Record] | None = None) -> PlacementOut:
    raw = side_of(actor, record) == "broker" or actor.org_id is None  # the worker's broker, or an operator
    return PlacementOut(
        id=record["id"], job_id=record["job_id"], worker_id=record["worker_id"],
        enterprise_org_id=record["enterprise_org_id"], broker_org_id=record["broker_org_id"],
        proposed_by=record["proposed_by"], status=record["status"], occupation_code=record["occupation_code"],
        origin=_county(record["origin_adcode"]), destination=_county(record["destination_adcode"]),
        transfer=record["transfer"], cross_province=record["cross_province"],
        proposed_at=record["proposed_at"], accepted_at=record["accepted_at"], hired_at=record["hired_at"],
        arrived_at=record["arrived_at"], retained_30_at=record["retained_30_at"],
        retained_90_at=record["retained_90_at"], ended_at=record["ended_at"], end_reason=record["end_reason"],
        end_note=_readable_note(record["end_note"], raw), next_actions=next_actions(record, side_of(actor, record), now,
                                                                licence_expired=actor.licence_expired),
        events=None if events is None else [
            PlacementEvent(action=e["action"], from_status=e["from_status"], to_status=e["to_status"],
                           by=e["org_type"] if e["org_type"] in ("enterprise", "broker") else None,
                           at=e["at"], detail=_readable_detail(dict(e["detail"]), raw))
            for e in events],
    )


# --------------------------------------------------------------------------------------------- propose


async def _open_headcount(conn: asyncpg.Connection, job: asyncpg.Record) -> int:
    return max(0, int(job["headcount"]) - await repository.hires_of_job(conn, job["id"]))


async def propose(conn: asyncpg.Connection, actor: Actor, body: PlacementCreate, *,
                  now: datetime | None = None) -> PlacementOut:
    now = _now(now)
    if actor.role not in ("enterprise", "broker"):
        raise Forbidden("需要用人单位或经纪人角色 / requires role enterprise or broker")
    job = await repository.job_facts(conn, body.job_id, for_share=True)
    worker = await repository.worker_facts(conn, body.worker_id)
    if actor.role == "enterprise":
        # Its own posting; a worker it could see in matches (shared with consent, not erased, not held for review:
        # a refusal naming a held profile's status would tell the enterprise of a profile it may not see).
        if job is None or job["org_id"] != actor.org_id:
            raise NotFound("没有此岗位 / no such job posting")
        if (worker is None or worker["status"] == "erased" or not worker["consent_share_with_enterprises"]
                or worker["held_for_review"]):
            raise NotFound("没有此求职者 / no such worker")
        # A lapsed broker may not start placements (nor are its profiles offered in matches); an enterprise's
        # proposal, which that broker could then accept, would start one all the same.
        if not licence_valid_on(worker["broker_licence_valid_until"], china_today()):
            raise _refused("broker_licence_expired",
                           "求职者所属经纪人的人力资源服务许可证已过期 / the worker's broker's HR-service licence has "
                           "expired; no new placement until it is renewed")
        proposed_by: Side = "enterprise"
    else:
        if actor.licence_expired:
            raise Forbidden("人力资源服务许可证已过期，不能推荐新的就业 / the broker's HR-service licence has expired; "
                            "renew it before proposing placements", extra={"reason": "licence_expired"})
        if worker is None or worker["broker_org_id"] != actor.org_id:
            raise NotFound("没有此求职者 / no such worker")
        if worker["status"] == "erased":
            # Its own tombstone, which GET /v1/workers/{id} answers: refused for its state, as PATCH (409 erased)
            # and an unavailable worker are, not told it does not exist. Before the consent check, which an
            # erased profile (consent cleared) would otherwise fail.
            raise _refused("worker_not_available", "求职者档案已删除 / the worker's profile was erased",
                           worker_status="erased")
        if job is None or job["status"] == "pending_review":
            raise NotFound("没有此岗位 / no such job posting")  # a held posting is not public
        if not worker["consent_share_with_enterprises"]:
            raise InvalidInput(
                "求职者未同意向用人单位提供信息 / the worker has not consented to sharing with enterprises",
                errors=[FieldError(field="worker_id",
                                   message="未同意共享 / consent.share_with_enterprises is false")],
                extra={"reason": "no_consent"})
        proposed_by = "broker"
    if job["effective_status"] != "open":
        raise _refused("job_not_open", f"岗位不在招聘中 / the posting is {job['effective_status']}",
                       job_status=job["effective_status"])
    if await _open_headcount(conn, job) == 0:
        raise _refused("no_open_headcount", "岗位已招满 / the posting has no open headcount")
    if worker["status"] != "available":
        raise _refused("worker_not_available", f"求职者当前不可安置 / the worker is {worker['status']}",
                       worker_status=worker["status"])
    if await repository.employment_of_worker(conn, worker["id"]) is not None:
        raise _refused("worker_employed", "求职者已在岗 / the worker already holds a job through a placement")
    existing = await repository.live_for_pair(conn, job["id"], worker["id"])
    if existing is not None:
        raise _refused("duplicate", "此岗位与求职者已有进行中的安置 / a live placement for this pair exists",
                       existing_id=str(existing["id"]))
    transfer, cross = transfer_marks(worker["home_adcode"], job["adcode"])
    placement_id = uuid4()
    try:
        async with conn.transaction():
            record = await repository.insert(conn, placement_id=placement_id, job=job, worker=worker,
                                             proposed_by=proposed_by, transfer=transfer, cross_province=cross,
                                             at=now)
    except asyncpg.UniqueViolationError:
        raise _refused("duplicate", "此岗位与求职者已有进行中的安置 / a live placement for this pair exists") from None
    await repository.add_event(conn, placement_id=placement_id, action="propose", from_status=None,
                               to_status="proposed", org_id=actor.org_id, api_key_id=actor.key_id,
                               detail={"transfer": transfer, "cross_province": cross}, at=now)
    return placement_out(record, actor, now)


# ------------------------------------------------------------------------------------------ transitions


async def _visible(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *,
                   for_update: bool = False) -> asyncpg.Record:
    if actor.role not in ("enterprise", "broker", "authority", "admin"):
        raise Forbidden("需要用人单位、经纪人或主管部门角色 / requires role enterprise, broker or authority")
    record = await repository.get(conn, placement_id, for_update=for_update)
    if record is None:
        raise _not_found()
    if actor.role in ("authority", "admin") or actor.org_id is None:
        return record
    if side_of(actor, record) is None:
        raise _not_found()
    return record


def _require_side(actor: Actor, record: asyncpg.Record, allowed: set[Side], action: str) -> Side:
    side = side_of(actor, record)
    if side is None and actor.org_id is not None:
        raise Forbidden(f"{action}: 只能由安置双方操作 / only the enterprise or the broker of the placement may act")
    if side is None:  # an operator's command (demo): acts as the side the rule names
        return next(iter(sorted(allowed)))
    if side not in allowed:
        who = " or ".join(sorted(allowed))
        who_zh = "或".join(_SIDE_ZH[s] for s in sorted(allowed))
        # A permission, not a state: 403 as for a wrong role (api.md), since no change of the placement's state
        # lets this party take the step; `reason` as the refusals of the state's 409s.
        step = _STEP_EN.get(action, f"{action} this placement")
        raise Forbidden(f"{action}: 须由{who_zh}操作 / only the {who} may {step}",
                        extra={"reason": "wrong_party", "allowed": sorted(allowed)})
    return side


_SIDE_ZH = {"enterprise": "用人单位", "broker": "经纪人"}
# The steps whose verb does not take "this placement" as its object in English.
_STEP_EN = {"arrive": "confirm the worker's arrival", "retain": "confirm the worker is still employed"}


_WORKER_STATUS_ZH = {"inactive": "已停用", "placed": "已安置", "erased": "已删除", "not_shared": "已撤回共享同意"}


def _require_available_worker(status: str | None, action: str) -> None:
    """Accept and hire start the person's employment: refused unless the profile is `available` and shared now. The
    broker may have set it inactive (or placed, for work found elsewhere) since the proposal, erased the person, or
    withdrawn the consent to share them with enterprises; a hire would then mark someone `placed` who is not on the
    market, employ a tombstone, or hand the enterprise someone who said no."""
    if status == "available":
        return
    shown = status or "erased"  # no row: nothing left of the person either
    reason = {"erased": "the worker's profile was erased",
              "not_shared": "the worker no longer consents to sharing their profile with enterprises"}.get(
        shown, f"the worker's profile is {shown}, not available")
    raise _refused("worker_not_available",
                   f"{action}: 求职者档案{_WORKER_STATUS_ZH.get(shown, shown)}，不可安置 / cannot {action}: {reason}",
                   worker_status=shown)


def _from(record: asyncpg.Record, expected: str, action: str) -> None:
    status = record["status"]
    if status != expected:
        raise _refused("invalid_transition",
                       f"{action}: 当前状态为 {status}，需要 {expected} / cannot {action} a placement that is {status} "
                       f"(needs {expected})", placement_status=status)


async def _after(conn: asyncpg.Connection, actor: Actor, record: asyncpg.Record, *, action: str, to_status: str,
                 now: datetime, detail: dict[str, Any]) -> PlacementOut:
    moved = await repository.move(conn, record["id"], to_status=to_status, at=now)
    await repository.add_event(conn, placement_id=record["id"], action=action, from_status=record["status"],
                               to_status=to_status, org_id=actor.org_id, api_key_id=actor.key_id, detail=detail,
                               at=now)
    if to_status in REMINDER_OF:
        await repository.resolve_reminders(conn, record["id"], REMINDER_OF[to_status], now)
    return placement_out(moved, actor, now)


def _note(note: str | None) -> dict[str, Any]:
    return {"note": note} if note else {}


async def _note_kept(conn: asyncpg.Connection, record: asyncpg.Record, note: str | None) -> str | None:
    """The note to store, or None once the worker was erased: a placement outlives the erasure and its steps
    go on being recorded, but free text written on it then may name the person, and nothing would strip it
    later (erasure strips the notes once, in its own transaction). Called after the transition's other checks
    so that a refused one takes no lock on the worker."""
    if note and await repository.worker_erased(conn, record["worker_id"]):
        return None
    return note


async def accept(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *, note: str | None = None,
                 now: datetime | None = None) -> PlacementOut:
    now = _now(now)
    record = await _visible(conn, actor, placement_id, for_update=True)
    other: Side = "broker" if record["proposed_by"] == "enterprise" else "enterprise"
    _require_side(actor, record, {other}, "accept")
    _from(record, "proposed", "accept")
    if actor.licence_expired:
        raise Forbidden("人力资源服务许可证已过期，不能开始新的就业 / the broker's HR-service licence has expired; "
                        "renew it before accepting placements", extra={"reason": "licence_expired"})
    if actor.role == "enterprise":
        # The broker's proposal, made while it was licensed: accepting it after the lapse would start a placement
        # with a broker that may not start one (as an enterprise's own proposal to that broker's worker is refused).
        worker = await repository.worker_facts(conn, record["worker_id"])
        if worker is not None and not licence_valid_on(worker["broker_licence_valid_until"], china_today()):
            raise _refused("broker_licence_expired",
                           "求职者所属经纪人的人力资源服务许可证已过期 / the worker's broker's HR-service licence has "
                           "expired; no new placement until it is renewed")
    _require_available_worker(await repository.worker_status(conn, record["worker_id"]), "accept")
    # A posting past its expiry is ended by the sweep within a minute; until then it only looks open. Read without a
    # lock (the hire locks the posting after the placement; a close that commits meanwhile still ends this one).
    job = await repository.job_facts(conn, record["job_id"])
    if job is not None and job["effective_status"] != "open":
        raise _refused("job_not_open", f"岗位不在招聘中 / the posting is {job['effective_status']}",
                       job_status=job["effective_status"])
    note = await _note_kept(conn, record, note)
    return await _after(conn, actor, record, action="accept", to_status="accepted", now=now, detail=_note(note))


async def hire(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *, outbox: OutboxRecorder,
               note: str | None = None, now: datetime | None = None) -> PlacementOut:
    """Hire: one less open headcount; the hire that takes the last one closes the posting (reason `filled`).
    Every hire writes the posting's indexing outbox row in this same transaction: its document then shows the
    headcount still open, or leaves search once filled."""
    now = _now(now)
    record = await _visible(conn, actor, placement_id)
    _require_side(actor, record, {"enterprise"}, "hire")
    _from(record, "accepted", "hire")
    # The posting first, then the placement: a close of the posting (which ends its accepted placements) holds
    # the posting and then takes their rows, so the other order could deadlock with it.
    job = await repository.job_facts(conn, record["job_id"], for_update=True)  # hires of a posting in turn
    record = await _visible(conn, actor, placement_id, for_update=True)
    _from(record, "accepted", "hire")  # the close may have ended it meanwhile
    if job is None or job["effective_status"] != "open":
        status = job["effective_status"] if job else "gone"
        raise _refused("job_not_open", f"岗位不在招聘中 / the posting is {status}", job_status=status)
    open_headcount = await _open_headcount(conn, job)
    if open_headcount == 0:
        raise _refused("no_open_headcount", "岗位已招满 / the posting has no open headcount")
    # Two jobs hiring the same worker: one wins. Locked for update, so a PATCH or an erasure of the profile is
    # waited for and seen, and none can slip in before this hire commits.
    worker_status = await repository.lock_worker(conn, record["worker_id"])
    if await repository.employment_of_worker(conn, record["worker_id"]) is not None:
        raise _refused("worker_employed", "求职者已在岗 / the worker already holds a job through a placement")
    _require_available_worker(worker_status, "hire")
    # After lock_worker (for update): a share lock taken first would let two hires of one worker each hold it
    # and wait for the other's.
    note = await _note_kept(conn, record, note)
    result = await _after(conn, actor, record, action="hire", to_status="hired", now=now,
                          detail={**_note(note), "open_headcount_after": open_headcount - 1})
    # The worker holds a job now: `placed`, out of search and matching until the placement ends.
    await set_worker_status(conn, outbox, record["worker_id"], "placed")
    if open_headcount == 1:
        await jobs_repository.close(conn, job["id"], reason="filled")
        await record_posting_closed(conn, outbox, job["id"], reason="filled")  # job.index and job.closed
    else:
        await outbox.record(conn, JOB_INDEX_TOPIC, str(job["id"]))
    return result


async def arrive(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *, note: str | None = None,
                 now: datetime | None = None) -> PlacementOut:
    now = _now(now)
    record = await _visible(conn, actor, placement_id, for_update=True)
    _require_side(actor, record, {"broker"}, "arrive")
    _from(record, "hired", "arrive")
    # The worker arrives to start the job, not before it starts: an arrival dated earlier would count the
    # placement in a period before its work began (figures count arrivals) and bring the 30 and 90 day retention
    # confirmations forward. Counted in days in China, as the arrival reminder falls due.
    confirmable_from: date = record["arrival_confirmable_from"]
    if now.astimezone(CHINA_TZ).date() < confirmable_from:
        raise _refused("before_start_date",
                       f"岗位 {confirmable_from.isoformat()} 才开工，不能提前确认到岗 / the job starts on "
                       f"{confirmable_from.isoformat()}: arrival can be confirmed from that day",
                       confirmable_from=confirmable_from.isoformat())
    # An erased person's hired placement goes on being recorded (ARCHITECTURE: erasure): the hire happened, and
    # the arrival counts in the figures; only notes are no longer kept (_note_kept).
    note = await _note_kept(conn, record, note)
    return await _after(conn, actor, record, action="arrive", to_status="arrived", now=now, detail=_note(note))


async def retain(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *, milestone: int,
                 note: str | None = None, now: datetime | None = None) -> PlacementOut:
    now = _now(now)
    record = await _visible(conn, actor, placement_id, for_update=True)
    _require_side(actor, record, {"broker"}, "retain")
    _from(record, RETENTION_FROM[milestone], f"retain {milestone}")
    due = retention_confirmable_from(record, milestone)
    if now.astimezone(CHINA_TZ).date() < due:
        raise _refused("too_early", f"到岗未满 {milestone} 天 / retention at {milestone} days can be confirmed from "
                                    f"{due.isoformat()}", confirmable_from=due.isoformat())
    note = await _note_kept(conn, record, note)
    result = await _after(conn, actor, record, action="retain", to_status=RETENTION_STATE[milestone], now=now,
                          detail={**_note(note), "milestone": milestone})
    if milestone == 90:
        # Integrity credit (issue 9): the broker's ledger gains points, once per placement (ref_id).
        await record_credit_event(conn, record["broker_org_id"], SOURCE_POINTS["placement_retained"],
                                  "安置就业满90天 / placement retained at 90 days", "placement_retained",
                                  record["id"])
    return result


async def end(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *, reason: str, outbox: OutboxRecorder,
              note: str | None = None, now: datetime | None = None) -> PlacementOut:
    """End with a reason that fits the state. Ending a placement in which the worker held the job (hired,
    arrived, retained) makes the worker `available` again (unless erased, or set otherwise by the broker meanwhile)
    and searchable through the workers indexing outbox topic written in this same transaction."""
    now = _now(now)
    record = await _visible(conn, actor, placement_id, for_update=True)
    _require_side(actor, record, {"enterprise", "broker"}, "end")
    status = record["status"]
    if status == "ended":
        raise _refused("invalid_transition", "安置已结束 / the placement has already ended", placement_status=status)
    if reason not in END_REASONS[status]:
        raise InvalidInput(
            f"结束原因与状态不符 / reason {reason!r} does not fit a placement that is {status}",
            errors=[FieldError(field="reason", message=f"allowed when {status}: "
                                                       f"{', '.join(sorted(END_REASONS[status]))}")],
            extra={"reason": "reason_does_not_fit"})
    note = await _note_kept(conn, record, note)
    ended = await repository.end(conn, record["id"], reason=reason, note=note, at=now)
    await repository.add_event(conn, placement_id=record["id"], action="end", from_status=status, to_status="ended",
                               org_id=actor.org_id, api_key_id=actor.key_id,
                               detail={**_note(note), "reason": reason}, at=now)
    await repository.resolve_reminders(conn, record["id"], None, now)
    if status in repository.EMPLOYED:
        await set_worker_status(conn, outbox, record["worker_id"], "available", only_from=("placed",))
    return placement_out(ended, actor, now)


# --------------------------------------------------------------------------------------------- queries


async def get(conn: asyncpg.Connection, actor: Actor, placement_id: UUID, *,
              now: datetime | None = None) -> PlacementOut:
    if actor.role not in ("enterprise", "broker", "authority"):
        raise Forbidden("需要用人单位、经纪人或主管部门角色 / requires role enterprise, broker or authority")
    record = await _visible(conn, actor, placement_id)
    return placement_out(record, actor, _now(now), await repository.events_of(conn, placement_id))


# Digits typed with a Chinese input method come full width (５００１０７): the same code.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _area_pattern(adcode: str, field: str, errors: list[FieldError]) -> str | None:
    """A county matches itself; a city (xxyy00), a province (xx0000) or one of Chongqing's GB/T 2260 groupings
    (500100 its districts, 500200 its counties, as kiosk search takes them) matches its counties. A code no
    county lies in is an error, as for a subscription: it would match nothing, silently."""
    code = adcode.translate(_FULL_WIDTH_DIGITS)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        errors.append(FieldError(field=field, message="须为 6 位数字 / must be 6 digits"))
        return None
    prefix = load_regions().area_prefix(code)
    if prefix is None:
        errors.append(FieldError(field=field, message=f"没有区县属于 {code} / no county lies in {code}"))
        return None
    return prefix + "%" if prefix != code else code


async def list_placements(conn: asyncpg.Connection, actor: Actor, *, status: str | None, from_adcode: str | None,
                          to_adcode: str | None, limit: int, cursor: str | None, cursor_secret: str,
                          now: datetime | None = None) -> PlacementList:
    """Each side its own placements; authorities every placement."""
    if actor.role not in ("enterprise", "broker", "authority"):
        raise Forbidden("需要用人单位、经纪人或主管部门角色 / requires role enterprise, broker or authority")
    errors: list[FieldError] = []
    origin = _area_pattern(from_adcode, "from_adcode", errors) if from_adcode is not None else None
    destination = _area_pattern(to_adcode, "to_adcode", errors) if to_adcode is not None else None
    if errors:
        raise InvalidInput("未知的区县代码 / unknown adcode(s)", errors=errors)
    scope = list_scope(actor.org_id, LIST_SCOPE)  # a cursor of another organisation's list is refused
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await repository.list_page(
        conn, enterprise_org_id=actor.org_id if actor.role == "enterprise" else None,
        broker_org_id=actor.org_id if actor.role == "broker" else None, status=status,
        from_adcode=origin, to_adcode=destination, after=after, limit=limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, scope, Position(last["proposed_at"], last["id"]))
    moment = _now(now)
    return PlacementList(items=[placement_out(r, actor, moment) for r in rows[:limit]], next_cursor=next_cursor)


def _reminder_position(due_on: date, reminder_id: int) -> Position:
    # The list's sort key is (due_on, id): the date travels as its midnight and the bigint id as a UUID's
    # integer, so the one signed codec (and its tests) covers this list too.
    return Position(created_at=datetime.combine(due_on, time(), UTC), id=UUID(int=reminder_id))


async def list_reminders(conn: asyncpg.Connection, caller: Caller, *, limit: int, cursor: str | None,
                         cursor_secret: str) -> ReminderList:
    """The broker's open reminders, soonest due first, a page at a time."""
    # Scoped to the broker: a cursor of another broker's list is refused like a forged one.
    scope = list_scope(caller.org_id, REMINDERS_SCOPE)
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await repository.open_reminders(
        conn, caller.org_id, after=(after.created_at.date(), after.id.int) if after else None, limit=limit)
    following = None
    if len(rows) > limit:
        last = rows[limit - 1]
        following = encode_cursor(cursor_secret, scope, _reminder_position(last["due_on"], last["id"]))
    return ReminderList(items=[Reminder(id=r["id"], placement_id=r["placement_id"], kind=r["kind"],
                                        due_on=r["due_on"], placement_status=r["status"], job_id=r["job_id"],
                                        worker_id=r["worker_id"]) for r in rows[:limit]],
                        next_cursor=following)
