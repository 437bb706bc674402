"""SQL for imports, their stored (encrypted) upload chunks, row errors and per-batch follow-up work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = """id, org_id, kind, format, filename, byte_size, encoding, status, detail, total, created, updated,
              unchanged, rejected, checkpoint_row, batches, created_at, started_at, finished_at, updated_at"""


async def insert_import(conn: asyncpg.Connection, *, import_id: UUID, org_id: UUID, api_key_id: UUID | None,
                        kind: str, file_format: str, filename: str | None, encoding: str | None, byte_size: int,
                        sha256: bytes) -> None:
    await conn.execute(
        """INSERT INTO imports (id, org_id, api_key_id, kind, format, filename, encoding, byte_size, sha256)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        import_id, org_id, api_key_id, kind, file_format, filename, encoding, byte_size, sha256)


async def insert_chunks(conn: asyncpg.Connection, import_id: UUID, chunks: Sequence[tuple[int, bytes]]) -> None:
    await conn.copy_records_to_table("import_chunks", columns=("import_id", "seq", "data"),
                                     records=[(import_id, seq, data) for seq, data in chunks])


async def chunk_seqs(conn: asyncpg.Connection, import_id: UUID) -> list[int]:
    rows = await conn.fetch("SELECT seq FROM import_chunks WHERE import_id = $1 ORDER BY seq", import_id)
    return [r["seq"] for r in rows]


async def chunk(conn: asyncpg.Connection, import_id: UUID, seq: int) -> bytes:
    data: bytes = await conn.fetchval("SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2",
                                      import_id, seq)
    return data


async def iter_chunks(conn: asyncpg.Connection, import_id: UUID) -> AsyncIterator[tuple[int, bytes]]:
    """One chunk in memory at a time."""
    for seq in await chunk_seqs(conn, import_id):
        yield seq, await chunk(conn, import_id, seq)


async def delete_chunks(conn: asyncpg.Connection, import_id: UUID) -> None:
    await conn.execute("DELETE FROM import_chunks WHERE import_id = $1", import_id)


async def get_import(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM imports WHERE id = $1", import_id)


async def get_import_of(conn: asyncpg.Connection, *, import_id: UUID, org_id: UUID, kind: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM imports WHERE id = $1 AND org_id = $2 AND kind = $3",
                               import_id, org_id, kind)


async def transaction_time(conn: asyncpg.Connection) -> datetime:
    """`now()`: the start of the current transaction, what its inserts and updates stamp `updated_at` with."""
    value: datetime = await conn.fetchval("SELECT now()")
    return value


async def lock_import(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM imports WHERE id = $1 FOR UPDATE", import_id)


async def errors_of(conn: asyncpg.Connection, import_id: UUID, *, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT row_number, field, message FROM import_errors WHERE import_id = $1
           ORDER BY row_number, id LIMIT $2""", import_id, limit)
    return rows


async def error_count(conn: asyncpg.Connection, import_id: UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM import_errors WHERE import_id = $1", import_id)
    return count


async def insert_errors(conn: asyncpg.Connection, import_id: UUID,
                        errors: Sequence[tuple[int, str | None, str]]) -> None:
    if errors:
        await conn.copy_records_to_table(
            "import_errors", columns=("import_id", "row_number", "field", "message"),
            records=[(import_id, row, field, message) for row, field, message in errors])


async def mark_started(conn: asyncpg.Connection, import_id: UUID, encoding: str | None) -> None:
    await conn.execute(
        """UPDATE imports SET status = 'processing', encoding = coalesce($2, encoding),
                  started_at = coalesce(started_at, now()), updated_at = now()
            WHERE id = $1 AND status IN ('queued', 'processing')""", import_id, encoding)


async def commit_batch(conn: asyncpg.Connection, import_id: UUID, *, checkpoint_row: int,
                       counts: dict[str, int]) -> None:
    await conn.execute(
        """UPDATE imports SET checkpoint_row = $2, total = total + $3, created = created + $4,
                  updated = updated + $5, unchanged = unchanged + $6, rejected = rejected + $7,
                  batches = batches + 1, updated_at = now()
            WHERE id = $1""",
        import_id, checkpoint_row, counts["total"], counts["created"], counts["updated"], counts["unchanged"],
        counts["rejected"])


async def finish(conn: asyncpg.Connection, import_id: UUID, *, status: str, detail: str | None) -> None:
    await conn.execute(
        """UPDATE imports SET status = $2, detail = $3, finished_at = now(), updated_at = now()
            WHERE id = $1""", import_id, status, detail)


async def insert_batch_entities(conn: asyncpg.Connection, import_id: UUID, batch_no: int,
                                by_topic: dict[str, list[str]]) -> None:
    await conn.executemany(
        """INSERT INTO import_batches (import_id, batch_no, topic, entity_ids) VALUES ($1, $2, $3, $4)
           ON CONFLICT (import_id, batch_no, topic) DO UPDATE SET entity_ids = excluded.entity_ids""",
        [(import_id, batch_no, topic, ids) for topic, ids in by_topic.items()])


async def batch_entities(conn: asyncpg.Connection, import_id: UUID, batch_no: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT topic, entity_ids FROM import_batches WHERE import_id = $1 AND batch_no = $2 ORDER BY topic",
        import_id, batch_no)
    return rows


async def batches_from(conn: asyncpg.Connection, import_id: UUID, first_batch: int) -> list[int]:
    """Numbers of the import's batches that recorded follow-up work, from `first_batch` on."""
    rows = await conn.fetch(
        """SELECT DISTINCT batch_no FROM import_batches WHERE import_id = $1 AND batch_no >= $2
            ORDER BY batch_no""", import_id, first_batch)
    return [r["batch_no"] for r in rows]


async def undone_batch_follow_ups(conn: asyncpg.Connection, import_id: UUID, topic: str) -> int:
    """The import's `import.batch` outbox rows not done yet (the partial index of undone rows keeps it small)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE done_at IS NULL AND topic = $1 AND entity_id LIKE $2",
        topic, f"{import_id}:%")
    return count


def as_dict(row: asyncpg.Record) -> dict[str, Any]:
    return dict(row.items())


async def owner_and_key(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    """The uploading organisation's role and standing, and the API key the upload came with."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT o.id, o.type, o.province, o.licence_valid_until, o.kiosk_adcode, i.api_key_id
             FROM imports i JOIN organisations o ON o.id = i.org_id
            WHERE i.id = $1""", import_id)
    return row


# One worker at a time per import: a session advisory lock on (namespace, import id). The namespace must not
# change between releases (a running old worker and a new one must exclude each other).
_LOCK_NAMESPACE = 7_236_118


async def try_lock(conn: asyncpg.Connection, import_id: UUID) -> bool:
    locked: bool = await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", _LOCK_NAMESPACE,
                                       str(import_id))
    return locked


async def unlock(conn: asyncpg.Connection, import_id: UUID) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK_NAMESPACE, str(import_id))
