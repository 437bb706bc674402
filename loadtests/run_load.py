"""Run one load-test scenario against the local stack and write its report.

    uv run python loadtests/run_load.py kiosk|enterprise|broker|mixed [--users 10] [--duration 30]
                                       [--max-requests 20000] [--import-rows 200] [--out DIR]

Target: API_URL from the environment or `.devstack/env` (loopback only), keys from `.devstack/demo-keys.json`
(`bashu demo load` writes it; `make run` / `bashu devstack up --detach` run that). Bounded by --duration and
--max-requests. Writes into loadtests/reports/<time>-<scenario>/: Locust's own CSVs and HTML report, the
Locust log, resources.csv (CPU and RSS of the API, worker and Meilisearch processes from .devstack/pids.json,
sampled each second) and summary.md (p50/p95/p99, request rate and errors per endpoint, server CPU/memory,
the machine). Prints summary.md.
"""

from __future__ import annotations

import argparse
import csv
import json
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

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.rows: list[dict[str, Any]] = []
        self.stop_event = threading.Event()
        self.procs: dict[str, Any] = {}
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

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop_event.wait(1.0):
            for name, proc in self.procs.items():
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
                self.rows.append({"t_s": round(time.monotonic() - started, 1), "process": name,
                                  "cpu_percent": cpu, "rss_mib": round(rss / 1048576, 1)})

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for name in self.procs:
            rows = [r for r in self.rows if r["process"] == name]
            if not rows:
                continue
            cpus = [r["cpu_percent"] for r in rows]
            out.append({"process": name, "cpu_avg": sum(cpus) / len(cpus), "cpu_max": max(cpus),
                        "rss_max": max(r["rss_mib"] for r in rows)})
        return out


def read_stats(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_stats.csv")
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def render_summary(args: argparse.Namespace, api_url: str, stats: list[dict[str, str]],
                   resources: list[dict[str, Any]], seconds: float, exit_code: int, skipped: str) -> str:
    lines = [f"# Load test `{args.scenario}` — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}", "",
             f"- target: {api_url} (users {args.users}, spawn rate {args.spawn_rate}/s, limit {args.duration} s or "
             f"{args.max_requests} requests; ran {seconds:.0f} s; locust exit code {exit_code})",
             f"- machine: {machine()}"]
    if skipped:
        lines.append(f"- {skipped}")
    lines += ["", "| endpoint | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in stats:
        plain = row["Type"] in ("", "None") or row["Name"].startswith(row["Type"] + " ")
        name = row["Name"] if plain else f"{row['Type']} {row['Name']}"
        if row["Name"] == "Aggregated":
            name = "**all**"
        lines.append(f"| {name} | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.1f} | "
                     f"{row['50%']} | {row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} |")
    if resources:
        lines += ["", "| process | CPU avg % | CPU max % | RSS max MiB |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r['process']} | {r['cpu_avg']:.0f} | {r['cpu_max']:.0f} | {r['rss_max']:.0f} |"
                  for r in resources]
    else:
        lines += ["", "(no server processes recorded in .devstack/pids.json: CPU/memory not sampled)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Bashu Bridge load-test scenario against the local stack.")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=30, help="seconds (at most 1800)")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--import-rows", type=int, default=200, help="rows per broker upload")
    parser.add_argument("--api-url", help="default: $API_URL or .devstack/env")
    parser.add_argument("--keys-file", type=Path, default=STATE / "demo-keys.json")
    parser.add_argument("--out", type=Path, help="report directory (default loadtests/reports/<time>-<scenario>)")
    args = parser.parse_args(argv)

    api_url = (args.api_url or os.environ.get("API_URL") or env_file_values().get("API_URL") or "").rstrip("/")
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

    out = args.out or REPO / "loadtests" / "reports" / f"{datetime.now():%Y%m%d-%H%M%S}-{args.scenario}"
    out.mkdir(parents=True, exist_ok=True)
    prefix = out / "locust"
    run_id = uuid.uuid4().hex[:8]
    env = {**os.environ, "BASHU_KEYS_FILE": str(args.keys_file), "BASHU_MAX_REQUESTS": str(args.max_requests),
           "BASHU_IMPORT_ROWS": str(args.import_rows), "BASHU_RUN_ID": run_id, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", api_url,
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{duration}s", "--stop-timeout", "10",
               "--csv", str(prefix), "--html", str(out / "report.html"), "--only-summary",
               "--loglevel", "WARNING", *SCENARIOS[args.scenario]]
    sampler = Sampler()
    sampler.start()
    started = time.monotonic()
    with (out / "locust.log").open("w") as log:
        result = subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
                                timeout=duration + 300)
    seconds = time.monotonic() - started
    sampler.stop_event.set()
    sampler.join()
    with (out / "resources.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["t_s", "process", "cpu_percent", "rss_mib"])
        writer.writeheader()
        writer.writerows(sampler.rows)
    skipped = next((line.strip() for line in (out / "locust.log").read_text().splitlines()
                    if line.startswith("loadtest: not in this API yet")), "")
    summary = render_summary(args, api_url, read_stats(prefix), sampler.summary(), seconds, result.returncode,
                             skipped)
    (out / "summary.md").write_text(summary)
    print(summary)
    print(f"report: {out} (report.html, locust_stats.csv, resources.csv, locust.log)")
    if not Path(f"{prefix}_stats.csv").is_file():
        print(f"locust did not run; see {out / 'locust.log'}", file=sys.stderr)
        return 1
    # Locust exits 1 when any request failed; that is a finding for the report, not a crash of this command.
    return 0 if result.returncode in (0, 1) else result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
