"""Where the devstack keeps its state."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

# services/devstack/paths.py -> repository root; resolved from the file, not the cwd, so that
# `python -m services.devstack` behaves the same from any directory.
REPO_ROOT = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    override = os.environ.get("DEVSTACK_DIR")
    return Path(override).resolve() if override else REPO_ROOT / ".devstack"


def env_file() -> Path:
    return state_dir() / "env"


def pid_file() -> Path:
    return state_dir() / "pids.json"


def bin_dir() -> Path:
    return state_dir() / "bin"


def cache_dir() -> Path:
    return state_dir() / "cache"


def service_dir(name: str) -> Path:
    return state_dir() / name


def checkout_tag() -> str:
    """Eight hex characters naming this checkout's database, Redis database and queue. Two checkouts on one
    machine reuse the same PostgreSQL and Redis; with fixed names the second one's `make run` wrote into the first
    one's database (revoking its demo keys, with other encryption keys) and shared its queue and cron jobs.

    Random and kept in the state directory, not derived from its path: a checkout cloned again at the same path
    (or whose `.devstack` was deleted) generates new encryption keys (devstack/secrets.py), and reusing the old
    database under the path's name answered every list of profiles with a 500 (their ciphertexts under keys it
    no longer has). A state directory that already holds its keys from before keeps the path's name, and so its
    database."""
    tag_file = state_dir() / "checkout-tag"
    if tag_file.is_file():
        return tag_file.read_text().strip()
    if (state_dir() / "secrets.env").is_file():
        tag = hashlib.sha256(str(state_dir()).encode()).hexdigest()[:8]
    else:
        tag = secrets.token_hex(4)
    state_dir().mkdir(parents=True, exist_ok=True)
    tag_file.write_text(tag + "\n")
    return tag
