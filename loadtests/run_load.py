"""Run one load-test scenario against the local stack and write its report.

    uv run python loadtests/run_load.py kiosk|enterprise|broker|mixed [--users 10] [--duration 30]
                                       [--max-requests 20000] [--import-rows 200]
                                       [--background-import 10000] [--out DIR]

Target: API_URL from the environment or `$DEVSTACK_DIR/env` (default `.devstack/`; loopback only), keys from
`$DEVSTACK_DIR/demo-keys.json` (`bashu demo load` writes it; `make run` / `bashu devstack up --detach` /
`loadtests/load_stack.py seed` run that). Bounded by --duration and --max-requests. With --background-import N,
one broker upload of N fresh workers starts --import-delay seconds into the run; its "upload → completed" time
and whether it completed inside the run's window are reported. Writes into loadtests/reports/<time>-<scenario>/:
Locust's own CSVs and HTML report, the Locust log, requests.csv (every request's name, time and outcome),
resources.csv (CPU and RSS of the processes in $DEVSTACK_DIR/pids.json, of Locust itself and of the PostgreSQL
backends serving the stack's database, plus the load average, each second) and summary.md (p50/p95/p99,
request rate and errors per endpoint, the issue's targets checked, server CPU/memory, the machine). Prints
summary.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("DEVSTACK_DIR") or REPO / ".devstack")
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
SCENARIOS = {
    "kiosk": ["KioskTapUser", "KioskTextUser"],
    "enterprise": ["EnterpriseUser"],
    "broker": ["BrokerUser"],
    "mixed": ["KioskTapUser", "KioskTextUser", "EnterpriseUser", "BrokerUser"],
}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION_S = 1800
# Locust names a scenario must produce: one missing from the statistics was silently not exercised.
EXPECTED = {
    "KioskTapUser": ["GET /v1/kiosk/start", "GET /v1/kiosk/search [tap]", "GET /v1/kiosk/search [tap, next page]",
                     "GET /v1/kiosk/jobs/{id}"],
    "KioskTextUser": ["GET /v1/kiosk/suggest", "GET /v1/kiosk/search [text]", "GET /v1/kiosk/search [slang]",
                      "GET /v1/kiosk/search [homophone]"],
    "EnterpriseUser": ["GET /v1/jobs", "POST /v1/jobs", "GET /v1/jobs/{id}/matches"],
    "BrokerUser": ["POST /v1/workers/imports", "GET /v1/workers/imports/{id}", "GET /v1/workers",
                   "GET /v1/workers/{id}/matches"],
}
# The targets for the mixed profile (ms): which requests they cover.
KIOSK_P95_MS = 50.0
MATCH_P95_MS = 100.0


def is_kiosk(name: str) -> bool:
    return "/v1/kiosk/" in name


def is_match(name: str) -> bool:
    return name.endswith("/matches")


def env_file_values() -> dict[str, str]:
    path = STATE / "env"
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    return f"{os.cpu_count()} vCPU {cpu}, {mem} RAM, {platform.system()} {platform.release()}"


class Sampler(threading.Thread):
    """CPU % (of one core) and RSS of the stack's processes, once a second."""

    def __init__(self, database: str = "") -> None:
        super().__init__(daemon=True)
        self.rows: list[dict[str, Any]] = []
        self.stop_event = threading.Event()
        self.procs: dict[str, Any] = {}
        self.database = database
        self.backends: dict[int, Any] = {}
        try:
            import psutil

            recorded = json.loads((STATE / "pids.json").read_text()).get("processes", [])
            for item in recorded:
                try:
                    proc = psutil.Process(int(item["pid"]))
                    proc.cpu_percent(None)
                    self.procs[str(item["name"])] = proc
                except (psutil.Error, KeyError, ValueError):
                    continue
        except (ImportError, OSError, ValueError):
            pass

    def add(self, name: str, pid: int) -> None:
        try:
            import psutil

            proc = psutil.Process(pid)
            proc.cpu_percent(None)
            self.procs[name] = proc
        except Exception:  # noqa: S110 - psutil missing or the process already gone: not sampled
            pass

    def _postgres_cpu(self) -> tuple[float, float]:
        """CPU % and RSS of the PostgreSQL backends connected to the stack's database (the server is shared:
        only these backends are this run's)."""
        import psutil

        marker = f" {self.database} "
        cpu, rss = 0.0, 0.0
        seen = set()
        for proc in psutil.process_iter(["name", "cmdline"]):
            try:
                cmdline = " ".join(proc.info["cmdline"] or [])
                if not cmdline.startswith("postgres:") or marker not in cmdline + " ":
                    continue
                seen.add(proc.pid)
                if proc.pid not in self.backends:  # first sight: cpu_percent needs a previous reading
                    self.backends[proc.pid] = proc
                    proc.cpu_percent(None)
                    continue
                known = self.backends[proc.pid]
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss
            except Exception:  # noqa: S112 - a backend that just exited
                continue
        for pid in set(self.backends) - seen:
            del self.backends[pid]
        return cpu, rss

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop_event.wait(1.0):
            t_s = round(time.monotonic() - started, 1)
            self.rows.append({"t_s": t_s, "process": "load average (1 min)", "cpu_percent": os.getloadavg()[0],
                              "rss_mib": 0})
            if self.database:
                try:
                    cpu_pg, rss_pg = self._postgres_cpu()
                    self.rows.append({"t_s": t_s, "process": f"postgres ({self.database} backends)",
                                      "cpu_percent": cpu_pg, "rss_mib": round(rss_pg / 1048576, 1)})
                except ImportError:
                    pass
            for name, proc in list(self.procs.items()):
                try:
                    with proc.oneshot():
                        cpu = proc.cpu_percent(None)
                        rss = proc.memory_info().rss
                        for child in proc.children(recursive=True):
                            try:
                                rss += child.memory_info().rss
                            except Exception:  # noqa: S112 - a child that just exited
                                continue
                except Exception:  # noqa: S112 - the process went away; keep sampling the others
                    continue
                self.rows.append({"t_s": t_s, "process": name, "cpu_percent": cpu,
                                  "rss_mib": round(rss / 1048576, 1)})

    def summary(self) -> list[dict[str, Any]]:
        out = []
        names = list(dict.fromkeys(r["process"] for r in self.rows))
        for name in names:
            rows = [r for r in self.rows if r["process"] == name]
            if not rows:
                continue
            cpus = [r["cpu_percent"] for r in rows]
            out.append({"process": name, "cpu_avg": sum(cpus) / len(cpus), "cpu_max": max(cpus),
                        "rss_max": max(r["rss_mib"] for r in rows)})
        return out


class BackgroundImport(threading.Thread):
    """One broker upload of `rows` fresh workers while the scenario runs: the issue's "while an import of 10,000
    rows completes". The body is built before the run starts (generating it is not the server's cost)."""

    def __init__(self, api_url: str, key: str, rows: int, delay_s: float, run_id: str,
                 fresh: tuple[Path, int] | None) -> None:
        super().__init__(daemon=True)
        from datetime import date

        from services.demo.corpus import Corpus

        self.api_url, self.key, self.rows, self.delay_s = api_url, key, rows, delay_s
        items: list[dict[str, Any]] = []
        if fresh is not None:  # never-seen people of the seeded corpus (see fresh_window)
            path, start = fresh
            with path.open("rb") as fh:
                for number, line in enumerate(fh):
                    if number >= start + rows:
                        break
                    if number >= start:
                        items.append({**json.loads(line), "external_ref": f"lt-{run_id}-bg-{number}"})
        source = "never-seen people of the seeded corpus" if len(items) == rows else "generated people"
        if len(items) < rows:
            # Another seed than the seeded corpus: new people, though one may share a seeded person's ID number.
            corpus = Corpus(seed=int(run_id, 16) % 1_000_000 + 7, today=date.today())
            items += corpus.workers(rows - len(items), ref_prefix=f"lt-{run_id}-bg-g")
        self.body = "".join(json.dumps(w, ensure_ascii=False) + "\n" for w in items).encode()
        self.stop_event = threading.Event()
        self.result: dict[str, Any] = {"rows": rows, "state": "not started", "source": source}

    def run(self) -> None:
        if self.stop_event.wait(self.delay_s):
            return
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/x-ndjson",
                   "X-Filename": "background.ndjson", "Idempotency-Key": f"bg-{uuid.uuid4().hex}"}
        result = self.result
        result["started_monotonic"] = time.monotonic()
        result["started_epoch"] = time.time()
        started = time.perf_counter()
        try:
            with httpx.Client(base_url=self.api_url, timeout=120) as http:
                response = http.post("/v1/workers/imports", content=self.body, headers=headers)
                result["upload_s"] = time.perf_counter() - started
                if response.status_code != 202:
                    result.update(state=f"upload refused: HTTP {response.status_code} {response.text[:200]}")
                    return
                import_id = response.json()["import_id"]
                result.update(state="uploaded", import_id=import_id)
                while True:
                    time.sleep(0.5)
                    status = http.get(f"/v1/workers/imports/{import_id}", params={"error_limit": 3},
                                      headers=headers)
                    if status.status_code != 200:
                        continue
                    data = status.json()
                    if data.get("status") in ("completed", "failed"):
                        result.update(state=data["status"], completed_s=time.perf_counter() - started,
                                      completed_monotonic=time.monotonic(), completed_epoch=time.time(),
                                      **{k: data.get(k) for k in ("total", "created", "updated", "unchanged",
                                                                  "rejected", "errors", "started_at",
                                                                  "finished_at", "created_at")})
                        return
                    if time.perf_counter() - started > MAX_DURATION_S:
                        result.update(state="still running after the time limit")
                        return
        except httpx.HTTPError as exc:
            result.update(state=f"{type(exc).__name__}: {exc}")


# A 30 s warm-up of the mixed profile's two broker users uploaded 1,200 rows, the 300 s run 6,200.
WARM_UP_FRESH_ROWS = 2_000


def fresh_window() -> tuple[Path, int] | None:
    """Where the never-seen workers of a seeded stack start: the lines of the corpus after the ones
    `load_stack.py seed` uploaded, less those earlier runs took (`fresh-workers.offset`, advanced per run)."""
    seed_file = STATE / "seed.json"
    if not seed_file.is_file():
        return None
    seeded = json.loads(seed_file.read_text())
    if not seeded.get("worker_lines_used"):
        return None
    path = Path(seeded["corpus"]) / "workers.ndjson"
    if not path.is_absolute():
        path = REPO / path
    offset_file = STATE / "fresh-workers.offset"
    start = int(offset_file.read_text()) if offset_file.is_file() else int(seeded["worker_lines_used"])
    return (path, start) if path.is_file() else None


def read_stats(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_stats.csv")
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_requests(path: Path) -> list[tuple[str, float, bool, float]]:
    """(name, ms, ok, epoch seconds when it ended — 0 when not recorded)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return [(r["name"], float(r["ms"]), r["ok"] == "1", float(r.get("t") or 0)) for r in csv.DictReader(fh)]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of exact response times (Locust's own CSV rounds them into buckets)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def group_line(label: str, rows: list[tuple[str, float, bool, float]], seconds: float) -> str:
    times = [r[1] for r in rows]
    errors = sum(1 for r in rows if not r[2])
    return (f"| {label} | {len(rows)} | {errors} | {len(rows) / seconds:.1f} | {percentile(times, 0.5):.0f} | "
            f"{percentile(times, 0.95):.0f} | {percentile(times, 0.99):.0f} | {max(times, default=float('nan')):.0f} |")


def render_summary(args: argparse.Namespace, api_url: str, stats: list[dict[str, str]],
                   requests: list[tuple[str, float, bool, float]], resources: list[dict[str, Any]], seconds: float,
                   window_s: float, exit_code: int, skipped: str, background: dict[str, Any] | None,
                   load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    lines = [f"# Load test `{args.scenario}` — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}", "",
             f"- target: {api_url} (users {args.users}, spawn rate {args.spawn_rate}/s, limit {args.duration} s or "
             f"{args.max_requests} requests; ran {seconds:.0f} s; locust exit code {exit_code})",
             f"- machine: {machine()}",
             f"- warm-up: {args.warm_up} s of the same users before, not reported" if args.warm_up else
             "- no warm-up run (first requests include the processes' start-up caches)",
             f"- load average (1/5/15 min) at start {' / '.join(f'{x:.2f}' for x in load[0])}, at end "
             f"{' / '.join(f'{x:.2f}' for x in load[1])}"]
    if args.seed_info:
        lines.append(f"- data: {args.seed_info}")
    if skipped:
        lines.append(f"- **{skipped}**")
    names = {row["Name"] for row in stats if int(row["Request Count"] or 0) > 0}
    expected = [n for cls in SCENARIOS[args.scenario] for n in EXPECTED.get(cls, [])]
    missing = [n for n in expected if n not in names]
    lines.append(f"- **not exercised (0 requests)**: {', '.join(missing)}" if missing else
                 f"- every expected endpoint was exercised ({len(expected)} request names)")
    lines += ["", "| endpoint | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in stats:
        plain = row["Type"] in ("", "None") or row["Name"].startswith(row["Type"] + " ")
        name = row["Name"] if plain else f"{row['Type']} {row['Name']}"
        if row["Name"] == "Aggregated":
            name = "**all**"
        lines.append(f"| {name} | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.1f} | "
                     f"{row['50%']} | {row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} |")
    if requests:
        http_rows = [r for r in requests if not r[0].startswith("import ")]
        kiosk = [r for r in requests if is_kiosk(r[0])]
        matches = [r for r in requests if is_match(r[0])]
        lines += ["", "Groups, from every request's exact time (requests.csv):", "",
                  "| group | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                  group_line("all HTTP requests", http_rows, window_s)]
        if kiosk:
            lines.append(group_line("kiosk (start, search, suggest, detail)", kiosk, window_s))
            lines.append(group_line("kiosk search only", [r for r in kiosk if "/search" in r[0]], window_s))
        if matches:
            lines.append(group_line("matches (job → workers, worker → jobs)", matches, window_s))
            for name in sorted({r[0] for r in matches}):
                lines.append(group_line(name, [r for r in matches if r[0] == name], window_s))
        if background is not None and background.get("completed_epoch") and background.get("started_epoch"):
            # The requests that ended while the background import ran: its effect on the others.
            first, last = background["started_epoch"], background["completed_epoch"]
            during = [r for r in requests if first <= r[3] <= last]
            span = max(last - first, 1e-3)
            lines.append(group_line("kiosk, while the background import ran", [r for r in during if is_kiosk(r[0])],
                                    span))
            lines.append(group_line("matches, while the background import ran",
                                    [r for r in during if is_match(r[0])], span))
    if background is not None:
        lines += ["", f"Background import ({background['rows']:,} workers — {background['source']} — one broker "
                      f"upload, {args.import_delay:.0f} s into the run):"]
        if "completed_s" in background:
            inside = background["completed_monotonic"] <= background["window_end"]
            lines.append(f"- upload → {background['state']}: **{background['completed_s']:.1f} s** (upload request "
                         f"{background.get('upload_s', 0):.1f} s); created {background.get('created')}, updated "
                         f"{background.get('updated')}, unchanged {background.get('unchanged')}, rejected "
                         f"{background.get('rejected')}; "
                         + ("**completed inside the load window**" if inside else
                            f"**completed {background['completed_monotonic'] - background['window_end']:.0f} s "
                            "after the load window ended**"))
            if background.get("errors"):
                lines.append(f"- first row errors: {json.dumps(background['errors'], ensure_ascii=False)[:300]}")
        else:
            lines.append(f"- **did not complete**: {background['state']}")
    if requests and args.scenario == "mixed":
        http_rows = [r for r in requests if not r[0].startswith("import ")]
        errors = sum(1 for r in requests if not r[2])
        kiosk_p95 = percentile([r[1] for r in requests if is_kiosk(r[0])], 0.95)
        match_p95 = percentile([r[1] for r in requests if is_match(r[0])], 0.95)

        def verdict(ok: bool) -> str:
            return "**met**" if ok else "**missed**"

        def p95_line(label: str, value: float, target: float) -> str:
            if math.isnan(value):
                return f"- {label} p95 < {target:.0f} ms: no such requests — **not measured**"
            return f"- {label} p95 < {target:.0f} ms: {value:.0f} ms — {verdict(value < target)}"

        lines += ["", "The issue's targets (mixed profile):", "",
                  f"- zero errors: {errors} errors of {len(requests)} ({len(http_rows)} HTTP) — {verdict(errors == 0)}",
                  p95_line("kiosk", kiosk_p95, KIOSK_P95_MS), p95_line("match", match_p95, MATCH_P95_MS)]
        if background is not None:
            inside = "completed_monotonic" in background and background["state"] == "completed" \
                and background["completed_monotonic"] <= background["window_end"]
            lines.append(f"- the {background['rows']:,}-row import completes during the run — {verdict(inside)}")
        if missing:
            lines.append("- (not every endpoint of the profile was exercised: see above)")
    procs = [r for r in resources if not r["process"].startswith("load average")]
    if procs:
        lines += ["", "| process | CPU avg % | CPU max % | RSS max MiB |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r['process']} | {r['cpu_avg']:.0f} | {r['cpu_max']:.0f} | {r['rss_max']:.0f} |" for r in procs]
        lines.append("")
        lines.append("(CPU % of one core; the machine has "
                     f"{os.cpu_count()} cores, so 100 % × cores is everything. Per-second samples in resources.csv.)")
    else:
        lines += ["", "(no server processes recorded in pids.json: CPU/memory not sampled)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Bashu Bridge load-test scenario against the local stack.")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=30, help="seconds (at most 1800)")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--import-rows", type=int, default=200, help="rows per broker-user upload")
    parser.add_argument("--background-import", type=int, default=0, metavar="ROWS",
                        help="one broker upload of ROWS fresh workers during the run (the issue: 10000)")
    parser.add_argument("--import-delay", type=float, default=15.0,
                        help="seconds into the run the background import starts (after the users spawned)")
    parser.add_argument("--fresh-broker-rows", type=int, default=8_000, metavar="ROWS",
                        help="never-seen people reserved for the broker users' sheets (seeded stacks; then generated)")
    parser.add_argument("--warm-up", type=int, default=0, metavar="SECONDS",
                        help="run the same users this long first, unreported (warm caches and pools)")
    parser.add_argument("--api-url", help="default: $API_URL or $DEVSTACK_DIR/env")
    parser.add_argument("--keys-file", type=Path, default=STATE / "demo-keys.json")
    parser.add_argument("--seed-info", default="", help="a line describing the data, for the summary")
    parser.add_argument("--out", type=Path, help="report directory (default loadtests/reports/<time>-<scenario>)")
    args = parser.parse_args(argv)

    file_env = env_file_values()
    # With DEVSTACK_DIR set (e.g. loadtests/load_stack.py's private stack), its env file wins over a shell that
    # sourced the shared .devstack/env; otherwise the environment wins, as before.
    first, second = (file_env, os.environ) if os.environ.get("DEVSTACK_DIR") else (os.environ, file_env)
    api_url = (args.api_url or first.get("API_URL") or second.get("API_URL") or "").rstrip("/")
    if not api_url:
        print("no API_URL: start the stack (`make run` or `uv run bashu devstack up --detach`)", file=sys.stderr)
        return 2
    if (urlparse(api_url).hostname or "") not in LOOPBACK:
        print(f"refusing {api_url}: load tests only target loopback addresses", file=sys.stderr)
        return 2
    if not args.keys_file.is_file():
        print(f"{args.keys_file} is missing: run `uv run bashu demo load` against the stack first", file=sys.stderr)
        return 2
    duration = max(1, min(args.duration, MAX_DURATION_S))
    try:
        httpx.get(api_url + "/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        print(f"{api_url}/healthz is not answering ({exc}); is the stack up?", file=sys.stderr)
        return 2
    if not args.seed_info and (STATE / "seed.json").is_file():
        counts = json.loads((STATE / "seed.json").read_text()).get("counts", {})
        args.seed_info = (f"{counts.get('jobs_open', '?'):,} open postings, "
                          f"{counts.get('workers_available_consenting', '?'):,} available consenting workers "
                          f"(indexed: {counts.get('meili_jobs_documents', '?'):,} / "
                          f"{counts.get('meili_workers_documents', '?'):,}; {STATE / 'seed.json'})")

    out = args.out or REPO / "loadtests" / "reports" / f"{datetime.now():%Y%m%d-%H%M%S}-{args.scenario}"
    out.mkdir(parents=True, exist_ok=True)
    prefix = out / "locust"
    run_id = uuid.uuid4().hex[:8]
    env = {**os.environ, "BASHU_KEYS_FILE": str(args.keys_file), "BASHU_MAX_REQUESTS": str(args.max_requests),
           "BASHU_IMPORT_ROWS": str(args.import_rows), "BASHU_RUN_ID": run_id, "PYTHONPATH": str(REPO),
           "BASHU_REQUEST_LOG": str(out / "requests.csv")}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", api_url,
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{duration}s", "--stop-timeout", "10",
               "--csv", str(prefix), "--html", str(out / "report.html"), "--only-summary",
               "--loglevel", "WARNING", *SCENARIOS[args.scenario]]
    database = urlparse(first.get("DATABASE_URL") or second.get("DATABASE_URL") or "").path.lstrip("/")
    # Slices of never-seen people, each used once: warm-up sheets, the background import, the broker users' sheets.
    fresh = fresh_window()
    warm_fresh = bg_fresh = run_fresh = None
    if fresh is not None:
        path, start = fresh
        warm_fresh = f"{path}:{start}:{start + WARM_UP_FRESH_ROWS}"
        bg_fresh = (path, start + WARM_UP_FRESH_ROWS)
        run_start = start + WARM_UP_FRESH_ROWS + args.background_import
        run_fresh = f"{path}:{run_start}:{run_start + args.fresh_broker_rows}"
        (STATE / "fresh-workers.offset").write_text(str(run_start + args.fresh_broker_rows))
        env["BASHU_FRESH_WORKERS"] = run_fresh
    background = None
    if args.background_import:
        keys = json.loads(args.keys_file.read_text())
        broker = next((v for k, v in sorted(keys.items()) if k.startswith("broker")), None)
        if broker is None:
            print("no broker key in the keys file: --background-import needs one", file=sys.stderr)
            return 2
        background = BackgroundImport(api_url, broker, args.background_import, args.import_delay, run_id, bg_fresh)
    if args.warm_up > 0:
        # A first, unreported run of the same users: the API's and the worker's per-process caches (catalogue
        # snapshot, jieba, kiosk context, connection pools) fill as they would in a server that has been up.
        warm = out / "warm-up"
        warm.mkdir(exist_ok=True)
        warm_command = [*command]
        warm_command[warm_command.index("-t") + 1] = f"{args.warm_up}s"
        warm_command[warm_command.index("--csv") + 1] = str(warm / "locust")
        warm_command[warm_command.index("--html") + 1] = str(warm / "report.html")
        with (warm / "locust.log").open("w") as log:
            warm_env = {**env, "BASHU_REQUEST_LOG": str(warm / "requests.csv"), "BASHU_FRESH_WORKERS": warm_fresh or ""}
            subprocess.run(warm_command, cwd=REPO, env=warm_env,
                           stdout=log, stderr=subprocess.STDOUT, check=False, timeout=args.warm_up + 300)
    sampler = Sampler(database)
    load_start = os.getloadavg()
    started = time.monotonic()
    with (out / "locust.log").open("w") as log:
        locust = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler.add("locust (load generator)", locust.pid)
        sampler.start()
        if background is not None:
            background.start()
        try:
            exit_code = locust.wait(timeout=duration + 300)
        except subprocess.TimeoutExpired:
            locust.kill()
            exit_code = locust.wait()
    window_end = time.monotonic()
    window_s = window_end - started
    if background is not None:
        background.result["window_end"] = window_end
        # The import may still be running: wait for its outcome (reported as after the window).
        background.stop_event.set()
        background.join(timeout=MAX_DURATION_S)
    seconds = time.monotonic() - started
    load_end = os.getloadavg()
    sampler.stop_event.set()
    sampler.join()
    with (out / "resources.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["t_s", "process", "cpu_percent", "rss_mib"])
        writer.writeheader()
        writer.writerows(sampler.rows)
    skipped = next((line.strip() for line in (out / "locust.log").read_text().splitlines()
                    if line.startswith("loadtest: not in this API yet")), "")
    summary = render_summary(args, api_url, read_stats(prefix), read_requests(out / "requests.csv"),
                             sampler.summary(), seconds, window_s, exit_code, skipped,
                             background.result if background is not None else None, (load_start, load_end))
    (out / "summary.md").write_text(summary)
    print(summary)
    print(f"report: {out} (summary.md, report.html, locust_stats.csv, requests.csv, resources.csv, locust.log)")
    if not Path(f"{prefix}_stats.csv").is_file():
        print(f"locust did not run; see {out / 'locust.log'}", file=sys.stderr)
        return 1
    # Locust exits 1 when any request failed; that is a finding for the report, not a crash of this command.
    return 0 if exit_code in (0, 1) else exit_code


if __name__ == "__main__":
    raise SystemExit(main())
