"""SQL for readiness: the cheapest statement PostgreSQL must answer."""

from __future__ import annotations

import asyncpg


async def ping(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")
