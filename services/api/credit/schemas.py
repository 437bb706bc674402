"""Request and response models for the credit ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from matching.credit_grades import Grade
from matching.visible_text import require_visible
from services.api.credit.points import MAX_ADJUSTMENT, CreditSource, ManualSource, positive_source
from services.api.json_scalars import JsonInt
from services.api.problems import fields_conflict
from services.api.sealed_text import PRINTABLE


class LedgerEntry(BaseModel):
    at: datetime
    points: int
    reason: str
    source: CreditSource


class CreditOut(BaseModel):
    """An organisation's integrity credit: score = base_score + the sum of the ledger's points."""

    org_id: UUID
    score: int
    grade: Grade
    base_score: int
    ledger: list[LedgerEntry] = Field(description="Every event, newest first; nothing is ever edited or removed.")


class AdjustmentCreate(BaseModel):
    """An authority's entry in an organisation's ledger. `source` defaults to a plain adjustment (± points);
    the findings (duplicate or fake profiles, consent problems, a verified profile) default to their published
    points (services/api/credit/points.py) and keep their sign."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    points: JsonInt | None = Field(default=None, ge=-MAX_ADJUSTMENT, le=MAX_ADJUSTMENT,
                                   description="Required for authority_adjustment; not 0.")
    # Shown in the organisation's ledger: no control characters, and something one can read.
    reason: Annotated[str, Field(min_length=1, max_length=1000, description="Written reason (required)."), PRINTABLE]
    source: ManualSource = "authority_adjustment"
    ref_id: str | None = Field(default=None, min_length=1, max_length=100,
                               description="What the finding is about (e.g. a worker profile id); one event per "
                                           "organisation, source and ref_id. Without one, an entry identical "
                                           "(source, points, reason) to one the same authority wrote in the last "
                                           "10 minutes is refused as sent twice.")

    @field_validator("reason")
    @classmethod
    def _visible_reason(cls, reason: str) -> str:
        return require_visible(reason, "理由", "reason")

    @model_validator(mode="after")
    def _points(self) -> AdjustmentCreate:
        if self.points == 0:
            raise fields_conflict("points 不能为 0 / points must not be 0", "points")
        if self.source == "authority_adjustment" and self.points is None:
            raise fields_conflict("调整须写明分值 / an adjustment needs points", "source", "points")
        if (self.points is not None and self.source != "authority_adjustment"
                and positive_source(self.source) != (self.points > 0)):
            raise fields_conflict(f"{self.source} 的分值符号不对 / points of {self.source} have the wrong sign",
                                  "source", "points")
        return self


class AdjustmentOut(BaseModel):
    org_id: UUID
    entry: LedgerEntry
    score: int
    grade: Grade


class LicenceOut(BaseModel):
    number: str | None
    issuer_province: Literal["CQ", "SC"] | None
    valid_until: date | None


class BrokerCredit(BaseModel):
    org_id: UUID
    name: str
    unified_social_credit_code: str | None
    licence: LicenceOut
    province: Literal["CQ", "SC"] | None = Field(description="The broker's province, else its licence's.")
    score: int
    grade: Grade
    events: int
    last_event_at: datetime | None


class BrokerCreditList(BaseModel):
    items: list[BrokerCredit]
    next_cursor: str | None


class HeldProfile(BaseModel):
    worker_id: UUID
    broker_org_id: UUID
    broker_name: str
    created_at: datetime


class HeldProfileList(BaseModel):
    items: list[HeldProfile]
    next_cursor: str | None
