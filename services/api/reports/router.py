"""HTTP routes for reports from the field (any key files; authorities list and decide)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, request_fingerprint, run_idempotent
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.reports import service
from services.api.reports.rate_limit import check_rate
from services.api.reports.schemas import DecisionCreate, ReportCreate, ReportOut, ReportReview, ReportReviewList
from services.api.resources import Resources, get_resources
from services.api.worker_profiles.service import personal_data_cipher

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=problem_responses(401, 403, 404, 422))

Authority = Annotated[Caller, require_roles("authority")]
ResourcesDep = Annotated[Resources, Depends(get_resources)]


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.post("", status_code=201, response_model=ReportOut,
             responses={200: {"model": ReportOut, "description": "The caller's open report of the same target and "
                                                                 "reason (de-duplicated; `duplicate: true`)."},
                        **problem_responses(409, 429)})
async def file_report(body: ReportCreate, request: Request, conn: Connection, caller: AnyCaller,
                      idempotency_key: IdempotencyKey, resources: ResourcesDep) -> JSONResponse:
    """Report a posting, a broker or an enterprise (any key: a kiosk files on behalf of a person). `contact` is
    optional, stored encrypted and shown only to authorities; the reported party never learns who reported.
    Rate-limited per key (429 with Retry-After). Own posting or organisation, unknown target → 422."""
    settings = resources.settings
    path = request.url.path

    async def create() -> tuple[ReportOut, int]:
        # After the replay check: a replayed Idempotency-Key answers from the record and does not count again.
        await check_rate(resources.redis, f"reports:{caller.key_id}", limit=settings.report_rate_limit,
                         window_seconds=settings.report_rate_window_seconds)
        cipher = personal_data_cipher(settings, resources.extensions) if body.contact else None
        report, created = await service.file_report(conn, caller, body, cipher)
        return report, 201 if created else 200

    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=path,
        fingerprint=request_fingerprint("POST", path, body), ttl_hours=settings.idempotency_ttl_hours,
        status_code=201, create=create,
    )


@router.get("", response_model=ReportReviewList)
async def list_reports(
    request: Request, conn: Connection, caller: Authority, resources: ResourcesDep,
    status: Annotated[Literal["open", "upheld", "dismissed"] | None, Query()] = None,
    target_kind: Annotated[Literal["job", "broker", "enterprise"] | None, Query()] = None,
    target_org_id: Annotated[UUID | None, Query(description="Reports about this organisation or its postings.")] = None,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> ReportReviewList:
    """Reports newest first (authorities), with the reporter and its contact (each contact read is audited)."""
    return await service.list_reports(
        conn, caller, status=status, target_kind=target_kind, target_org_id=target_org_id, limit=limit,
        cursor=cursor, cursor_secret=resources.settings.cursor_secret.get_secret_value(),
        cipher=personal_data_cipher(resources.settings, resources.extensions), request_id=_request_id(request))


@router.get("/{report_id}", response_model=ReportReview | ReportOut)
async def get_report(report_id: UUID, request: Request, conn: Connection, caller: AnyCaller,
                     resources: ResourcesDep) -> ReportReview | ReportOut:
    """An authority sees the whole report; the reporter its own view (status); anyone else 404."""
    cipher = personal_data_cipher(resources.settings, resources.extensions) if caller.role == "authority" else None
    return await service.get_report(conn, caller, report_id, cipher, _request_id(request))


@router.post("/{report_id}/decision", response_model=ReportReview, responses=problem_responses(409))
async def decide(report_id: UUID, body: DecisionCreate, request: Request, conn: Connection, caller: Authority,
                 pending: PostCommit, resources: ResourcesDep) -> ReportReview:
    """Uphold or dismiss an open report, with a note. Upheld: a `report_upheld` event in the reported
    organisation's credit ledger, and a fake/fees/holds_id/filled posting is removed from search."""
    return await service.decide(conn, caller, report_id, body,
                                personal_data_cipher(resources.settings, resources.extensions), pending,
                                _request_id(request))
