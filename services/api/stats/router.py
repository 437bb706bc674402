"""HTTP routes for the figures (authorities): supply–demand rows and transfer flows, JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from services.api.auth.caller import Caller, require_roles
from services.api.database import Connection
from services.api.problems import problem_responses
from services.api.stats import service
from services.api.stats.service import Level

router = APIRouter(prefix="/v1/stats", tags=["figures"], responses=problem_responses(401, 403, 404, 422))

Authority = Annotated[Caller, require_roles("authority")]
PeriodQuery = Annotated[str, Query(max_length=16, description="A month `2026-11` or a quarter `2026-Q4`.",
                                   examples=["2026-Q4"])]
FormatQuery = Annotated[Literal["json", "csv"], Query(alias="format", description="`csv` for a spreadsheet.")]
_CSV: dict[str, Any] = {"content": {"text/csv": {}, "application/json": {}}}


def _csv_response(text: str, filename: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/supply-demand", responses={200: _CSV})
async def supply_demand(
    conn: Connection, caller: Authority, period: PeriodQuery,
    level: Annotated[Level, Query(description="county, city (prefecture; Chongqing is 500000), province, circle")],
    adcode: Annotated[str | None, Query(pattern=r"^\d{6}$", description="An area of that level.")] = None,
    occupation_code: Annotated[str | None, Query(pattern=r"^[1-8]-\d{2}-\d{2}-\d{2}$")] = None,
    output: FormatQuery = "json",
) -> Any:
    """求人倍率 and related figures per area and occupation, from the period's snapshot: rows of `{period, level,
    adcode, area_name, occupation_code, occupation_name, open_headcount, available_workers, ratio,
    shortage_level, placements, transfers_in, transfers_out, median_days_to_fill}`. `ratio` = open_headcount /
    available_workers (4 decimal places, null without workers). A row with `occupation_code` null counts every
    occupation together. `frozen: true` once the period has ended: its figures never change again."""
    result = await service.supply_demand(conn, period_text=period, level=level, adcode=adcode,
                                         occupation_code=occupation_code)
    if output == "csv":
        name = f"supply-demand-{result['period']}-{level}{'-' + adcode if adcode else ''}.csv"
        return _csv_response(service.to_csv(service.SUPPLY_DEMAND_COLUMNS, result["items"]), name)
    return JSONResponse(result)


@router.get("/transfers", responses={200: _CSV})
async def transfers(conn: Connection, caller: Authority, period: PeriodQuery, output: FormatQuery = "json") -> Any:
    """Transfer flows of the period: hires by the worker's home county (origin) × the job's county
    (destination), most placements first; `cross_province` between Chongqing and Sichuan."""
    result = await service.transfers(conn, period_text=period)
    if output == "csv":
        return _csv_response(service.flows_csv(result["items"], result["period"]),
                             f"transfers-{result['period']}.csv")
    return JSONResponse(result)


@router.get("/periods")
async def periods(conn: Connection, caller: Authority) -> JSONResponse:
    """Periods with figures, oldest first per kind, each with `frozen` and `as_of`."""
    return JSONResponse({"items": await service.periods(conn)})


@router.get("/trend")
async def trend(
    conn: Connection, caller: Authority,
    kind: Annotated[Literal["month", "quarter"], Query()] = "month",
    level: Annotated[Level, Query()] = "circle",
    adcode: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    occupation_code: Annotated[str | None, Query(pattern=r"^[1-8]-\d{2}-\d{2}-\d{2}$")] = None,
) -> JSONResponse:
    """One area's (and occupation's, or every occupation's) row across the periods of a kind, for trend charts."""
    return JSONResponse(await service.trend(conn, kind=kind, level=level, adcode=adcode,
                                            occupation_code=occupation_code))
