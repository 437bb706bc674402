"""asyncpg pool construction shared by every deployable, so codecs are set up the same everywhere."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from services.db.migrate import require_current_schema


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects; orjson because imports encode large documents.
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="text",
                              encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads)
    await conn.set_type_codec("json", schema="pg_catalog", format="text",
                              encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads)


# Asks the server to probe each TCP connection after 30 s of silence (then every 10 s, 3 times). A worker whose
# machine vanishes (no FIN: a lost VM, a network partition) otherwise keeps its open transaction's row locks
# and its session advisory locks (one per running import) until the kernel's default keepalive gives up, about
# two hours; with these the server ends the session in about a minute and the reconciler's hand-over can
# proceed. Any role may set them per session; on a Unix socket the server ignores them.
SERVER_KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection,
                                     command_timeout=60, server_settings=SERVER_KEEPALIVES, **kwargs)
    assert pool is not None
    return pool


async def create_serving_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    """The pool of a serving process (API, worker): refused, with the command that fixes it, when the database
    is behind the code's migrations (require_current_schema), and then closed rather than leaked."""
    pool = await create_pool(dsn, min_size=min_size, max_size=max_size)
    try:
        async with pool.acquire() as conn:
            await require_current_schema(conn)
    except BaseException:
        await pool.close()
        raise
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn
