"""Encryption of personal data at rest (AES-256-GCM) and blind indexes (HMAC-SHA256).

Ciphertext format (version 1), stored as one ``bytea``::

    0x01 | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 random bytes) | AES-GCM ciphertext + 16-byte tag

The associated data is the header (version, length, key id) followed by the *context* (e.g.
``"worker:id_number"``), so a value cannot be copied to another column or relabelled with another key id
without failing authentication. The key id in the header picks the decryption key, so rotating the active
key leaves old rows readable; :meth:`PersonalDataCipher.needs_rotation` tells a re-encryption job which rows
to rewrite.

Blind index: ``HMAC-SHA256(blind_index_key, len(context) ‖ context ‖ value)[:16]``. It is deterministic (exact
lookup, de-duplication across brokers) and useless without the key. Callers normalise the value first (a
normalised 18-character ID number, 11-digit phone). The blind-index key is separate from the encryption keys
and does not rotate with them: changing it means recomputing every index (a migration, not a setting flip).

Exceptions never include plaintext or key material.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from collections.abc import Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BLIND_INDEX_BYTES",
    "FORMAT_VERSION",
    "DecryptionError",
    "InvalidKeyring",
    "MalformedCiphertext",
    "PersonalDataCipher",
    "PrivacyError",
    "UnknownKeyId",
    "decode_key",
    "keyring_from_settings",
]

FORMAT_VERSION: Final = 1
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
BLIND_INDEX_BYTES: Final = 16
_KEY_ID_RE: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class PrivacyError(Exception):
    """Base class of this module's errors."""


class InvalidKeyring(PrivacyError, ValueError):
    """The key configuration is unusable (bad syntax, wrong key length, unknown active key …)."""


class MalformedCiphertext(PrivacyError, ValueError):
    """The blob is not in a format this module wrote (truncated, unknown version)."""


class UnknownKeyId(PrivacyError, LookupError):
    """The blob was encrypted with a key id that is not in the keyring (a key was removed too early)."""


class DecryptionError(PrivacyError):
    """Authentication failed: the blob was tampered with, or read under the wrong context."""


def decode_key(encoded: str, *, what: str = "key") -> bytes:
    """Decode a base64 (standard or URL-safe, padding optional) 32-byte key; never echoes the input."""
    text = encoded.strip()
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyring(f"{what}: not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise InvalidKeyring(f"{what}: must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def keyring_from_settings(spec: str) -> dict[str, bytes]:
    """Parse ``"k1:<base64>,k2:<base64>"`` into ``{key_id: 32-byte key}``.

    Whitespace around entries is ignored. Key ids are 1–64 characters of ``A–Z a–z 0–9 _ . -``.
    """
    keyring: dict[str, bytes] = {}
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        raise InvalidKeyring("the keyring is empty: expected 'key_id:base64key[,key_id:base64key…]'")
    for n, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise InvalidKeyring(f"keyring entry {n}: expected 'key_id:base64key'")
        if not _KEY_ID_RE.fullmatch(key_id):
            raise InvalidKeyring(f"keyring entry {n}: key id must be 1-64 characters of A-Z a-z 0-9 _ . -")
        if key_id in keyring:
            raise InvalidKeyring(f"keyring entry {n}: duplicate key id {key_id!r}")
        keyring[key_id] = decode_key(encoded, what=f"keyring entry {n} (key id {key_id!r})")
    return keyring


class PersonalDataCipher:
    """Encrypts with the active key, decrypts with whichever key a blob names, computes blind indexes."""

    __slots__ = ("_active_id", "_aeads", "_blind_key")

    def __init__(self, keyring: Mapping[str, bytes], active_key_id: str, blind_index_key: bytes) -> None:
        if not keyring:
            raise InvalidKeyring("the keyring is empty")
        for key_id, key in keyring.items():
            if not _KEY_ID_RE.fullmatch(key_id):
                raise InvalidKeyring("key ids must be 1-64 characters of A-Z a-z 0-9 _ . -")
            if len(key) != KEY_BYTES:
                raise InvalidKeyring(f"key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
        if active_key_id not in keyring:
            raise InvalidKeyring(f"active key id {active_key_id!r} is not in the keyring")
        if len(blind_index_key) < KEY_BYTES:
            raise InvalidKeyring(f"the blind-index key must be at least {KEY_BYTES} bytes")
        if any(hmac.compare_digest(blind_index_key, key) for key in keyring.values()):
            raise InvalidKeyring("the blind-index key must differ from every encryption key")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keyring.items()}
        self._active_id = active_key_id
        self._blind_key = bytes(blind_index_key)

    @classmethod
    def from_settings(
        cls, keyring_spec: str, active_key_id: str, blind_index_key_b64: str
    ) -> PersonalDataCipher:
        """Build from the settings' strings: ``pii_keyring``, ``pii_active_key_id``,
        ``pii_blind_index_key`` (base64 of 32 bytes)."""
        return cls(
            keyring_from_settings(keyring_spec),
            active_key_id,
            decode_key(blind_index_key_b64, what="blind-index key"),
        )

    def __repr__(self) -> str:
        return f"PersonalDataCipher(key_ids={sorted(self._aeads)!r}, active={self._active_id!r})"

    @property
    def active_key_id(self) -> str:
        return self._active_id

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._aeads)

    # ------------------------------------------------------------------------------------ encryption

    @staticmethod
    def _header(key_id: str) -> bytes:
        kid = key_id.encode("ascii")
        return bytes((FORMAT_VERSION, len(kid))) + kid

    @staticmethod
    def _split(blob: bytes) -> tuple[bytes, str, bytes, bytes]:
        """(header, key id, nonce, ciphertext) or MalformedCiphertext."""
        if len(blob) < 2:
            raise MalformedCiphertext("ciphertext too short")
        if blob[0] != FORMAT_VERSION:
            raise MalformedCiphertext(f"unknown ciphertext format version {blob[0]}")
        kid_len = blob[1]
        header_len = 2 + kid_len
        if kid_len == 0 or len(blob) < header_len + NONCE_BYTES + TAG_BYTES:
            raise MalformedCiphertext("ciphertext truncated")
        try:
            key_id = blob[2:header_len].decode("ascii")
        except UnicodeDecodeError:
            raise MalformedCiphertext("ciphertext header is corrupt") from None
        if not _KEY_ID_RE.fullmatch(key_id):
            raise MalformedCiphertext("ciphertext header is corrupt")
        nonce = blob[header_len : header_len + NONCE_BYTES]
        return blob[:header_len], key_id, nonce, blob[header_len + NONCE_BYTES :]

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Encrypt under the active key, bound to ``context`` (e.g. ``"worker:id_number"``)."""
        header = self._header(self._active_id)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self._active_id].encrypt(
            nonce, plaintext.encode("utf-8"), header + context.encode("utf-8")
        )
        return header + nonce + sealed

    def decrypt(self, blob: bytes | bytearray | memoryview, *, context: str) -> str:
        """Decrypt with the key the blob names. Raises :class:`UnknownKeyId`, :class:`MalformedCiphertext`
        or :class:`DecryptionError` (tampered, or a different context)."""
        header, key_id, nonce, sealed = self._split(bytes(blob))
        aead = self._aeads.get(key_id)
        if aead is None:
            raise UnknownKeyId(
                f"ciphertext was encrypted with key id {key_id!r}, which is not in the keyring"
            )
        try:
            plaintext = aead.decrypt(nonce, sealed, header + context.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext failed authentication under key id {key_id!r} for context {context!r}: "
                "tampered, truncated, or stored under another context"
            ) from None
        return plaintext.decode("utf-8")

    def key_id_of(self, blob: bytes | bytearray | memoryview) -> str:
        return self._split(bytes(blob))[1]

    def needs_rotation(self, blob: bytes | bytearray | memoryview) -> bool:
        """True when the blob was not written with the active key (re-encrypt it with :meth:`reencrypt`)."""
        return self.key_id_of(blob) != self._active_id

    def reencrypt(self, blob: bytes | bytearray | memoryview, *, context: str) -> bytes:
        """Decrypt with the blob's key and encrypt again with the active key (for a rotation job)."""
        return self.encrypt(self.decrypt(blob, context=context), context=context)

    # ---------------------------------------------------------------------------------- blind index

    def blind_index(self, value: str, *, context: str) -> bytes:
        """Keyed, context-separated, deterministic 16-byte digest of ``value`` for exact lookup."""
        ctx = context.encode("utf-8")
        if len(ctx) > 0xFFFF:
            raise ValueError("context too long")
        message = len(ctx).to_bytes(2, "big") + ctx + value.encode("utf-8")
        # hmac.digest: the same HMAC as hmac.new(…).digest(), in one C call (an import computes two per row).
        return hmac.digest(self._blind_key, message, "sha256")[:BLIND_INDEX_BYTES]
