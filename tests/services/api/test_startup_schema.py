"""The API and the worker refuse to start on a database their migrations have not reached, saying how to fix it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from pydantic import PostgresDsn

from services.api.app import create_app
from services.api.settings import ApiSettings
from services.db.migrate import SchemaBehind
from workers.settings import WorkerSettings
from workers.worker_settings import build_worker_settings


@pytest.fixture
async def unmigrated_settings(settings: ApiSettings, db: asyncpg.Connection) -> AsyncIterator[ApiSettings]:
    # An empty schema first on the search path looks like a database nobody migrated (asyncpg passes unknown
    # DSN parameters on as server settings).
    await db.execute("CREATE SCHEMA IF NOT EXISTS startup_unmigrated")
    try:
        yield settings.model_copy(
            update={"database_url": PostgresDsn(f"{settings.database_url}?search_path=startup_unmigrated")})
    finally:
        await db.execute("DROP SCHEMA startup_unmigrated CASCADE")


async def test_api_refuses_a_database_behind_the_code(unmigrated_settings: ApiSettings) -> None:
    with pytest.raises(SchemaBehind, match="bashu db migrate"):
        async with LifespanManager(create_app(unmigrated_settings)):
            pass


async def test_worker_refuses_a_database_behind_the_code(unmigrated_settings: ApiSettings) -> None:
    worker = build_worker_settings(WorkerSettings(**unmigrated_settings.model_dump()))
    ctx: dict[str, Any] = {}
    with pytest.raises(SchemaBehind, match="bashu db migrate"):
        await worker["on_startup"](ctx)
    assert "resources" not in ctx


async def test_api_starts_on_a_migrated_database(settings: ApiSettings, db: asyncpg.Connection) -> None:
    async with LifespanManager(create_app(settings)) as manager:
        assert manager.app is not None
