"""A real worker process (`python -m workers`) for the tests that kill one: settings passed as its environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
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


async def kill_worker_once(settings: ApiSettings, log_path: Path, ready: Callable[[], Awaitable[bool]], *,
                           within: float, **overrides: Any) -> None:
    """Start a worker process, wait until `ready()` holds, then SIGKILL it (no graceful shutdown: what a crash,
    the OOM killer or a lost machine does). Fails with the worker's log tail if `ready` never holds."""
    with log_path.open("wb") as log_file:
        process = start_worker(settings, log_file, **overrides)
    try:
        deadline = asyncio.get_running_loop().time() + within
        while not await ready():
            if asyncio.get_running_loop().time() > deadline or process.poll() is not None:
                raise AssertionError((await asyncio.to_thread(log_path.read_text))[-3000:])
            await asyncio.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait)
