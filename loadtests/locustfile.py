"""Locust entry point for Bashu Bridge load tests. Use loadtests/run_load.py, which picks the user classes of a
scenario, bounds time and request count, samples server CPU/memory and writes the report:

    uv run python loadtests/run_load.py kiosk --users 20 --duration 60

Scenarios (user classes): kiosk = KioskTapUser + KioskTextUser; enterprise = EnterpriseUser;
broker = BrokerUser; mixed = all four (weights 6:3:2:1). Only loopback targets are accepted.
With BASHU_REQUEST_LOG set, every request is also written to that CSV (name, ms, ok, t = epoch s at the end).
"""

from __future__ import annotations

import atexit
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent
from locust import events

from loadtests.scenarios.broker import BrokerUser
from loadtests.scenarios.enterprise import EnterpriseUser
from loadtests.scenarios.kiosk import KioskTapUser, KioskTextUser
from loadtests.scenarios.run_environment import ensure_loopback, load_available, load_fresh_workers

__all__ = ["BrokerUser", "EnterpriseUser", "KioskTapUser", "KioskTextUser"]

MAX_REQUESTS = int(os.environ.get("BASHU_MAX_REQUESTS", "50000"))
_state: dict[str, Any] = {"requests": 0, "stopping": False, "env": None}
# Every request's name, time and outcome, so run_load.py can compute exact percentiles over groups of endpoints
# (all kiosk requests, both match endpoints): Locust's CSV has per-name percentiles only, rounded into buckets.
_log_path = os.environ.get("BASHU_REQUEST_LOG")
_log_file = open(_log_path, "w", newline="", encoding="utf-8") if _log_path else None  # noqa: SIM115
_log = csv.writer(_log_file) if _log_file else None
if _log is not None and _log_file is not None:
    _log.writerow(["name", "ms", "ok", "t"])
    atexit.register(_log_file.close)


@events.init.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _init(environment: Any, **_: Any) -> None:
    ensure_loopback(environment.host or "")
    _state["env"] = environment


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _probe(environment: Any, **_: Any) -> None:
    missing = load_available(environment.host or "")
    fresh = load_fresh_workers()
    if fresh:
        print(f"loadtest: {fresh} never-seen workers for broker uploads", file=sys.stderr, flush=True)
    if missing:
        print(f"loadtest: not in this API yet, skipped: {', '.join(missing)}", file=sys.stderr, flush=True)


@events.request.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _cap(name: str = "", response_time: float = 0.0, exception: Any = None, **_: Any) -> None:
    """Log the request; stop the run once MAX_REQUESTS requests were made (the time limit is locust's -t)."""
    if _log is not None:
        _log.writerow([name, f"{response_time:.2f}", "0" if exception else "1", f"{time.time():.3f}"])
    _state["requests"] += 1
    if _state["requests"] >= MAX_REQUESTS and not _state["stopping"]:
        _state["stopping"] = True
        runner = _state["env"].runner if _state["env"] is not None else None
        if runner is not None:
            gevent.spawn(runner.quit)
