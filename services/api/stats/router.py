"""HTTP routes for the figures (authorities): supply–demand rows and transfer flows, JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from services.api.auth.caller import Caller, require_roles
from services.api.database import Connection
from services.api.pagination import DEFAULT_LIMIT, PAGING_PARAMETERS, CursorParam, Limit
from services.api.problems import FieldError, InvalidInput, problem_responses
from services.api.resources import Resources, get_resources
from services.api.stats import schemas, service
from services.api.stats.service import Level

router = APIRouter(prefix="/v1/stats", tags=["figures"], responses=problem_responses(401, 403, 404, 422))

Authority = Annotated[Caller, require_roles("authority")]
PeriodQuery = Annotated[str, Query(max_length=16, description="A month `2026-11` or a quarter `2026-Q4`.",
                                   examples=["2026-Q4"])]
FormatQuery = Annotated[Literal["json", "csv"], Query(alias="format", description="`csv` for a spreadsheet.")]


def _json_or_csv(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    # Documented, not validated per request: the routes answer the service's dicts (tests validate them).
    return {200: {"model": model, "content": {"text/csv": {"schema": {"type": "string"}}}}}


def _page(request: Request, resources: Resources, output: str, scope: str, limit: int,
          cursor: str | None) -> service.Page | None:
    """The page a JSON answer shows; None for a CSV, which is the whole report and so refuses limit and cursor
    (ignored, a client would believe it had asked for a part)."""
    if output != "csv":
        return service.Page(scope=scope, limit=limit, cursor=cursor,
                            cursor_secret=resources.settings.cursor_secret.get_secret_value())
    sent = [name for name in PAGING_PARAMETERS if name in request.query_params]
    if sent:
        raise InvalidInput("CSV 是完整报表，不分页 / a CSV is the whole report and is not paged", errors=[
            FieldError(field=name, message=f"format=csv 不接受 {name} / format=csv takes no {name}") for name in sent])
    return None


def _csv_response(text: str, filename: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/supply-demand", responses=_json_or_csv(schemas.SupplyDemandPage))
async def supply_demand(
    request: Request, conn: Connection, caller: Authority, resources: Annotated[Resources, Depends(get_resources)],
    period: PeriodQuery,
    level: Annotated[Level, Query(description="county, city (prefecture; Chongqing is 500000), province, circle")],
    adcode: Annotated[str | None, Query(pattern=r"^\d{6}$", description="An area of that level.")] = None,
    occupation_code: Annotated[str | None, Query(pattern=r"^[1-8]-\d{2}-\d{2}-\d{2}$")] = None,
    output: FormatQuery = "json", limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> Any:
    """求人倍率 and related figures per area and occupation, from the period's snapshot: rows of `{period, level,
    adcode, area_name, occupation_code, occupation_name, open_headcount, available_workers, ratio,
    shortage_level, placements, transfers_in, transfers_out, median_days_to_fill}`. `ratio` = open_headcount /
    available_workers (4 decimal places, null without workers). A row with `occupation_code` null counts every
    occupation together. `placements` and `transfers_in/out` count placements whose worker arrived at the job in
    the period (a hire that ended as a no-show is none). `frozen: true` once the period has ended: its figures
    never change again.

    JSON is paged (`limit`, `cursor`, `next_cursor`); a cursor belongs to one computation of the period, and is
    refused (422) once an open period has been computed again: read again from the first page. The CSV is the
    whole report and takes neither."""
    scope = service.supply_demand_scope(period.strip(), level, adcode, occupation_code)
    result = await service.supply_demand(conn, period_text=period, level=level, adcode=adcode,
                                         occupation_code=occupation_code,
                                         page=_page(request, resources, output, scope, limit, cursor))
    if output == "csv":
        name = f"supply-demand-{result['period']}-{level}{'-' + adcode if adcode else ''}.csv"
        return _csv_response(service.to_csv(service.SUPPLY_DEMAND_COLUMNS, result["items"]), name)
    return JSONResponse(result)


@router.get("/transfers", responses=_json_or_csv(schemas.TransfersPage))
async def transfers(request: Request, conn: Connection, caller: Authority,
                    resources: Annotated[Resources, Depends(get_resources)], period: PeriodQuery,
                    output: FormatQuery = "json", limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> Any:
    """Transfer flows of the period: placements whose worker arrived at the job in the period, by the worker's
    home county (origin) × the job's county (destination), most placements first; `cross_province` between
    Chongqing and Sichuan. `total` and `cross_province` count every flow of the period; `items` are paged as for
    supply-demand (the CSV is whole)."""
    page = _page(request, resources, output, service.transfers_scope(period.strip()), limit, cursor)
    result = await service.transfers(conn, period_text=period, page=page)
    if output == "csv":
        return _csv_response(service.flows_csv(result["items"], result["period"]),
                             f"transfers-{result['period']}.csv")
    return JSONResponse(result)


@router.get("/periods", responses={200: {"model": schemas.PeriodPage}})
async def periods(conn: Connection, caller: Authority, resources: Annotated[Resources, Depends(get_resources)],
                  limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> JSONResponse:
    """Periods with figures, oldest first per kind (months, then quarters), each with `frozen` and `as_of`;
    paged (`limit`, `cursor`, `next_cursor`)."""
    return JSONResponse(await service.periods(conn, limit=limit, cursor=cursor,
                                              cursor_secret=resources.settings.cursor_secret.get_secret_value()))


@router.get("/trend", responses={200: {"model": schemas.Trend}})
async def trend(
    conn: Connection, caller: Authority,
    kind: Annotated[Literal["month", "quarter"], Query()] = "month",
    level: Annotated[Level, Query()] = "circle",
    adcode: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    occupation_code: Annotated[str | None, Query(pattern=r"^[1-8]-\d{2}-\d{2}-\d{2}$")] = None,
) -> JSONResponse:
    """One area's (and occupation's, or every occupation's) row across the periods of a kind, for trend charts.
    One series, answered whole (at most one row per period): not paged, so `limit` and `cursor` are refused."""
    return JSONResponse(await service.trend(conn, kind=kind, level=level, adcode=adcode,
                                            occupation_code=occupation_code))
