"""A real worker process (`python -m workers`) for the tests that kill one: settings passed as its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from services.api.settings import ApiSettings

REPO = Path(__file__).resolve().parents[2]


def worker_env(settings: ApiSettings, **overrides: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "VIRTUAL_ENV", "TMPDIR"}}
    for name, value in {**settings.model_dump(), **overrides}.items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, tuple | list | dict):
            value = json.dumps(value)  # pydantic-settings reads complex values as JSON
        env[name.upper()] = str(value)
    return env


def start_worker(settings: ApiSettings, log_file: IO[bytes], **overrides: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "workers"], cwd=REPO, env=worker_env(settings, **overrides),
                            stdout=subprocess.DEVNULL, stderr=log_file)
