"""Request and response models for organisations and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.cn import uscc

from matching.visible_text import require_visible, visible_length
from services.api.calendar_window import CalendarDate
from services.api.contact_phone import CONTACT_PHONE
from services.api.problems import fields_conflict
from services.api.sealed_text import PRINTABLE

OrgType = Literal["broker", "enterprise", "kiosk", "authority", "admin"]
Province = Literal["CQ", "SC"]

# 统一社会信用代码 (GB 32100-2015): 18 characters from a 31-symbol alphabet without I, O, S, V, Z.
# ASCII digits: the pattern's regex engine reads \d as any script's digit (a full-width ５ passed, and its code was
# stored beside the ASCII one, which the unique index tells apart).
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
ADCODE_PATTERN = r"^\d{6}$"
_LICENCE_NUMBER_MIN = 3


def _uscc_check_character(value: str | None) -> str | None:
    # The format is USCC_PATTERN's (which, unlike python-stdnum's own `validate`, allows the letter codes of
    # registration authorities other than market regulation, e.g. N for rural collective economic
    # organisations); the check character (GB 32100-2015, 5.3) is python-stdnum's computation.
    if value is not None and uscc.calc_check_digit(value[:17]) != value[17]:
        raise ValueError("统一社会信用代码校验位不符，请核对 / the credit code's check character does not match: "
                         "a character is mistyped")
    return value


class Licence(BaseModel):
    # Stripped here: OrgCreate's str_strip_whitespace does not reach a nested model, and PUT …/licence takes this
    # model alone, so "   " passed min_length and was recorded as a licence number.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # No control characters (sealed_text.PRINTABLE: "\x07", "\x1b" were recorded and shown to the authorities), and
    # three characters one can see: min_length counts zero-width spaces.
    number: Annotated[str, Field(min_length=_LICENCE_NUMBER_MIN, max_length=64), PRINTABLE]
    issuer_province: Province
    valid_until: CalendarDate

    @field_validator("number")
    @classmethod
    def _visible_number(cls, number: str) -> str:
        if visible_length(number) < _LICENCE_NUMBER_MIN:
            raise ValueError("许可证编号至少 3 个可见字符 / the licence number needs at least 3 visible characters")
        return number


class Contact(BaseModel):
    """The organisation's registration contact. `name`, `phone` and `email` are the contact person's (encrypted
    at rest, answered masked; see organisations/contact.py); `address` is the organisation's office."""

    model_config = ConfigDict(extra="forbid")
    # Bounds before the control-character check (sealed_text.PRINTABLE), so a long value is told in characters.
    name: Annotated[str, Field(max_length=64), PRINTABLE] | None = Field(default=None, repr=False)
    # Normalised (13800138000, 023-68000000): SMS subscriptions text it, so it must be a number a gateway takes.
    phone: Annotated[str, Field(max_length=32), PRINTABLE, CONTACT_PHONE] | None = Field(
        default=None, repr=False)
    email: Annotated[str, Field(max_length=254), PRINTABLE] | None = Field(default=None, repr=False)
    address: str | None = Field(default=None, max_length=200)


class ContactOut(BaseModel):
    name: str | None = Field(default=None, description="Masked (向**).")
    phone: str | None = Field(default=None, description="Masked: the last four digits only.")
    email: str | None = Field(default=None, description="Masked (x***@example.cn).")
    address: str | None = None


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: OrgType
    # Shown to others (postings, the credit list and its CSV): control characters refused and something visible.
    name: Annotated[str, Field(min_length=1, max_length=200), PRINTABLE]
    unified_social_credit_code: Annotated[str | None, AfterValidator(_uscc_check_character)] = Field(
        default=None, pattern=USCC_PATTERN)
    province: Province | None = None
    licence: Licence | None = None
    contact: Contact = Field(default_factory=Contact)
    kiosk_adcode: str | None = Field(default=None, pattern=ADCODE_PATTERN,
                                     description="For kiosks: the county the terminal stands in.")

    @field_validator("name")
    @classmethod
    def _visible_name(cls, name: str) -> str:
        return require_visible(name, "名称", "name")

    @model_validator(mode="after")
    def _rules_per_type(self) -> OrgCreate:
        # Each rule is about the type and one other field: both are named, since either may be the mistake.
        if self.type == "broker" and self.licence is None:
            raise fields_conflict("劳务经纪人须提供人力资源服务许可证 / a broker needs an HR-service licence",
                                  "type", "licence")
        if self.type != "broker" and self.licence is not None:
            raise fields_conflict("只有劳务经纪人持有人力资源服务许可证 / only brokers hold an HR-service licence",
                                  "type", "licence")
        if self.type == "authority" and self.province is None:
            raise fields_conflict("主管部门须注明省份 CQ 或 SC / an authority needs province CQ or SC",
                                  "type", "province")
        if self.type != "kiosk" and self.kiosk_adcode is not None:
            raise fields_conflict("只有自助终端登记所在区县 / kiosk_adcode is only for kiosks", "type", "kiosk_adcode")
        return self


class OrgOut(BaseModel):
    id: UUID
    type: OrgType
    name: str
    unified_social_credit_code: str | None
    province: Province | None
    licence: Licence | None
    kiosk_adcode: str | None
    contact: ContactOut = Field(default_factory=ContactOut)
    created_at: datetime


class LicenceChangeOut(BaseModel):
    licence: Licence = Field(description="The licence recorded.")
    previous: Licence = Field(description="The licence it replaced.")
    changed_by: UUID = Field(description="The organisation that recorded it (the platform admin or an authority).")
    changed_at: datetime


class LicenceChangeList(BaseModel):
    items: list[LicenceChangeOut]
    next_cursor: str | None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(default=None, max_length=100)


class KeyOut(BaseModel):
    id: UUID
    prefix: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class OrgCreated(BaseModel):
    org: OrgOut
    api_key: str = Field(description="Shown only in this response; store it now.")
    key: KeyOut


class KeyCreated(BaseModel):
    key: KeyOut
    api_key: str = Field(description="Shown only in this response; store it now.")


class KeyList(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = None
