"""Pool connections ask the server to probe them (a vanished worker host must not hold its locks for hours)."""

from __future__ import annotations

from services.api.settings import ApiSettings
from services.db.pool import create_pool


async def test_the_server_probes_pool_connections_after_half_a_minute_of_silence(settings: ApiSettings) -> None:
    pool = await create_pool(str(settings.database_url), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            over_tcp = await conn.fetchval("SELECT inet_server_addr() IS NOT NULL")
            shown = [await conn.fetchval(f"SHOW {name}") for name in
                     ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")]
    finally:
        await pool.close()
    assert over_tcp  # the tests connect like a worker on another machine does; on a socket these read 0
    assert shown == ["30", "10", "3"]
