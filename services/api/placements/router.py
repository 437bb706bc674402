"""HTTP routes for placements (the lifecycle rules are in service.py)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.placements import service
from services.api.placements.schemas import (
    EndBody,
    PlacementCreate,
    PlacementList,
    PlacementOut,
    PlacementStatus,
    ReminderList,
    RetainBody,
    TransitionNote,
)
from services.api.placements.service import Actor
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources

router = APIRouter(prefix="/v1/placements", tags=["placements"], responses=problem_responses(401, 403, 404, 422))

AdcodeQuery = Annotated[str | None, Query(pattern=r"^\d{6}$", description=(
    "A county, city or province adcode; Chongqing's 500100 (市辖区) and 500200 (县) are its districts and its "
    "counties. A code no county lies in is a 422."))]


@router.post("", status_code=201, response_model=PlacementOut,
             responses={**located(201), **problem_responses(409)})
async def propose_placement(
    body: PlacementCreate, request: Request, conn: Connection, idempotency_key: IdempotencyKey, caller: AnyCaller,
    resources: Annotated[Resources, Depends(get_resources)],
) -> JSONResponse:
    """Propose a placement of a worker in a job: the job's enterprise (a worker who consented to sharing) or the
    worker's broker (any open posting). The other side accepts. Marked `transfer` when the worker's home county
    is not the job's county, `cross_province` when it is in the other province."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.propose(conn, Actor.of(caller), body),
        location=lambda created: f"/v1/placements/{created['id']}",
    )


@router.get("", response_model=PlacementList)
async def list_placements(
    conn: Connection, caller: AnyCaller, resources: Annotated[Resources, Depends(get_resources)],
    status: Annotated[PlacementStatus | None, Query()] = None,
    from_adcode: AdcodeQuery = None, to_adcode: AdcodeQuery = None,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> PlacementList:
    """Newest first. Each side sees its own placements; authorities see all. `from_adcode` (the worker's home)
    and `to_adcode` (the job's place) take a county, or a city or province to match all its counties."""
    return await service.list_placements(
        conn, Actor.of(caller), status=status, from_adcode=from_adcode, to_adcode=to_adcode, limit=limit,
        cursor=cursor, cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.get("/reminders", response_model=ReminderList)
async def list_reminders(conn: Connection, caller: Annotated[Caller, require_roles("broker")],
                         resources: Annotated[Resources, Depends(get_resources)],
                         limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> ReminderList:
    """The broker's open reminders, soonest due first: confirm arrival (from the job's start date) and retention
    at 30 and 90 days. A reminder is resolved by the transition it asks for, or when the placement ends."""
    return await service.list_reminders(conn, caller, limit=limit, cursor=cursor,
                                        cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.get("/{placement_id}", response_model=PlacementOut)
async def get_placement(placement_id: UUID, conn: Connection, caller: AnyCaller) -> PlacementOut:
    """One placement with its audit trail (`events`)."""
    return await service.get(conn, Actor.of(caller), placement_id)


@router.post("/{placement_id}/accept", response_model=PlacementOut, responses=problem_responses(409))
async def accept_placement(placement_id: UUID, conn: Connection, caller: AnyCaller,
                           body: TransitionNote | None = None) -> PlacementOut:
    """The side that did not propose accepts (proposed → accepted). Refused (409 `worker_not_available`) once
    the worker's profile is no longer available (inactive, placed or erased)."""
    return await service.accept(conn, Actor.of(caller), placement_id, note=body.note if body else None)


@router.post("/{placement_id}/hire", response_model=PlacementOut, responses=problem_responses(409))
async def hire_placement(placement_id: UUID, conn: Connection, caller: AnyCaller, pending: PostCommit,
                         body: TransitionNote | None = None) -> PlacementOut:
    """The enterprise hires (accepted → hired). One less open headcount; the last one closes the posting. The
    worker becomes `placed` (out of search and matching) until the placement ends. Refused (409
    `worker_not_available`) once the worker's profile is no longer available (inactive, placed or erased)."""
    return await service.hire(conn, Actor.of(caller), placement_id, outbox=pending,
                              note=body.note if body else None)


@router.post("/{placement_id}/arrive", response_model=PlacementOut, responses=problem_responses(409))
async def arrive_placement(placement_id: UUID, conn: Connection, caller: AnyCaller,
                           body: TransitionNote | None = None) -> PlacementOut:
    """The broker confirms the worker arrived (hired → arrived), from the job's start date on (the hire's day if
    later): before it, 409 `before_start_date` with `confirmable_from`."""
    return await service.arrive(conn, Actor.of(caller), placement_id, note=body.note if body else None)


@router.post("/{placement_id}/retain", response_model=PlacementOut, responses=problem_responses(409))
async def retain_placement(placement_id: UUID, body: RetainBody, conn: Connection,
                           caller: AnyCaller) -> PlacementOut:
    """The broker confirms the worker is still employed `milestone` days after arrival: 30 (arrived →
    retained_30), then 90 (retained_30 → retained_90). Refused before the date."""
    return await service.retain(conn, Actor.of(caller), placement_id, milestone=body.milestone, note=body.note)


@router.post("/{placement_id}/end", response_model=PlacementOut, responses=problem_responses(409))
async def end_placement(placement_id: UUID, body: EndBody, conn: Connection, caller: AnyCaller,
                        pending: PostCommit) -> PlacementOut:
    """Either side ends the placement with a reason that fits its state (declined or withdrawn while proposed;
    withdrawn or not_hired once accepted; no_show after the hire; left, dismissed or contract_completed after
    arrival; `other` always)."""
    return await service.end(conn, Actor.of(caller), placement_id, reason=body.reason, outbox=pending,
                             note=body.note)
