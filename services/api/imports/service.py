"""Accepting an upload: spool it to a temporary file (hashing as it comes), check what can be checked at once
(format, encoding, not empty, not header-only), then store it encrypted with the import row and its outbox row
in the request's transaction. The worker does the rest (`services/api/imports/processing.py`)."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from matching.identity import mask_numbers_in_free_text
from matching.regions import load_regions
from services.api.auth.caller import Caller
from services.api.database import PendingWork
from services.api.imports import repository
from services.api.imports.mapping import RowMapper
from services.api.imports.readers import (
    FileFormat,
    ImportFileError,
    LegacyWorkbook,
    OpenDocumentSpreadsheet,
    SourceRow,
    format_of,
    open_source,
)
from services.api.imports.schemas import ImportAccepted, ImportKind, ImportOut, ImportRowError
from services.api.problems import InvalidInput, NotFound, UnsupportedMediaType
from services.api.settings import ApiSettings
from services.privacy import PersonalDataCipher

CHUNK_BYTES = 1 << 20
PROCESS_TOPIC = "import.process"
BATCH_TOPIC = "import.batch"
MATCH_TOPIC = "import.match"
FINISHED_TOPIC = "import.finished"
DEFAULT_ERROR_LIMIT = 1000


def schema_for(kind: ImportKind) -> type[BaseModel]:
    """The single-record schema: imports validate each row with exactly what POST /v1/<kind> uses. It is the
    `*Fields` base the services' `save_*` functions take (`*Create` adds nothing to it), so a re-imported row
    compares equal to the stored one and counts as unchanged."""
    if kind == "workers":
        from services.api.worker_profiles.schemas import WorkerFields

        return WorkerFields
    from services.api.jobs.schemas import JobFields

    return JobFields


def mapper_for(kind: ImportKind) -> RowMapper:
    return RowMapper(kind, schema_for(kind), load_regions())


def cipher_of(settings: ApiSettings, extensions: dict[str, Any]) -> PersonalDataCipher:
    """The process's personal-data cipher (the worker-profile service's): uploads hold ID numbers and phones
    in clear, so they are stored encrypted like the profiles themselves."""
    from services.api.worker_profiles.service import personal_data_cipher

    return personal_data_cipher(settings, extensions)


def chunk_context(import_id: UUID, seq: int) -> str:
    return f"import:{import_id}:{seq}"


def encrypt_chunk(cipher: PersonalDataCipher, import_id: UUID, seq: int, data: bytes) -> bytes:
    # The cipher takes text; base64 keeps any byte sequence (XLSX, GBK) intact at a 4/3 size cost.
    return cipher.encrypt(base64.b64encode(data).decode("ascii"), context=chunk_context(import_id, seq))


def decrypt_chunk(cipher: PersonalDataCipher, import_id: UUID, seq: int, blob: bytes) -> bytes:
    return base64.b64decode(cipher.decrypt(blob, context=chunk_context(import_id, seq)))


# ------------------------------------------------------------------------------------------------ spooling


@dataclass(slots=True)
class SpooledUpload:
    path: Path
    size: int
    sha256: bytes
    head: bytes

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


async def spool(stream: AsyncIterator[bytes]) -> SpooledUpload:
    """Write the body to a private temporary file; the size limit is the body-size middleware's."""
    fd, name = tempfile.mkstemp(prefix="bashu-import-", suffix=".upload")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with os.fdopen(fd, "wb") as handle:
            async for piece in stream:
                if not piece:
                    continue
                digest.update(piece)
                size += len(piece)
                if len(head) < 8192:
                    head += piece[: 8192 - len(head)]
                await run_in_threadpool(handle.write, piece)
    except BaseException:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - a local temp file
        raise
    return SpooledUpload(path, size, digest.digest(), head)


def detect_format(media_type: str | None, filename: str | None, upload: SpooledUpload) -> FileFormat:
    if upload.size == 0:
        raise InvalidInput("文件为空 / the file is empty", extra={"code": "empty"})
    try:
        found = format_of(media_type, filename, upload.head)
    except LegacyWorkbook:
        raise UnsupportedMediaType(
            "不支持 Excel 97-2003 工作簿（.xls），请另存为 .xlsx 或 CSV / Excel 97-2003 workbooks (.xls) are not "
            "accepted: save it as .xlsx or CSV", extra={"code": "xls"}) from None
    except OpenDocumentSpreadsheet:
        raise UnsupportedMediaType(
            "不支持 OpenDocument 表格（.ods），请另存为 .xlsx 或 CSV / OpenDocument spreadsheets (.ods) are not "
            "accepted: save it as .xlsx or CSV", extra={"code": "ods"}) from None
    if found is None:
        raise UnsupportedMediaType(
            "请上传 CSV、XLSX 或 NDJSON 文件 / upload CSV (text/csv), XLSX or NDJSON (application/x-ndjson)")
    return found


def precheck(kind: ImportKind, file_format: FileFormat, upload: SpooledUpload) -> str | None:
    """Encoding, readability, and at least one data row; returns the encoding. Column names are checked by
    the worker (and reported in the import's status)."""
    mapper = mapper_for(kind)
    try:
        with upload.path.open("rb") as handle, \
                open_source(upload.path, handle, file_format, mapper.header_score) as source:
            first = next(source.rows, None)
            if first is None:
                # The same `code` members as the reader's own file errors, so clients can branch on them.
                if source.headers is None:
                    raise InvalidInput("文件为空 / the file has no rows", extra={"code": "empty"})
                raise InvalidInput("文件只有表头，没有数据行 / the file has a header but no data rows",
                                   extra={"code": "header_only"})
            if file_format == "csv":
                # A CSV syntax error ends the reader: found by the worker, it would fail the import after the
                # batches before it were stored. Read through here (row by row) so it is refused whole instead.
                for _ in source.rows:
                    pass
            elif file_format == "ndjson":
                _ensure_some_json_object(first, source.rows)
            return source.encoding
    except ImportFileError as exc:
        raise InvalidInput(exc.message, extra={"code": exc.code}) from None


def _ensure_some_json_object(first: SourceRow, rest: Iterator[SourceRow]) -> None:
    """InvalidInput `not_ndjson` when no line is a JSON object: not NDJSON at all (a CSV or a JSON array sent
    as NDJSON, a GBK file), which was accepted and "completed" with every line a row error."""
    if first.values is not None or any(row.values is not None for row in rest):
        return
    raise InvalidInput(
        f"没有一行是 JSON 对象（第 {first.number} 行：{first.error}）；NDJSON 须每行一个 JSON 对象，CSV 请用 "
        f"text/csv / no line is a JSON object (line {first.number}: {first.error}); NDJSON has one "
        "JSON object per line (send CSV as text/csv)", extra={"code": "not_ndjson"})


# ------------------------------------------------------------------------------------------------ storing


async def create_import(conn: asyncpg.Connection, pending: PendingWork, *, caller: Caller, kind: ImportKind,
                        file_format: FileFormat, filename: str | None, encoding: str | None,
                        upload: SpooledUpload, cipher: PersonalDataCipher) -> ImportAccepted:
    import_id = uuid.uuid4()
    # The encoding the precheck found is stored now: the status said null until the worker started (and for good
    # when the import then failed on its columns), after the 202 had named it.
    await repository.insert_import(conn, import_id=import_id, org_id=caller.org_id, api_key_id=caller.key_id,
                                   kind=kind, file_format=file_format, filename=_safe_filename(filename),
                                   encoding=encoding, byte_size=upload.size, sha256=upload.sha256)
    seq = 0
    with upload.path.open("rb") as handle:
        while True:
            data = await run_in_threadpool(handle.read, CHUNK_BYTES)
            if not data:
                break
            await repository.insert_chunks(conn, import_id, [(seq, encrypt_chunk(cipher, import_id, seq, data))])
            seq += 1
    await pending.record(conn, PROCESS_TOPIC, str(import_id))
    return ImportAccepted(import_id=import_id, status="queued", format=file_format, encoding=encoding,
                          byte_size=upload.size)


def _safe_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    # Only a label for the uploader: control characters (a NUL would make PostgreSQL refuse the whole upload)
    # are dropped, not refused.
    name = "".join(c for c in Path(filename.replace("\\", "/")).name if unicodedata.category(c) != "Cc").strip()
    # Brokers name files after the person (张三 510107199003070014.xlsx): the name is shown on every read of the
    # import and outlives the person's erasure, so an ID or mobile number in it is masked as in free text.
    return mask_numbers_in_free_text(name[:200]) or None


def _shown_filename(stored: str | None) -> str | None:
    # Masked again when shown: names stored before they were masked on upload.
    return mask_numbers_in_free_text(stored) if stored else stored


async def get_import(conn: asyncpg.Connection, caller: Caller, kind: ImportKind, import_id: UUID,
                     *, error_limit: int = DEFAULT_ERROR_LIMIT) -> ImportOut:
    row = await repository.get_import_of(conn, import_id=import_id, org_id=caller.org_id, kind=kind)
    if row is None:
        raise NotFound("没有这个导入任务 / no such import")
    errors = await repository.errors_of(conn, import_id, limit=error_limit)
    total_errors = await repository.error_count(conn, import_id)
    return ImportOut(
        import_id=row["id"], kind=row["kind"], status=row["status"], format=row["format"],
        encoding=row["encoding"], filename=_shown_filename(row["filename"]), detail=row["detail"], total=row["total"],
        created=row["created"], updated=row["updated"], unchanged=row["unchanged"], rejected=row["rejected"],
        errors=[ImportRowError(row=e["row_number"], field=e["field"], message=e["message"]) for e in errors],
        errors_total=total_errors, created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"])
