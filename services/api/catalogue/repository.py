"""SQL for catalogue versions, entries, approvals and the change log. Rows ↔ matching.catalogue values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from matching.catalogue import CatalogueEntry, WageBand

_VERSION_COLUMNS = """v.version, v.status, v.based_on, v.created_by, v.created_at, v.updated_at, v.published_at,
    v.published_by, v.retired_at, v.discarded_at, v.discarded_by, v.note,
    (SELECT count(*) FROM catalogue_entries e WHERE e.version = v.version) AS entry_count,
    coalesce((SELECT jsonb_agg(jsonb_build_object('province', a.province, 'authority_org', a.authority_org,
                                                  'approved_at', a.approved_at) ORDER BY a.province)
                FROM catalogue_approvals a WHERE a.version = v.version), '[]'::jsonb) AS approvals"""

_ENTRY_COLUMNS = """occupation_code, name, aliases, industry, shortage_level, regions, wage_min, wage_max, wage_unit,
    skills, certificates, side, notes, source, replaced_by"""


def entry_from_row(row: asyncpg.Record) -> CatalogueEntry:
    band = None
    if row["wage_unit"] is not None:
        band = WageBand(float(row["wage_min"]), float(row["wage_max"]), row["wage_unit"])
    return CatalogueEntry(
        occupation_code=row["occupation_code"], name=row["name"], aliases=tuple(row["aliases"]),
        industry=row["industry"], shortage_level=int(row["shortage_level"]), regions=tuple(row["regions"]),
        wage_band=band, skills=tuple(row["skills"]), certificates=tuple(row["certificates"]), side=row["side"],
        notes=row["notes"], source=row["source"], replaced_by=row["replaced_by"],
    )


def _entry_values(entry: CatalogueEntry) -> tuple[Any, ...]:
    band = entry.wage_band
    return (
        entry.occupation_code, entry.name, list(entry.aliases), entry.industry, entry.shortage_level,
        list(entry.regions), band.min if band else None, band.max if band else None, band.unit if band else None,
        list(entry.skills), list(entry.certificates), entry.side, entry.notes, entry.source, entry.replaced_by,
    )


# ----- versions -----

_PUBLISH_LOCK_KEY = 7_236_118_400_003  # pg advisory lock: one publication at a time


async def lock_publishing(conn: asyncpg.Connection) -> None:
    """Serialise publications (approval workflow and operator loads) until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _PUBLISH_LOCK_KEY)


async def ever_published(conn: asyncpg.Connection) -> bool:
    """Whether any version was ever published (a retired version once was)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM catalogue_versions WHERE status IN ('published', 'retired'))")
    return found


async def published_version(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The current published version's number and publication time (cheap: a partial unique index)."""
    return await conn.fetchrow(
        "SELECT version, published_at FROM catalogue_versions WHERE status = 'published'")


async def get_version(conn: asyncpg.Connection, version: int, *, lock: bool = False) -> asyncpg.Record | None:
    if lock:
        # Serialises every edit, approval and publication of one version.
        await conn.execute("SELECT 1 FROM catalogue_versions WHERE version = $1 FOR UPDATE", version)
    return await conn.fetchrow(f"SELECT {_VERSION_COLUMNS} FROM catalogue_versions v WHERE v.version = $1", version)


async def list_versions(conn: asyncpg.Connection, *, include_drafts: bool, before: int | None,
                        limit: int) -> list[asyncpg.Record]:
    """Newest first; `before` is the keyset cursor (a version number)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_VERSION_COLUMNS} FROM catalogue_versions v
             WHERE ($1 OR v.status IN ('published', 'retired')) AND ($2::int IS NULL OR v.version < $2)
             ORDER BY v.version DESC LIMIT $3""",
        include_drafts, before, limit)
    return rows


async def insert_version(conn: asyncpg.Connection, *, based_on: int | None, created_by: UUID | None,
                         note: str = "") -> int:
    version: int = await conn.fetchval(
        "INSERT INTO catalogue_versions (based_on, created_by, note) VALUES ($1, $2, $3) RETURNING version",
        based_on, created_by, note)
    return version


async def set_status(conn: asyncpg.Connection, version: int, status: str) -> None:
    await conn.execute("UPDATE catalogue_versions SET status = $2, updated_at = now() WHERE version = $1",
                       version, status)


async def discard(conn: asyncpg.Connection, version: int, *, by: UUID | None) -> None:
    await conn.execute(
        """UPDATE catalogue_versions SET status = 'discarded', discarded_at = now(), discarded_by = $2,
                  updated_at = now()
            WHERE version = $1""", version, by)


async def touch(conn: asyncpg.Connection, version: int) -> None:
    await conn.execute("UPDATE catalogue_versions SET updated_at = now() WHERE version = $1", version)


async def publish(conn: asyncpg.Connection, version: int, *, by: UUID | None) -> asyncpg.Record:
    """Retire the published version (if any) and publish `version`; returns (version, published_at)."""
    await conn.execute(
        """UPDATE catalogue_versions SET status = 'retired', retired_at = now(), updated_at = now()
            WHERE status = 'published'""")
    row = await conn.fetchrow(
        """UPDATE catalogue_versions SET status = 'published', published_at = now(), published_by = $2,
                  updated_at = now()
            WHERE version = $1 RETURNING version, published_at""",
        version, by)
    assert row is not None
    return row


# ----- search side (workers/catalogue_tasks.py) -----

_SEARCH_APPLY_LOCK_KEY = 7_236_118_400_004  # pg advisory lock: one application of the search side at a time


async def lock_search_applying(conn: asyncpg.Connection) -> None:
    """Wait for, then hold, the session lock under which a worker applies a publication to search (settings
    and re-index). Held across Meilisearch calls, so a session lock outside any transaction (no idle
    transaction); released by unlock_search_applying, or when the connection closes or returns to the pool."""
    await conn.execute("SELECT pg_advisory_lock($1)", _SEARCH_APPLY_LOCK_KEY)


async def unlock_search_applying(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _SEARCH_APPLY_LOCK_KEY)


async def search_applied_version(conn: asyncpg.Connection) -> int | None:
    """The last version whose search side was applied; None when none was (a fresh database)."""
    version: int | None = await conn.fetchval("SELECT version FROM catalogue_search_applied")
    return version


async def set_search_applied_version(conn: asyncpg.Connection, version: int) -> None:
    await conn.execute(
        """INSERT INTO catalogue_search_applied (version) VALUES ($1)
           ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version, applied_at = now()""", version)


async def lineage(conn: asyncpg.Connection, version: int, *, stop_at: int | None) -> list[int]:
    """`version`, the version it was based on, and so on back to `stop_at` (included) or the first version:
    newest first. Every publication is based on the version published before it, so this is the run of
    publications between `stop_at` and `version`."""
    rows = await conn.fetch(
        """WITH RECURSIVE chain (version, based_on, depth) AS (
               SELECT version, based_on, 0 FROM catalogue_versions WHERE version = $1
               UNION ALL
               SELECT v.version, v.based_on, c.depth + 1
                 FROM catalogue_versions v JOIN chain c ON v.version = c.based_on
                WHERE c.version IS DISTINCT FROM $2::int)
           SELECT version FROM chain ORDER BY depth""",
        version, stop_at)
    return [r["version"] for r in rows]


# ----- entries -----

async def entries(conn: asyncpg.Connection, version: int) -> list[CatalogueEntry]:
    rows = await conn.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM catalogue_entries WHERE version = $1 ORDER BY position, occupation_code",
        version)
    return [entry_from_row(r) for r in rows]


async def codes(conn: asyncpg.Connection, version: int) -> set[str]:
    rows = await conn.fetch("SELECT occupation_code FROM catalogue_entries WHERE version = $1", version)
    return {r["occupation_code"] for r in rows}


async def insert_entries(conn: asyncpg.Connection, version: int, items: Sequence[CatalogueEntry], *,
                         by: UUID | None, first_position: int = 0) -> None:
    await conn.executemany(
        f"""INSERT INTO catalogue_entries (version, position, updated_by, {_ENTRY_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)""",
        [(version, first_position + i, by, *_entry_values(e)) for i, e in enumerate(items)])


async def copy_entries(conn: asyncpg.Connection, source: int, target: int) -> None:
    await conn.execute(
        f"""INSERT INTO catalogue_entries (version, position, updated_by, updated_at, {_ENTRY_COLUMNS})
            SELECT $2, position, updated_by, updated_at, {_ENTRY_COLUMNS}
              FROM catalogue_entries WHERE version = $1""",
        source, target)


async def upsert_entry(conn: asyncpg.Connection, version: int, entry: CatalogueEntry, *, by: UUID | None) -> bool:
    """Insert or replace one entry (a new code goes last); True when it was new."""
    inserted = await conn.fetchval(
        f"""INSERT INTO catalogue_entries (version, position, updated_by, {_ENTRY_COLUMNS})
            VALUES ($1, (SELECT coalesce(max(position), -1) + 1 FROM catalogue_entries WHERE version = $1), $2,
                    $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            ON CONFLICT (version, occupation_code) DO UPDATE SET
                name = EXCLUDED.name, aliases = EXCLUDED.aliases, industry = EXCLUDED.industry,
                shortage_level = EXCLUDED.shortage_level, regions = EXCLUDED.regions,
                wage_min = EXCLUDED.wage_min, wage_max = EXCLUDED.wage_max, wage_unit = EXCLUDED.wage_unit,
                skills = EXCLUDED.skills, certificates = EXCLUDED.certificates, side = EXCLUDED.side,
                notes = EXCLUDED.notes, source = EXCLUDED.source, replaced_by = EXCLUDED.replaced_by,
                updated_by = EXCLUDED.updated_by, updated_at = now()
            RETURNING (xmax = 0)""",
        version, by, *_entry_values(entry))
    return bool(inserted)


async def delete_entry(conn: asyncpg.Connection, version: int, code: str) -> bool:
    status: str = await conn.execute("DELETE FROM catalogue_entries WHERE version = $1 AND occupation_code = $2",
                                version, code)
    return status != "DELETE 0"


async def delete_all_entries(conn: asyncpg.Connection, version: int) -> None:
    await conn.execute("DELETE FROM catalogue_entries WHERE version = $1", version)


# ----- approvals -----

async def add_approval(conn: asyncpg.Connection, version: int, *, province: str, org_id: UUID) -> None:
    await conn.execute("INSERT INTO catalogue_approvals (version, province, authority_org) VALUES ($1, $2, $3)",
                       version, province, org_id)


async def clear_approvals(conn: asyncpg.Connection, version: int) -> list[str]:
    rows = await conn.fetch("DELETE FROM catalogue_approvals WHERE version = $1 RETURNING province", version)
    return sorted(r["province"] for r in rows)


# ----- change log -----

async def record_change(conn: asyncpg.Connection, version: int, action: str, *, org_id: UUID | None,
                        api_key_id: UUID | None, occupation_code: str | None = None,
                        detail: dict[str, Any] | None = None) -> None:
    await conn.execute(
        """INSERT INTO catalogue_changes (version, org_id, api_key_id, action, occupation_code, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        version, org_id, api_key_id, action, occupation_code, detail or {})


async def list_changes(conn: asyncpg.Connection, version: int, *, after: int | None,
                       limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, version, org_id, action, occupation_code, detail, at FROM catalogue_changes
            WHERE version = $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3""",
        version, after, limit)
    return rows
