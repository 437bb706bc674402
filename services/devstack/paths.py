"""Where the devstack keeps its state."""

from __future__ import annotations

import hashlib
import os
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
    """Eight hex characters naming this checkout (by its state directory). Two checkouts on one machine reuse
    the same PostgreSQL and Redis; with fixed names the second one's `make run` wrote into the first one's
    database (revoking its demo keys, with other encryption keys) and shared its queue and cron jobs."""
    return hashlib.sha256(str(state_dir()).encode()).hexdigest()[:8]
