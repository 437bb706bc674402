"""Shared by the scenarios: configuration from the environment (set by run_load.py), demo keys, the seeded
corpus, which endpoints the running API has, and custom metrics."""

from __future__ import annotations

import collections
import functools
import json
import os
import random
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from services.demo.corpus import Corpus  # noqa: E402

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
RUN_ID = os.environ.get("BASHU_RUN_ID") or uuid.uuid4().hex[:8]
SEED = int(os.environ.get("BASHU_SEED", "20260101"))
IMPORT_ROWS = int(os.environ.get("BASHU_IMPORT_ROWS", "200"))
IMPORT_TIMEOUT_S = float(os.environ.get("BASHU_IMPORT_TIMEOUT_S", "300"))
# "path:start:end": lines start…end of a corpus workers.ndjson that the stack has never seen (run_load.py passes
# the lines after the seeded ones, a new slice each run). Uploading them adds new people; generated sheets could
# repeat a seeded person's ID number, whom the API then rightly refuses as registered by another broker.
FRESH_WORKERS = os.environ.get("BASHU_FRESH_WORKERS", "")
_fresh: collections.deque[bytes] = collections.deque()


def load_fresh_workers() -> int:
    """Read the fresh slice once, before users start (skipping to it reads the file: not while requests run)."""
    if not FRESH_WORKERS or _fresh:
        return len(_fresh)
    path, start, end = FRESH_WORKERS.rsplit(":", 2)
    first, last = int(start), int(end)
    with open(path, "rb") as fh:
        for number, line in enumerate(fh):
            if number >= last:
                break
            if number >= first:
                _fresh.append(line)
    return len(_fresh)


def fresh_workers(count: int, ref_prefix: str) -> list[dict[str, Any]]:
    """The next `count` never-seen people of the fresh slice (fewer or none once it is used up)."""
    out: list[dict[str, Any]] = []
    while _fresh and len(out) < count:
        item = json.loads(_fresh.popleft())
        item["external_ref"] = f"{ref_prefix}{len(out) + 1:06d}"
        out.append(item)
    return out


def ensure_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to load-test {url!r}: only loopback targets (127.0.0.1, localhost) are allowed")


@functools.cache
def keys() -> dict[str, str]:
    path = Path(os.environ.get("BASHU_KEYS_FILE", REPO_ROOT / ".devstack" / "demo-keys.json"))
    data: dict[str, str] = json.loads(path.read_text())
    return data


def keys_of(prefix: str) -> list[str]:
    found = [v for k, v in sorted(keys().items()) if k.startswith(prefix)]
    if not found:
        raise SystemExit(f"no demo key named {prefix}* in demo-keys.json; run `bashu demo load` first")
    return found


@functools.cache
def corpus() -> Corpus:
    return Corpus(seed=SEED, today=date.today())


@functools.cache
def kiosk_queries() -> tuple[dict[str, Any], ...]:
    return tuple(corpus().kiosk_queries(3000))


AVAILABLE: set[str] = set()  # "METHOD /path" of the running API, from /openapi.json (filled at test start)


def has(method: str, path: str) -> bool:
    return not AVAILABLE or f"{method} {path}" in AVAILABLE


def load_available(base_url: str) -> list[str]:
    """Read the API's routes once, so scenarios skip endpoints another issue has not delivered yet."""
    import requests

    try:
        spec = requests.get(base_url.rstrip("/") + "/openapi.json", timeout=10).json()
    except Exception:  # the run still goes ahead; every task then tries its endpoint
        return []
    for path, methods in spec.get("paths", {}).items():
        for method in methods:
            AVAILABLE.add(f"{method.upper()} {path}")
    wanted = ["GET /v1/kiosk/search", "GET /v1/kiosk/suggest", "GET /v1/kiosk/jobs/{job_id}", "POST /v1/jobs",
              "GET /v1/jobs/{job_id}/matches", "POST /v1/workers/imports", "GET /v1/workers/{worker_id}/matches"]
    return [w for w in wanted if w not in AVAILABLE]


def fire(environment: Any, request_type: str, name: str, started: float, exception: Exception | None = None,
         length: int = 0) -> None:
    """Report a custom measurement (e.g. an import from upload to completed) into Locust's statistics."""
    environment.events.request.fire(request_type=request_type, name=name,
                                    response_time=(time.perf_counter() - started) * 1000, response_length=length,
                                    exception=exception, context={})


def rng() -> random.Random:
    return random.Random()
