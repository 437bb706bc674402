"""Request and response models for reports.

Two views: `ReportOut` for the reporter (never anything about other reporters; its own contact is not echoed),
`ReportReview` for authorities (who reported, and the contact, decrypted and audited). The reported party has
no view of reports at all: it sees only the ledger entry of an upheld report, which names neither the
reporter nor the contact nor the authority's note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.api.credit.points import ReportReason
from services.api.sealed_text import PRINTABLE

TargetKind = Literal["job", "broker", "enterprise"]
ReportStatus = Literal["open", "upheld", "dismissed"]


class ReportTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: TargetKind
    id: UUID


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    target: ReportTarget
    reason: ReportReason = Field(description="fake (虚假岗位) | fees (收费) | holds_id (扣证) | filled (已招满) | "
                                             "unpaid (欠薪) | other")
    text: Annotated[str, Field(max_length=2000), PRINTABLE] | None = None
    contact: Annotated[str, Field(min_length=1, max_length=200), PRINTABLE] | None = Field(
        default=None, repr=False, description="How the authority can reach the person reporting (personal data: "
                                              "stored encrypted, shown only to authorities).")


class ReportOut(BaseModel):
    """A report as its reporter sees it."""

    id: UUID
    target: ReportTarget
    reason: ReportReason
    text: str | None
    has_contact: bool
    status: ReportStatus
    duplicate: bool = Field(default=False, description="True when this reporter's open report of the same target "
                                                       "and reason was returned instead of a new one (HTTP 200).")
    created_at: datetime


class Decision(BaseModel):
    outcome: Literal["upheld", "dismissed"]
    note: str
    decided_by_org_id: UUID
    decided_at: datetime


class ReportReview(BaseModel):
    """A report as an authority sees it."""

    id: UUID
    target: ReportTarget
    target_org_id: UUID
    target_org_name: str
    reason: ReportReason
    text: str | None
    contact: str | None = Field(description="Decrypted for the authority; every read is written to the audit log.")
    reporter_org_id: UUID
    reporter_org_name: str
    reporter_org_type: str
    repeat_count: int = Field(description="How often the same reporter filed it again while it was open.")
    status: ReportStatus
    decision: Decision | None
    created_at: datetime


class ReportReviewList(BaseModel):
    items: list[ReportReview]
    next_cursor: str | None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    outcome: Literal["upheld", "dismissed"]
    note: str = Field(min_length=1, max_length=2000)
