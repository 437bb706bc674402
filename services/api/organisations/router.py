"""HTTP routes for organisations and keys."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.api.auth.caller import AnyCaller, Caller, require_roles
from services.api.database import Connection, PostCommit
from services.api.idempotency.service import IdempotencyKey, located, request_fingerprint, run_idempotent
from services.api.organisations import service
from services.api.organisations.schemas import (
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    Licence,
    LicenceChangeList,
    OrgCreate,
    OrgCreated,
    OrgOut,
)
from services.api.pagination import DEFAULT_LIMIT, CursorParam, Limit
from services.api.problems import problem_responses
from services.api.resources import Resources, get_resources
from services.api.worker_profiles.service import personal_data_cipher
from services.privacy.cipher import PersonalDataCipher

router = APIRouter(prefix="/v1/orgs", tags=["organisations"],
                   responses=problem_responses(401, 403, 404, 422))


@router.post("", status_code=201, response_model=OrgCreated, responses={**located(201), **problem_responses(409, 413)})
async def create_org(
    body: OrgCreate, request: Request, conn: Connection, idempotency_key: IdempotencyKey,
    resources: Annotated[Resources, Depends(get_resources)],
    caller: Annotated[Caller, require_roles("admin")],
) -> JSONResponse:
    """Create an organisation and its first API key (shown only here). Admin only. The contact person's name,
    phone and email are stored encrypted and answered masked; the address is the organisation's, in clear."""

    def cipher() -> PersonalDataCipher:
        return personal_data_cipher(resources.settings, resources.extensions)

    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_org(conn, body, cipher=cipher),
        # The new key must not sit in clear in the idempotency table: stored encrypted, decrypted on replay.
        sealed_fields=("api_key",),
        cipher=cipher,
        location=lambda created: f"/v1/orgs/{created['org']['id']}",
    )


@router.get("/{org_id}", response_model=OrgOut)
async def get_org(org_id: UUID, conn: Connection, caller: AnyCaller,
                  resources: Annotated[Resources, Depends(get_resources)]) -> OrgOut:
    """The organisation (admin, or the organisation itself); its contact person's fields masked."""
    return await service.get_org(
        conn, caller, org_id, cipher=lambda: personal_data_cipher(resources.settings, resources.extensions))


@router.put("/{org_id}/licence", response_model=OrgOut, responses=problem_responses(409))
async def record_licence(org_id: UUID, body: Licence, conn: Connection, pending: PostCommit,
                         resources: Annotated[Resources, Depends(get_resources)],
                         caller: Annotated[Caller, require_roles("admin", "authority")]) -> OrgOut:
    """Record a broker's HR-service licence: a renewal, a correction, or an earlier `valid_until` that withdraws
    it. The platform admin records any licence; an HR authority (`authority` key) those its own province issues
    (403 otherwise, and 403 while the broker holds a still-valid licence of the other province). 409 when the
    organisation is not a broker. The licence it replaces is kept in the authorities' record. From the broker's
    next request on, posting follows the new date (403 `licence_expired` after it); profiles leave or rejoin
    matching within a minute, and after a renewal of a lapsed licence the broker's available profiles are matched
    again (enterprises are notified as of new profiles)."""
    return await service.record_licence(
        conn, caller, org_id, body, pending=pending,
        cipher=lambda: personal_data_cipher(resources.settings, resources.extensions))


@router.get("/{org_id}/licence/changes", response_model=LicenceChangeList)
async def licence_changes(org_id: UUID, conn: Connection, caller: AnyCaller,
                          resources: Annotated[Resources, Depends(get_resources)],
                          limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> LicenceChangeList:
    """Every licence recorded for a broker after its registration, newest first, each with the one it replaced,
    who recorded it and when (the platform admin, either province's authority, or the broker itself)."""
    return await service.licence_changes(conn, caller, org_id, limit=limit, cursor=cursor,
                                         cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.post("/{org_id}/keys", status_code=201, response_model=KeyCreated, responses=problem_responses(409))
async def create_key(org_id: UUID, request: Request, conn: Connection, caller: AnyCaller,
                     idempotency_key: IdempotencyKey, resources: Annotated[Resources, Depends(get_resources)],
                     body: KeyCreate | None = None) -> JSONResponse:
    """A new key for the organisation (admin, or the organisation itself). Shown only in this response; a retry
    with the same `Idempotency-Key` answers the same key instead of minting another."""
    return await run_idempotent(
        conn, org_id=caller.org_id, key=idempotency_key, method="POST", path=request.url.path,
        fingerprint=request_fingerprint("POST", request.url.path, body),
        ttl_hours=resources.settings.idempotency_ttl_hours, status_code=201,
        create=lambda: service.create_key(conn, caller, org_id, body.label if body else None),
        sealed_fields=("api_key",),
        cipher=lambda: personal_data_cipher(resources.settings, resources.extensions),
    )


@router.get("/{org_id}/keys", response_model=KeyList)
async def list_keys(org_id: UUID, conn: Connection, caller: AnyCaller,
                    resources: Annotated[Resources, Depends(get_resources)],
                    limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> KeyList:
    """The organisation's keys, revoked ones included, oldest first (admin, or the organisation itself)."""
    return await service.list_keys(conn, caller, org_id, limit=limit, cursor=cursor,
                                   cursor_secret=resources.settings.cursor_secret.get_secret_value())


@router.delete("/{org_id}/keys/{key_id}", response_model=KeyOut)
async def revoke_key(org_id: UUID, key_id: UUID, conn: Connection, caller: AnyCaller) -> KeyOut:
    """Revoke a key at once; requests with it get 401 from then on."""
    return await service.revoke_key(conn, caller, org_id, key_id)
