"""Waiting for a freshly started service, with an error that says why it did not come up."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


class ServiceStartError(RuntimeError):
    pass


def log_tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


async def wait_ready(
    what: str,
    check: Callable[[], Awaitable[bool]],
    popen: subprocess.Popen[bytes] | None,
    log: Path,
    ready_within: float,
) -> None:
    deadline = time.monotonic() + ready_within
    while True:
        if await check():
            return
        if popen is not None and popen.poll() is not None:
            raise ServiceStartError(
                f"{what} exited with code {popen.returncode} while starting; "
                f"last lines of {log}:\n{log_tail(log)}"
            )
        if time.monotonic() > deadline:
            raise ServiceStartError(
                f"{what} not ready after {ready_within:.0f}s; last lines of {log}:\n{log_tail(log)}"
            )
        await asyncio.sleep(0.2)
