"""`bashu devstack ...`: bring the local stack up and down.

stdout carries only KEY=value lines (so `eval`, `make` and CI can read them); progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from services.devstack import application, install, paths, processes, stack
from services.devstack.readiness import ServiceStartError

devstack_app = typer.Typer(
    help="Local stack: PostgreSQL, Redis, Meilisearch, API and worker.", no_args_is_help=True
)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _emit(values: dict[str, str]) -> None:
    for key, value in values.items():
        print(f"{key}={value}", flush=True)


def _backing() -> stack.Backing:
    try:
        backing = asyncio.run(stack.bring_up())
    except (ServiceStartError, OSError) as exc:
        _say(f"devstack: ERROR: {exc}")
        raise typer.Exit(1) from exc
    for line in stack.describe(backing):
        _say(line)
    # Recorded even for foreground runs, so that `down` can clean up after a run that was SIGKILLed.
    processes.record(backing.started)
    return backing


def _stop_all(started: list[processes.Managed]) -> None:
    # Reverse start order: API and worker go before the services they use.
    for proc in reversed(started):
        _say(f"devstack: stopping {proc.name} (pid {proc.pid})")
        processes.stop(proc)
    remaining = [p for p in processes.load_pid_file() if p.pid not in {s.pid for s in started}]
    processes.save_pid_file(remaining)


@devstack_app.command("install")
def install_cmd() -> None:
    """Meilisearch binary and Debian packages (run by `make install` after `uv sync`)."""
    install.install()


@devstack_app.command()
def services(
    env_file: Annotated[
        Path | None, typer.Option("--env-file", help="Also write the KEY=value lines here.")
    ] = None,
) -> None:
    """Only the backing services: reuse reachable ones, start private ones; they keep running (see `down`)."""
    backing = _backing()
    values = stack.write_env(backing)
    if env_file is not None:
        stack.write_env(backing, path=env_file)
    _say(f"devstack: wrote {paths.env_file()}")
    _emit(values)


@devstack_app.command()
def up(
    detach: Annotated[bool, typer.Option("--detach", help="Return once up; stop later with `down`.")] = False,
) -> None:
    """Backing services, migrations, demo data, API and worker."""
    backing = _backing()
    started = list(backing.started)
    try:
        host, port = application.api_bind()
        env = {**os.environ, **backing.env(), "PYTHONUNBUFFERED": "1"}
        stack.write_env(backing)
        application.run_cli(["db", "migrate"], env)
        application.run_cli(["catalogue", "load-initial"], env, optional=True)
        application.run_cli(["demo", "load"], env, optional=True)
        extra: dict[str, str] = {}
        admin_key = application.admin_api_key(env)
        if admin_key:
            extra["ADMIN_API_KEY"] = admin_key
        extra.update(application.demo_keys())

        api, api_popen = application.start_api(env, host, port)
        started.append(api)
        worker, worker_popen = application.start_worker(env)
        started.append(worker)
        processes.record([api, worker])
        api_url = api.url
        asyncio.run(application.wait_healthy(api_url, api_popen, Path(api.log)))
    except (RuntimeError, OSError) as exc:
        _say(f"devstack: ERROR: {exc}")
        _stop_all(started)
        raise typer.Exit(1) from exc

    values = {
        "API_URL": api_url,
        **backing.env(),
        **({"ADMIN_API_KEY": ""} if "ADMIN_API_KEY" not in extra else {}),
        **extra,
        "DOCS_URL": f"{api_url}/docs",
        "KIOSK_URL": f"{api_url}/kiosk",
    }
    stack.write_env(backing, extra={k: v for k, v in values.items() if k not in backing.env()})
    _emit(values)
    _say(f"devstack: logs in {paths.state_dir()} (api.log, worker.log, <service>/*.log)")
    _say("devstack: `make kiosk-link` prints a one-time link that makes a browser the demo hall's kiosk")
    if detach:
        _say("devstack: running in the background; `make down` (or `devstack down`) stops it")
        return
    _say("devstack: running; Ctrl-C stops what this run started")
    _foreground({api.name: api_popen, worker.name: worker_popen}, started)


def _foreground(watched: dict[str, subprocess.Popen[bytes]], started: list[processes.Managed]) -> None:
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    while not stopping:
        for name, popen in watched.items():
            returncode = popen.poll()
            if returncode is not None:
                _say(f"devstack: {name} exited with code {returncode}; stopping the stack")
                stopping, code = True, 1
        time.sleep(0.3)
    _stop_all(started)
    raise typer.Exit(code)


@devstack_app.command()
def down() -> None:
    """Stop everything that devstack runs recorded in .devstack/pids.json (never a reused system server)."""
    recorded = processes.load_pid_file()
    if not recorded:
        _say("devstack: nothing recorded as running")
        return
    _stop_all(recorded)
