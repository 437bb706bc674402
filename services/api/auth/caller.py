"""Resolving `Authorization: Bearer <key>` to the calling organisation and its role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.auth import repository
from services.api.auth.keys import KEY_PREFIX, hash_key
from services.api.problems import Forbidden, Unauthenticated
from services.api.resources import Resources, get_resources

Role = Literal["broker", "enterprise", "kiosk", "authority", "admin"]
ROLES: tuple[Role, ...] = ("broker", "enterprise", "kiosk", "authority", "admin")

_bearer = HTTPBearer(auto_error=False, description="API key of an organisation")


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: UUID
    role: Role
    key_id: UUID
    province: str | None
    licence_valid_until: date | None
    kiosk_adcode: str | None

    def licence_valid_on(self, day: date) -> bool:
        return self.licence_valid_until is not None and self.licence_valid_until >= day


async def current_caller(
    request: Request,
    resources: Annotated[Resources, Depends(get_resources)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("缺少 API 密钥 / send `Authorization: Bearer <api key>`")
    token = credentials.credentials
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise Unauthenticated("API 密钥无效 / invalid API key")
    async with resources.pool.acquire() as conn:
        row = await repository.find_active_key(conn, hash_key(token))
    if row is None:
        raise Unauthenticated("API 密钥无效或已吊销 / invalid or revoked API key")
    caller = Caller(org_id=row["org_id"], role=row["type"], key_id=row["key_id"], province=row["province"],
                    licence_valid_until=row["licence_valid_until"], kiosk_adcode=row["kiosk_adcode"])
    structlog.contextvars.bind_contextvars(org_id=str(caller.org_id), role=caller.role)
    request.state.caller = caller
    return caller


def require_roles(*roles: Role) -> object:
    """Dependency: the caller, if its role is one of `roles` (admin only where listed)."""

    async def dependency(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"需要角色 {'/'.join(roles)} / requires role {' or '.join(roles)}")
        return caller

    return Depends(dependency)


AnyCaller = Annotated[Caller, Depends(current_caller)]
