"""Resolving `Authorization: Bearer <key>` to the calling organisation and its role.

Kiosk keys are cached in the process for at most `KIOSK_KEY_TTL_SECONDS` (2 s) after a successful lookup:
kiosk search is the hot path (one terminal tap, one request) and the key lookup was a pool checkout plus a
PostgreSQL round trip on every one of them. Only positive lookups of kiosk-role keys are cached, so a revoked
kiosk key stops working within 2 s in every API process; an unknown or revoked key is looked up every time;
keys of every other role (whose licence, province or revocation must take effect at once) are never cached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.auth import repository
from services.api.auth.keys import KEY_PREFIX, hash_key
from services.api.database import request_connection
from services.api.problems import Forbidden, Unauthenticated
from services.api.resources import Resources, get_resources

Role = Literal["broker", "enterprise", "kiosk", "authority", "admin"]
ROLES: tuple[Role, ...] = ("broker", "enterprise", "kiosk", "authority", "admin")

_bearer = HTTPBearer(auto_error=False, description="API key of an organisation")

KIOSK_KEY_TTL_SECONDS = 2.0
_KIOSK_KEYS = "auth.kiosk_key_cache"
_KIOSK_KEYS_MAX = 10_000


def licence_valid_on(valid_until: date | None, day: date) -> bool:
    """An HR-service licence (valid until the end of `valid_until`) holds on `day`; none never holds."""
    return valid_until is not None and valid_until >= day


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: UUID
    role: Role
    key_id: UUID
    province: str | None
    licence_valid_until: date | None
    kiosk_adcode: str | None

    def licence_valid_on(self, day: date) -> bool:
        return licence_valid_on(self.licence_valid_until, day)


def _cached_kiosk_caller(extensions: dict[str, Any], digest: bytes) -> Caller | None:
    cache: dict[bytes, tuple[float, Caller]] | None = extensions.get(_KIOSK_KEYS)
    if cache is None or (found := cache.get(digest)) is None:
        return None
    if time.monotonic() >= found[0]:
        cache.pop(digest, None)
        return None
    return found[1]


def _remember_kiosk_caller(extensions: dict[str, Any], digest: bytes, caller: Caller) -> None:
    cache: dict[bytes, tuple[float, Caller]] = extensions.setdefault(_KIOSK_KEYS, {})
    now = time.monotonic()
    if len(cache) >= _KIOSK_KEYS_MAX:
        for key in [k for k, (until, _) in cache.items() if until <= now] or list(cache)[: _KIOSK_KEYS_MAX // 2]:
            del cache[key]
    cache[digest] = (now + KIOSK_KEY_TTL_SECONDS, caller)


async def caller_for_credentials(request: Request, resources: Resources,
                                 credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """The caller behind `Authorization: Bearer <key>`, bound to the request's log lines and state."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("缺少 API 密钥 / send `Authorization: Bearer <api key>`")
    token = credentials.credentials
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise Unauthenticated("API 密钥无效 / invalid API key", invalid_token=True)
    digest = hash_key(token)
    caller = _cached_kiosk_caller(resources.extensions, digest)
    if caller is None:
        if (own := request_connection(request)) is not None:
            row = await repository.find_active_key(own, digest)
        else:
            async with resources.pool.acquire() as conn:
                row = await repository.find_active_key(conn, digest)
        if row is None:
            raise Unauthenticated("API 密钥无效或已吊销 / invalid or revoked API key", invalid_token=True)
        caller = Caller(org_id=row["org_id"], role=row["type"], key_id=row["key_id"], province=row["province"],
                        licence_valid_until=row["licence_valid_until"], kiosk_adcode=row["kiosk_adcode"])
        if caller.role == "kiosk":
            _remember_kiosk_caller(resources.extensions, digest, caller)
    structlog.contextvars.bind_contextvars(org_id=str(caller.org_id), role=caller.role)
    request.state.caller = caller
    return caller


async def current_caller(
    request: Request,
    resources: Annotated[Resources, Depends(get_resources)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return await caller_for_credentials(request, resources, credentials)


def require_roles(*roles: Role) -> object:
    """Dependency: the caller, if its role is one of `roles` (admin only where listed)."""

    async def dependency(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"需要角色 {'/'.join(roles)} / requires role {' or '.join(roles)}")
        return caller

    return Depends(dependency)


AnyCaller = Annotated[Caller, Depends(current_caller)]


@dataclass(frozen=True, slots=True)
class KioskRequest:
    caller: Caller
    resources: Resources


async def request_caller(request: Request) -> Caller:
    """The caller of `request`, resolved outside FastAPI's dependency solving (401 problems as `current_caller`)."""
    resources: Resources = request.state.resources
    return await caller_for_credentials(request, resources, await _bearer(request))


async def kiosk_request(request: Request) -> KioskRequest:
    """Dependency of the kiosk hot paths (search, typeahead): the same checks as `require_roles("kiosk")` in
    one dependency instead of four nested ones. FastAPI's dependency solving was ~11 % of the API's CPU per
    kiosk search (py-spy, loadtests/README). The route declares the bearer scheme with `KIOSK_SECURITY`."""
    resources: Resources = request.state.resources
    caller = await request_caller(request)
    if caller.role != "kiosk":
        raise Forbidden("需要角色 kiosk / requires role kiosk")
    return KioskRequest(caller=caller, resources=resources)


# What `Depends(_bearer)` would add to the route's OpenAPI entry (the scheme itself is in the components,
# declared by every other authenticated route).
KIOSK_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}
