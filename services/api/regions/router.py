"""GET /v1/regions: look up counties by name, short name or adcode prefix."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.api.auth.caller import AnyCaller
from services.api.problems import problem_responses
from services.api.regions.service import search_regions

router = APIRouter(prefix="/v1/regions", tags=["reference data"], responses=problem_responses(401, 422))


class RegionOut(BaseModel):
    adcode: str
    name: str
    short_name: str
    level: Literal["province", "city", "county"]
    parent_adcode: str | None
    province: Literal["CQ", "SC"]
    lat: float
    lng: float
    in_circle: bool


class RegionList(BaseModel):
    items: list[RegionOut]
    next_cursor: str | None = None


@router.get("", response_model=RegionList)
async def list_regions(
    _caller: AnyCaller,
    q: str | None = Query(default=None, max_length=50),
    level: Literal["province", "city", "county"] | None = None,
    limit: int = Query(default=20, ge=1, le=100),
) -> RegionList:
    regions = search_regions(q, level=level, limit=limit)
    return RegionList(items=[
        RegionOut(adcode=r.adcode, name=r.name, short_name=r.short_name, level=r.level,
                  parent_adcode=r.parent_adcode, province=r.province, lat=r.lat, lng=r.lng, in_circle=r.in_circle)
        for r in regions
    ])
