"""HTTP routes for job postings (enterprises post; authorities review held postings)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.jobs import service
from services.api.jobs.schemas import JobCreate, JobList, JobOut, JobPatch, ReviewDecision
from services.api.jobs.service import JobContext
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources

router = APIRouter(prefix="/v1/jobs", tags=["job postings"], responses=problem_responses(401, 403, 404, 422))

Enterprise = Annotated[Caller, require_roles("enterprise")]


async def _job_context(resources: Annotated[Resources, Depends(get_resources)], pending: PostCommit) -> JobContext:
    return await service.build_context(resources.settings, resources.extensions, pending)


Context = Annotated[JobContext, Depends(_job_context)]


@router.post("", status_code=201, response_model=JobOut, responses={**located(201), **problem_responses(409)})
async def create_job(body: JobCreate, request: Request, conn: Connection, ctx: Context,
                     idempotency_key: IdempotencyKey, caller: Enterprise,
                     resources: Annotated[Resources, Depends(get_resources)]) -> JSONResponse:
    """Post a job. The occupation is inferred from title and description when `occupation_code` is absent
    (`occupation_inferred: true`). A posting that breaks the rules (fees, deposits, withheld ID cards,
    below minimum wage) → 422 with the reasons; one with restrictions that need a human look (gender, ethnicity,
    age, hukou) is stored as `pending_review` and not searchable until an authority approves it.
    `required_certificates` are stored and returned as the shortage catalogue's official names (焊工证 →
    特种作业操作证（焊接与热切割作业）; brackets, width and spaces do not matter), which is how matching compares
    them with workers' certificates; a name the platform does not know, or one that may mean several
    certificates (驾照), is kept as written."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_job(conn, ctx, caller, body),
        location=lambda created: f"/v1/jobs/{created['id']}",
    )


@router.get("", response_model=JobList)
async def list_jobs(
    conn: Connection, ctx: Context, caller: AnyCaller, resources: Annotated[Resources, Depends(get_resources)],
    status: Annotated[Literal["open", "pending_review", "closed", "expired"] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> JobList:
    """An enterprise's own postings, newest first; an authority sees every posting (`status=pending_review`
    lists those waiting for review)."""
    return await service.list_jobs(conn, ctx, caller, status=status, limit=limit, cursor=cursor,
                                   cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: UUID, conn: Connection, ctx: Context, caller: AnyCaller) -> JobOut:
    return await service.get_job(conn, ctx, caller, job_id)


@router.patch("/{job_id}", response_model=JobOut, responses=problem_responses(409))
async def update_job(job_id: UUID, body: JobPatch, conn: Connection, ctx: Context, caller: Enterprise) -> JobOut:
    """Change fields (absent: kept, null: cleared) and check the posting again. Renew with a new `expires_at`.
    `required_certificates` become the catalogue's official names, as on POST."""
    return await service.update_job(conn, ctx, caller, job_id, body)


@router.post("/{job_id}/close", response_model=JobOut)
async def close_job(job_id: UUID, conn: Connection, ctx: Context, caller: Enterprise) -> JobOut:
    """Close the posting (filled or withdrawn): it leaves search and matching. Closing twice is harmless."""
    return await service.close_job(conn, ctx, caller, job_id)


@router.post("/{job_id}/review", response_model=JobOut, responses=problem_responses(409))
async def review_job(job_id: UUID, body: ReviewDecision, conn: Connection, ctx: Context,
                     caller: Annotated[Caller, require_roles("authority")]) -> JobOut:
    """An authority approves (→ open, searchable) or rejects (→ closed) a posting held for review in its province."""
    return await service.review_job(conn, ctx, caller, job_id, body)
