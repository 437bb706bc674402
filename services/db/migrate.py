"""Forward-only migrations: plain SQL files in `migrations/`, applied in name order under an advisory lock.

The same runner is used by `bashu db migrate`, the dev stack and the test suite. Each file runs in its own
transaction together with its bookkeeping row, so a failed file leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every runner of this schema.
_LOCK_KEY = 7_236_118_400_001


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationDrift(RuntimeError):
    """An applied migration's file was edited afterwards: migrations are forward-only."""


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs: `bashu db migrate` has not run against it yet."""


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration(p.name, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.sql"))]


async def apply_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is missing; return the names applied. Concurrent callers serialise on the lock."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        done: list[str] = []
        for migration in discover(directory):
            if migration.name in applied:
                if applied[migration.name] != migration.checksum:
                    raise MigrationDrift(f"{migration.name} changed after it was applied; add a new migration")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                                   migration.name, migration.checksum)
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def pending_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The names of this code's migrations the database has not applied (read-only, no lock)."""
    known = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")} if known else set()
    return [m.name for m in discover(directory) if m.name not in applied]


async def require_current_schema(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> None:
    """Refuse to serve on a database behind the code, with the command that fixes it, instead of the first
    query's `UndefinedTableError` traceback. Migrations stay a deploy step of their own (`bashu db migrate`),
    so a database ahead of this code (a newer release migrated first) is fine."""
    missing = await pending_migrations(conn, directory)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise SchemaBehind(f"the database is {len(missing)} migration(s) behind this code ({shown}): "
                           "run `uv run bashu db migrate` against it first")
