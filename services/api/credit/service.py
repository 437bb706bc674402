"""The credit ledger and what reads it.

For other domains (they run inside their own transaction, pass its connection):

- ``await record_credit_event(conn, org_id, points, reason, source, ref_id)`` appends one event; with a
  ``ref_id`` it is idempotent per (org, source, ref_id) and returns None when the event was recorded before
  (so a retried job cannot count twice). E.g. the placements domain at 90 days::

      await record_credit_event(conn, broker_org_id, SOURCE_POINTS["placement_retained"],
                                "安置就业满90天 / placement retained at 90 days", "placement_retained", placement_id)

- ``await grade_of(conn, org_id, policy)`` / ``await grades_of(conn, org_ids, policy)``: the derived grade(s).
  ``policy`` (thresholds and base score from settings: ``credit_policy(settings)``) defaults to the built-in
  defaults when a caller has no settings at hand.

Nothing here stores a score or a grade: both are computed from the ledger on every read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

import asyncpg

from matching.credit_grades import (
    DEFAULT_BASE_SCORE,
    DEFAULT_GRADE_THRESHOLDS,
    Grade,
    grade_for,
    score_range,
)
from matching.spreadsheet_cells import neutralise_formula
from services.api.auth.caller import Caller
from services.api.china_calendar import CHINA_TZ
from services.api.credit import repository
from services.api.credit.points import SOURCE_POINTS, CreditSource
from services.api.credit.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    BrokerCredit,
    BrokerCreditList,
    CreditOut,
    HeldProfile,
    HeldProfileList,
    LedgerEntry,
    LicenceOut,
)
from services.api.pagination import Position, decode_cursor, encode_cursor
from services.api.problems import FieldError, Forbidden, InvalidInput, NotFound
from services.api.settings import ApiSettings

BROKERS_SCOPE = "credit.brokers"
HELD_SCOPE = "credit.held_profiles"
WORKER_INDEX_TOPIC = "worker.index"  # services/api/worker_profiles/service.py::INDEX_TOPIC
RATED_TYPES: Final = ("broker", "enterprise")
# An authority's entry without ref_id identical to one it wrote this recently (source, points, reason) is taken
# as the same entry sent again (a double click, a retry without Idempotency-Key) and not recorded: the ledger is
# append-only, so a double count could only be undone by a visible compensating entry. A ref_id tells a
# separate finding apart; Idempotency-Key covers retries later than this.
MANUAL_REPEAT_WINDOW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class CreditPolicy:
    base_score: int = DEFAULT_BASE_SCORE
    thresholds: tuple[int, int, int] = DEFAULT_GRADE_THRESHOLDS
    fake_postings_before_hold: int = 2

    def grade(self, points: int) -> Grade:
        return grade_for(self.base_score + points, self.thresholds)


DEFAULT_POLICY: Final = CreditPolicy()


def credit_policy(settings: ApiSettings) -> CreditPolicy:
    return CreditPolicy(base_score=settings.credit_base_score, thresholds=settings.credit_grade_thresholds,
                        fake_postings_before_hold=settings.credit_fake_postings_before_hold)


# ------------------------------------------------------------------------------------ for other domains


async def record_credit_event(conn: asyncpg.Connection, org_id: UUID, points: int, reason: str,
                              source: CreditSource, ref_id: UUID | str | None, *,
                              actor_org_id: UUID | None = None) -> LedgerEntry | None:
    """Append one event to `org_id`'s ledger (in the caller's transaction). None: already recorded for this
    (org, source, ref_id)."""
    if points == 0:
        raise ValueError("a credit event needs non-zero points")
    if not reason.strip():
        raise ValueError("a credit event needs a reason")
    row = await repository.insert_event(conn, org_id=org_id, points=points, reason=reason.strip(), source=source,
                                        ref_id=None if ref_id is None else str(ref_id), actor_org_id=actor_org_id)
    return None if row is None else _entry(row)


async def score_of(conn: asyncpg.Connection, org_id: UUID, policy: CreditPolicy = DEFAULT_POLICY) -> int:
    return policy.base_score + await repository.points_of(conn, org_id)


async def grade_of(conn: asyncpg.Connection, org_id: UUID, policy: CreditPolicy = DEFAULT_POLICY) -> Grade:
    return policy.grade(await repository.points_of(conn, org_id))


async def grades_of(conn: asyncpg.Connection, org_ids: list[UUID],
                    policy: CreditPolicy = DEFAULT_POLICY) -> dict[UUID, Grade]:
    """Grades of several organisations in one query (for match lists)."""
    points = await repository.points_of_many(conn, org_ids)
    return {org_id: policy.grade(points.get(org_id, 0)) for org_id in org_ids}


# ---------------------------------------------------------------------------------------------- effects


HOLD_RULE_ID: Final = "credit.fake_postings_upheld"


async def hold_new_profile_if_grade_d(conn: asyncpg.Connection, worker_id: UUID, broker_org_id: UUID,
                                      policy: CreditPolicy = DEFAULT_POLICY) -> bool:
    """Effect of grade D: the broker's new profile is held for an authority's review (not indexed, not shown to
    enterprises, not matched) until released. Call right after inserting the profile, before the index row."""
    if await grade_of(conn, broker_org_id, policy) != "D":
        return False
    await repository.hold_worker_profile(conn, worker_id)
    return True


async def new_posting_hold(conn: asyncpg.Connection, org_id: UUID,
                           policy: CreditPolicy = DEFAULT_POLICY) -> dict[str, Any] | None:
    """Effect of postings upheld as fake: an enterprise with `fake_postings_before_hold` distinct postings
    upheld as fake has every new posting held for review. Returns the compliance finding to add (outcome
    "hold"), or None."""
    upheld = await repository.fake_postings_upheld(conn, org_id)
    if upheld < policy.fake_postings_before_hold:
        return None
    return {"rule_id": HOLD_RULE_ID, "field": "org_id",
            "message_zh": f"该单位已有 {upheld} 个岗位被查实为虚假岗位，新岗位须经审核",
            "message_en": f"{upheld} postings of this enterprise were upheld as fake; new postings are reviewed first",
            "excerpt": "", "outcome": "hold"}


async def record_posting_removed(conn: asyncpg.Connection, org_id: UUID, job_id: UUID, title: str) -> None:
    """Ledger source `posting_removed`: an authority rejected a posting in review (once per posting)."""
    await record_credit_event(conn, org_id, SOURCE_POINTS["posting_removed"],
                              f"岗位《{title}》经审核违规下架 / posting “{title}” removed in review for violations",
                              "posting_removed", job_id)


# ----------------------------------------------------------------------------------------- HTTP service


def _entry(row: asyncpg.Record) -> LedgerEntry:
    return LedgerEntry(at=row["at"], points=row["points"], reason=row["reason"], source=row["source"])


def _not_found() -> NotFound:
    return NotFound("没有此机构的信用记录 / no credit record for this organisation")


async def _rated_org(conn: asyncpg.Connection, org_id: UUID) -> asyncpg.Record:
    org = await repository.get_org(conn, org_id)
    if org is None or org["type"] not in RATED_TYPES:
        raise _not_found()
    return org


async def get_credit(conn: asyncpg.Connection, caller: Caller, org_id: UUID, policy: CreditPolicy) -> CreditOut:
    """The organisation itself or an authority; anyone else gets 404 (existence is not disclosed)."""
    if not (caller.role == "authority" or caller.org_id == org_id):
        raise _not_found()
    await _rated_org(conn, org_id)
    rows = await repository.ledger(conn, org_id)
    points = sum(r["points"] for r in rows)
    return CreditOut(org_id=org_id, score=policy.base_score + points, grade=policy.grade(points),
                     base_score=policy.base_score, ledger=[_entry(r) for r in rows])


async def adjust(conn: asyncpg.Connection, caller: Caller, org_id: UUID, body: AdjustmentCreate,
                 policy: CreditPolicy) -> AdjustmentOut:
    if caller.role != "authority":
        raise Forbidden("需要主管部门角色 / requires role authority")
    await _rated_org(conn, org_id)
    points = body.points if body.points is not None else SOURCE_POINTS[body.source]
    if body.ref_id is None and await repository.has_recent_manual_event(
            conn, org_id=org_id, points=points, reason=body.reason, source=body.source, actor_org_id=caller.org_id,
            within=MANUAL_REPEAT_WINDOW):
        minutes = int(MANUAL_REPEAT_WINDOW.total_seconds() // 60)
        raise InvalidInput("此事项刚刚已记录 / this entry was just recorded", errors=[FieldError(
            field="ref_id",
            message=f"{minutes} 分钟内已记录来源、分值和理由都相同的一条；如确为另一事项，请用 ref_id 区分 / the same "
                    f"source, points and reason were recorded in the last {minutes} minutes; if this is another "
                    "finding, tell it apart with a ref_id")])
    entry = await record_credit_event(conn, org_id, points, body.reason, body.source, body.ref_id,
                                      actor_org_id=caller.org_id)
    if entry is None:
        raise InvalidInput("此事项已记录 / this finding is already in the ledger",
                           errors=[FieldError(field="ref_id",
                                              message="同一机构、来源和 ref_id 只记一次 / one event per org, source "
                                                      "and ref_id")])
    total = await repository.points_of(conn, org_id)
    return AdjustmentOut(org_id=org_id, entry=entry, score=policy.base_score + total, grade=policy.grade(total))


def _broker(row: asyncpg.Record, policy: CreditPolicy) -> BrokerCredit:
    return BrokerCredit(
        org_id=row["id"], name=row["name"], unified_social_credit_code=row["unified_social_credit_code"],
        licence=LicenceOut(number=row["licence_number"], issuer_province=row["licence_issuer_province"],
                           valid_until=row["licence_valid_until"]),
        province=row["province"], score=row["score"], grade=grade_for(row["score"], policy.thresholds),
        events=row["events"], last_event_at=row["last_event_at"])


async def list_brokers(conn: asyncpg.Connection, *, grade: Grade | None, province: str | None, limit: int | None,
                       cursor: str | None, cursor_secret: str, policy: CreditPolicy) -> BrokerCreditList:
    """Brokers with score and grade, newest first (`limit` None: all of them, for the export)."""
    low, high = score_range(grade, policy.thresholds) if grade is not None else (None, None)
    after = decode_cursor(cursor_secret, BROKERS_SCOPE, cursor) if cursor else None
    rows = await repository.brokers_page(conn, base_score=policy.base_score, province=province, low=low,
                                         high=high, after=after, limit=limit)
    next_cursor = None
    if limit is not None and len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, BROKERS_SCOPE, Position(last["created_at"], last["id"]))
        rows = rows[:limit]
    return BrokerCreditList(items=[_broker(r, policy) for r in rows], next_cursor=next_cursor)


PROVINCE_NAMES: Final = {"CQ": "重庆市", "SC": "四川省"}
CSV_HEADER: Final = ("机构名称", "统一社会信用代码", "人力资源服务许可证编号", "发证省份", "许可证有效期至", "所在省份",
                     "诚信积分", "诚信等级", "记录条数", "最近记录时间", "导出时间")


def brokers_csv(items: list[BrokerCredit], now: datetime | None = None) -> bytes:
    """UTF-8 with a byte-order mark (so Excel opens Chinese text correctly), CRLF line ends."""
    exported = (now or datetime.now(CHINA_TZ)).astimezone(CHINA_TZ).isoformat(timespec="seconds")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for b in items:
        writer.writerow([
            neutralise_formula(b.name), b.unified_social_credit_code or "", neutralise_formula(b.licence.number or ""),
            PROVINCE_NAMES.get(b.licence.issuer_province or "", ""),
            b.licence.valid_until.isoformat() if b.licence.valid_until else "",
            PROVINCE_NAMES.get(b.province or "", ""), b.score, b.grade, b.events,
            b.last_event_at.astimezone(CHINA_TZ).isoformat(timespec="seconds") if b.last_event_at else "",
            exported,
        ])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ------------------------------------------------------------------------------------- held profiles


async def list_held_profiles(conn: asyncpg.Connection, *, limit: int, cursor: str | None,
                             cursor_secret: str) -> HeldProfileList:
    after = decode_cursor(cursor_secret, HELD_SCOPE, cursor) if cursor else None
    rows = await repository.held_profiles_page(conn, after=after, limit=limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, HELD_SCOPE, Position(last["created_at"], last["id"]))
    return HeldProfileList(items=[HeldProfile(worker_id=r["id"], broker_org_id=r["broker_org_id"],
                                              broker_name=r["broker_name"], created_at=r["created_at"])
                                  for r in rows[:limit]], next_cursor=next_cursor)


async def release_held_profile(conn: asyncpg.Connection, worker_id: UUID, outbox: Any) -> None:
    """An authority releases a held profile: it becomes searchable (if consented) through the index row."""
    row = await repository.release_worker_profile(conn, worker_id)
    if row is None:
        raise NotFound("没有待审核的此档案 / no such profile held for review")
    await outbox.record(conn, WORKER_INDEX_TOPIC, str(worker_id))
