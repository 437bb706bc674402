"""Response models of the bulk import endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

ImportKind = Literal["workers", "jobs"]
ImportStatus = Literal["queued", "processing", "completed", "failed"]


class ImportAccepted(BaseModel):
    import_id: UUID
    status: ImportStatus
    format: Literal["csv", "xlsx", "ndjson"]
    encoding: str | None = Field(description="Character encoding found in a CSV upload (utf-8, utf-8-sig, "
                                             "gb18030 for GBK files, utf-16); null for XLSX.")
    byte_size: int


class ImportRowError(BaseModel):
    row: int = Field(description="Spreadsheet row (the header is its own row) or NDJSON line number.")
    field: str | None = Field(description="The JSON field name (dotted for nested fields); null for a row that "
                                          "could not be read at all.")
    message: str


class ImportOut(BaseModel):
    import_id: UUID
    kind: ImportKind
    status: ImportStatus
    format: Literal["csv", "xlsx", "ndjson"]
    encoding: str | None
    filename: str | None
    detail: str | None = Field(description="Why the whole import failed (empty file, unknown or missing "
                                           "columns …); null otherwise.")
    total: int = Field(description="Rows read so far (all of them once completed).")
    created: int
    updated: int
    unchanged: int = Field(description="Rows that matched a stored record (external_ref or the same person) "
                                       "and changed nothing, e.g. when the same file is uploaded again.")
    rejected: int
    errors: list[ImportRowError] = Field(description="Row errors in row order (at most `error_limit`).")
    errors_total: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
