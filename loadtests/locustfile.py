"""Locust entry point for Bashu Bridge load tests. Use loadtests/run_load.py, which picks the user classes of a
scenario, bounds time and request count, samples server CPU/memory and writes the report:

    uv run python loadtests/run_load.py kiosk --users 20 --duration 60

Scenarios (user classes): kiosk = KioskTapUser + KioskTextUser; enterprise = EnterpriseUser;
broker = BrokerUser; mixed = all four (weights 6:3:2:1). Only loopback targets are accepted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent
from locust import events

from loadtests.scenarios.broker import BrokerUser
from loadtests.scenarios.common import ensure_loopback, load_available
from loadtests.scenarios.enterprise import EnterpriseUser
from loadtests.scenarios.kiosk import KioskTapUser, KioskTextUser

__all__ = ["BrokerUser", "EnterpriseUser", "KioskTapUser", "KioskTextUser"]

MAX_REQUESTS = int(os.environ.get("BASHU_MAX_REQUESTS", "50000"))
_state: dict[str, Any] = {"requests": 0, "stopping": False, "env": None}


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    ensure_loopback(environment.host or "")
    _state["env"] = environment


@events.test_start.add_listener
def _probe(environment: Any, **_: Any) -> None:
    missing = load_available(environment.host or "")
    if missing:
        print(f"loadtest: not in this API yet, skipped: {', '.join(missing)}", file=sys.stderr, flush=True)


@events.request.add_listener
def _cap(**_: Any) -> None:
    """Stop the run once MAX_REQUESTS requests were made (the time limit is locust's -t)."""
    _state["requests"] += 1
    if _state["requests"] >= MAX_REQUESTS and not _state["stopping"]:
        _state["stopping"] = True
        runner = _state["env"].runner if _state["env"] is not None else None
        if runner is not None:
            gevent.spawn(runner.quit)
