"""Personal data cipher: AES-256-GCM with key ids (rotation), context binding, blind indexes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest

from services.privacy import (
    BLIND_INDEX_BYTES,
    DecryptionError,
    InvalidKeyring,
    MalformedCiphertext,
    PersonalDataCipher,
    UnknownKeyId,
    keyring_from_settings,
)

ID_NUMBER = "50010719850101123X"
CTX = "worker:id_number"
K1 = bytes(range(32))
K2 = bytes(range(32, 64))
BIDX = bytes(range(64, 96))


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def cipher() -> PersonalDataCipher:
    return PersonalDataCipher({"k1": K1}, "k1", BIDX)


def test_round_trip(cipher: PersonalDataCipher) -> None:
    for value in (ID_NUMBER, "13812345678", "张三", ""):
        blob = cipher.encrypt(value, context=CTX)
        assert cipher.decrypt(blob, context=CTX) == value


def test_ciphertext_does_not_contain_the_plaintext_and_is_randomised(cipher: PersonalDataCipher) -> None:
    a = cipher.encrypt(ID_NUMBER, context=CTX)
    b = cipher.encrypt(ID_NUMBER, context=CTX)
    assert a != b  # random nonce
    assert ID_NUMBER.encode() not in a
    assert b"19850101" not in a


def test_format_is_version_key_id_nonce_ciphertext(cipher: PersonalDataCipher) -> None:
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    assert blob[0] == 1
    assert blob[1] == 2
    assert blob[2:4] == b"k1"
    assert len(blob) == 4 + 12 + len(ID_NUMBER) + 16
    assert cipher.key_id_of(blob) == "k1"


def test_decrypt_accepts_memoryview_and_bytearray(cipher: PersonalDataCipher) -> None:
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    assert cipher.decrypt(memoryview(blob), context=CTX) == ID_NUMBER
    assert cipher.decrypt(bytearray(blob), context=CTX) == ID_NUMBER


@pytest.mark.parametrize("position", [5, 16, -1])  # nonce, ciphertext, tag
def test_tampering_is_detected(cipher: PersonalDataCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt(ID_NUMBER, context=CTX))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(bytes(blob), context=CTX)
    assert ID_NUMBER not in str(info.value)


def test_truncation_and_garbage_are_malformed(cipher: PersonalDataCipher) -> None:
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    for bad in (b"", b"\x01", blob[:20], b"\x02" + blob[1:], b"\x01\x00" + blob[2:]):
        with pytest.raises(MalformedCiphertext):
            cipher.decrypt(bad, context=CTX)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob[:-1], context=CTX)


def test_relabelling_the_key_id_is_detected() -> None:
    # Both keys present: swapping the header's key id must still fail (the header is authenticated too).
    cipher = PersonalDataCipher({"k1": K1, "k2": K2}, "k1", BIDX)
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    forged = blob[:2] + b"k2" + blob[4:]
    with pytest.raises(DecryptionError):
        cipher.decrypt(forged, context=CTX)


def test_context_binding(cipher: PersonalDataCipher) -> None:
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(blob, context="worker:phone")
    assert ID_NUMBER not in str(info.value)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, context="worker:id_number ")


def test_rotation() -> None:
    old = PersonalDataCipher({"k1": K1}, "k1", BIDX)
    blob = old.encrypt(ID_NUMBER, context=CTX)
    assert not old.needs_rotation(blob)

    rotated = PersonalDataCipher({"k1": K1, "k2": K2}, "k2", BIDX)
    assert rotated.decrypt(blob, context=CTX) == ID_NUMBER  # old rows stay readable
    assert rotated.needs_rotation(blob)

    fresh = rotated.reencrypt(blob, context=CTX)
    assert rotated.key_id_of(fresh) == "k2"
    assert not rotated.needs_rotation(fresh)
    assert rotated.decrypt(fresh, context=CTX) == ID_NUMBER

    retired = PersonalDataCipher({"k2": K2}, "k2", BIDX)
    assert retired.decrypt(fresh, context=CTX) == ID_NUMBER
    with pytest.raises(UnknownKeyId, match="k1"):
        retired.decrypt(blob, context=CTX)


def test_blind_index_is_the_documented_hmac(cipher: PersonalDataCipher) -> None:
    # Stored blind indexes must stay comparable: the value is HMAC-SHA256(key, len(context) ‖ context ‖ value)
    # truncated to 16 bytes, whatever call computes it.
    message = len(CTX.encode()).to_bytes(2, "big") + CTX.encode() + ID_NUMBER.encode()
    expected = hmac.new(BIDX, message, hashlib.sha256).digest()[:BLIND_INDEX_BYTES]
    assert cipher.blind_index(ID_NUMBER, context=CTX) == expected


def test_blind_index_is_deterministic_context_separated_and_key_dependent(cipher: PersonalDataCipher) -> None:
    a = cipher.blind_index(ID_NUMBER, context=CTX)
    assert len(a) == BLIND_INDEX_BYTES
    assert cipher.blind_index(ID_NUMBER, context=CTX) == a
    assert cipher.blind_index("50010719850101124X", context=CTX) != a
    assert cipher.blind_index(ID_NUMBER, context="worker:phone") != a
    # The context/value split is unambiguous.
    assert cipher.blind_index("b", context="worker:a") != cipher.blind_index("ab", context="worker:")

    other_key = PersonalDataCipher({"k1": K1}, "k1", os.urandom(32))
    assert other_key.blind_index(ID_NUMBER, context=CTX) != a
    # Independent of the encryption keys: rotating them keeps the index stable.
    rotated = PersonalDataCipher({"k1": K1, "k2": K2}, "k2", BIDX)
    assert rotated.blind_index(ID_NUMBER, context=CTX) == a


def test_keyring_from_settings() -> None:
    spec = f" k1:{_b64(K1)} , k2:{base64.urlsafe_b64encode(K2).decode().rstrip('=')} "
    assert keyring_from_settings(spec) == {"k1": K1, "k2": K2}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        (_b64(K1), "key_id:base64key"),
        (f"k 1:{_b64(K1)}", "key id"),
        (f"k1:{_b64(K1)},k1:{_b64(K2)}", "duplicate"),
        ("k1:not base64!!", "base64"),
        (f"k1:{_b64(K1[:16])}", "32 bytes"),
    ],
)
def test_keyring_errors_are_clear_and_never_echo_the_key(spec: str, message: str) -> None:
    with pytest.raises(InvalidKeyring, match=message) as info:
        keyring_from_settings(spec)
    assert _b64(K1) not in str(info.value)
    assert _b64(K1[:16]) not in str(info.value)


def test_from_settings_and_repr() -> None:
    cipher = PersonalDataCipher.from_settings(f"k1:{_b64(K1)},k2:{_b64(K2)}", "k2", _b64(BIDX))
    assert cipher.active_key_id == "k2"
    assert cipher.key_ids == {"k1", "k2"}
    assert _b64(K1) not in repr(cipher)
    assert "k2" in repr(cipher)
    blob = cipher.encrypt(ID_NUMBER, context=CTX)
    assert cipher.key_id_of(blob) == "k2"


def test_constructor_validation() -> None:
    with pytest.raises(InvalidKeyring, match="empty"):
        PersonalDataCipher({}, "k1", BIDX)
    with pytest.raises(InvalidKeyring, match="active key id"):
        PersonalDataCipher({"k1": K1}, "k9", BIDX)
    with pytest.raises(InvalidKeyring, match="32 bytes"):
        PersonalDataCipher({"k1": K1[:16]}, "k1", BIDX)
    with pytest.raises(InvalidKeyring, match="blind-index key must be at least"):
        PersonalDataCipher({"k1": K1}, "k1", b"short")
    with pytest.raises(InvalidKeyring, match="differ"):
        PersonalDataCipher({"k1": K1}, "k1", K1)
