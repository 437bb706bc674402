"""The migration runner: idempotent, serialised under a lock, refuses edited history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from services.db.migrate import (
    MigrationDrift,
    SchemaBehind,
    apply_migrations,
    discover,
    pending_migrations,
    require_current_schema,
)
from services.db.pool import connect


async def test_applying_twice_changes_nothing(database_url: str, db: asyncpg.Connection) -> None:
    assert await apply_migrations(db) == []
    names = [m.name for m in discover()]
    applied = [r["name"] for r in await db.fetch("SELECT name FROM schema_migrations ORDER BY name")]
    assert applied == names


async def test_concurrent_runners_serialise(database_url: str, tmp_path: Path) -> None:
    # A slow migration makes overlap certain; without the lock both runners would try to create the table.
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(0.3); CREATE TABLE migrate_lock_probe (id int);")
    (tmp_path / "0002_more.sql").write_text("INSERT INTO migrate_lock_probe VALUES (1);")
    conns = [await connect(database_url) for _ in range(3)]
    try:
        for conn in conns:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS migrate_probe")
            await conn.execute("SET search_path TO migrate_probe")
        results = await asyncio.gather(*(apply_migrations(c, tmp_path) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, 2]
        assert await conns[0].fetchval("SELECT count(*) FROM migrate_lock_probe") == 1
    finally:
        await conns[0].execute("DROP SCHEMA migrate_probe CASCADE")
        for conn in conns:
            await conn.close()


async def test_edited_migration_is_refused_and_failed_one_leaves_nothing(database_url: str, tmp_path: Path) -> None:
    conn = await connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA migrate_drift; SET search_path TO migrate_drift")
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id int);")
        assert await apply_migrations(conn, tmp_path) == ["0001_a.sql"]
        (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (id int); SELECT no_such_function();")
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('migrate_drift.b')") is None
        (tmp_path / "0002_broken.sql").unlink()
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")
        with pytest.raises(MigrationDrift):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.execute("DROP SCHEMA migrate_drift CASCADE")
        await conn.close()


async def test_a_database_behind_the_code_is_named_with_the_fix(database_url: str, tmp_path: Path) -> None:
    conn = await connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA migrate_behind; SET search_path TO migrate_behind")
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id int);")
        # Never migrated: not even the bookkeeping table exists.
        with pytest.raises(SchemaBehind, match=r"1 migration\(s\) behind this code \(0001_a.sql\).*bashu db migrate"):
            await require_current_schema(conn, tmp_path)
        await apply_migrations(conn, tmp_path)
        await require_current_schema(conn, tmp_path)
        (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (id int);")
        assert await pending_migrations(conn, tmp_path) == ["0002_b.sql"]
        with pytest.raises(SchemaBehind, match=r"\(0002_b.sql\)"):
            await require_current_schema(conn, tmp_path)
        await apply_migrations(conn, tmp_path)
        # A newer release migrated first (a row this code has no file for) is not refused.
        (tmp_path / "0002_b.sql").unlink()
        await require_current_schema(conn, tmp_path)
    finally:
        await conn.execute("DROP SCHEMA migrate_behind CASCADE")
        await conn.close()
