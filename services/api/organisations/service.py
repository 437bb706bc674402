"""Creating organisations and managing their keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID, uuid4

import asyncpg

from services.api.auth import repository as keys_repository
from services.api.auth.caller import Caller, licence_valid_on
from services.api.auth.keys import generate_key
from services.api.china_calendar import china_today
from services.api.database import PendingWork
from services.api.organisations import contact, repository
from services.api.organisations.schemas import (
    ContactOut,
    KeyCreated,
    KeyList,
    KeyOut,
    Licence,
    LicenceChangeList,
    LicenceChangeOut,
    OrgCreate,
    OrgCreated,
    OrgOut,
)
from services.api.pagination import Position, decode_cursor, next_cursor
from services.api.plausible_dates import (
    LICENCE_YEARS_AHEAD,
    LICENCE_YEARS_BACK,
    earliest_licence_end,
    latest_licence_end,
)
from services.api.problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from services.api.regions.service import ensure_counties
from services.privacy.cipher import PersonalDataCipher

# The process's personal-data cipher, asked for only when a contact person's fields are written or read, so
# organisations without one work on a deployment whose keys are not configured.
CipherSource = Callable[[], PersonalDataCipher]


def _cipher(source: CipherSource | None) -> PersonalDataCipher:
    if source is None:
        raise ServiceUnavailable("个人信息加密密钥未配置 / personal-data keys are not configured")
    return source()


def org_out(row: asyncpg.Record, contact_out: ContactOut | None = None) -> OrgOut:
    licence = None
    if row["licence_number"] is not None:
        # Stored values are answered as they are, not validated again: a number recorded before the input rules
        # tightened (blank ones were once accepted) must not turn reading the organisation into a 500.
        licence = Licence.model_construct(number=row["licence_number"],
                                          issuer_province=row["licence_issuer_province"],
                                          valid_until=row["licence_valid_until"])
    return OrgOut(id=row["id"], type=row["type"], name=row["name"],
                  unified_social_credit_code=row["unified_social_credit_code"], province=row["province"],
                  licence=licence, kiosk_adcode=row["kiosk_adcode"], contact=contact_out or ContactOut(),
                  created_at=row["created_at"])


def key_out(row: asyncpg.Record) -> KeyOut:
    return KeyOut(id=row["id"], prefix=row["prefix"], label=row["label"], created_at=row["created_at"],
                  revoked_at=row["revoked_at"])


async def register_org(conn: asyncpg.Connection, body: OrgCreate, *,
                       cipher: CipherSource | None = None) -> tuple[asyncpg.Record, ContactOut]:
    """Store a new organisation (no key); the contact person's fields sealed. Returns the row and its masked
    contact."""
    ensure_counties([("kiosk_adcode", body.kiosk_adcode)])
    if body.licence is not None:
        ensure_plausible_licence(body.licence, china_today(), field="licence.valid_until")
    org_id = uuid4()
    public, personal = contact.split(body.contact)
    sealed = contact.seal(_cipher(cipher), org_id, personal) if personal else None
    try:
        async with conn.transaction():
            row = await repository.insert(conn, body, org_id=org_id, contact_enc=sealed)
    except asyncpg.UniqueViolationError:
        raise Conflict("该统一社会信用代码已注册 / an organisation with this credit code exists") from None
    return row, contact.masked(public, personal)


async def create_org(conn: asyncpg.Connection, body: OrgCreate, *, key_label: str | None = None,
                     cipher: CipherSource | None = None) -> OrgCreated:
    row, contact_out = await register_org(conn, body, cipher=cipher)
    key = generate_key()
    key_row = await keys_repository.insert_key(conn, org_id=row["id"], prefix=key.prefix, digest=key.digest,
                                               label=key_label or "initial")
    return OrgCreated(org=org_out(row, contact_out), api_key=key.plaintext, key=key_out(key_row))


def ensure_may_manage(caller: Caller, org_id: UUID) -> None:
    # Another organisation's object is answered as missing, never as forbidden: no existence leak.
    if caller.role != "admin" and caller.org_id != org_id:
        raise NotFound("no such organisation")


async def _managed_org(conn: asyncpg.Connection, caller: Caller, org_id: UUID) -> asyncpg.Record:
    ensure_may_manage(caller, org_id)
    row = await repository.get(conn, org_id)
    if row is None:
        raise NotFound("no such organisation")
    return row


async def get_org(conn: asyncpg.Connection, caller: Caller, org_id: UUID, *,
                  cipher: CipherSource | None = None) -> OrgOut:
    """The organisation with its contact masked (decrypted only to mask it, as worker profiles are)."""
    return _with_masked_contact(await _managed_org(conn, caller, org_id), cipher)


def _with_masked_contact(row: asyncpg.Record, cipher: CipherSource | None) -> OrgOut:
    personal = contact.unseal(_cipher(cipher), row["id"], row["contact_enc"]) if row["contact_enc"] else {}
    return org_out(row, contact.masked(contact.split(row["contact"])[0], personal))


# A lapsed broker's licence renewed: its available profiles are matched again (workers/licence_tasks.py), so the
# enterprises whose postings opened while it was lapsed hear of them as of any new profile.
RELICENSED_TOPIC = "broker.relicensed"


def ensure_plausible_licence(licence: Licence, today: date, *, field: str) -> None:
    if licence.valid_until > latest_licence_end(today):
        raise InvalidInput("许可证有效期不合理 / implausible licence end", errors=[FieldError(
            field=field, message=f"有效期至多到今后 {LICENCE_YEARS_AHEAD} 年（{latest_licence_end(today)}）/ a licence "
                                 f"runs at most {LICENCE_YEARS_AHEAD} years ahead ({latest_licence_end(today)})")])
    if licence.valid_until < earliest_licence_end(today):
        raise InvalidInput("许可证有效期不合理 / implausible licence end", errors=[FieldError(
            field=field, message=f"有效期最早为 {LICENCE_YEARS_BACK} 年前（{earliest_licence_end(today)}）/ a licence "
                                 f"on record ended at most {LICENCE_YEARS_BACK} years ago "
                                 f"({earliest_licence_end(today)})")])


async def record_licence(conn: asyncpg.Connection, caller: Caller, org_id: UUID, licence: Licence, *,
                         pending: PendingWork, cipher: CipherSource | None = None) -> OrgOut:
    """Record a broker's HR-service licence (renewed, corrected, or ending earlier: withdrawn), keeping the one
    it replaces in `licence_changes`. The platform admin records any; an HR authority those its own province
    issues (mutual recognition makes either province's licence valid in both, but each side issues its own).
    The broker's next request is judged by the new date at once; matching follows within
    `workers.match_tasks.UNLICENSED_BROKERS_SECONDS`, and a renewal after a lapse matches the broker's available
    profiles again (`RELICENSED_TOPIC`). A licence the other province issued and that still holds today is not an
    authority's to replace: the new licence names the caller's province, so without this an authority could end
    the other side's licence by recording one of its own dated yesterday. Once it has lapsed, either province may
    license the broker again."""
    if caller.role == "authority" and licence.issuer_province != caller.province:
        raise Forbidden("主管部门只能登记本省核发的许可证 / an authority records only the licences its own "
                        f"province issues ({caller.province})")
    async with conn.transaction():
        row = await repository.get_for_update(conn, org_id)
        if row is None:
            raise NotFound("no such organisation")
        if row["type"] != "broker":
            raise Conflict("只有劳务经纪人持有人力资源服务许可证 / only brokers hold an HR-service licence")
        today = china_today()
        ensure_plausible_licence(licence, today, field="valid_until")
        issuer = row["licence_issuer_province"]
        if (caller.role == "authority" and issuer is not None and issuer != caller.province
                and licence_valid_on(row["licence_valid_until"], today)):
            raise Forbidden(f"该经纪人现持 {issuer} 核发且仍有效的许可证，只能由 {issuer} 主管部门或平台管理员变更 / "
                            f"the broker holds a licence {issuer} issued that is still valid: only {issuer}'s "
                            "authority or the platform admin may change it")
        if not licence_valid_on(row["licence_valid_until"], today) and licence_valid_on(licence.valid_until, today):
            await pending.record(conn, RELICENSED_TOPIC, str(org_id))
        row = await repository.record_licence(conn, org_id, licence, changed_by=caller.org_id)
    return _with_masked_contact(row, cipher)


LICENCE_CHANGES_SCOPE = "licence_changes"


async def licence_changes(conn: asyncpg.Connection, caller: Caller, org_id: UUID, *, limit: int,
                          cursor: str | None, cursor_secret: str) -> LicenceChangeList:
    """The broker's licence changes, newest first: for the platform admin, either province's authority (each
    must see what the other recorded: mutual recognition) and the broker itself; others get 404."""
    if caller.role not in ("admin", "authority") and caller.org_id != org_id:
        raise NotFound("no such organisation")
    row = await repository.get(conn, org_id)
    if row is None or row["type"] != "broker":
        raise NotFound("no such broker")
    # The cursor's position is (changed_at, id); the bigint id travels as a UUID's integer. Scoped to the broker:
    # one broker's cursor read another's changes from that id on.
    scope = f"{LICENCE_CHANGES_SCOPE}:{org_id}"
    before = decode_cursor(cursor_secret, scope, cursor).id.int if cursor else None
    rows = await repository.licence_changes(conn, org_id, before_id=before, limit=limit + 1)
    items = [LicenceChangeOut(
        # Stored values answered as stored (not validated again), like the organisation's own licence.
        licence=Licence.model_construct(number=r["number"], issuer_province=r["issuer_province"],
                                        valid_until=r["valid_until"]),
        previous=Licence.model_construct(number=r["previous_number"], issuer_province=r["previous_issuer_province"],
                                         valid_until=r["previous_valid_until"]),
        changed_by=r["changed_by"], changed_at=r["changed_at"]) for r in rows[:limit]]
    positions = [Position(created_at=r["changed_at"], id=UUID(int=r["id"])) for r in rows]
    return LicenceChangeList(items=items,
                             next_cursor=next_cursor(cursor_secret, scope, positions, limit))


def _refuse_kiosk(caller: Caller) -> None:
    if caller.role == "kiosk":
        # Terminals stand in public halls: a leaked kiosk key must not be able to mint keys that outlive its
        # revocation, nor list or revoke the keys of the hall's other terminals. Operators manage kiosk keys
        # (`bashu admin kiosk-link`).
        raise Forbidden("终端密钥不能管理密钥 / a kiosk key cannot manage keys; ask an operator")


async def create_key(conn: asyncpg.Connection, caller: Caller, org_id: UUID, label: str | None) -> KeyCreated:
    _refuse_kiosk(caller)
    await _managed_org(conn, caller, org_id)
    key = generate_key()
    row = await keys_repository.insert_key(conn, org_id=org_id, prefix=key.prefix, digest=key.digest, label=label)
    return KeyCreated(key=key_out(row), api_key=key.plaintext)


async def list_keys(conn: asyncpg.Connection, caller: Caller, org_id: UUID, *, limit: int, cursor: str | None,
                    cursor_secret: str) -> KeyList:
    """The organisation's keys (revoked ones too), oldest first, a page at a time."""
    _refuse_kiosk(caller)
    await _managed_org(conn, caller, org_id)
    # One organisation's pages: a cursor of another organisation's keys is refused like a forged one.
    scope = f"keys:{org_id}"
    after = decode_cursor(cursor_secret, scope, cursor) if cursor else None
    rows = await keys_repository.list_keys(conn, org_id, after=(after.created_at, after.id) if after else None,
                                           limit=limit + 1)
    positions = [Position(created_at=r["created_at"], id=r["id"]) for r in rows]
    return KeyList(items=[key_out(r) for r in rows[:limit]],
                   next_cursor=next_cursor(cursor_secret, scope, positions, limit))


async def revoke_key(conn: asyncpg.Connection, caller: Caller, org_id: UUID, key_id: UUID) -> KeyOut:
    _refuse_kiosk(caller)
    ensure_may_manage(caller, org_id)
    row = await keys_repository.revoke_key(conn, org_id=org_id, key_id=key_id)
    if row is None:
        raise NotFound("no such key")
    return key_out(row)


async def contact_phone(conn: asyncpg.Connection, org_id: UUID, cipher: PersonalDataCipher) -> str | None:
    """The contact person's phone in full, for texting the organisation its own notifications (SMS
    subscriptions); None when it has none. Callers must not log it."""
    blob = await repository.sealed_contact(conn, org_id)
    return contact.unseal(cipher, org_id, blob).get("phone") if blob else None
