"""Shared fixtures: real PostgreSQL, Redis and Meilisearch, each test isolated.

- PostgreSQL: one fresh database per test session (migrated by the real runner), emptied after each test.
- Meilisearch: a unique index prefix per test; its indexes are deleted afterwards.
- Redis: a unique arq queue name per test.
The servers come from DATABASE_URL / REDIS_URL / MEILI_URL / MEILI_MASTER_KEY (`make test` exports them).
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.app import create_app
from services.api.china_calendar import china_today
from services.api.redis_connection import create_arq_redis
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings, load_api_settings
from services.db.migrate import apply_migrations
from services.db.pool import connect

# Property tests (tests/**/test_*_properties.py) run the same examples on every run and machine, so a failure in CI
# is one anyone reproduces, and write no example database into the work tree. No deadline: two shared cores make
# timings noise. The example count keeps all of them together within seconds.
hypothesis_settings.register_profile("bashu", derandomize=True, database=None, deadline=None, max_examples=200)
hypothesis_settings.load_profile("bashu")

SERVER_DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
MEILI_URL = os.environ.get("MEILI_URL", "http://127.0.0.1:7700")
MEILI_MASTER_KEY = os.environ.get("MEILI_MASTER_KEY", "")


def start_date_in(days: int) -> str:
    """A posting's start date `days` from today in China, ISO. Postings made through the API take it rather than a
    fixed date, which ages into the past: a new posting's start may lie at most 90 days back
    (services/api/plausible_dates.py)."""
    return (china_today() + timedelta(days=days)).isoformat()


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"bashu_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_with_database(SERVER_DSN, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = _with_database(SERVER_DSN, name)
    conn = await connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield dsn
    admin = await asyncpg.connect(_with_database(SERVER_DSN, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _truncate_all(conn: asyncpg.Connection) -> None:
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")
    if tables:
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database; every table is emptied after the test."""
    conn = await connect(database_url)
    try:
        yield conn
    finally:
        await _truncate_all(conn)
        await conn.close()


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def index_prefix() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def meili_cleanup(index_prefix: str) -> AsyncIterator[None]:
    yield
    client = create_search_client(MEILI_URL, MEILI_MASTER_KEY)
    try:
        for index in await client.get_indexes() or []:
            if index.uid.startswith(index_prefix):
                await client.index(index.uid).delete()
    finally:
        await client.aclose()


@pytest.fixture
def settings(database_url: str, index_prefix: str, meili_cleanup: None) -> ApiSettings:
    return load_api_settings(
        environment="test",
        database_url=database_url,
        database_pool_min=1,
        database_pool_max=5,
        redis_url=REDIS_URL,
        arq_queue_name=f"bashu:test:{uuid.uuid4().hex[:12]}",
        meili_url=MEILI_URL,
        meili_master_key=MEILI_MASTER_KEY,
        meili_index_prefix=index_prefix,
        pii_keyring=f"k1:{_random_key()}",
        pii_active_key_id="k1",
        pii_blind_index_key=_random_key(),
        cursor_secret=secrets.token_hex(16),
        log_json=False,
    )


def _state_per_request(app: ASGIApp) -> ASGIApp:
    """Each request gets its own shallow copy of the lifespan state, as the ASGI spec and uvicorn give it:
    asgi-lifespan hands every request the one dict, so requests in flight together shared `request.state`
    (their transaction's connection, caller and request id) and borrowed each other's connections."""

    async def app_with_own_state(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and "state" in scope:
            scope["state"] = dict(scope["state"])
        await app(scope, receive, send)

    return app_with_own_state


@pytest.fixture
async def redis(settings: ApiSettings) -> AsyncIterator[ArqRedis]:
    """An arq connection on this test's own queue (removed afterwards)."""
    client = create_arq_redis(str(settings.redis_url), queue_name=settings.arq_queue_name)
    try:
        yield client
    finally:
        await client.delete(settings.arq_queue_name)
        await client.aclose(close_connection_pool=True)


@pytest.fixture
async def app(settings: ApiSettings, db: asyncpg.Connection) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    # asgi-lifespan's default of 5 s to start: the app opens its pool, Redis, Meilisearch and the catalogue
    # runtime, which took longer than that once on a machine at load 5 (two suites and a stack at once).
    async with LifespanManager(_state_per_request(application), startup_timeout=30) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@dataclass(frozen=True)
class OrgKey:
    org_id: str
    api_key: str
    type: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture
async def admin(db: asyncpg.Connection) -> OrgKey:
    from services.api.organisations.schemas import OrgCreate
    from services.api.organisations.service import create_org

    async with db.transaction():
        created = await create_org(db, OrgCreate(type="admin", name="测试管理员"))
    return OrgKey(org_id=str(created.org.id), api_key=created.api_key, type="admin")


MakeOrg = Callable[..., Awaitable[OrgKey]]

# A licence in force for the whole session (a licence may run at most 10 years ahead, plausible_dates.py).
LICENCE_VALID_UNTIL = start_date_in(5 * 365)

DEFAULT_ORG_FIELDS: dict[str, dict[str, Any]] = {
    "broker": {"licence": {"number": "渝人服证字〔2024〕第0001号", "issuer_province": "CQ",
                           "valid_until": LICENCE_VALID_UNTIL}},
    "authority": {"province": "CQ"},
    "kiosk": {"kiosk_adcode": "500107"},
}


@pytest.fixture
def make_org(client: httpx.AsyncClient, admin: OrgKey) -> MakeOrg:
    async def make(org_type: str, **fields: Any) -> OrgKey:
        body = {"type": org_type, "name": f"{org_type}-{uuid.uuid4().hex[:6]}",
                **DEFAULT_ORG_FIELDS.get(org_type, {}), **fields}
        response = await client.post("/v1/orgs", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        data = response.json()
        return OrgKey(org_id=data["org"]["id"], api_key=data["api_key"], type=org_type)

    return make


# The two sides most API tests need, each an organisation of its own (a module needing other fields defines its own).
@pytest.fixture
async def broker(make_org: MakeOrg) -> OrgKey:
    return await make_org("broker")


@pytest.fixture
async def enterprise(make_org: MakeOrg) -> OrgKey:
    return await make_org("enterprise")
