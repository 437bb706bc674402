"""API key material: random, shown once, stored as a hash with a clear prefix to tell keys apart."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "bb_"
PREFIX_LENGTH = 11  # "bb_" + 8 characters: enough to identify a key in a list, useless to guess it


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str
    prefix: str
    digest: bytes


def generate_key() -> NewKey:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(plaintext=plaintext, prefix=plaintext[:PREFIX_LENGTH], digest=hash_key(plaintext))


def hash_key(plaintext: str) -> bytes:
    # Keys carry 256 bits of entropy, so a plain SHA-256 is as strong as a slow KDF here and costs nothing
    # on the hot path (every kiosk request authenticates).
    return hashlib.sha256(plaintext.encode()).digest()
