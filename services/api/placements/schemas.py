"""Request and response bodies of placements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.api.jsonb_text import STORABLE_IN_JSONB

PlacementStatus = Literal["proposed", "accepted", "hired", "arrived", "retained_30", "retained_90", "ended"]
Side = Literal["enterprise", "broker"]
EndReason = Literal["declined", "withdrawn", "not_hired", "no_show", "left", "dismissed", "contract_completed",
                    "other"]
Action = Literal["propose", "accept", "hire", "arrive", "retain", "end"]


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: UUID
    worker_id: UUID


class TransitionNote(BaseModel):
    """Body of accept / hire / arrive (optional)."""

    model_config = ConfigDict(extra="forbid")

    # Stored in the event's jsonb detail (services/api/jsonb_text.py).
    note: Annotated[str, Field(max_length=500), STORABLE_IN_JSONB] | None = None


class RetainBody(TransitionNote):
    milestone: Literal[30, 90] = Field(description="Days since arrival the worker is still employed: 30, then 90.")


class EndBody(TransitionNote):
    reason: EndReason


class County(BaseModel):
    adcode: str
    name: str | None
    province: Literal["CQ", "SC"] | None


class PlacementEvent(BaseModel):
    action: Action
    from_status: PlacementStatus | None
    to_status: PlacementStatus
    by: Side | None = Field(description="The side that made the transition (null: an operator's command).")
    at: datetime
    detail: dict[str, object] = Field(default_factory=dict)


class PlacementOut(BaseModel):
    id: UUID
    job_id: UUID
    worker_id: UUID
    enterprise_org_id: UUID
    broker_org_id: UUID
    proposed_by: Side
    status: PlacementStatus
    occupation_code: str
    origin: County = Field(description="The worker's home county when the placement was proposed.")
    destination: County = Field(description="The job's county.")
    transfer: bool = Field(description="True when the worker's home county is not the job's county (转移就业).")
    cross_province: bool = Field(description="True for a transfer between Chongqing and Sichuan.")
    proposed_at: datetime
    accepted_at: datetime | None
    hired_at: datetime | None
    arrived_at: datetime | None
    retained_30_at: datetime | None
    retained_90_at: datetime | None
    ended_at: datetime | None
    end_reason: EndReason | None
    end_note: str | None
    next_actions: list[str] = Field(
        description="What the calling organisation may do next (e.g. `accept`, `retain:30`, `end`).")
    events: list[PlacementEvent] | None = Field(default=None, description="Audit trail (single-placement reads).")


class PlacementList(BaseModel):
    items: list[PlacementOut]
    next_cursor: str | None


class Reminder(BaseModel):
    id: int
    placement_id: UUID
    kind: str
    due_on: date
    placement_status: PlacementStatus
    job_id: UUID
    worker_id: UUID


class ReminderList(BaseModel):
    items: list[Reminder]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last page.")
