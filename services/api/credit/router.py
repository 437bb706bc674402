"""HTTP routes for integrity credit: an organisation's ledger, authority adjustments, the published broker list
(JSON, or CSV for the public credit platform) and profiles held because of a grade-D broker."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from matching.credit_grades import Grade
from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.credit import service
from services.api.credit.schemas import AdjustmentCreate, AdjustmentOut, BrokerCreditList, CreditOut, HeldProfileList
from services.api.credit.service import CreditPolicy, credit_policy
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, request_fingerprint, run_idempotent
from services.api.pagination import DEFAULT_LIMIT, PAGING_PARAMETERS, CursorParam, Limit
from services.api.problems import FieldError, InvalidInput, problem_responses
from services.api.resources import Resources, get_resources

router = APIRouter(prefix="/v1/credit", tags=["credit"], responses=problem_responses(401, 403, 404, 422))

Authority = Annotated[Caller, require_roles("authority")]


def _policy(resources: Annotated[Resources, Depends(get_resources)]) -> CreditPolicy:
    return credit_policy(resources.settings)


Policy = Annotated[CreditPolicy, Depends(_policy)]


@router.get("/brokers", response_model=BrokerCreditList,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`"}})
async def list_brokers(
    request: Request, conn: Connection, caller: Authority, policy: Policy,
    resources: Annotated[Resources, Depends(get_resources)],
    grade: Annotated[Grade | None, Query()] = None,
    province: Annotated[Literal["CQ", "SC"] | None, Query(
        description="The broker's province, else the province that issued its licence.")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="`csv`: every matching broker as one "
                                                               "UTF-8 (BOM) spreadsheet for the public credit "
                                                               "platform; no paging.")] = "json",
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> BrokerCreditList | Response:
    """Brokers with their derived score and grade, licence number and issuing province (authorities)."""
    secret = resources.settings.cursor_secret.get_secret_value()
    if format == "csv":
        # The CSV is every matching broker: a limit or cursor would be ignored, and a client would believe it had
        # the part it asked for (as /v1/stats refuses them with format=csv).
        sent = [name for name in PAGING_PARAMETERS if name in request.query_params]
        if sent:
            raise InvalidInput("CSV 是完整名单，不分页 / a CSV is the whole list and is not paged", errors=[
                FieldError(field=name, message=f"format=csv 不接受 {name} / format=csv takes no {name}")
                for name in sent])
        everything = await service.list_brokers(conn, grade=grade, province=province, limit=None, cursor=None,
                                                cursor_secret=secret, policy=policy)
        name = "broker-credit" + (f"-{province}" if province else "") + (f"-{grade}" if grade else "") + ".csv"
        return Response(service.brokers_csv(everything.items), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return await service.list_brokers(conn, grade=grade, province=province, limit=limit, cursor=cursor,
                                      cursor_secret=secret, policy=policy)


@router.get("/held-profiles", response_model=HeldProfileList)
async def list_held_profiles(conn: Connection, caller: Authority,
                             resources: Annotated[Resources, Depends(get_resources)],
                             limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> HeldProfileList:
    """New worker profiles of grade-D brokers, held for review (not searchable until released)."""
    return await service.list_held_profiles(conn, limit=limit, cursor=cursor,
                                            cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.post("/held-profiles/{worker_id}/release", status_code=204)
async def release_held_profile(worker_id: UUID, conn: Connection, caller: Authority, pending: PostCommit) -> Response:
    """Release a held profile after review: it is indexed and matched again (if its person consented)."""
    await service.release_held_profile(conn, worker_id, pending)
    return Response(status_code=204)


@router.get("/{org_id}", response_model=CreditOut)
async def get_credit(org_id: UUID, conn: Connection, caller: AnyCaller, policy: Policy) -> CreditOut:
    """Score, grade and the whole ledger of a broker or enterprise (an authority, or the organisation itself;
    anyone else gets 404)."""
    return await service.get_credit(conn, caller, org_id, policy)


@router.post("/{org_id}/adjustments", status_code=201, response_model=AdjustmentOut, responses=problem_responses(409))
async def adjust(org_id: UUID, body: AdjustmentCreate, request: Request, conn: Connection, caller: Authority,
                 policy: Policy, idempotency_key: IdempotencyKey,
                 resources: Annotated[Resources, Depends(get_resources)]) -> JSONResponse:
    """An authority's ledger entry with a written reason: a ± adjustment, or a finding (duplicate or fake
    profiles, consent problems, a verified profile) at its published points. Never edits past events. The same
    finding twice (one `ref_id`), or an entry without `ref_id` identical to one this authority wrote in the last
    10 minutes, is a 422 instead of a second count."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.adjust(conn, caller, org_id, body, policy),
    )
