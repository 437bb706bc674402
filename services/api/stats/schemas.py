"""The JSON answers of `/v1/stats/*`, for OpenAPI and its tests.

The routes build these answers as plain dicts (the figures are read-only and can be large); these models are
the contract clients read in OpenAPI, and the tests validate real answers against them (extra fields
forbidden), so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from matching.regions import Province
from services.api.stats.service import Level


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodOut(_Answer):
    period: str  # 2026-11 or 2026-Q4
    kind: Literal["month", "quarter"]
    starts_on: date
    ends_on: date
    as_of: datetime
    computed_at: datetime
    frozen: bool  # the period has ended: its figures never change again
    source: Literal["computed", "demo"]
    catalogue_version: int | None


class FigureRow(_Answer):
    period: str
    level: Level
    adcode: str | None  # null at the circle level
    area_name: str | None
    occupation_code: str | None  # null: every occupation together
    occupation_name: str | None
    open_headcount: int
    available_workers: int
    ratio: float | None  # 求人倍率: open_headcount / available_workers, null without workers
    shortage_level: int | None
    placements: int
    transfers_in: int
    transfers_out: int
    median_days_to_fill: float | None


class SupplyDemandPage(PeriodOut):
    level: Level
    items: list[FigureRow]
    next_cursor: str | None


class County(_Answer):
    adcode: str
    name: str | None
    province: Province | None


class Flow(_Answer):
    origin: County  # the worker's home county
    destination: County  # the job's county
    placements: int
    cross_province: bool


class TransfersPage(PeriodOut):
    items: list[Flow]
    next_cursor: str | None
    total: int  # placements of every flow of the period, whichever page
    cross_province: int  # of which between Chongqing and Sichuan


class PeriodPage(_Answer):
    items: list[PeriodOut]
    next_cursor: str | None


class TrendRow(FigureRow):
    frozen: bool
    source: Literal["computed", "demo"]


class Trend(_Answer):
    kind: Literal["month", "quarter"]
    level: Level
    adcode: str | None
    occupation_code: str | None
    items: list[TrendRow]
