"""HTTP routes of the shared catalogue (api.md, Catalogue) and the occupation typeahead."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from matching.occupations import OCCUPATION_CODE
from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.catalogue import service
from services.api.catalogue.runtime import runtime_of
from services.api.catalogue.schemas import (
    ChangeList,
    CurrentCatalogue,
    DiffOut,
    DraftCreate,
    EntryDeleted,
    EntryFields,
    EntryWritten,
    ImportResult,
    Suggestion,
    SuggestionList,
    VersionDetail,
    VersionList,
    VersionSummary,
)
from services.api.catalogue.spreadsheets import XLSX_MEDIA_TYPE, to_csv_bytes, to_xlsx_bytes
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import FieldError, InvalidInput, PayloadTooLarge, problem_responses
from services.api.resources import Resources, get_resources

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"], responses=problem_responses(401, 403, 404, 422))
occupations_router = APIRouter(prefix="/v1/occupations", tags=["catalogue"], responses=problem_responses(401, 422))

ResourcesDep = Annotated[Resources, Depends(get_resources)]
Authority = Annotated[Caller, require_roles("authority")]
CodePath = Annotated[str, Path(pattern=OCCUPATION_CODE.pattern, description="职业分类大典 2022 code, 6-18-02-04")]
VersionPath = Annotated[int, Path(ge=1, le=2_000_000_000)]
# Multipart framing around an upload: the file itself is checked against the limit once read.
_MULTIPART_SLACK = 64 * 1024


def _required(resources: Resources) -> tuple[str, ...]:
    return tuple(resources.settings.catalogue_required_approvals)


def _secret(resources: Resources) -> str:
    return resources.settings.cursor_secret.get_secret_value()


@router.get("", response_model=CurrentCatalogue)
async def current_catalogue(conn: Connection, _caller: AnyCaller) -> CurrentCatalogue:
    """The current published version (`version: 0` with no entries before the first publication)."""
    return await service.current_catalogue(conn)


@router.get("/versions", response_model=VersionList)
async def list_versions(
    conn: Connection, caller: AnyCaller, resources: ResourcesDep,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> VersionList:
    """Versions, newest first. Published and retired ones for everybody; drafts too for authorities and admins."""
    return await service.list_versions(conn, caller, limit=limit, cursor=cursor, secret=_secret(resources),
                                       required=_required(resources))


@router.get("/versions/{version}", response_model=VersionDetail)
async def get_version(version: VersionPath, conn: Connection, caller: AnyCaller,
                      resources: ResourcesDep) -> VersionDetail:
    return await service.version_detail(conn, caller, version, _required(resources))


@router.get("/versions/{version}/diff", response_model=DiffOut)
async def diff_versions(version: VersionPath, conn: Connection, caller: AnyCaller,
                        against: int = Query(ge=1, le=2_000_000_000)) -> DiffOut:
    """What changed from version `against` to `version`: codes added and removed, field-level changes."""
    return await service.diff(conn, caller, version, against)


@router.get("/versions/{version}/export",
            responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
                             "description": "the version as a spreadsheet (the import format)"}})
async def export_version(version: VersionPath, conn: Connection, caller: AnyCaller,
                         format: Literal["csv", "xlsx"] = "csv") -> Response:
    catalogue = await service.version_catalogue(conn, caller, version)
    filename = f"catalogue-v{version}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "xlsx":
        return Response(to_xlsx_bytes(catalogue), media_type=XLSX_MEDIA_TYPE, headers=headers)
    return Response(to_csv_bytes(catalogue), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/versions/{version}/changes", response_model=ChangeList)
async def list_changes(
    version: VersionPath, conn: Connection, caller: AnyCaller, resources: ResourcesDep,
    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None,
) -> ChangeList:
    """Who changed what and when in one version (authorities and admins)."""
    return await service.list_changes(conn, caller, version, limit=limit, cursor=cursor, secret=_secret(resources))


@router.post("/drafts", status_code=201, response_model=VersionSummary,
             responses={**located(201), **problem_responses(409)})
async def create_draft(request: Request, conn: Connection, caller: Authority, resources: ResourcesDep,
                       idempotency_key: IdempotencyKey, body: DraftCreate | None = None) -> JSONResponse:
    """A new draft holding the current published version's entries (authorities)."""
    body = body or DraftCreate()
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_draft(conn, caller, note=body.note, required=_required(resources)),
        location=lambda created: f"/v1/catalogue/versions/{created['version']}",
    )


@router.put("/drafts/{version}/entries/{code}", response_model=EntryWritten, responses=problem_responses(409))
async def put_entry(version: VersionPath, code: CodePath, body: EntryFields, conn: Connection,
                    caller: Authority) -> EntryWritten:
    """Add or replace one entry of a draft. Clears the draft's approvals."""
    return await service.put_entry(conn, caller, version, code, body)


@router.delete("/drafts/{version}/entries/{code}", response_model=EntryDeleted, responses=problem_responses(409))
async def delete_entry(
    version: VersionPath, code: CodePath, conn: Connection, caller: Authority,
    replaced_by: str | None = Query(default=None, pattern=OCCUPATION_CODE.pattern,
                                    description="retire the code in favour of this one (required for a code "
                                                "that was published: codes are never deleted)"),
) -> EntryDeleted:
    """Remove an entry added in this draft, or retire a published code with `?replaced_by=`."""
    return await service.delete_entry(conn, caller, version, code, replaced_by)


async def _read_upload(request: Request, limit: int) -> tuple[bytes, str | None]:
    declared = request.headers.get("content-length")
    content_type = request.headers.get("content-type", "").lower()
    slack = _MULTIPART_SLACK if content_type.startswith("multipart/form-data") else 0
    if declared is not None and declared.isdigit() and int(declared) > limit + slack:
        raise PayloadTooLarge(f"文件超过 {limit} 字节 / the file exceeds {limit} bytes")
    if content_type.startswith("multipart/form-data"):
        # `async with` closes the spooled temporary files the parser made.
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidInput("请以表单字段 file 上传 / send the spreadsheet as the multipart field `file`",
                                   errors=[FieldError(field="file", message="required")])
            data = await upload.read(limit + 1)
            filename = upload.filename
    else:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"文件超过 {limit} 字节 / the file exceeds {limit} bytes")
            chunks.append(chunk)
        data, filename = b"".join(chunks), None
    if len(data) > limit:
        raise PayloadTooLarge(f"文件超过 {limit} 字节 / the file exceeds {limit} bytes")
    if not data:
        raise InvalidInput("空文件 / empty file", errors=[FieldError(field="file", message="empty")])
    return data, filename


@router.post(
    "/drafts/{version}/import", response_model=ImportResult, responses=problem_responses(409, 413),
    openapi_extra={"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
    }}},
)
async def import_draft(version: VersionPath, request: Request, conn: Connection, caller: Authority,
                       resources: ResourcesDep) -> ImportResult:
    """Replace the draft's entries with a CSV (UTF-8 or GBK) or XLSX spreadsheet, all or nothing: any row
    error → 422 listing every row, and the draft stays as it was. Clears the draft's approvals."""
    data, filename = await _read_upload(request, resources.settings.catalogue_max_upload_bytes)
    return await service.import_draft(conn, caller, version, data, filename=filename)


@router.delete("/drafts/{version}", response_model=VersionSummary, responses=problem_responses(409))
async def discard_draft(version: VersionPath, conn: Connection, caller: Authority,
                        resources: ResourcesDep) -> VersionSummary:
    """Discard a draft that will not be published (authorities). It stays readable, frozen, with its change log;
    a published or already discarded version answers 409."""
    return await service.discard_draft(conn, caller, version, _required(resources))


@router.post("/drafts/{version}/approve", response_model=VersionSummary, responses=problem_responses(409))
async def approve_draft(version: VersionPath, conn: Connection, caller: Authority,
                        resources: ResourcesDep) -> VersionSummary:
    """The calling authority's province approves the draft (once per province)."""
    return await service.approve(conn, caller, version, _required(resources))


@router.post("/drafts/{version}/publish", response_model=VersionSummary, responses=problem_responses(409))
async def publish_draft(version: VersionPath, conn: Connection, caller: Authority, resources: ResourcesDep,
                        pending: PostCommit, background: BackgroundTasks) -> VersionSummary:
    """Publish a draft every required province approved; the previous version is retired and search follows
    (synonyms, dictionary, analyzers, typeahead) without restarts."""
    summary = await service.publish(conn, caller, version, _required(resources), pending)
    runtime = resources.extensions.get("catalogue")
    if runtime is not None:
        # Runs after the response, i.e. after the commit: this process sees the new version on next use.
        background.add_task(runtime.invalidate)
    return summary


@occupations_router.get("/suggest", response_model=SuggestionList)
async def suggest_occupations(
    _caller: AnyCaller, resources: ResourcesDep,
    q: str = Query(min_length=1, max_length=40, description="characters, a code, pinyin (hangong) or initials (hg)"),
    limit: int = Query(default=10, ge=1, le=50),
) -> SuggestionList:
    """Typeahead over the published catalogue's codes, names, aliases, pinyin and initials (in memory)."""
    version, found = await runtime_of(resources.extensions).suggest(q, limit)
    return SuggestionList(version=version, items=[
        Suggestion(occupation_code=s.code, name=s.label, matched=s.matched, kind=_kind(s.matched, s.label),
                   shortage_level=s.shortage_level or 0)
        for s in found
    ])


def _kind(matched: str, label: str) -> str:
    if matched == label:
        return "name"
    if OCCUPATION_CODE.match(matched):
        return "code"
    if matched.isascii():
        return "pinyin"
    return "alias"
