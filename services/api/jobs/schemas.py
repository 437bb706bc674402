"""Request and response models for job postings (and the wage shape worker profiles share)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from matching.certificates import canonical_certificates
from matching.credit_grades import Grade
from matching.visible_text import is_blank, require_visible
from services.api.calendar_window import CalendarDate, CalendarDateTime
from services.api.contact_phone import CONTACT_PHONE
from services.api.json_scalars import JsonFloat, JsonInt
from services.api.jsonb_text import STORABLE_IN_JSONB, storable_text
from services.api.problems import fields_conflict
from services.api.rules_beside_shape import place_errors, validate_with_rules
from services.api.sealed_text import (
    CONTROL_CHARACTER,
    LINE_BREAKS_FROM_WORD,
    PRINTABLE,
    has_control_character,
)

WageUnit = Literal["hour", "day", "month", "piece"]
WorkType = Literal["full_time", "seasonal", "gig", "daily"]
JobStatus = Literal["open", "pending_review", "closed", "expired"]
ADCODE_PATTERN = r"^\d{6}$"
CERTIFICATES_IN = ("Certificate names as people write them (焊工证, 叉车证, 特种作业操作证(焊接与热切割作业)); "
                   "stored as the shortage catalogue's official names (特种作业操作证（焊接与热切割作业）), "
                   "duplicates removed. A name the platform does not know (or one that may mean several "
                   "certificates, such as 驾照) is kept as written, brackets and spaces tidied.")
CERTIFICATES_OUT = ("Canonical names: the shortage catalogue's official name for every certificate it knows, by "
                    "which matching compares requirements and holdings; others as written.")
OCCUPATION_CODE_PATTERN = r"^[1-8]-\d{2}-\d{2}-\d{2}$"

class Wage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Numbers in JSON (not strings): amounts are CNY with at most cents, stored as numeric.
    min: JsonFloat = Field(gt=0, le=1_000_000, allow_inf_nan=False)
    max: JsonFloat = Field(gt=0, le=1_000_000, allow_inf_nan=False)
    unit: WageUnit

    @model_validator(mode="after")
    def _ordered(self) -> Wage:
        if self.min > self.max:
            raise fields_conflict("工资下限不能高于上限 / wage min must not exceed max", "min", "max")
        return self


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: JsonFloat = Field(ge=-90, le=90)
    lng: JsonFloat = Field(ge=-180, le=180)


class JobContact(BaseModel):
    """The enterprise's recruiting contact. Returned to the posting's readers, never put in the search index."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Stored as jsonb (services/api/jsonb_text.py).
    name: Annotated[str, Field(max_length=50), STORABLE_IN_JSONB] | None = None
    # A number readers can call (the posting page shows it): "123" was stored and shown.
    phone: Annotated[str, Field(max_length=32), STORABLE_IN_JSONB, CONTACT_PHONE] | None = None
    note: Annotated[str, Field(max_length=200), STORABLE_IN_JSONB] | None = None


def _county_errors(data: Mapping[str, Any], reported: set[str]) -> list[InitErrorDetails]:
    return place_errors(data, reported, counties=("adcode",))


class JobFields(BaseModel):
    """Everything a posting says; POST requires the required ones, PATCH merges onto the stored posting."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    # Shown on kiosks and to brokers: no control characters (sealed_text.PRINTABLE).
    title: Annotated[str, Field(min_length=1, max_length=100), PRINTABLE]
    description: Annotated[str, Field(max_length=5000), PRINTABLE, LINE_BREAKS_FROM_WORD] = ""
    occupation_code: str | None = Field(default=None, pattern=OCCUPATION_CODE_PATTERN)
    headcount: JsonInt = Field(ge=1, le=100_000)
    adcode: str = Field(pattern=ADCODE_PATTERN)
    address: Annotated[str, Field(max_length=200), PRINTABLE] | None = None
    location: Location | None = None
    wage: Wage
    work_type: WorkType
    start_date: CalendarDate
    end_date: CalendarDate | None = None
    benefits: list[str] = Field(default_factory=list, max_length=20)
    required_certificates: list[str] = Field(default_factory=list, max_length=20, description=CERTIFICATES_IN)
    age_min: JsonInt | None = Field(default=None, ge=0, le=100)
    age_max: JsonInt | None = Field(default=None, ge=0, le=100)
    contact: JobContact | None = None
    expires_at: CalendarDateTime | None = Field(
        default=None, description="When the posting leaves search; default now + job_default_ttl_days.")

    # Text columns cannot hold U+0000 (services/api/jsonb_text.py): refused naming the field.
    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)

    @field_validator("title")
    @classmethod
    def _visible_title(cls, title: str) -> str:
        # min_length counts a zero-width space as a character: such a posting reached every kiosk untitled.
        return require_visible(title, "标题", "title")

    # Field validators, not one model validator: an error is then located at its field (`end_date`), where a
    # model's error was answered as field "body" and reported by an import without a field at all. Each sees the
    # fields declared before it (`info.data`) only when those passed their own checks.
    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end_date: date | None, info: ValidationInfo) -> date | None:
        start_date = info.data.get("start_date")
        if end_date is not None and start_date is not None and end_date < start_date:
            raise fields_conflict("结束日期早于开始日期 / end_date is before start_date", "start_date", "end_date")
        return end_date

    @field_validator("age_max")
    @classmethod
    def _ages_ordered(cls, age_max: int | None, info: ValidationInfo) -> int | None:
        age_min = info.data.get("age_min")
        if age_min is not None and age_max is not None and age_min > age_max:
            raise fields_conflict("年龄下限高于上限 / age_min exceeds age_max", "age_min", "age_max")
        return age_max

    @field_validator("expires_at")
    @classmethod
    def _expiry_aware(cls, expires_at: datetime | None) -> datetime | None:
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at 需带时区 / expires_at needs a UTC offset")
        return expires_at

    @field_validator("benefits", "required_certificates")
    @classmethod
    def _list_items(cls, items: list[str], info: ValidationInfo) -> list[str]:
        if any(is_blank(item) or len(item) > 40 for item in items):
            raise ValueError(f"{info.field_name}: 每项 1–40 字 / each item 1–40 characters")
        if any(has_control_character(item) for item in items):
            raise ValueError(f"{info.field_name}: {CONTROL_CHARACTER}")
        return items

    @model_validator(mode="wrap")
    @classmethod
    def _rules_beside_shape_errors(cls, data: Any, handler: ModelWrapValidatorHandler[JobFields]) -> JobFields:
        """When the body fails its shape, also its county's own check (the service makes it once the shape holds,
        `validate_job`): services/api/rules_beside_shape.py."""
        return validate_with_rules(data, handler, _county_errors)

    @model_validator(mode="after")
    def _consistent(self) -> JobFields:
        # The catalogue's official names (焊工证 → 特种作业操作证（焊接与热切割作业）) here rather than when the row is
        # built: every write goes through these fields (a create, a PATCH merged with the stored posting, an import
        # row), and so does the comparison that finds a re-imported row unchanged.
        canonical = canonical_certificates(self.required_certificates)
        if canonical != self.required_certificates:  # assigned only then: an unset field stays unset
            self.required_certificates = canonical
        return self


class JobCreate(JobFields):
    pass


class JobPatch(BaseModel):
    """Fields to change; absent fields keep their value, `null` clears an optional one. Renew with `expires_at`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    title: Annotated[str, Field(min_length=1, max_length=100), PRINTABLE] | None = None
    description: Annotated[str, Field(max_length=5000), PRINTABLE, LINE_BREAKS_FROM_WORD] | None = None
    occupation_code: str | None = Field(default=None, pattern=OCCUPATION_CODE_PATTERN)
    headcount: JsonInt | None = Field(default=None, ge=1, le=100_000)
    adcode: str | None = Field(default=None, pattern=ADCODE_PATTERN)
    address: Annotated[str, Field(max_length=200), PRINTABLE] | None = None
    location: Location | None = None
    wage: Wage | None = None
    work_type: WorkType | None = None
    start_date: CalendarDate | None = None
    end_date: CalendarDate | None = None
    benefits: list[str] | None = Field(default=None, max_length=20)
    required_certificates: list[str] | None = Field(default=None, max_length=20, description=CERTIFICATES_IN)
    age_min: JsonInt | None = Field(default=None, ge=0, le=100)
    age_max: JsonInt | None = Field(default=None, ge=0, le=100)
    contact: JobContact | None = None
    expires_at: CalendarDateTime | None = None

    # Text columns cannot hold U+0000 (services/api/jsonb_text.py): refused naming the field.
    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)


class Finding(BaseModel):
    rule_id: str
    field: str
    message: str
    excerpt: str
    outcome: Literal["hold", "reject"]


class Review(BaseModel):
    decision: Literal["approve", "reject"] | None
    note: str | None
    reviewed_at: datetime | None


class JobOut(BaseModel):
    id: UUID
    org_id: UUID
    external_ref: str | None
    status: JobStatus
    title: str
    description: str
    occupation_code: str
    occupation_name: str | None
    occupation_inferred: bool
    headcount: int
    adcode: str
    address: str | None
    location: Location | None
    wage: Wage
    work_type: WorkType
    start_date: date
    end_date: date | None
    benefits: list[str]
    required_certificates: list[str] = Field(description=CERTIFICATES_OUT)
    age_min: int | None
    age_max: int | None
    contact: JobContact | None
    expires_at: datetime
    compliance: list[Finding] = Field(description="Findings of the last compliance check (hold reasons).")
    review: Review | None
    closed_at: datetime | None
    credit_grade: Grade | None = Field(default=None, description="The enterprise's integrity credit grade (A–D).")
    created_at: datetime
    updated_at: datetime


class JobList(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=1000)
