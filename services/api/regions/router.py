"""GET /v1/regions: look up counties by name, short name or adcode prefix."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.api.auth.caller import AnyCaller
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.regions.service import search_regions
from services.api.resources import Resources, get_resources

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
    resources: Annotated[Resources, Depends(get_resources)],
    q: str | None = Query(default=None, max_length=50),
    level: Literal["province", "city", "county"] | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> RegionList:
    """Regions whose adcode starts with `q` or whose name contains it, exact names first, then by adcode."""
    regions, following = search_regions(q, level=level, limit=limit, cursor=cursor,
                                        cursor_secret=resources.settings.cursor_secret.get_secret_value())
    return RegionList(items=[
        RegionOut(adcode=r.adcode, name=r.name, short_name=r.short_name, level=r.level,
                  parent_adcode=r.parent_adcode, province=r.province, lat=r.lat, lng=r.lng, in_circle=r.in_circle)
        for r in regions
    ], next_cursor=following)
