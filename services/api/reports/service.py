"""Filing, listing and deciding reports.

- Any key may file a report on a posting, a broker or an enterprise (a kiosk on behalf of a person, with an
  optional contact). Reporting one's own posting or organisation, or an unknown target → 422; a posting held
  for review is unknown to all but its enterprise and authorities.
- De-duplication: while a reporter's report of a target for a reason is open, filing it again returns that
  report (HTTP 200, `duplicate: true`) and raises its `repeat_count` instead of creating another.
- An upheld report writes a `report_upheld` event in the target organisation's ledger (points by reason). For
  a posting it is one event per posting and reason however many reporters filed it; for an organisation one
  per report. An upheld fake/fees/holds_id/filled report on a posting also removes the posting (closed,
  `removed_after_report`, out of search). The ledger entry names the reason and the posting, never the
  reporter, the contact or the authority's note.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID, uuid4

import asyncpg

from services.api.auth.caller import Caller
from services.api.credit.points import REASON_LABELS, REPORT_UPHELD_POINTS
from services.api.credit.service import record_credit_event
from services.api.jobs.service import record_posting_closed
from services.api.pagination import Position, decode_cursor, encode_cursor, list_scope
from services.api.problems import Conflict, FieldError, InvalidInput, NotFound
from services.api.reports import repository
from services.api.reports.schemas import (
    Decision,
    DecisionCreate,
    ReportCreate,
    ReportOut,
    ReportReview,
    ReportReviewList,
    ReportTarget,
)
from services.outbox.recorder import OutboxRecorder
from services.privacy.cipher import PersonalDataCipher

LIST_SCOPE: Final = "reports"
JOB_INDEX_TOPIC: Final = "job.index"  # services/api/jobs/service.py::INDEX_TOPIC
REMOVING_REASONS: Final = frozenset({"fake", "fees", "holds_id", "filled"})
CONTACT_PURPOSE: Final = "举报核查 / report review"


def contact_context(report_id: UUID) -> str:
    return f"report:{report_id}:contact"


def _invalid_target(message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(field="target.id", message=message)])


async def _target_org(conn: asyncpg.Connection, caller: Caller, target: ReportTarget) -> UUID:
    """The organisation a report on `target` is about; 422 for unknown targets and for one's own."""
    if target.kind == "job":
        job = await repository.posting_owner(conn, target.id)
        # A posting held for review is not public: a report on it is answered as on one that does not exist, or
        # it would confirm to any key that the id is a posting (as placements do, services/api/placements).
        # Its enterprise and authorities read it (GET /v1/jobs/{id}), so they are told what it is.
        hidden = job is not None and job["status"] == "pending_review" and not (
            job["org_id"] == caller.org_id or caller.role == "authority")
        if job is None or hidden:
            raise _invalid_target("没有此岗位 / no such job posting")
        org_id: UUID = job["org_id"]
    else:
        org = await repository.organisation(conn, target.id)
        if org is None or org["type"] != target.kind:
            raise _invalid_target(f"没有此{'劳务经纪人' if target.kind == 'broker' else '用人单位'} / "
                                  f"no such {target.kind}")
        org_id = org["id"]
    if org_id == caller.org_id:
        raise _invalid_target("不能举报自己的岗位或机构 / you cannot report your own posting or organisation")
    return org_id


def _report_out(row: asyncpg.Record, *, duplicate: bool) -> ReportOut:
    return ReportOut(id=row["id"], target=ReportTarget(kind=row["target_kind"], id=row["target_id"]),
                     reason=row["reason"], text=row["text"], has_contact=row["contact_enc"] is not None,
                     status=row["status"], duplicate=duplicate, created_at=row["created_at"])


async def file_report(conn: asyncpg.Connection, caller: Caller, body: ReportCreate,
                      cipher: PersonalDataCipher | None) -> tuple[ReportOut, bool]:
    """(the report, True if it was created; False: the reporter's open one was returned)."""
    target_org_id = await _target_org(conn, caller, body.target)
    report_id = uuid4()
    contact_enc = None
    if body.contact:
        if cipher is None:  # never stored in clear
            raise InvalidInput("暂不能保存联系方式 / contact cannot be stored now; file without it")
        contact_enc = cipher.encrypt(body.contact, context=contact_context(report_id))
    for _ in range(2):  # a concurrent decision can close the open report between the two statements
        async with conn.transaction():
            row = await repository.insert(conn, report_id=report_id, reporter_org_id=caller.org_id,
                                          reporter_key_id=caller.key_id, target_kind=body.target.kind,
                                          target_id=body.target.id, target_org_id=target_org_id,
                                          reason=body.reason, text=body.text or None, contact_enc=contact_enc)
        if row is not None:
            return _report_out(row, duplicate=False), True
        row = await repository.count_repeat(conn, reporter_org_id=caller.org_id, target_kind=body.target.kind,
                                            target_id=body.target.id, reason=body.reason)
        if row is not None:
            return _report_out(row, duplicate=True), False
    raise Conflict("举报状态正在变化，请重试 / the report changed concurrently; retry")


def _review(row: asyncpg.Record, cipher: PersonalDataCipher | None) -> ReportReview:
    contact = None
    if row["contact_enc"] is not None and cipher is not None:
        contact = cipher.decrypt(row["contact_enc"], context=contact_context(row["id"]))
    decision = None
    if row["status"] != "open":
        decision = Decision(outcome=row["status"], note=row["decision_note"],
                            decided_by_org_id=row["decided_by_org_id"], decided_at=row["decided_at"])
    return ReportReview(
        id=row["id"], target=ReportTarget(kind=row["target_kind"], id=row["target_id"]),
        target_org_id=row["target_org_id"], target_org_name=row["target_org_name"], reason=row["reason"],
        text=row["text"], contact=contact, reporter_org_id=row["reporter_org_id"],
        reporter_org_name=row["reporter_org_name"], reporter_org_type=row["reporter_org_type"],
        repeat_count=row["repeat_count"], status=row["status"], decision=decision, created_at=row["created_at"])


async def _audited_reviews(conn: asyncpg.Connection, caller: Caller, rows: list[asyncpg.Record],
                           cipher: PersonalDataCipher | None, request_id: str | None) -> list[ReportReview]:
    with_contact = [r["id"] for r in rows if r["contact_enc"] is not None and cipher is not None]
    if with_contact:
        await repository.log_contact_reads(conn, org_id=caller.org_id, api_key_id=caller.key_id,
                                           report_ids=with_contact, purpose=CONTACT_PURPOSE, request_id=request_id)
    return [_review(r, cipher) for r in rows]


async def list_reports(conn: asyncpg.Connection, caller: Caller, *, status: str | None, target_kind: str | None,
                       target_org_id: UUID | None, limit: int, cursor: str | None, cursor_secret: str,
                       cipher: PersonalDataCipher | None, request_id: str | None) -> ReportReviewList:
    scope = list_scope(caller.org_id, LIST_SCOPE)  # a cursor of another organisation's list is refused
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await repository.list_page(conn, status=status, target_kind=target_kind, target_org_id=target_org_id,
                                      after=after, limit=limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, scope, Position(last["created_at"], last["id"]))
    items = await _audited_reviews(conn, caller, rows[:limit], cipher, request_id)
    return ReportReviewList(items=items, next_cursor=next_cursor)


def _not_found() -> NotFound:
    return NotFound("没有此举报 / no such report")


async def get_report(conn: asyncpg.Connection, caller: Caller, report_id: UUID, cipher: PersonalDataCipher | None,
                     request_id: str | None) -> ReportReview | ReportOut:
    """An authority sees the whole report; its reporter sees its own view; anyone else (the reported party
    included) gets 404."""
    row = await repository.get(conn, report_id)
    if row is None:
        raise _not_found()
    if caller.role == "authority":
        return (await _audited_reviews(conn, caller, [row], cipher, request_id))[0]
    if row["reporter_org_id"] == caller.org_id:
        return _report_out(row, duplicate=False)
    raise _not_found()


def _ledger_reason(row: asyncpg.Record, job_title: str | None) -> str:
    zh, en = REASON_LABELS[row["reason"]]
    subject = f"：岗位《{job_title}》" if job_title is not None else ""
    subject_en = f": posting “{job_title}”" if job_title is not None else ""
    return f"举报经核查属实（{zh}）{subject} / report upheld ({en}){subject_en}"


async def decide(conn: asyncpg.Connection, caller: Caller, report_id: UUID, body: DecisionCreate,
                 cipher: PersonalDataCipher | None, outbox: OutboxRecorder, request_id: str | None) -> ReportReview:
    row = await repository.get(conn, report_id, for_update=True)
    if row is None:
        raise _not_found()
    if row["status"] != "open":
        raise Conflict("此举报已处理 / the report was already decided",
                       extra={"reason": "already_decided", "report_status": row["status"]})
    await repository.decide(conn, report_id, outcome=body.outcome, note=body.note, authority_org_id=caller.org_id)
    if body.outcome == "upheld":
        job_title = None
        if row["target_kind"] == "job":
            job = await repository.posting_owner(conn, row["target_id"])
            job_title = job["title"] if job is not None else None
            # One penalty per posting and reason, however many reporters filed it.
            ref = f"job:{row['target_id']}:{row['reason']}"
            if row["reason"] in REMOVING_REASONS and await repository.remove_posting(conn, row["target_id"]):
                # job.index and job.closed, in this transaction
                await record_posting_closed(conn, outbox, row["target_id"], reason="removed_after_report")
        else:
            ref = f"report:{report_id}"
        await record_credit_event(conn, row["target_org_id"], REPORT_UPHELD_POINTS[row["reason"]],
                                  _ledger_reason(row, job_title), "report_upheld", ref, actor_org_id=caller.org_id)
    decided = await repository.get(conn, report_id)
    assert decided is not None
    return (await _audited_reviews(conn, caller, [decided], cipher, request_id))[0]
