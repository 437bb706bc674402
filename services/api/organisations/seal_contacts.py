"""Encrypt the contact persons of organisations stored before migration 0010 (`contact` in clear).

    python -m services.api.organisations.seal_contacts

Safe to run twice and alongside itself or the API: a batch locks the rows it seals (others skip them), a row
already sealed no longer matches, and a row that somehow has both a sealed blob and clear fields keeps both (the
clear ones win, being the newer). Logs counts only, never a value.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from services.api.organisations import contact, repository
from services.privacy.cipher import PersonalDataCipher

log = structlog.get_logger("bashu.organisations")

BATCH = 500


async def seal_clear_contacts(conn: asyncpg.Connection, cipher: PersonalDataCipher, *, batch: int = BATCH) -> int:
    """Seal every organisation contact still in clear; returns how many rows were rewritten."""
    sealed = 0
    while True:
        async with conn.transaction():
            rows = await repository.lock_clear_contacts(conn, batch)
            for row in rows:
                public, personal = contact.split(row["contact"])
                earlier = contact.unseal(cipher, row["id"], row["contact_enc"])
                blob = contact.seal(cipher, row["id"], {**earlier, **personal})
                await repository.store_sealed_contact(conn, row["id"], public_contact=public, contact_enc=blob)
        sealed += len(rows)
        if len(rows) < batch:
            break
    if sealed:
        log.info("organisations.contacts_sealed", rows=sealed)
    return sealed


async def _main() -> int:
    from services.api.settings import load_api_settings
    from services.api.worker_profiles.service import personal_data_cipher
    from services.db.pool import connect

    settings = load_api_settings()
    cipher = personal_data_cipher(settings, {})
    conn = await connect(str(settings.database_url))
    try:
        sealed = await seal_clear_contacts(conn, cipher)
        left = await repository.count_clear_contacts(conn)
    finally:
        await conn.close()
    print(f"organisation contacts sealed: {sealed}; still in clear: {left}")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
