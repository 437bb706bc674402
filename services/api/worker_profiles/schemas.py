"""Request and response models for worker profiles.

Personal fields (name, ID number, phone, notes) are declared `repr=False`, so a model that ends up in a log
line or a traceback does not carry them. Responses carry the ID number and phone masked; the full values
come only from the personal-data endpoint, which is audited.
"""

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
from matching.identity import InvalidIdNumber, InvalidPhone, parse_id_number, parse_mobile
from matching.visible_text import is_blank, require_visible
from services.api.calendar_window import CalendarDate, CalendarDateTime
from services.api.china_calendar import china_today
from services.api.jobs.schemas import ADCODE_PATTERN, CERTIFICATES_IN, CERTIFICATES_OUT, Wage, WorkType
from services.api.json_scalars import JsonBool, JsonFloat, JsonInt
from services.api.jsonb_text import storable_text
from services.api.rules_beside_shape import place_errors, rule_error, validate_with_rules
from services.api.sealed_text import (
    CONTROL_CHARACTER,
    LINE_BREAKS_FROM_WORD,
    PRINTABLE,
    has_control_character,
)

Gender = Literal["male", "female"]
WorkerStatus = Literal["available", "placed", "inactive"]
Education = Literal["none", "primary", "junior_secondary", "senior_secondary", "vocational", "college",
                    "bachelor", "postgraduate"]
Adcode = str

_LIST_ITEM_MAX = 40


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share_with_enterprises: JsonBool = Field(
        description="Without it the profile is stored but never indexed, shown to enterprises or matched.")
    contact_by_sms: JsonBool = False
    given_at: CalendarDateTime

    @field_validator("given_at")
    @classmethod
    def _aware(cls, given_at: datetime) -> datetime:
        # On the field, not the model: the error is then located at consent.given_at, not at consent.
        if given_at.tzinfo is None:
            raise ValueError("given_at 需带时区 / given_at needs a UTC offset")
        return given_at


class WorkerFields(BaseModel):
    """A whole profile as posted. PATCH merges its fields onto the stored profile and validates this again."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    name: Annotated[str, Field(min_length=1, max_length=50), PRINTABLE] = Field(repr=False)
    id_number: str = Field(min_length=1, max_length=40, repr=False)
    phone: str = Field(min_length=1, max_length=40, repr=False)
    gender: Gender | None = None
    home_adcode: Adcode = Field(pattern=ADCODE_PATTERN)
    current_adcode: Adcode | None = Field(default=None, pattern=ADCODE_PATTERN)
    occupations: list[str] = Field(default_factory=list, max_length=10,
                                   description="Occupation codes or free text (焊工, 烧电焊的); free text is inferred.")
    skills: list[str] = Field(default_factory=list, max_length=30)
    certificates: list[str] = Field(default_factory=list, max_length=20, description=CERTIFICATES_IN)
    labour_brand: Annotated[str, Field(max_length=50), PRINTABLE] | None = None
    experience_years: JsonInt | None = Field(default=None, ge=0, le=60)
    education: Education | None = None
    desired_adcodes: list[Adcode] = Field(default_factory=list, max_length=60,
                                          description="Empty: anywhere in the circle (for daily work, 日结: "
                                                      "within 50 km of where the worker is).")
    willing_to_relocate: JsonBool = False
    max_commute_km: JsonFloat | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False,
                                         description="Matching counts at most 300 km.")
    expected_wage: Wage | None = None
    available_from: CalendarDate
    available_until: CalendarDate | None = None
    work_types: list[WorkType] = Field(default_factory=list, max_length=4, description="Empty: any.")
    notes: Annotated[str, Field(max_length=1000), PRINTABLE, LINE_BREAKS_FROM_WORD] | None = Field(
        default=None, repr=False)
    consent: Consent

    # Text columns cannot hold U+0000 (services/api/jsonb_text.py): refused naming the field.
    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)

    @field_validator("name")
    @classmethod
    def _visible_name(cls, name: str) -> str:
        # min_length counts a zero-width space as a character: such a profile had a name nobody could read.
        return require_visible(name, "姓名", "name")

    # Field validators, not one model validator: an error is then located at its field (`skills`), where a
    # model's error was answered as field "body" and reported by an import without a field at all.
    @field_validator("occupations", "skills", "certificates")
    @classmethod
    def _list_items(cls, items: list[str], info: ValidationInfo) -> list[str]:
        if any(is_blank(item) or len(item) > _LIST_ITEM_MAX for item in items):
            raise ValueError(f"{info.field_name}: 每项 1–{_LIST_ITEM_MAX} 字 / each item 1–{_LIST_ITEM_MAX} characters")
        if any(has_control_character(item) for item in items):
            raise ValueError(f"{info.field_name}: {CONTROL_CHARACTER}")
        return items

    @field_validator("desired_adcodes")
    @classmethod
    def _six_digits(cls, adcodes: list[str]) -> list[str]:
        if any(len(a) != 6 or not a.isdigit() for a in adcodes):
            raise ValueError("desired_adcodes: 区县代码为6位数字 / adcodes have 6 digits")
        return adcodes

    @model_validator(mode="wrap")
    @classmethod
    def _rules_beside_shape_errors(cls, data: Any, handler: ModelWrapValidatorHandler[WorkerFields]) -> WorkerFields:
        """When the body fails its shape, also the ID number's, the phone's and the places' own checks (the service
        makes them once the shape holds, `validate_worker`): services/api/rules_beside_shape.py."""
        return validate_with_rules(data, handler, _raw_rule_errors)

    @model_validator(mode="after")
    def _lists(self) -> WorkerFields:
        # The catalogue's official names here rather than when the row is built: creates, PATCHes merged with the
        # stored profile and import rows all pass through these fields, and so does the re-import comparison.
        canonical = canonical_certificates(self.certificates)
        if canonical != self.certificates:  # assigned only then: an unset field stays unset
            self.certificates = canonical
        return self


class WorkerCreate(WorkerFields):
    pass


def identity_message(exc: InvalidIdNumber | InvalidPhone) -> str:
    """How an ID number's or a phone's refusal reads in a field error (it never quotes the number)."""
    return f"{exc.message_zh} / {exc.message_en}"


def _raw_rule_errors(data: Mapping[str, Any], reported: set[str]) -> list[InitErrorDetails]:
    return [*_number_errors(data, reported),
            *place_errors(data, reported, counties=("home_adcode", "current_adcode"), areas=("desired_adcodes",))]


def _number_errors(data: Mapping[str, Any], reported: set[str]) -> list[InitErrorDetails]:
    errors: list[InitErrorDetails] = []
    id_number, phone = data.get("id_number"), data.get("phone")
    if "id_number" not in reported and isinstance(id_number, str):
        try:
            parse_id_number(id_number, today=china_today())
        except InvalidIdNumber as exc:
            errors.append(rule_error(("id_number",), id_number, identity_message(exc)))
    if "phone" not in reported and isinstance(phone, str):
        try:
            parse_mobile(phone)
        except InvalidPhone as exc:
            errors.append(rule_error(("phone",), phone, identity_message(exc)))
    return errors


class WorkerPatch(BaseModel):
    """Fields to change; absent fields keep their value, `null` clears an optional one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_ref: str | None = Field(default=None, min_length=1, max_length=100)
    name: Annotated[str, Field(min_length=1, max_length=50), PRINTABLE] | None = Field(default=None, repr=False)
    id_number: str | None = Field(default=None, min_length=1, max_length=40, repr=False)
    phone: str | None = Field(default=None, min_length=1, max_length=40, repr=False)
    gender: Gender | None = None
    home_adcode: Adcode | None = Field(default=None, pattern=ADCODE_PATTERN)
    current_adcode: Adcode | None = Field(default=None, pattern=ADCODE_PATTERN)
    occupations: list[str] | None = Field(default=None, max_length=10)
    skills: list[str] | None = Field(default=None, max_length=30)
    certificates: list[str] | None = Field(default=None, max_length=20, description=CERTIFICATES_IN)
    labour_brand: Annotated[str, Field(max_length=50), PRINTABLE] | None = None
    experience_years: JsonInt | None = Field(default=None, ge=0, le=60)
    education: Education | None = None
    desired_adcodes: list[Adcode] | None = Field(default=None, max_length=60)
    willing_to_relocate: JsonBool | None = None
    max_commute_km: JsonFloat | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    expected_wage: Wage | None = None
    available_from: CalendarDate | None = None
    available_until: CalendarDate | None = None
    work_types: list[WorkType] | None = Field(default=None, max_length=4)
    notes: Annotated[str, Field(max_length=1000), PRINTABLE, LINE_BREAKS_FROM_WORD] | None = Field(
        default=None, repr=False)
    consent: Consent | None = None
    status: WorkerStatus | None = Field(default=None, description="available | placed | inactive")

    # Text columns cannot hold U+0000 (services/api/jsonb_text.py): refused naming the field.
    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)


class OccupationOut(BaseModel):
    input: str
    code: str | None
    name: str | None
    inferred: bool = Field(description="True when the code was inferred from free text.")


class ProfileWarning(BaseModel):
    """Something stored as given that makes the profile work less well; the broker may want to fix it."""

    field: str = Field(description="Where, as in the request: occupations[1].")
    code: Literal["occupation_not_recognised"]
    message: str


class WorkerOut(BaseModel):
    """A stored profile as its broker sees it: ID number and phone masked. An erased profile is a tombstone:
    `status: "erased"` and no personal or profile data."""

    id: UUID
    status: Literal["available", "placed", "inactive", "erased"]
    external_ref: str | None
    name: str | None
    id_number: str | None = Field(description="Masked: 500107********123X.")
    phone: str | None = Field(description="Masked: 138****5678.")
    gender: Gender | None
    age: int | None
    home_adcode: str | None
    current_adcode: str | None
    occupations: list[OccupationOut]
    occupation_codes: list[str]
    skills: list[str]
    certificates: list[str] = Field(description=CERTIFICATES_OUT)
    labour_brand: str | None
    experience_years: int | None
    education: Education | None
    desired_adcodes: list[str]
    willing_to_relocate: bool
    max_commute_km: float | None
    expected_wage: Wage | None
    available_from: date | None
    available_until: date | None
    work_types: list[WorkType]
    notes: str | None
    consent: Consent | None
    searchable: bool = Field(description="Whether enterprises can find and be matched with this profile "
                                         "(consent given and the profile available: not placed, inactive or "
                                         "erased).")
    held_for_review: bool = Field(default=False, description="New profile of a grade-D broker: not searchable "
                                                             "until an authority releases it (issue 9).")
    credit_grade: Grade | None = Field(default=None, description="The broker's integrity credit grade (A–D).")
    warnings: list[ProfileWarning] = Field(
        default_factory=list, description="Stored as given but worth fixing: a trade that names no occupation of "
                                          "the catalogue (`code: null`) is kept, but matching by trade cannot use it.")
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None


class WorkerList(BaseModel):
    items: list[WorkerOut]
    next_cursor: str | None


class PersonalDataOut(BaseModel):
    """Full personal data, for the owning broker only; every response is written to the audit log."""

    id: UUID
    name: str
    id_number: str
    phone: str
    notes: str | None
    purpose: str
    accessed_at: datetime
