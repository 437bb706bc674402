"""Meilisearch: reuse a reachable instance, or run the pinned binary on loopback with a master key."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.devstack import meili_binary, paths, processes
from services.devstack.ports import free_loopback_port
from services.devstack.readiness import wait_ready

DEFAULT_URL = "http://127.0.0.1:7700"


async def healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.get(url.rstrip("/") + "/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status") == "available"


async def probe(url: str) -> bool:
    return await healthy(url)


def key_file() -> Path:
    return paths.state_dir() / "meili.key"


def master_key() -> str:
    """The private instance's master key, generated once and kept so that API keys survive restarts."""
    path = key_file()
    if path.is_file():
        key = path.read_text().strip()
        if len(key) >= 16:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


@dataclass
class Started:
    url: str
    key: str
    managed: processes.Managed
    popen: subprocess.Popen[bytes]


async def start_private(
    binary: Path | None = None, data_root: Path | None = None, ready_within: float = 60.0
) -> Started:
    binary = binary or meili_binary.locate_binary()
    root = data_root or paths.service_dir("meili")
    root.mkdir(parents=True, exist_ok=True)
    key = master_key()
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "meilisearch.log"
    managed, popen = processes.spawn(
        "meilisearch",
        [
            str(binary),
            # Loopback only, and always a master key (set below): the index holds worker profiles.
            "--http-addr",
            f"127.0.0.1:{port}",
            "--env",
            "development",
            "--no-analytics",
            "--db-path",
            str(root / "data"),
            "--dump-dir",
            str(root / "dumps"),
            "--snapshot-dir",
            str(root / "snapshots"),
        ],
        log=log,
        # The key goes by environment, not argv, where `ps` would show it; other MEILI_* settings from
        # the caller's environment (MEILI_URL, ...) must not leak into the server's configuration.
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MEILI_")}, "MEILI_MASTER_KEY": key},
        cwd=root,
        url=url,
    )
    try:
        await wait_ready("private Meilisearch", lambda: healthy(url), popen, log, ready_within)
    except BaseException:
        processes.stop(managed)
        raise
    return Started(url, key, managed, popen)
