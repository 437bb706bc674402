"""A per-key counter in Redis with a fixed window: the first hit creates it with the window as its expiry,
later hits increment it (INCR keeps the expiry). Over the limit → RateLimited (429) with Retry-After.

If Redis cannot be reached the report is let through and the failure logged: losing a report from the field
is worse than a short gap in flood protection (the unique open-report index still de-duplicates).
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.api.problems import RateLimited

log = structlog.get_logger("bashu.reports")


async def check_rate(redis: Redis, name: str, *, limit: int, window_seconds: int) -> None:
    key = f"bashu:ratelimit:{name}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
        if ttl is None or int(ttl) < 0:  # a counter without expiry would block the key for ever
            await redis.expire(key, window_seconds)
            ttl = window_seconds
    except (RedisError, OSError) as exc:
        log.warning("reports.rate_limit_unavailable", error=type(exc).__name__)
        return
    if int(count) > limit:
        retry_after = max(1, int(ttl))
        raise RateLimited(
            f"举报过于频繁，请 {retry_after} 秒后再试 / too many reports from this key; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)}, extra={"retry_after": retry_after, "limit": limit})
