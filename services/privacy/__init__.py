"""Personal data protection (policy clause 22, PIPL): authenticated encryption at rest with rotating keys,
and keyed blind indexes for exact lookup and de-duplication."""

from services.privacy.cipher import (
    BLIND_INDEX_BYTES,
    FORMAT_VERSION,
    DecryptionError,
    InvalidKeyring,
    MalformedCiphertext,
    PersonalDataCipher,
    PrivacyError,
    UnknownKeyId,
    decode_key,
    keyring_from_settings,
)

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
