"""An organisation's registration contact: which parts are a person's data, and how those are kept.

The contact given with `POST /v1/orgs` is whoever the platform's operators should reach about the organisation.
Its `name`, `phone` and `email` are a natural person's: a named manager, usually with a real-name registered
mobile number and a personal mailbox. Under PIPL (and policy clause 22: "PII encrypted and masked") that is
personal information, even though the person acts for an employer. It was given to the platform for operating
the account, not for publication, so it is encrypted at rest, answered masked, and never shown to the public:
the kiosk page shows a posting's own recruiting contact (which the enterprise publishes with the posting for
job seekers), never this one. The `address` is the organisation's office, which it already publishes (business
licence, signboard); it stays in clear in `organisations.contact`.

Storage: the personal fields are one AES-GCM blob in `organisations.contact_enc`, bound to the context
``org:<id>:contact`` (a blob copied onto another organisation fails authentication), written with the active
key id like every other personal field (services/privacy/cipher.py), so key rotation re-encrypts it the same way.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from services.api.organisations.schemas import Contact, ContactOut
from services.privacy.cipher import PersonalDataCipher

PERSONAL_FIELDS = ("name", "phone", "email")
PUBLIC_FIELDS = ("address",)


def context(org_id: UUID) -> str:
    return f"org:{org_id}:contact"


def split(contact: Contact | dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(the organisation's public fields, the contact person's fields), empty values dropped."""
    values = contact.model_dump(exclude_none=True) if isinstance(contact, Contact) else dict(contact)
    public = {k: str(values[k]) for k in PUBLIC_FIELDS if values.get(k)}
    personal = {k: str(values[k]) for k in PERSONAL_FIELDS if values.get(k)}
    return public, personal


def seal(cipher: PersonalDataCipher, org_id: UUID, personal: dict[str, str]) -> bytes | None:
    if not personal:
        return None
    return cipher.encrypt(json.dumps(personal, ensure_ascii=False, sort_keys=True), context=context(org_id))


def unseal(cipher: PersonalDataCipher, org_id: UUID, blob: bytes | None) -> dict[str, str]:
    if blob is None:
        return {}
    values = json.loads(cipher.decrypt(blob, context=context(org_id)))
    return {k: str(values[k]) for k in PERSONAL_FIELDS if values.get(k)}


def _mask_name(name: str) -> str:
    return name[0] + "*" * max(len(name) - 1, 1)


def _mask_phone(phone: str) -> str:
    # Landlines (023-68000000) and mobiles alike: only the last four digits, so the length of the number and
    # its area code do not narrow it down.
    digits = [c for c in phone if c.isdigit()]
    return "*" * 7 + "".join(digits[-4:]) if len(digits) >= 8 else "*" * 11


def _mask_email(email: str) -> str:
    local, at, domain = email.partition("@")
    return (local[:1] + "***" + at + domain) if at else "***"


def masked(public: dict[str, Any], personal: dict[str, str]) -> ContactOut:
    """What an organisation (and the admin) sees of its contact: address in clear, the person's fields masked."""
    return ContactOut(
        name=_mask_name(personal["name"]) if personal.get("name") else None,
        phone=_mask_phone(personal["phone"]) if personal.get("phone") else None,
        email=_mask_email(personal["email"]) if personal.get("email") else None,
        address=public.get("address"),
    )
