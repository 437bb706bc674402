"""HTTP routes for worker profiles (brokers; each broker sees only its own profiles)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.api.auth.caller import Caller, require_roles
from services.api.china_calendar import china_today
from services.api.database import Connection, PostCommit
from services.api.idempotency import service as idempotency
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources
from services.api.worker_profiles import service
from services.api.worker_profiles.schemas import PersonalDataOut, WorkerCreate, WorkerList, WorkerOut, WorkerPatch
from services.api.worker_profiles.service import WorkerContext

router = APIRouter(prefix="/v1/workers", tags=["worker profiles"], responses=problem_responses(401, 403, 404, 422))

Broker = Annotated[Caller, require_roles("broker")]


async def _licensed_broker(caller: Broker) -> Caller:
    # A dependency, so FastAPI answers it before it validates the body: a lapsed broker is told of its licence,
    # not of the fields of a profile it may not post anyway. The service checks again (imports do not come here).
    service.ensure_may_post(caller, china_today())
    return caller


LicensedBroker = Annotated[Caller, Depends(_licensed_broker)]


async def _licensed_or_replayed(caller: Broker, conn: Connection, idempotency_key: IdempotencyKey,
                                resources: Annotated[Resources, Depends(get_resources)]) -> Caller:
    # As _licensed_broker, except for a key already answered: a retry of a POST made before the licence lapsed
    # gets its first response (api.md), not a 403. run_idempotent then replays it or refuses another body (409);
    # it creates nothing, and anything that would be created meets the service's own check.
    if not await idempotency.is_answered(conn, org_id=caller.org_id, key=idempotency_key,
                                         ttl_hours=resources.settings.idempotency_ttl_hours):
        service.ensure_may_post(caller, china_today())
    return caller


LicensedPoster = Annotated[Caller, Depends(_licensed_or_replayed)]


async def _worker_context(resources: Annotated[Resources, Depends(get_resources)],
                          pending: PostCommit) -> WorkerContext:
    return await service.build_context(resources.settings, resources.extensions, pending)


Context = Annotated[WorkerContext, Depends(_worker_context)]


@router.post("", status_code=201, response_model=WorkerOut, responses={**located(201), **problem_responses(409)})
async def create_worker(body: WorkerCreate, request: Request, conn: Connection, ctx: Context,
                        idempotency_key: IdempotencyKey, caller: LicensedPoster,
                        resources: Annotated[Resources, Depends(get_resources)]) -> JSONResponse:
    """Register a worker (consent required to be shown to enterprises). ID number and phone are validated,
    stored encrypted and answered masked. The same person registered already → 409 `conflict`
    (`existing_id` only when the profile is the caller's own). 403 when the broker's licence has expired.
    `certificates` are stored and returned as the shortage catalogue's official names (焊工证 →
    特种作业操作证（焊接与热切割作业）), which is how matching compares them with postings' requirements; a name
    the platform does not know, or one that may mean several certificates (驾照), is kept as written."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_worker(conn, ctx, caller, body),
        # The answer shows the name and notes (which may say something about health): the copy kept for
        # replays holds them encrypted, as the profile itself does.
        sealed_fields=("name", "notes"), cipher=lambda: ctx.cipher,
        location=lambda created: f"/v1/workers/{created['id']}",
    )


@router.get("", response_model=WorkerList)
async def list_workers(conn: Connection, ctx: Context, caller: Broker,
                       resources: Annotated[Resources, Depends(get_resources)],
                       limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> WorkerList:
    """The caller's profiles, newest first (erased ones are left out)."""
    return await service.list_workers(conn, ctx, caller, limit=limit, cursor=cursor,
                                      cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.get("/{worker_id}", response_model=WorkerOut)
async def get_worker(worker_id: UUID, conn: Connection, ctx: Context, caller: Broker) -> WorkerOut:
    return await service.get_worker(conn, ctx, caller, worker_id)


@router.patch("/{worker_id}", response_model=WorkerOut, responses=problem_responses(409))
async def update_worker(worker_id: UUID, body: WorkerPatch, conn: Connection, ctx: Context,
                        caller: LicensedBroker) -> WorkerOut:
    """Change fields (absent: kept, null: cleared). The merged profile is validated as a whole; `certificates`
    become the catalogue's official names, as on POST."""
    return await service.update_worker(conn, ctx, caller, worker_id, body)


@router.delete("/{worker_id}", response_model=WorkerOut)
async def erase_worker(worker_id: UUID, conn: Connection, ctx: Context, caller: Broker) -> WorkerOut:
    """Erase the person's data: removed from PostgreSQL at once and from the search index right after; the
    answer is the tombstone that remains (`status: "erased"`, no personal data)."""
    return await service.erase_worker(conn, ctx, caller, worker_id)


@router.get("/{worker_id}/personal-data", response_model=PersonalDataOut, responses=problem_responses(403, 409))
async def read_personal_data(
    worker_id: UUID, request: Request, conn: Connection, ctx: Context, caller: Broker,
    purpose: Annotated[str, Query(min_length=2, max_length=200,
                                  description="Why the full values are needed (written to the audit log).")],
) -> PersonalDataOut:
    """Full name, ID number and phone for the owning broker. Every call is written to the audit log. 403
    (`reason: licence_expired`) while the broker's HR-service licence has expired."""
    return await service.read_personal_data(conn, ctx, caller, worker_id, purpose=purpose.strip(),
                                            request_id=getattr(request.state, "request_id", None))
