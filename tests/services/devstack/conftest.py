from __future__ import annotations

from pathlib import Path

import pytest

from services.devstack import meili_binary


@pytest.fixture(scope="session")
def meili_bin() -> Path:
    # Located (and sha256-verified) the way the stack does it, before any test points DEVSTACK_DIR elsewhere.
    return meili_binary.locate_binary()


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private `.devstack` for the test, so it never touches the developer's stack or pid file."""
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path / "devstack"))
    return tmp_path / "devstack"
