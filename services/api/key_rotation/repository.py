"""SQL of the key rotation: page through one sealed column's blobs that the active key did not write, and swap
them for new ones only where the row still holds the blob that was read (a concurrent update or erasure wins).

Table and column names come from the fixed list in `service.SEALED_COLUMNS`, never from input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A bytea column of `PersonalDataCipher` blobs, and its table's primary key as (column, SQL type) pairs."""

    table: str
    column: str
    key: tuple[tuple[str, str], ...]
    # Rows per page at most, whatever the caller asks: a page holds its old and new blobs in memory at once.
    max_page: int = 10_000

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.key)


# The blob's header is version (1 byte), key-id length (1 byte), key id: compare the key id inside PostgreSQL,
# so only the rows to rewrite cross the wire.
def _key_id_sql(column: str) -> str:
    return f"substring({column} FROM 3 FOR get_byte({column}, 1))"


async def stale_blobs(conn: asyncpg.Connection, sealed: SealedColumn, *, active_key_id: str,
                      after: Sequence[Any] | None, limit: int) -> list[asyncpg.Record]:
    """The next `limit` rows (in key order, after `after`) whose blob was written under another key."""
    keys = ", ".join(sealed.key_names)
    args: list[Any] = [active_key_id.encode("ascii")]
    page = ""
    if after is not None:
        placeholders = ", ".join(f"${n}" for n in range(2, 2 + len(after)))
        page = f"AND ({keys}) > ({placeholders})"
        args.extend(after)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {keys}, {sealed.column} AS blob FROM {sealed.table}
             WHERE {sealed.column} IS NOT NULL AND {_key_id_sql(sealed.column)} <> $1 {page}
             ORDER BY {keys} LIMIT {int(limit)}""",
        *args)
    return rows


async def count_stale(conn: asyncpg.Connection, sealed: SealedColumn, *, active_key_id: str) -> int:
    count: int = await conn.fetchval(
        f"""SELECT count(*) FROM {sealed.table}
             WHERE {sealed.column} IS NOT NULL AND {_key_id_sql(sealed.column)} <> $1""",
        active_key_id.encode("ascii"))
    return count


async def replace_blobs(conn: asyncpg.Connection, sealed: SealedColumn,
                        swaps: Sequence[tuple[Sequence[Any], bytes, bytes]]) -> int:
    """Write each (key, old blob, new blob) where the row still holds the old blob; returns rows written."""
    if not swaps:
        return 0
    n_keys = len(sealed.key)
    arrays = [f"${i + 1}::{sql_type}[]" for i, (_, sql_type) in enumerate(sealed.key)]
    arrays += [f"${n_keys + 1}::bytea[]", f"${n_keys + 2}::bytea[]"]
    key_aliases = [f"k{i}" for i in range(n_keys)]
    join = " AND ".join(f"t.{name} = v.{alias}" for name, alias in zip(sealed.key_names, key_aliases, strict=True))
    columns: list[list[Any]] = [[key[i] for key, _, _ in swaps] for i in range(n_keys)]
    written = await conn.fetch(
        f"""UPDATE {sealed.table} AS t SET {sealed.column} = v.new
              FROM unnest({", ".join(arrays)}) AS v({", ".join(key_aliases)}, old, new)
             WHERE {join} AND t.{sealed.column} = v.old
         RETURNING 1""",
        *columns, [old for _, old, _ in swaps], [new for _, _, new in swaps])
    return len(written)
