"""Creating organisations and managing their keys."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.api.auth import repository as keys_repository
from services.api.auth.caller import Caller
from services.api.auth.keys import generate_key
from services.api.organisations import repository
from services.api.organisations.schemas import KeyCreated, KeyOut, Licence, OrgCreate, OrgCreated, OrgOut
from services.api.problems import Conflict, Forbidden, NotFound
from services.api.regions.service import ensure_known_adcodes


def org_out(row: asyncpg.Record) -> OrgOut:
    licence = None
    if row["licence_number"] is not None:
        licence = Licence(number=row["licence_number"], issuer_province=row["licence_issuer_province"],
                          valid_until=row["licence_valid_until"])
    return OrgOut(id=row["id"], type=row["type"], name=row["name"],
                  unified_social_credit_code=row["unified_social_credit_code"], province=row["province"],
                  licence=licence, kiosk_adcode=row["kiosk_adcode"], created_at=row["created_at"])


def key_out(row: asyncpg.Record) -> KeyOut:
    return KeyOut(id=row["id"], prefix=row["prefix"], label=row["label"], created_at=row["created_at"],
                  revoked_at=row["revoked_at"])


async def create_org(conn: asyncpg.Connection, body: OrgCreate, *, key_label: str | None = None) -> OrgCreated:
    if body.kiosk_adcode is not None:
        ensure_known_adcodes([body.kiosk_adcode], field="kiosk_adcode")
    try:
        async with conn.transaction():
            row = await repository.insert(conn, body)
    except asyncpg.UniqueViolationError:
        raise Conflict("该统一社会信用代码已注册 / an organisation with this credit code exists") from None
    key = generate_key()
    key_row = await keys_repository.insert_key(conn, org_id=row["id"], prefix=key.prefix, digest=key.digest,
                                               label=key_label or "initial")
    return OrgCreated(org=org_out(row), api_key=key.plaintext, key=key_out(key_row))


def ensure_may_manage(caller: Caller, org_id: UUID) -> None:
    # Another organisation's object is answered as missing, never as forbidden: no existence leak.
    if caller.role != "admin" and caller.org_id != org_id:
        raise NotFound("no such organisation")


async def get_org(conn: asyncpg.Connection, caller: Caller, org_id: UUID) -> OrgOut:
    ensure_may_manage(caller, org_id)
    row = await repository.get(conn, org_id)
    if row is None:
        raise NotFound("no such organisation")
    return org_out(row)


async def create_key(conn: asyncpg.Connection, caller: Caller, org_id: UUID, label: str | None) -> KeyCreated:
    if caller.role == "kiosk":
        # Terminals stand in public halls: a leaked kiosk key must not be able to mint keys that outlive its
        # revocation. Operators issue kiosk keys (`bashu admin kiosk-link`).
        raise Forbidden("终端密钥不能创建新密钥 / a kiosk key cannot create keys; ask an operator")
    await get_org(conn, caller, org_id)
    key = generate_key()
    row = await keys_repository.insert_key(conn, org_id=org_id, prefix=key.prefix, digest=key.digest, label=label)
    return KeyCreated(key=key_out(row), api_key=key.plaintext)


async def list_keys(conn: asyncpg.Connection, caller: Caller, org_id: UUID) -> list[KeyOut]:
    await get_org(conn, caller, org_id)
    return [key_out(r) for r in await keys_repository.list_keys(conn, org_id)]


async def revoke_key(conn: asyncpg.Connection, caller: Caller, org_id: UUID, key_id: UUID) -> KeyOut:
    ensure_may_manage(caller, org_id)
    row = await keys_repository.revoke_key(conn, org_id=org_id, key_id=key_id)
    if row is None:
        raise NotFound("no such key")
    return key_out(row)
