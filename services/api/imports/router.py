"""HTTP routes for bulk imports: `POST /v1/workers/imports` (brokers), `POST /v1/jobs/imports` (enterprises)
and their status endpoints.

An upload is either multipart/form-data with the file in field `file`, or the raw file as the body with
Content-Type text/csv, application/x-ndjson or the XLSX media type (application/octet-stream is sniffed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.api.auth.caller import Caller, require_roles
from services.api.china_calendar import china_today
from services.api.database import Connection, PendingWork
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.imports import service
from services.api.imports.readers import XLSX_MEDIA_TYPE
from services.api.imports.schemas import ImportAccepted, ImportKind, ImportOut
from services.api.problems import InvalidInput, problem_responses
from services.api.resources import Resources, get_resources
from services.api.worker_profiles.service import ensure_may_post
from services.outbox.dispatch import enqueue_committed

router = APIRouter(tags=["imports"], responses=problem_responses(401, 403, 404, 422))

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: multipart/form-data with field `file`, or the raw file as the body. Columns "
                       "are the JSON field names of the single-record endpoint (nested ones with dots, e.g. "
                       "`consent.share_with_enterprises`) or the usual Chinese headers (姓名, 身份证号, 手机号, "
                       "户籍地 …); lists separated by `;` or `、`. CSV may be UTF-8 (with or without BOM) or "
                       "GBK/GB18030, one encoding for the whole file (a UTF-8 file with some GBK lines is refused: "
                       "`mixed_encoding`).",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": {"type": "string", "format": "binary"}}}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


async def _upload_file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(service.CHUNK_BYTES):
        yield data


async def _accept(kind: ImportKind, request: Request, idempotency_key: str | None, resources: Resources,
                  caller: Caller) -> JSONResponse:
    # The body is spooled before a database connection is taken: a slow 64 MiB upload must not hold a
    # connection idle in a transaction. The transaction (import row + chunks + outbox row) and the
    # after-commit enqueue then follow services/api/database.py.
    content_type = request.headers.get("content-type", "")
    filename: str | None = None
    if content_type.lower().startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput("缺少文件字段 file / multipart upload needs the file in field `file`")
        filename = upload_file.filename
        media_type = upload_file.content_type
        upload = await service.spool(_upload_file_chunks(upload_file))
        await form.close()
    else:
        media_type = content_type
        filename = request.headers.get("x-filename")
        upload = await service.spool(request.stream())
    try:
        file_format = service.detect_format(media_type, filename, upload)
        encoding = await run_in_threadpool(service.precheck, kind, file_format, upload)
        cipher = service.cipher_of(resources.settings, resources.extensions)
        path = request.url.path
        pending = PendingWork()
        async with resources.pool.acquire() as conn:
            async with conn.transaction():
                response = await run_idempotent(
                    conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=path,
                    fingerprint=request_fingerprint("POST", path, upload.sha256),
                    ttl_hours=resources.settings.idempotency_ttl_hours, status_code=202,
                    create=lambda: service.create_import(conn, pending, caller=caller, kind=kind,
                                                         file_format=file_format, filename=filename,
                                                         encoding=encoding, upload=upload, cipher=cipher),
                    location=lambda accepted: f"{path}/{accepted['import_id']}",
                )
            await enqueue_committed(resources.redis, conn, pending.outbox_ids)
        return response
    finally:
        upload.remove()


@router.post("/v1/workers/imports", status_code=202, response_model=ImportAccepted, openapi_extra=_UPLOAD_BODY,
             responses={**located(202), **problem_responses(409, 413, 415)})
async def import_workers(
    request: Request, idempotency_key: IdempotencyKey,
    resources: Annotated[Resources, Depends(get_resources)],
    caller: Annotated[Caller, require_roles("broker")],
) -> JSONResponse:
    """Upload worker profiles (CSV, XLSX or NDJSON); processed in the background → 202 `{import_id}`.
    Rows matching a stored profile (same `external_ref`, or the same person) update it instead of adding one,
    so uploading the same file again changes nothing; a row repeating the `external_ref` or the person of an
    earlier row of the same file is a row error. An update changes only what the row gives, as a PATCH
    does: columns the sheet lacks, empty cells and keys an NDJSON line leaves out keep their stored values (an
    NDJSON `null` clears an optional field)."""
    # Before the upload is read: a broker whose licence has lapsed may not post profiles (403, as POST /v1/workers
    # answers), so its file would only be stored to fail in the worker.
    ensure_may_post(caller, china_today())
    return await _accept("workers", request, idempotency_key, resources, caller)


@router.post("/v1/jobs/imports", status_code=202, response_model=ImportAccepted, openapi_extra=_UPLOAD_BODY,
             responses={**located(202), **problem_responses(409, 413, 415)})
async def import_jobs(
    request: Request, idempotency_key: IdempotencyKey,
    resources: Annotated[Resources, Depends(get_resources)],
    caller: Annotated[Caller, require_roles("enterprise")],
) -> JSONResponse:
    """Upload job postings (CSV, XLSX or NDJSON); processed in the background → 202 `{import_id}`. Rows with
    the `external_ref` of a stored posting update what they give (columns a sheet lacks and empty cells keep
    their stored values); a row repeating the `external_ref` of an earlier row of the same file is a row error."""
    return await _accept("jobs", request, idempotency_key, resources, caller)


ErrorLimit = Annotated[int, Query(ge=0, le=10_000, description="How many row errors to return (row order).")]


@router.get("/v1/workers/imports/{import_id}", response_model=ImportOut)
async def worker_import_status(import_id: UUID, conn: Connection,
                               caller: Annotated[Caller, require_roles("broker")],
                               error_limit: ErrorLimit = service.DEFAULT_ERROR_LIMIT) -> ImportOut:
    """Progress and outcome of an import of this organisation (counters are committed per batch)."""
    return await service.get_import(conn, caller, "workers", import_id, error_limit=error_limit)


@router.get("/v1/jobs/imports/{import_id}", response_model=ImportOut)
async def job_import_status(import_id: UUID, conn: Connection,
                            caller: Annotated[Caller, require_roles("enterprise")],
                            error_limit: ErrorLimit = service.DEFAULT_ERROR_LIMIT) -> ImportOut:
    """Progress and outcome of an import of this organisation (counters are committed per batch)."""
    return await service.get_import(conn, caller, "jobs", import_id, error_limit=error_limit)
