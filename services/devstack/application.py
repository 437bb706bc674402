"""The project's own processes on top of the backing services: migrations, demo data, API, worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from services.devstack import paths, processes
from services.devstack.ports import port_is_free
from services.devstack.readiness import wait_ready

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def warn(message: str) -> None:
    print(f"devstack: WARNING: {message}", file=sys.stderr, flush=True)


def run_cli(
    args: list[str], env: Mapping[str, str], optional: bool = False, echo: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m services.cli ARGS` with the stack's environment.

    With optional=True, a command the CLI doesn't have yet (typer's "No such command") is a warning;
    any other failure is an error either way. echo=False keeps output that holds secrets off the terminal.
    """
    print(f"devstack: bashu {' '.join(args)}", file=sys.stderr, flush=True)
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "services.cli", *args],
        env=dict(env),
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        missing = "No such command" in output or "No module named services.cli" in output
        if optional and missing:
            warn(f"`bashu {' '.join(args)}` is not available yet; skipped")
            return result
        raise RuntimeError(f"`bashu {' '.join(args)}` failed with code {result.returncode}:\n{output}")
    # stdout of `devstack up` is reserved for KEY=value lines; the command's own output is progress.
    if echo and result.stdout.strip():
        print(result.stdout.rstrip(), file=sys.stderr, flush=True)
    return result


def admin_api_key(env: Mapping[str, str]) -> str | None:
    result = run_cli(["admin", "ensure-demo-admin", "--json"], env, optional=True, echo=False)
    if result.returncode != 0:
        return None
    for line in reversed(result.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("api_key"), str):
            return str(data["api_key"])
    warn('`bashu admin ensure-demo-admin --json` printed no {"api_key": ...}')
    return None


def demo_keys() -> dict[str, str]:
    """Keys from `.devstack/demo-keys.json` as DEMO_<NAME>_API_KEY lines.

    Accepts {name: key}, {name: {"api_key": key}} or [{"name": .., "api_key": ..}], since the demo loader
    that writes the file is still being built.
    """
    path = paths.state_dir() / "demo-keys.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        warn(f"{path} is not JSON; ignored")
        return {}
    pairs: list[tuple[str, object]] = []
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list):
        pairs = [(str(item.get("name", i)), item) for i, item in enumerate(data) if isinstance(item, dict)]
    out: dict[str, str] = {}
    for name, value in pairs:
        key = value.get("api_key") if isinstance(value, dict) else value
        if isinstance(key, str):
            slug = "".join(ch if ch.isalnum() else "_" for ch in str(name)).upper()
            out[f"DEMO_{slug}_API_KEY"] = key
    return out


def api_bind() -> tuple[str, int]:
    host = os.environ.get("HOST") or DEFAULT_HOST
    if os.environ.get("PORT"):
        return host, int(os.environ["PORT"])
    if not port_is_free(host, DEFAULT_PORT):
        raise RuntimeError(f"{host}:{DEFAULT_PORT} is in use; set PORT=... to run the API elsewhere")
    return host, DEFAULT_PORT


def start_api(
    env: Mapping[str, str], host: str, port: int
) -> tuple[processes.Managed, subprocess.Popen[bytes]]:
    return processes.spawn(
        "api",
        [sys.executable, "-m", "services.api"],
        log=paths.state_dir() / "api.log",
        env={**env, "HOST": host, "PORT": str(port)},
        cwd=paths.REPO_ROOT,
        url=f"http://{host}:{port}",
    )


def start_worker(env: Mapping[str, str]) -> tuple[processes.Managed, subprocess.Popen[bytes]]:
    return processes.spawn(
        "worker",
        [sys.executable, "-m", "workers"],
        log=paths.state_dir() / "worker.log",
        env=dict(env),
        cwd=paths.REPO_ROOT,
    )


async def wait_healthy(
    api_url: str, popen: subprocess.Popen[bytes], log: Path, ready_within: float = 60
) -> None:
    async def check() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(api_url + "/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_ready("API", check, popen, log, ready_within)
