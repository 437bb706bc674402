"""Job postings: validation, compliance (policy clause 21), occupation inference, expiry and review.

Service functions take a parsed schema, a connection (inside the caller's transaction) and a JobContext, so
the HTTP routes and the bulk importer share every rule. Every change records a `job.index` outbox row in the
same transaction; the indexer reads the current row after commit and upserts or removes the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
from pydantic import ValidationError

from matching.certificates import canonical_certificates
from matching.compliance import ComplianceVerdict, check_posting
from matching.geo import GeoPoint
from matching.regions import province_of
from services.api.auth.caller import Caller
from services.api.china_calendar import CHINA_TZ
from services.api.credit.service import (
    DEFAULT_POLICY,
    HOLD_RULE_ID,
    CreditPolicy,
    credit_policy,
    new_posting_hold,
    record_posting_removed,
)
from services.api.jobs import repository
from services.api.jobs.occupation_inference import infer_from_posting, is_known_code
from services.api.jobs.repository import JobRow
from services.api.jobs.schemas import (
    Finding,
    JobContact,
    JobFields,
    JobList,
    JobOut,
    JobPatch,
    Location,
    Review,
    ReviewDecision,
    Wage,
)
from services.api.notifications.service import expiry_subject, record_job_closed
from services.api.pagination import Position, decode_cursor, encode_cursor, list_scope
from services.api.placements import repository as placements_repository
from services.api.plausible_dates import (
    JOB_END_YEARS_AHEAD,
    JOB_START_DAYS_BACK,
    JOB_START_YEARS_AHEAD,
    earliest_new_job_start,
    latest_job_end,
    latest_job_start,
)
from services.api.problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound, ProblemError, field_errors
from services.api.regions.service import county_errors, location_errors
from services.api.sealed_text import printable_text
from services.api.settings import ApiSettings
from services.indexing.catalogue_source import CatalogueSnapshot, current_catalogue
from services.outbox.recorder import OutboxRecorder

INDEX_TOPIC = "job.index"
NOT_A_CODE = "不是职业分类大典的代码 / not an occupation code of the 2022 classification"
LIST_SCOPE = "jobs"


@dataclass(frozen=True, slots=True)
class JobContext:
    catalogue: CatalogueSnapshot
    outbox: OutboxRecorder
    now: datetime
    default_ttl: timedelta
    max_ttl: timedelta
    credit: CreditPolicy = DEFAULT_POLICY  # grade thresholds (issue 9)

    @property
    def today(self) -> date:
        return self.now.astimezone(CHINA_TZ).date()


async def build_context(settings: ApiSettings, extensions: dict[str, Any], outbox: OutboxRecorder,
                        *, now: datetime | None = None) -> JobContext:
    return JobContext(catalogue=await current_catalogue(extensions), outbox=outbox,
                      now=now or datetime.now(CHINA_TZ), default_ttl=timedelta(days=settings.job_default_ttl_days),
                      max_ttl=timedelta(days=settings.job_max_ttl_days), credit=credit_policy(settings))


def ensure_enterprise(caller: Caller) -> None:
    if caller.role != "enterprise":
        raise Forbidden("需要用人单位角色 / requires role enterprise")


def _not_found() -> NotFound:
    return NotFound("没有此岗位 / no such job posting")


# ------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class ValidatedJob:
    fields: JobFields
    occupation_code: str
    occupation_inferred: bool
    expires_at: datetime
    verdict: ComplianceVerdict


def _invalid(errors: list[FieldError], **extra: Any) -> InvalidInput:
    return InvalidInput(f"{len(errors)} 个字段无效 / {len(errors)} field(s) invalid", errors=errors, extra=extra)


def parse_fields(data: dict[str, Any]) -> JobFields:
    """A dict (a merged PATCH, an import row) → JobFields, or InvalidInput with one error per field."""
    try:
        return JobFields.model_validate(data)
    except ValidationError as exc:
        raise _invalid(field_errors(exc)) from None


def _finding_dict(f: Any) -> dict[str, Any]:
    return {"rule_id": f.rule_id, "field": f.field, "message_zh": f.message_zh, "message_en": f.message_en,
            "excerpt": f.excerpt, "outcome": f.outcome}


def _finding_key(f: dict[str, Any]) -> tuple[str, str, str]:
    return f["rule_id"], f["field"], f["excerpt"]


def _date_errors(body: JobFields, today: date, stored_start: date | None) -> list[FieldError]:
    """The start and end dates against today (plausible_dates: the bounds and why). The bound behind today holds
    for a start given for a new posting or changed, not for the start an older posting keeps."""
    errors: list[FieldError] = []
    latest_start = latest_job_start(today)
    earliest_start = earliest_new_job_start(today)
    if body.start_date > latest_start:
        errors.append(FieldError(field="start_date", message=(
            f"开工日期不能晚于 {latest_start}（今天起 {JOB_START_YEARS_AHEAD} 年内）/ must be at most "
            f"{JOB_START_YEARS_AHEAD} year(s) from today ({latest_start})")))
    elif body.start_date < earliest_start and body.start_date != stored_start:
        errors.append(FieldError(field="start_date", message=(
            f"开工日期不能早于 {earliest_start}（最多 {JOB_START_DAYS_BACK} 天前）/ must be on or after "
            f"{earliest_start}: a new or changed start date may be at most {JOB_START_DAYS_BACK} days in the past")))
    if body.end_date is not None:
        latest_end = latest_job_end(today)
        if body.end_date < today:
            errors.append(FieldError(field="end_date", message="结束日期已过 / end_date is in the past"))
        elif body.end_date > latest_end:
            errors.append(FieldError(field="end_date", message=(
                f"结束日期不能晚于 {latest_end}（今天起 {JOB_END_YEARS_AHEAD} 年内），长期岗位请留空 / must be at most "
                f"{JOB_END_YEARS_AHEAD} years from today ({latest_end}); leave it empty for an open-ended job")))
    return errors


def validate_job(body: JobFields, ctx: JobContext, *, keep_expiry: datetime | None = None,
                 stored_start: date | None = None) -> ValidatedJob:
    """Shape-independent rules, occupation inference and compliance. Raises InvalidInput (422): per-field
    errors first; then, for a posting that breaks the law, the compliance reasons (`rule_id` in `reasons`).
    `stored_start`: the start date of the posting being updated (it may lie further back than a new one's)."""
    errors: list[FieldError] = []
    snapshot = ctx.catalogue
    errors.extend(county_errors([("adcode", body.adcode)], snapshot.regions))
    if body.location is not None:
        errors.extend(location_errors(body.adcode, GeoPoint(body.location.lat, body.location.lng), snapshot.regions))
    errors.extend(_date_errors(body, ctx.today, stored_start))
    expires_at = body.expires_at or keep_expiry or ctx.now + ctx.default_ttl
    if body.expires_at is not None:
        if body.expires_at <= ctx.now:
            errors.append(FieldError(field="expires_at", message="须晚于现在 / must be in the future"))
        elif body.expires_at > ctx.now + ctx.max_ttl:
            errors.append(FieldError(field="expires_at", message=f"最长 {ctx.max_ttl.days} 天，到期可续期 / at most "
                                                                 f"{ctx.max_ttl.days} days ahead; renew when it ends"))
    inferred = body.occupation_code is None
    code: str | None
    if body.occupation_code is not None:
        code = body.occupation_code
        if not is_known_code(code, snapshot.catalogue, snapshot.occupations):
            errors.append(FieldError(field="occupation_code",
                                     message=NOT_A_CODE))
        code = snapshot.catalogue.resolve(code)
    else:
        code = infer_from_posting(body.title, body.description, snapshot.catalogue, snapshot.analyzer)
        if code is None:
            errors.append(FieldError(field="occupation_code",
                                     message="无法从标题和描述推断职业，请提供 occupation_code / could not infer the "
                                             "occupation from title and description; please give occupation_code"))
    if errors:
        raise _invalid(errors)
    assert code is not None
    verdict = check_posting(body.title, body.description, body.benefits, wage_min=body.wage.min,
                            wage_max=body.wage.max, wage_unit=body.wage.unit, adcode=body.adcode,
                            age_min=body.age_min, age_max=body.age_max)
    if verdict.rejected:
        rejections = [f for f in verdict.findings if f.outcome == "reject"]
        raise InvalidInput(
            "岗位信息违反招聘规定，不能发布 / the posting breaks recruitment rules and cannot be published",
            errors=[FieldError(field=f.field, message=f"{f.message_zh} / {f.message_en}（{f.excerpt}）")
                    for f in rejections],
            extra={"reasons": verdict.problem_errors()})
    return ValidatedJob(fields=body, occupation_code=code, occupation_inferred=inferred, expires_at=expires_at,
                        verdict=verdict)


def _status(v: ValidatedJob, approved: list[dict[str, Any]],
            carried: Sequence[dict[str, Any]] = ()) -> Literal["open", "pending_review"]:
    """Held findings (the posting's own, and `carried` ones such as the enterprise's credit hold) go to review,
    unless an authority already approved each of them for this posting."""
    held = {_finding_key(_finding_dict(f)) for f in v.verdict.findings if f.outcome == "hold"}
    held |= {_finding_key(f) for f in carried}
    return "pending_review" if held - {_finding_key(a) for a in approved} else "open"


def _row(v: ValidatedJob, status: str) -> JobRow:
    f = v.fields
    return JobRow(
        status=status, external_ref=f.external_ref, title=f.title, description=f.description,
        occupation_code=v.occupation_code, occupation_inferred=v.occupation_inferred, headcount=f.headcount,
        adcode=f.adcode, address=f.address, lat=f.location.lat if f.location else None,
        lng=f.location.lng if f.location else None, wage_min=f.wage.min, wage_max=f.wage.max,
        wage_unit=f.wage.unit, work_type=f.work_type, start_date=f.start_date, end_date=f.end_date,
        benefits=list(dict.fromkeys(f.benefits)), required_certificates=list(dict.fromkeys(f.required_certificates)),
        age_min=f.age_min, age_max=f.age_max,
        contact=f.contact.model_dump(exclude_none=True) if f.contact else None,
        expires_at=v.expires_at, compliance_findings=[_finding_dict(x) for x in v.verdict.findings],
    )


# ---------------------------------------------------------------------------------------------- output


def job_out(record: asyncpg.Record, ctx: JobContext) -> JobOut:
    snapshot = ctx.catalogue
    code = record["occupation_code"]
    entry = snapshot.catalogue.by_code(code)
    review = None
    if record["review_decision"] is not None:
        review = Review(decision=record["review_decision"], note=record["review_note"],
                        reviewed_at=record["reviewed_at"])
    location = Location(lat=record["lat"], lng=record["lng"]) if record["lat"] is not None else None
    return JobOut(
        id=record["id"], org_id=record["org_id"], external_ref=record["external_ref"],
        status=record["effective_status"], title=record["title"], description=record["description"],
        occupation_code=code, occupation_name=entry.name if entry else snapshot.occupations.name_of(code),
        occupation_inferred=record["occupation_inferred"], headcount=record["headcount"],
        adcode=record["adcode"], address=record["address"], location=location,
        wage=Wage(min=float(record["wage_min"]), max=float(record["wage_max"]), unit=record["wage_unit"]),
        work_type=record["work_type"], start_date=record["start_date"], end_date=record["end_date"],
        benefits=list(record["benefits"]),
        # canonical also for a posting stored before certificate names were canonicalised on write
        required_certificates=canonical_certificates(record["required_certificates"]),
        age_min=record["age_min"], age_max=record["age_max"],
        contact=JobContact(**record["contact"]) if record["contact"] else None,
        expires_at=record["expires_at"],
        compliance=[Finding(rule_id=f["rule_id"], field=f["field"],
                            message=f"{f['message_zh']} / {f['message_en']}", excerpt=f["excerpt"],
                            outcome=f["outcome"]) for f in record["compliance_findings"]],
        review=review, closed_at=record["closed_at"], credit_grade=ctx.credit.grade(record["credit_points"]),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


def _fields_of(record: asyncpg.Record) -> dict[str, Any]:
    """The stored posting in request shape, so a PATCH is merged and validated as a whole posting."""
    return {
        # Text stored before control characters were refused comes back printable (sealed_text.printable_text).
        "external_ref": record["external_ref"], "title": printable_text(record["title"]),
        "description": printable_text(record["description"]),
        "occupation_code": None if record["occupation_inferred"] else record["occupation_code"],
        "headcount": record["headcount"], "adcode": record["adcode"],
        "address": printable_text(record["address"]) if record["address"] is not None else None,
        "location": {"lat": record["lat"], "lng": record["lng"]} if record["lat"] is not None else None,
        "wage": {"min": float(record["wage_min"]), "max": float(record["wage_max"]), "unit": record["wage_unit"]},
        "work_type": record["work_type"], "start_date": record["start_date"], "end_date": record["end_date"],
        "benefits": [printable_text(b) for b in record["benefits"]],
        "required_certificates": [printable_text(c) for c in record["required_certificates"]],
        "age_min": record["age_min"], "age_max": record["age_max"], "contact": record["contact"],
        "expires_at": None,
    }


# -------------------------------------------------------------------------------------------- commands


class DuplicateExternalRef(Conflict):
    def __init__(self, existing_id: UUID) -> None:
        super().__init__("external_ref 已用于另一个岗位 / external_ref is already used by another posting",
                         extra={"reason": "duplicate_external_ref", "existing_id": str(existing_id)})
        self.existing_id = existing_id


async def _write(conn: asyncpg.Connection, caller: Caller, ctx: JobContext, row: JobRow, *,
                 job_id: UUID, insert: bool) -> asyncpg.Record:
    if row.external_ref is not None:
        other = await repository.find_by_external_ref(conn, caller.org_id, row.external_ref)
        if other is not None and other["id"] != job_id:
            raise DuplicateExternalRef(other["id"])
    if insert:  # issue 9: an enterprise with postings upheld as fake has new postings held for review
        hold = await new_posting_hold(conn, caller.org_id, ctx.credit)
        if hold is not None:
            row = replace(row, status="pending_review", compliance_findings=[*row.compliance_findings, hold])
    try:
        async with conn.transaction():
            if insert:
                record = await repository.insert(conn, job_id, caller.org_id, row)
            else:
                record = await repository.update(conn, job_id, row)
    except asyncpg.UniqueViolationError:
        # The reference was taken by a posting committed since the look-up above: answered as that look-up would
        # have answered had it come a moment later (the only unique key a posting has).
        if row.external_ref is not None:
            other = await repository.find_by_external_ref(conn, caller.org_id, row.external_ref)
            if other is not None and other["id"] != job_id:
                raise DuplicateExternalRef(other["id"]) from None
        raise Conflict("并发修改冲突，请重试 / a concurrent change conflicted; retry") from None
    await ctx.outbox.record(conn, INDEX_TOPIC, str(job_id))
    return record


async def create_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, body: JobFields) -> JobOut:
    ensure_enterprise(caller)
    validated = validate_job(body, ctx)
    record = await _write(conn, caller, ctx, _row(validated, _status(validated, [])), job_id=uuid4(), insert=True)
    return job_out(record, ctx)


SaveOutcome = Literal["created", "updated", "unchanged"]


async def save_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller,
                   body: JobFields) -> tuple[JobOut, SaveOutcome]:
    """Create, or update the caller's posting with the same `external_ref` (for the bulk importer).

    Re-importing the same row changes nothing ("unchanged", no outbox row). Without an external_ref, a row
    identical to one of the caller's live postings is that posting; anything else is a new posting.
    """
    ensure_enterprise(caller)
    existing = None
    if body.external_ref is not None:
        existing = await repository.find_by_external_ref(conn, caller.org_id, body.external_ref)
    if existing is None:
        validated = validate_job(body, ctx)
        twin = None
        if body.external_ref is None:
            twin = await repository.find_identical(conn, caller.org_id, _row(validated, "open"))
        if twin is not None:
            return job_out(twin, ctx), "unchanged"
        record = await _write(conn, caller, ctx, _row(validated, _status(validated, [])), job_id=uuid4(),
                              insert=True)
        return job_out(record, ctx), "created"
    stored = _fields_of(existing)
    given = body.model_dump(exclude_unset=True)
    # As a PATCH: what the row leaves out (a column the sheet lacks, an empty cell) keeps its stored value, so a
    # sheet with fewer columns is "unchanged" when what it gives is.
    if _unchanged(stored, given):
        return job_out(existing, ctx), "unchanged"
    patch = JobPatch.model_validate(given)
    return await update_job(conn, ctx, caller, existing["id"], patch), "updated"


def _unchanged(stored: dict[str, Any], given: dict[str, Any]) -> bool:
    try:
        return parse_fields({**stored, **given}) == parse_fields(stored)
    except InvalidInput:
        # The stored posting, or the row merged with it, does not pass today's rules (a title of invisible
        # characters, accepted once): not unchanged. update_job then stores the row or says what is wrong with
        # the merged posting, instead of refusing a row that mends it for the stored value alone.
        return False


async def save_jobs(conn: asyncpg.Connection, ctx: JobContext, caller: Caller,
                    bodies: Sequence[JobFields]) -> list[tuple[SaveOutcome, UUID] | ProblemError]:
    """`save_job` for each row of an import batch, in order: per row its outcome and posting id, or the
    ProblemError that rejected it (save_job leaves nothing behind a rejection). The role is checked once."""
    ensure_enterprise(caller)
    results: list[tuple[SaveOutcome, UUID] | ProblemError] = []
    for body in bodies:
        try:
            job, outcome = await save_job(conn, ctx, caller, body)
        except Forbidden:
            raise
        except ProblemError as exc:
            results.append(exc)
            continue
        results.append((outcome, job.id))
    return results


async def _owned(conn: asyncpg.Connection, caller: Caller, job_id: UUID, *, for_update: bool = False) -> asyncpg.Record:
    record = await repository.get(conn, job_id, for_update=for_update)
    if record is None or record["org_id"] != caller.org_id:
        raise _not_found()
    return record


async def update_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, job_id: UUID,
                     patch: JobPatch) -> JobOut:
    """Merge, validate and check again. An expired posting is renewed by giving a new `expires_at`."""
    ensure_enterprise(caller)
    record = await _owned(conn, caller, job_id, for_update=True)
    if record["status"] == "closed":
        raise Conflict("岗位已关闭，请重新发布 / the posting is closed; post a new one", extra={"reason": "closed"})
    changes = patch.model_dump(exclude_unset=True)
    hires = await placements_repository.hires_of_job(conn, job_id) if "headcount" in changes else 0
    if "headcount" in changes and changes["headcount"] is not None and changes["headcount"] < hires:
        # A hire is not undone by an edit (it counts against the headcount however the placement ends).
        raise _invalid([FieldError(field="headcount", message=f"已录用 {hires} 人，招聘人数不能少于此 / {hires} "
                                                            f"already hired through placements: not fewer")],
                       reason="headcount_below_hires", hired=hires)
    merged = {**_fields_of(record), **changes}
    validated = validate_job(parse_fields(merged), ctx, keep_expiry=record["expires_at"],
                             stored_start=record["start_date"])
    # The credit hold was put on the posting when it was created (issue 9); an edit or a re-import must not
    # lift it. It stays with the posting until an authority approves it, as any held finding does.
    carried = [f for f in record["compliance_findings"] or () if f["rule_id"] == HOLD_RULE_ID]
    status = _status(validated, list(record["approved_findings"]), carried)
    row = _row(validated, status)
    if carried:
        row = replace(row, compliance_findings=[*row.compliance_findings, *carried])
    record = await _write(conn, caller, ctx, row, job_id=job_id, insert=False)
    if hires and record["headcount"] == hires:
        # Lowered to the hires already made: filled, closed as the hire of the last headcount closes it
        # (placements.service.hire); left open it stayed in search with nobody left to hire (proposals: 409).
        record = await repository.close(conn, job_id, reason="filled")
        await record_posting_closed(conn, ctx.outbox, job_id, reason="filled")
    return job_out(record, ctx)


ClosedReason = Literal["closed_by_owner", "rejected_in_review", "filled", "removed_after_report", "expired"]
_CLOSED_ZH: dict[str, str] = {"closed_by_owner": "用人单位已关闭", "rejected_in_review": "审核未通过",
                              "filled": "已招满", "removed_after_report": "被举报后下架", "expired": "已过期"}


async def record_posting_closed(conn: asyncpg.Connection, outbox: OutboxRecorder, job_id: UUID, *,
                                reason: ClosedReason) -> None:
    """What every end of a posting writes besides the row itself, in the transaction that ended it: the `job.index`
    row (its document leaves search) and `job.closed` to every organisation that was told about the posting
    (notifications.record_job_closed: inbox, and webhooks subscribed to job.closed).

    Called once per transition of the row to `closed` or `expired`: by the owner (close_job), a review rejection
    (review_job), the hire that took the last headcount (placements), an upheld report (reports) and the expiry
    sweep (workers.indexing_tasks.expire_postings: an expired posting cannot be applied to either, so brokers are
    told to stop offering it, reason `expired`). The subject is the posting's expiry: a posting renewed and ended
    again is announced again, while one that expired and is then closed or removed is announced once.

    The posting's proposals and acceptances end with it (nobody can be hired through them any more): reason
    `other`, their `end` event naming why (`posting_closed`), and their brokers are told through `job.closed`
    even if no match notification had reached them (a broker proposes from its worker's matches, unannounced)."""
    await outbox.record(conn, INDEX_TOPIC, str(job_id))
    ended = await placements_repository.end_before_hire_of_job(
        conn, job_id, note=f"岗位已停止招聘（{_CLOSED_ZH[reason]}）/ the posting stopped taking hires ({reason})",
        detail={"reason": "other", "posting_closed": reason})
    expires_at = await repository.expires_at_of(conn, job_id)
    await record_job_closed(conn, outbox, job_id, reason=reason,
                            subject_id=expiry_subject(expires_at) if expires_at is not None else None,
                            also_to=[r["broker_org_id"] for r in ended])


async def close_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, job_id: UUID) -> JobOut:
    ensure_enterprise(caller)
    record = await _owned(conn, caller, job_id, for_update=True)
    if record["status"] != "closed":
        record = await repository.close(conn, job_id)
        await record_posting_closed(conn, ctx.outbox, job_id, reason="closed_by_owner")
    return job_out(record, ctx)


async def review_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, job_id: UUID,
                     body: ReviewDecision) -> JobOut:
    """An authority decides on a held posting in its own province: approve → open, reject → closed."""
    if caller.role != "authority":
        raise Forbidden("需要主管部门角色 / requires role authority")
    record = await repository.get(conn, job_id, for_update=True)
    if record is None or province_of(record["adcode"]) != caller.province:
        raise _not_found()
    if record["effective_status"] != "pending_review":
        raise Conflict("岗位不在待审核状态 / the posting is not pending review",
                       extra={"reason": "not_pending_review", "job_status": record["effective_status"]})
    held = [f for f in record["compliance_findings"] if f["outcome"] == "hold"]
    if body.decision == "approve":
        record = await repository.set_review(conn, job_id, status="open", decision="approve", note=body.note,
                                             reviewer=caller.org_id, approved_findings=held, closed_reason=None)
        await ctx.outbox.record(conn, INDEX_TOPIC, str(job_id))
    else:
        record = await repository.set_review(conn, job_id, status="closed", decision="reject", note=body.note,
                                             reviewer=caller.org_id, approved_findings=[],
                                             closed_reason="rejected_in_review")
        await record_posting_removed(conn, record["org_id"], job_id, record["title"])  # issue 9: credit ledger
        await record_posting_closed(conn, ctx.outbox, job_id, reason="rejected_in_review")
    return job_out(record, ctx)


# --------------------------------------------------------------------------------------------- queries


async def get_job(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, job_id: UUID) -> JobOut:
    """The owning enterprise, or an authority (reviews, inspection). Everyone else: 404."""
    record = await repository.get(conn, job_id)
    if record is None or not (record["org_id"] == caller.org_id or caller.role == "authority"):
        raise _not_found()
    return job_out(record, ctx)


async def list_jobs(conn: asyncpg.Connection, ctx: JobContext, caller: Caller, *, status: str | None, limit: int,
                    cursor: str | None, cursor_secret: str) -> JobList:
    """An enterprise's own postings; for an authority every posting (e.g. `status=pending_review` to review)."""
    if caller.role not in ("enterprise", "authority"):
        raise Forbidden("需要用人单位或主管部门角色 / requires role enterprise or authority")
    scope = list_scope(caller.org_id, LIST_SCOPE)  # a cursor of another organisation's list is refused
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await repository.list_page(conn, org_id=caller.org_id if caller.role == "enterprise" else None,
                                      status=status, after=after, limit=limit)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(cursor_secret, scope, Position(last["created_at"], last["id"]))
    return JobList(items=[job_out(r, ctx) for r in rows[:limit]], next_cursor=next_cursor)
