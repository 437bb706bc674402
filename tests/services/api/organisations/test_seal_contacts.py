"""Organisations stored before migration 0010 (contact person in clear) are sealed, and sealing twice is harmless."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import structlog
from typer.testing import CliRunner

from services.api.organisations import service
from services.api.organisations.seal_contacts import seal_clear_contacts
from services.api.settings import ApiSettings
from services.api.worker_profiles.service import personal_data_cipher
from services.cli import app
from services.db.migrate import MIGRATIONS_DIR, apply_migrations
from services.db.pool import connect
from tests.conftest import SERVER_DSN, _with_database

LEGACY = [
    ("enterprise", "老企业甲", {"name": "向经理", "phone": "13800001111", "address": "重庆市云阳县"}),
    ("broker", "老经纪乙", {"name": "蒲经理", "email": "pu@example.cn"}),
    ("enterprise", "老企业丙", {"address": "四川省南充市"}),
    ("kiosk", "老终端丁", {}),
]


@pytest.fixture
async def legacy_db(tmp_path: Path) -> AsyncIterator[asyncpg.Connection]:
    """A database migrated up to 0009 holding organisations written the old way, then migrated to the end."""
    name = f"bashu_legacy_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_with_database(SERVER_DSN, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await connect(_with_database(SERVER_DSN, name))
    try:
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if path.name < "0010":
                shutil.copy(path, tmp_path / path.name)
        await apply_migrations(conn, tmp_path)
        for org_type, org_name, contact in LEGACY:
            await conn.execute(
                """INSERT INTO organisations (id, type, name, contact, licence_number, licence_issuer_province,
                                              licence_valid_until)
                   VALUES (gen_random_uuid(), $1, $2, $3, 'L-1', 'CQ', '2099-12-31')""",
                org_type, org_name, contact)
        assert "0010_organisation_contact_encrypted.sql" in await apply_migrations(conn)
        yield conn
    finally:
        await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_sealing_old_rows_once_and_again(legacy_db: asyncpg.Connection, settings: ApiSettings) -> None:
    cipher = personal_data_cipher(settings, {})
    with structlog.testing.capture_logs() as logs:
        assert await seal_clear_contacts(legacy_db, cipher, batch=1) == 2  # batches smaller than the work
    assert await seal_clear_contacts(legacy_db, cipher) == 0
    assert logs == [{"event": "organisations.contacts_sealed", "rows": 2, "log_level": "info"}]

    rows = {r["name"]: r for r in await legacy_db.fetch("SELECT id, name, contact, contact_enc, "
                                                        "organisations::text AS everything FROM organisations")}
    for value in ("向经理", "13800001111", "蒲经理", "pu@example.cn"):
        assert all(value not in r["everything"] for r in rows.values())
    assert rows["老企业甲"]["contact"] == {"address": "重庆市云阳县"}
    assert rows["老经纪乙"]["contact"] == {}
    assert rows["老企业丙"]["contact"] == {"address": "四川省南充市"}
    assert rows["老企业丙"]["contact_enc"] is None
    assert rows["老终端丁"]["contact_enc"] is None
    # Nothing was lost: the person's fields open again with the keyring, under the right organisation only.
    assert await service.contact_phone(legacy_db, rows["老企业甲"]["id"], cipher) == "13800001111"
    assert await service.contact_phone(legacy_db, rows["老经纪乙"]["id"], cipher) is None
    # Every row now passes the constraint, which can be validated.
    await legacy_db.execute(
        "ALTER TABLE organisations VALIDATE CONSTRAINT organisations_contact_without_personal_fields")


async def test_the_deploy_migrate_command_seals_them(legacy_db: asyncpg.Connection, settings: ApiSettings) -> None:
    """`bashu db migrate` is what a deploy runs: it seals the rows SQL could not encrypt, then nothing more."""
    name = await legacy_db.fetchval("SELECT current_database()")
    env = {"DATABASE_URL": _with_database(SERVER_DSN, name)}
    first = await asyncio.to_thread(CliRunner().invoke, app, ["db", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "sealed 2 organisation contact(s)" in first.output
    assert "13800001111" not in first.output
    again = await asyncio.to_thread(CliRunner().invoke, app, ["db", "migrate"], env=env)
    assert again.exit_code == 0, again.output
    assert "sealed" not in again.output
    assert await legacy_db.fetchval(
        "SELECT count(*) FROM organisations WHERE contact ?| array['name', 'phone', 'email']") == 0
