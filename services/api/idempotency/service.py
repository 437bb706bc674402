"""Replaying the first response for a repeated `Idempotency-Key`.

The record is written in the request's own transaction, so it exists exactly when the created object does.
Two concurrent requests with one key: the second waits on the primary key and then fails with a conflict
(never a second object); a retry after that replays the first response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.api.idempotency import repository
from services.api.problems import Conflict, InvalidInput


def _idempotency_key(
    key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        description="Same key and body within 24 h returns the first response instead of creating twice.")] = None,
) -> str | None:
    return key


IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]


def request_fingerprint(method: str, path: str, body: BaseModel | bytes | None) -> bytes:
    if isinstance(body, BaseModel):
        payload = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    else:
        payload = body or b""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + payload).digest()


async def run_idempotent(
    conn: asyncpg.Connection, *, org_id: UUID, key: str | None, method: str, path: str,
    fingerprint: bytes, ttl_hours: int, status_code: int, create: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    if key is not None:
        if not key.strip():
            raise InvalidInput("Idempotency-Key must not be blank")
        previous = await repository.find(conn, org_id=org_id, key=key, ttl_hours=ttl_hours)
        if previous is not None:
            if previous["request_hash"] != fingerprint or previous["path"] != path:
                raise Conflict("此 Idempotency-Key 已用于另一个请求 / Idempotency-Key was used for a different request")
            return JSONResponse(previous["response_body"], status_code=previous["status_code"],
                                headers={"Idempotent-Replayed": "true"})
    result = await create()
    body: Any = result.model_dump(mode="json")
    if key is not None:
        try:
            async with conn.transaction():  # savepoint: a race loser gets a clean 409, not an aborted txn
                await repository.insert(conn, org_id=org_id, key=key, method=method, path=path,
                                        request_hash=fingerprint, status_code=status_code, response_body=body)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "同一 Idempotency-Key 的请求正在处理 / a request with this key was just processed; retry"
            ) from None
    return JSONResponse(body, status_code=status_code)
