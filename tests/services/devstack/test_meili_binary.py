from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from services.devstack import meili_binary
from services.devstack.meili_binary import BINARY_SHA256, BinaryError, verify_binary


def test_wrong_binary_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "meilisearch"
    fake.write_bytes(b"#!/bin/sh\necho not meilisearch\n")
    with pytest.raises(BinaryError, match="refusing"):
        verify_binary(fake)


def test_missing_binary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BinaryError, match="make install"):
        verify_binary(tmp_path / "absent")


def test_expected_hash_is_accepted_and_rechecked(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"payload")
    expected = hashlib.sha256(b"payload").hexdigest()
    verify_binary(blob, expected)
    # Accepting it left nothing that vouches for it later: the same check refuses the file once changed.
    blob.write_bytes(b"changed")
    with pytest.raises(BinaryError, match="refusing"):
        verify_binary(blob, expected)


def test_installed_binary_is_the_pinned_one(meili_bin: Path) -> None:
    assert meili_binary.sha256_of(meili_bin) == BINARY_SHA256
    assert os.access(meili_bin, os.X_OK)


def test_tampering_after_verification_is_caught(meili_bin: Path, state_dir: Path) -> None:
    # A copy verified once (leaving its stamp), then changed: the stamp must not vouch for it.
    copy = state_dir / "bin" / "meilisearch"
    copy.parent.mkdir(parents=True)
    shutil.copy2(meili_bin, copy)
    verify_binary(copy)
    with copy.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0\0\0\0")
    with pytest.raises(BinaryError, match="refusing"):
        meili_binary.locate_binary()
