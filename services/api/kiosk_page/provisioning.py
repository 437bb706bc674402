"""One-time provisioning links for kiosk devices.

An operator runs `bashu admin kiosk-link --org <kiosk org id>` and opens the printed URL on the terminal. The
URL carries a random token; only its SHA-256 is stored (in Redis, with a short TTL). Opening the page posts
the token back once: GETDEL makes it single-use even under concurrent attempts, and a fresh API key of the
kiosk organisation is issued to that device only, stored in its localStorage and never in any page source.
A link previewer that fetches the URL only gets the static page (the GET consumes nothing).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from services.api.auth import repository as keys_repository
from services.api.auth.keys import generate_key
from services.api.organisations import repository as orgs_repository

TOKEN_TTL_SECONDS = 15 * 60
DEVICE_KEY_LABEL = "kiosk-device"
_REDIS_PREFIX = "bashu:kiosk-provision:"


class ProvisioningError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Provisioned:
    api_key: str
    org_id: UUID
    org_name: str
    kiosk_adcode: str | None


def _redis_key(token: str) -> str:
    return _REDIS_PREFIX + hashlib.sha256(token.encode()).hexdigest()


async def create_link_token(conn: asyncpg.Connection, redis: Redis, org_id: UUID, *,
                            ttl_seconds: int = TOKEN_TTL_SECONDS) -> str:
    """A fresh single-use token for a kiosk organisation (ProvisioningError for anything else)."""
    org = await orgs_repository.get(conn, org_id)
    if org is None or org["type"] != "kiosk":
        raise ProvisioningError("no kiosk organisation with that id")
    token = secrets.token_urlsafe(32)
    await redis.set(_redis_key(token), str(org_id), ex=ttl_seconds, nx=True)
    return token


async def redeem(conn: asyncpg.Connection, redis: Redis, token: str) -> Provisioned | None:
    """Consume the token (once) and issue a new device key. None when the token is unknown, used or expired."""
    if not token or len(token) > 200:
        return None
    raw = await redis.getdel(_redis_key(token))
    if raw is None:
        return None
    org = await orgs_repository.get(conn, UUID(raw.decode() if isinstance(raw, bytes) else str(raw)))
    if org is None or org["type"] != "kiosk":
        return None
    key = generate_key()
    await keys_repository.insert_key(conn, org_id=org["id"], prefix=key.prefix, digest=key.digest,
                                     label=DEVICE_KEY_LABEL)
    return Provisioned(api_key=key.plaintext, org_id=org["id"], org_name=org["name"],
                       kiosk_adcode=org["kiosk_adcode"])
