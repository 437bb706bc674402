"""Replaying the first response for a repeated `Idempotency-Key`.

The record is written in the request's own transaction, so it exists exactly when the created object does.
Two concurrent requests with one key: the second waits for the first's transaction (an advisory lock on the
organisation and key) and then replays its response, or gets the 409 for another body; without the wait both
created, and the loser was answered by its own create's refusal (a duplicate person, a live placement for the
pair) or a 409 asking it to retry, never the first response the contract promises.

A response that carries a secret shown only once (a new API key) names it in `sealed_fields`: the stored copy
holds it encrypted (bound to the organisation, key and field) and the replay decrypts it, so the idempotency
table never holds a usable credential in clear.

The stored body is json, not jsonb (migration 0019): it keeps the first answer's field order, so a replay,
unsealed in place and serialised as the first answer was, is the same bytes.
"""

from __future__ import annotations

import base64
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
from services.api.problems import Conflict, FieldError, InvalidInput
from services.privacy.cipher import PersonalDataCipher

_SEALED = "sealed"


def _idempotency_key(
    key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        # Documented only: a blank key is refused by run_idempotent with its own message, which pydantic's pattern
        # error would replace. Without it the document allowed "" and " ", which the API answers with 422.
        json_schema_extra={"pattern": r"\S"},
        description="Same key and body within 24 h returns the first response instead of creating twice; "
                    "not blank.")] = None,
) -> str | None:
    return key


IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]


def located(status: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry for a create answered with `Location` (`run_idempotent(location=...)`)."""
    what = "the created resource" if status == 201 else "where the outcome can be read"
    return {status: {"headers": {"Location": {"description": f"Path of {what}", "schema": {"type": "string"}}}}}


def request_fingerprint(method: str, path: str, body: BaseModel | bytes | None) -> bytes:
    if isinstance(body, BaseModel):
        payload = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    else:
        payload = body or b""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + payload).digest()


def _sealed_context(org_id: UUID, key: str, field: str) -> str:
    return f"idempotency:{org_id}:{key}:{field}"


def _seal(body: dict[str, Any], fields: tuple[str, ...], cipher: PersonalDataCipher, *, org_id: UUID,
          key: str) -> dict[str, Any]:
    stored = dict(body)
    for field in fields:
        if isinstance(stored.get(field), str):
            blob = cipher.encrypt(stored[field], context=_sealed_context(org_id, key, field))
            stored[field] = {_SEALED: base64.b64encode(blob).decode("ascii")}
    return stored


def _unseal(stored: dict[str, Any], fields: tuple[str, ...], cipher: PersonalDataCipher, *, org_id: UUID,
            key: str) -> dict[str, Any]:
    body = dict(stored)
    for field in fields:
        value = body.get(field)
        if isinstance(value, dict) and _SEALED in value:
            body[field] = cipher.decrypt(base64.b64decode(value[_SEALED]),
                                         context=_sealed_context(org_id, key, field))
    return body


def reseal(stored: dict[str, Any], cipher: PersonalDataCipher, *, org_id: UUID, key: str) -> dict[str, Any] | None:
    """The stored body with every sealed value another key wrote re-encrypted under the active key, or None when
    there is none (for the key rotation)."""
    body = dict(stored)
    changed = False
    for field, value in stored.items():
        if isinstance(value, dict) and _SEALED in value:
            blob = base64.b64decode(value[_SEALED])
            if cipher.needs_rotation(blob):
                fresh = cipher.reencrypt(blob, context=_sealed_context(org_id, key, field))
                body[field] = {_SEALED: base64.b64encode(fresh).decode("ascii")}
                changed = True
    return body if changed else None


def _needs_reseal(stored: dict[str, Any], cipher: PersonalDataCipher) -> bool:
    return any(isinstance(value, dict) and _SEALED in value and cipher.needs_rotation(base64.b64decode(value[_SEALED]))
               for value in stored.values())


async def unrotated_replays(conn: asyncpg.Connection, cipher: PersonalDataCipher, *, batch: int) -> int:
    """Stored responses still holding a value sealed under another key than the active one (for the rotation's
    report: replaying one needs that key, so it must stay in the keyring until this is 0)."""
    count = 0
    after: tuple[UUID, str] | None = None
    while True:
        rows = await repository.sealed_records(conn, after=after, limit=batch)
        count += sum(1 for row in rows if _needs_reseal(row["response_body"], cipher))
        if len(rows) < batch:
            return count
        after = (rows[-1]["org_id"], rows[-1]["key"])


async def reseal_replays(conn: asyncpg.Connection, cipher: PersonalDataCipher, *, batch: int) -> int:
    """Re-encrypt the sealed values of stored responses under the active key; returns the records rewritten.
    One transaction per page; a record purged or replaced meanwhile is left as it is."""
    rewritten = 0
    after: tuple[UUID, str] | None = None
    while True:
        async with conn.transaction():
            rows = await repository.sealed_records(conn, after=after, limit=batch)
            for row in rows:
                fresh = reseal(row["response_body"], cipher, org_id=row["org_id"], key=row["key"])
                if fresh is not None and await repository.replace_response(
                        conn, org_id=row["org_id"], key=row["key"], old=row["response_body"], new=fresh):
                    rewritten += 1
        if len(rows) < batch:
            return rewritten
        after = (rows[-1]["org_id"], rows[-1]["key"])


async def is_answered(conn: asyncpg.Connection, *, org_id: UUID, key: str | None, ttl_hours: int) -> bool:
    """Whether `run_idempotent` would answer this key from its stored record (a replay, or a 409 for another
    request) without calling `create`: checks made ahead of it (route dependencies) let such a request through."""
    if key is None or not key.strip():
        return False
    # The key's lock before the look-up, as in run_idempotent (which takes it again: advisory locks stack): the
    # look-up deletes an expired record, and holding that row while waiting for the key could deadlock with a
    # request holding the key and deleting the same row. The answer also stays true until run_idempotent.
    await repository.lock_key(conn, org_id=org_id, key=key)
    return await repository.find(conn, org_id=org_id, key=key, ttl_hours=ttl_hours) is not None


async def run_idempotent(
    conn: asyncpg.Connection, *, org_id: UUID, key: str | None, method: str, path: str,
    fingerprint: bytes, ttl_hours: int, status_code: int,
    create: Callable[[], Awaitable[BaseModel | tuple[BaseModel, int]]],
    sealed_fields: tuple[str, ...] = (), cipher: Callable[[], PersonalDataCipher] | None = None,
    location: Callable[[dict[str, Any]], str] | None = None,
) -> JSONResponse:
    """`create` returns the response model (answered with `status_code`), or `(model, status)` when the status
    depends on what it did (e.g. 200 for an existing object, 201 for a new one); the status is stored with the
    body, so a replay answers with it. `sealed_fields` (top-level response fields) are stored encrypted with
    `cipher()`, which is called only when an Idempotency-Key is given. `location(body)`: the created resource's
    path, sent as `Location` with a 201 (or the status resource's with a 202), the first time and on replays."""
    if sealed_fields and cipher is None:
        raise ValueError("sealed_fields need a cipher")
    if key is not None:
        if not key.strip():
            message = "Idempotency-Key 不能为空 / Idempotency-Key must not be blank"
            raise InvalidInput(message, errors=[FieldError(field="header.Idempotency-Key", message=message)])
        await repository.lock_key(conn, org_id=org_id, key=key)
        previous = await repository.find(conn, org_id=org_id, key=key, ttl_hours=ttl_hours)
        if previous is not None:
            if previous["request_hash"] != fingerprint or previous["path"] != path:
                # `reason`: every create can answer this 409, and a client must tell it from the create's own
                # (a duplicate person, a cap reached) without parsing the detail.
                raise Conflict("此 Idempotency-Key 已用于另一个请求 / Idempotency-Key was used for a different request",
                               extra={"reason": "idempotency_key_reused"})
            replay: Any = previous["response_body"]
            if sealed_fields and cipher is not None:
                replay = _unseal(replay, sealed_fields, cipher(), org_id=org_id, key=key)
            headers = {"Idempotent-Replayed": "true", **_location_header(location, replay, previous["status_code"])}
            return JSONResponse(replay, status_code=previous["status_code"], headers=headers)
    created = await create()
    if isinstance(created, tuple):
        result, status_code = created
    else:
        result = created
    body: Any = result.model_dump(mode="json")
    if key is not None:
        stored = body
        if sealed_fields and cipher is not None:
            stored = _seal(body, sealed_fields, cipher(), org_id=org_id, key=key)
        try:
            # savepoint: a clean 409, not an aborted transaction, should the key lock ever be bypassed (a
            # record written by another path)
            async with conn.transaction():
                await repository.insert(conn, org_id=org_id, key=key, method=method, path=path,
                                        request_hash=fingerprint, status_code=status_code, response_body=stored)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "同一 Idempotency-Key 的请求正在处理 / a request with this key was just processed; retry",
                extra={"reason": "idempotency_key_in_use"},
            ) from None
    return JSONResponse(body, status_code=status_code, headers=_location_header(location, body, status_code))


def _location_header(location: Callable[[dict[str, Any]], str] | None, body: Any, status_code: int) -> dict[str, str]:
    # RFC 9110 §15.3.2: without Location a 201's new resource is taken to be the request's target (the
    # collection); a 202 points at where the outcome will be. A 200 (an existing object answered) has none.
    if location is None or status_code not in (201, 202) or not isinstance(body, dict):
        return {}
    return {"Location": location(body)}
