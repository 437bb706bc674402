"""Request and response bodies of the catalogue API (api.md, Catalogue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from matching.catalogue import MAX_WAGE, MAX_WORD_CHARS, CatalogueEntry, WageBand
from services.api.json_scalars import JsonFloat, JsonInt
from services.api.problems import fields_conflict

VersionStatus = Literal["draft", "approved", "published", "retired", "discarded"]


class WageBandModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Finite only: JSON readers take 1e400 and Infinity as infinity, which was stored and then answered as
    # `null` (not a number, against this schema) and exported as `inf`; spreadsheet imports refuse it already.
    # At most a posting's wage bound (MAX_WAGE): each bound named when it is past it.
    min: JsonFloat = Field(ge=0, le=MAX_WAGE, allow_inf_nan=False)
    max: JsonFloat = Field(ge=0, le=MAX_WAGE, allow_inf_nan=False)
    unit: Literal["hour", "day", "month", "piece"]

    @model_validator(mode="after")
    def _ordered(self) -> WageBandModel:
        # Refused at the body, naming both bounds, rather than later as a problem of the whole `wage_band`.
        if self.min > self.max:
            raise fields_conflict("工资下限不能高于上限 / wage min must not exceed max", "min", "max")
        return self


Word = Annotated[str, StringConstraints(max_length=MAX_WORD_CHARS)]


class EntryFields(BaseModel):
    """The editable fields of an entry (PUT body); the code comes from the path."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    aliases: list[Word] = Field(default_factory=list, max_length=200)
    industry: str = Field(default="", max_length=100)
    shortage_level: JsonInt = Field(description="1 = severe, 2 = moderate, 3 = mild")
    regions: list[str] = Field(default_factory=list, max_length=300, description="adcodes; empty = whole circle")
    wage_band: WageBandModel | None = None
    skills: list[Word] = Field(default_factory=list, max_length=200)
    certificates: list[Word] = Field(default_factory=list, max_length=100)
    side: Literal["CQ", "SC"] = Field(description="which province contributed the entry")
    notes: str = Field(default="", max_length=2000)
    source: str = Field(default="", max_length=2000)
    replaced_by: str | None = Field(default=None, description="set when this code is retired in favour of another")
    occupation_code: str | None = Field(default=None, description="optional; must equal the code in the path")

    def to_entry(self, code: str) -> CatalogueEntry:
        band = self.wage_band
        return CatalogueEntry(
            occupation_code=code, name=self.name.strip(), aliases=_clean(self.aliases),
            industry=self.industry.strip(), shortage_level=self.shortage_level, regions=_clean(self.regions),
            wage_band=WageBand(band.min, band.max, band.unit) if band else None, skills=_clean(self.skills),
            certificates=_clean(self.certificates), side=self.side, notes=self.notes.strip(),
            source=self.source.strip(), replaced_by=(self.replaced_by or "").strip() or None,
        )


def _clean(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


class EntryOut(BaseModel):
    occupation_code: str
    name: str
    aliases: list[str]
    industry: str
    shortage_level: int
    regions: list[str]
    wage_band: WageBandModel | None = None
    skills: list[str]
    certificates: list[str]
    side: Literal["CQ", "SC"]
    replaced_by: str | None = None
    notes: str = ""
    source: str = ""

    @classmethod
    def of(cls, entry: CatalogueEntry) -> EntryOut:
        band = entry.wage_band
        return cls(
            occupation_code=entry.occupation_code, name=entry.name, aliases=list(entry.aliases),
            industry=entry.industry, shortage_level=entry.shortage_level, regions=list(entry.regions),
            wage_band=WageBandModel(min=band.min, max=band.max, unit=band.unit) if band else None,
            skills=list(entry.skills), certificates=list(entry.certificates), side=entry.side,
            replaced_by=entry.replaced_by, notes=entry.notes, source=entry.source,
        )


class CurrentCatalogue(BaseModel):
    """The current published version (version 0 and no entries before anything was published)."""

    version: int
    published_at: datetime | None
    entries: list[EntryOut]


class Approval(BaseModel):
    province: Literal["CQ", "SC"]
    authority_org: UUID
    approved_at: datetime


class VersionSummary(BaseModel):
    version: int
    status: VersionStatus
    based_on: int | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_by: UUID | None
    retired_at: datetime | None
    discarded_at: datetime | None = None
    discarded_by: UUID | None = None
    note: str
    entry_count: int
    approvals: list[Approval]
    missing_approvals: list[str] = Field(description="provinces whose approval is still needed to publish")


class VersionDetail(VersionSummary):
    entries: list[EntryOut]


class VersionList(BaseModel):
    items: list[VersionSummary]
    next_cursor: str | None = None


class DraftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


class FieldChangeOut(BaseModel):
    occupation_code: str
    field: str
    before: object
    after: object


class DiffOut(BaseModel):
    version: int
    against: int
    added: list[str]
    removed: list[str]
    changed: list[FieldChangeOut]


class EntryWritten(BaseModel):
    version: int
    entry: EntryOut
    created: bool
    approvals_cleared: list[str]


class EntryDeleted(BaseModel):
    version: int
    occupation_code: str
    retired: bool = Field(description="true: kept as retired with replaced_by; false: removed from the draft")
    approvals_cleared: list[str]


class ImportResult(BaseModel):
    version: int
    format: Literal["csv", "xlsx"]
    encoding: str | None
    entries: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    approvals_cleared: list[str]


class ChangeOut(BaseModel):
    id: int
    version: int
    org_id: UUID | None
    action: str
    occupation_code: str | None
    detail: dict[str, object]
    at: datetime


class ChangeList(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None = None


class Suggestion(BaseModel):
    occupation_code: str
    name: str
    matched: str = Field(description="the word that matched: the name, an alias, the code or the pinyin")
    kind: str
    shortage_level: int


class SuggestionList(BaseModel):
    version: int
    items: list[Suggestion]
