"""A private stack for the issue-size load run, seeded through the API's own import endpoints.

    uv run python loadtests/load_stack.py up     --state /tmp/bashu-load [--db bashu_load] [--port 18731] \
                                                 [--meili-max-indexing-threads 1]
    uv run python loadtests/load_stack.py seed   --state /tmp/bashu-load --corpus loadtests/corpora/500k \
                                                 [--workers 500000] [--jobs 200000]
    DEVSTACK_DIR=/tmp/bashu-load uv run python loadtests/run_load.py mixed ...
    uv run python loadtests/load_stack.py down   --state /tmp/bashu-load [--drop]
    uv run python loadtests/load_stack.py restart-meili --state /tmp/bashu-load [--meili-max-indexing-threads 1]

`up` starts, on loopback only and apart from the shared dev stack: its own Meilisearch (the repository's
binary, `--db-path <state>/meili`, a fresh master key, a free port), its own database on DATABASE_URL's server
(created if missing and migrated with the project's runner), its own arq queue and index prefix, one API
(`python -m services.api`) and one worker (`python -m workers`), all with fresh PII/blind-index/cursor keys.
It writes `<state>/env` (the stack's settings as KEY=value), `<state>/pids.json` (the processes, in the shape
`run_load.py` samples) and the logs; `run_load.py` reads `env`, `pids.json` and `demo-keys.json` from
`DEVSTACK_DIR`. The processes outlive this command (own session); `down` stops exactly those pids.

`seed` makes the data the targets are stated for: the demo organisations and catalogue (`bashu demo load
--workers 0 --jobs 0`, which also writes `<state>/demo-keys.json`), then the corpus from
`loadtests/corpus_cli.py` uploaded through `POST /v1/workers/imports` and `POST /v1/jobs/imports` (NDJSON,
`--chunk` rows an upload, two uploads in flight), i.e. exactly what the API stores: validated, encrypted PII,
blind indexes, outbox rows drained by the worker, documents in Meilisearch. Only consenting workers are
uploaded (the generator makes ~7 % without consent, which are never indexed), the first `--workers` of them;
workers of Chongqing-born people go to the Chongqing demo broker, the others to the Sichuan one; postings go to
the demo enterprise of their trade's industry. Then it waits until every import is completed, the outbox is
drained and Meilisearch has no pending task, and prints the counts in PostgreSQL and in both indexes
(also written to `<state>/seed.json`, with how many lines of workers.ndjson the seeded workers span: run_load.py
uploads the lines after them as sheets of people the stack has never seen — generate more workers than you seed,
e.g. 640k for 500k, so there are some). While seeding, the stack's worker runs with `IMPORT_MATCHING=false`
(the seeded imports are a backfill: matching each of the 700,000 rows, ~4 ms+ each, would take far longer than
the seeding itself, and nobody is subscribed yet); `seed` restarts it with the default (on) when done, or when
it fails, so the measured runs see normal behaviour (their imports are matched).

`restart-meili` restarts the stack's Meilisearch on the same data, port and key (e.g. with
`--meili-max-indexing-threads 1`, so indexing leaves a core to searches on a 2-core machine; without it, the
default: as many indexing threads as cores).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEILI_BIN = ROOT / ".devstack" / "bin" / "meilisearch"
LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _with_database(dsn: str, name: str) -> str:
    parts = urlparse(dsn)
    return urlunparse(parts._replace(path=f"/{name}"))


def _b64key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def read_env(state: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (state / "env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _start_ticks(pid: int) -> int:
    # Field 22 of /proc/<pid>/stat: start time, so `down` never signals a recycled pid.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def _spawn(state: Path, name: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    log = state / f"{name}.log"
    with log.open("ab") as fh:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return {"name": name, "pid": process.pid, "start_ticks": _start_ticks(process.pid), "log": str(log),
            "stop_signal": int(signal.SIGTERM)}


def _process_env(env_values: dict[str, str], **extra: str) -> dict[str, str]:
    # Only the stack's settings: nothing of the shared dev stack's environment leaks into these processes.
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")}
    return {**base, **env_values, "PYTHONPATH": str(ROOT), **extra}


def _meili_command(state: Path, env_values: dict[str, str], indexing_threads: int | None) -> list[str]:
    port = urlparse(env_values["MEILI_URL"]).port
    command = [str(MEILI_BIN), "--http-addr", f"{LOOPBACK}:{port}", "--db-path", str(state / "meili"),
               "--dump-dir", str(state / "meili-dumps"), "--snapshot-dir", str(state / "meili-snapshots"),
               "--master-key", env_values["MEILI_MASTER_KEY"], "--no-analytics", "--env", "development"]
    if indexing_threads:
        command += ["--max-indexing-threads", str(indexing_threads)]
    return command


def _stop(item: dict[str, Any]) -> bool:
    """Stop one recorded process (its stop signal, SIGKILL after 15 s); False when it is not ours any more."""
    pid = int(item["pid"])
    try:
        if _start_ticks(pid) != int(item["start_ticks"]):
            return False
        os.kill(pid, int(item["stop_signal"]))
    except (OSError, ValueError):
        return False
    for _ in range(150):
        if not Path(f"/proc/{pid}").exists() or "zombie" in _proc_state(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    return True


def _replace(state: Path, name: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Stop the stack's process `name` and start `command` in its place (recorded in pids.json)."""
    pids_file = state / "pids.json"
    processes = json.loads(pids_file.read_text())["processes"]
    [old] = [item for item in processes if item["name"] == name]
    if _stop(old):
        print(f"stopped {name} ({old['pid']})", flush=True)
    new = {**_spawn(state, name, command, env), **{k: v for k, v in old.items() if k == "url"}}
    processes = [new if item["name"] == name else item for item in processes]
    pids_file.write_text(json.dumps({"processes": processes}, indent=2))
    print(f"started {name} ({new['pid']})", flush=True)
    return new


def _wait_http(url: str, what: str, log: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} in {seconds:.0f} s; see {log}")


async def _create_and_migrate(server_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(_with_database(server_dsn, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    from services.db.migrate import apply_migrations
    from services.db.pool import connect

    conn = await connect(_with_database(server_dsn, name))
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


def up(args: argparse.Namespace) -> int:
    state: Path = args.state
    if (state / "pids.json").is_file():
        print(f"{state}/pids.json exists: the stack is up (or run `down` first)", file=sys.stderr)
        return 2
    state.mkdir(parents=True, exist_ok=True)
    server_dsn = args.database_server or os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/bashu"
    if (urlparse(server_dsn).hostname or "") not in ("127.0.0.1", "localhost", "::1"):
        print(f"refusing {server_dsn}: the load stack only uses a local PostgreSQL", file=sys.stderr)
        return 2
    dsn = _with_database(server_dsn, args.db)
    asyncio.run(_create_and_migrate(server_dsn, args.db))

    tag = uuid.uuid4().hex[:6]
    meili_port, api_port = _free_port(), args.port or _free_port()
    env_values = {
        "ENVIRONMENT": "production", "HOST": LOOPBACK, "PORT": str(api_port), "API_URL": f"http://{LOOPBACK}:{api_port}",
        "DATABASE_URL": dsn, "REDIS_URL": args.redis_url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "ARQ_QUEUE_NAME": f"bashu:load-{tag}", "MEILI_URL": f"http://{LOOPBACK}:{meili_port}",
        "MEILI_MASTER_KEY": secrets.token_urlsafe(24), "MEILI_INDEX_PREFIX": f"load{tag}",
        "MEILI_TIMEOUT_SECONDS": "30", "PII_KEYRING": f"k1:{_b64key()}", "PII_ACTIVE_KEY_ID": "k1",
        "PII_BLIND_INDEX_KEY": _b64key(), "CURSOR_SECRET": secrets.token_hex(16),
    }
    env_file = state / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env_values.items()))
    env_file.chmod(0o600)
    env = _process_env(env_values)

    processes = [_spawn(state, "meilisearch", _meili_command(state, env_values, args.meili_max_indexing_threads),
                        env)]
    processes[0]["url"] = env_values["MEILI_URL"]
    (state / "pids.json").write_text(json.dumps({"processes": processes}, indent=2))
    _wait_http(env_values["MEILI_URL"] + "/health", "Meilisearch", processes[0]["log"])
    processes.append(_spawn(state, "api", [sys.executable, "-m", "services.api"], env))
    processes.append(_spawn(state, "worker", [sys.executable, "-m", "workers"], env))
    (state / "pids.json").write_text(json.dumps({"processes": processes}, indent=2))
    _wait_http(env_values["API_URL"] + "/healthz", "the API", processes[1]["log"])
    print(f"up: {env_values['API_URL']} (database {args.db}, Meilisearch {env_values['MEILI_URL']}, "
          f"queue {env_values['ARQ_QUEUE_NAME']}, prefix {env_values['MEILI_INDEX_PREFIX']}); state in {state}")
    return 0


def down(args: argparse.Namespace) -> int:
    state: Path = args.state
    pids_file = state / "pids.json"
    if not pids_file.is_file():
        print(f"nothing recorded in {pids_file}")
        return 0
    processes = json.loads(pids_file.read_text())["processes"]
    for item in reversed(processes):  # worker and API before Meilisearch
        if _stop(item):
            print(f"stopped {item['name']} ({item['pid']})")
    pids_file.unlink()
    if args.drop:
        values = read_env(state)
        asyncio.run(_drop(values["DATABASE_URL"]))
        subprocess.run(["rm", "-rf", "--", str(state / "meili")], check=False)
        print(f"dropped database {urlparse(values['DATABASE_URL']).path[1:]} and {state / 'meili'}")
    return 0


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "zombie"


async def _drop(dsn: str) -> None:
    name = urlparse(dsn).path[1:]
    if not name.startswith("bashu_load"):
        raise SystemExit(f"refusing to drop {name!r}: only databases named bashu_load* are dropped here")
    admin = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------------------ seeding


def _ndjson_chunks(lines: Iterator[bytes], size: int) -> Iterator[bytes]:
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)


def worker_uploads(path: Path, limit: int, chunk: int) -> tuple[dict[str, list[bytes]], int]:
    """The first `limit` consenting workers, split by broker (Chongqing-born → broker_cq) into NDJSON chunks, and
    the number of lines of the file they span: the lines after them are people the stack has never seen (the
    generator never repeats an ID number), which run_load.py uploads as fresh sheets."""
    by_broker: dict[str, list[bytes]] = {"broker_cq": [], "broker_sc": []}
    taken = 0
    lines_read = 0
    with path.open("rb") as fh:
        for line in fh:
            if taken >= limit:
                break
            lines_read += 1
            item = json.loads(line)
            if not item["consent"]["share_with_enterprises"]:
                continue
            by_broker["broker_cq" if item["home_adcode"].startswith("50") else "broker_sc"].append(line)
            taken += 1
    if taken < limit:
        raise SystemExit(f"{path} has only {taken:,} consenting workers; generate more (corpus_cli.py --workers)")
    return {name: list(_ndjson_chunks(iter(lines), chunk)) for name, lines in by_broker.items()}, lines_read


def job_uploads(path: Path, start: int, limit: int, chunk: int) -> dict[str, list[bytes]]:
    """Postings `start`…`start + limit` of the file, each to the demo enterprise of its trade's industry."""
    from services.demo.corpus import Corpus
    from services.demo.loader import _ENTERPRISE_BY_INDUSTRY  # the demo loader's own split, kept identical

    catalogue = Corpus(seed=0).catalogue
    by_org: dict[str, list[bytes]] = {}
    with path.open("rb") as fh:
        for number, line in enumerate(fh):
            if number < start:
                continue
            if number >= start + limit:
                break
            entry = catalogue.by_code(json.loads(line)["occupation_code"])
            name = _ENTERPRISE_BY_INDUSTRY.get(entry.industry if entry else "", "enterprise_services")
            by_org.setdefault(name, []).append(line)
    return {name: list(_ndjson_chunks(iter(lines), chunk)) for name, lines in by_org.items()}


async def _upload_all(http: httpx.AsyncClient, keys: dict[str, str], uploads: dict[str, list[bytes]],
                      path: str, in_flight: int) -> list[dict[str, Any]]:
    """Upload every chunk, at most `in_flight` imports unfinished at a time; returns each import's final status."""
    gate = asyncio.Semaphore(in_flight)
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    total = sum(len(chunks) for chunks in uploads.values())

    async def one(name: str, body: bytes) -> None:
        async with gate:
            headers = {"Authorization": f"Bearer {keys[name]}", "Content-Type": "application/x-ndjson",
                       "X-Filename": "seed.ndjson", "Idempotency-Key": uuid.uuid4().hex}
            response = await http.post(path, content=body, headers=headers)
            if response.status_code != 202:
                raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:300]}")
            import_id = response.json()["import_id"]
            while True:
                await asyncio.sleep(1.0)
                status = (await http.get(f"{path}/{import_id}", params={"error_limit": 3}, headers=headers)).json()
                if status.get("status") in ("completed", "failed"):
                    break
            results.append(status)
            done_rows = sum(int(r.get("total") or 0) for r in results)
            print(f"  {path} {len(results)}/{total}: {status['status']} created {status.get('created')} "
                  f"updated {status.get('updated')} rejected {status.get('rejected')} "
                  f"({done_rows:,} rows, {time.monotonic() - started:.0f} s)", flush=True)
            if status.get("rejected"):
                print(f"    errors: {json.dumps(status.get('errors'), ensure_ascii=False)[:400]}", flush=True)

    # Interleave the organisations' chunks so no single broker's imports queue behind each other only.
    order: list[tuple[str, bytes]] = []
    queues = {name: list(chunks) for name, chunks in uploads.items()}
    while any(queues.values()):
        for name, chunks in queues.items():
            if chunks:
                order.append((name, chunks.pop(0)))
    await asyncio.gather(*(one(name, body) for name, body in order))
    return results


async def _drained(env: dict[str, str]) -> dict[str, Any]:
    """Wait until the outbox is done and Meilisearch idle; then count rows and documents."""
    conn = await asyncpg.connect(env["DATABASE_URL"])
    meili = httpx.AsyncClient(base_url=env["MEILI_URL"], timeout=60,
                              headers={"Authorization": f"Bearer {env['MEILI_MASTER_KEY']}"})
    try:
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL"):  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        tasks: dict[str, str | int] = {"statuses": "enqueued,processing", "limit": 1}
        while (await meili.get("/tasks", params=tasks)).json()["total"]:  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        prefix = env["MEILI_INDEX_PREFIX"]
        counts: dict[str, Any] = {
            "jobs_open": await conn.fetchval(
                "SELECT count(*) FROM job_postings WHERE status = 'open' AND expires_at > now()"),
            "jobs_by_status": dict(await conn.fetch("SELECT status, count(*) FROM job_postings GROUP BY 1")),
            "workers_available_consenting": await conn.fetchval(
                "SELECT count(*) FROM worker_profiles WHERE status = 'available' AND consent_share_with_enterprises"
                " AND NOT held_for_review"),
            "workers_total": await conn.fetchval("SELECT count(*) FROM worker_profiles"),
            "outbox_failed": await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE done_at IS NULL OR attempts > 1"),
        }
        for kind in ("jobs", "workers"):
            stats = (await meili.get(f"/indexes/{prefix}_{kind}/stats")).json()
            counts[f"meili_{kind}_documents"] = stats.get("numberOfDocuments")
        counts["meili_failed_tasks"] = (await meili.get("/tasks", params={"statuses": "failed", "limit": 1})).json()[
            "total"]
        return counts
    finally:
        await conn.close()
        await meili.aclose()


def _restart_worker(state: Path, env: dict[str, str], **extra: str) -> None:
    _replace(state, "worker", [sys.executable, "-m", "workers"], _process_env(env, **extra))


def seed(args: argparse.Namespace) -> int:
    state: Path = args.state
    env = read_env(state)
    keys_file = state / "demo-keys.json"
    started = time.monotonic()
    # The seeded imports are a backfill: not matched (see the module's docstring); the default again afterwards.
    _restart_worker(state, env, IMPORT_MATCHING="false")
    try:
        run_env = {**os.environ, **env, "DEVSTACK_DIR": str(state), "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "services.cli", "demo", "load", "--workers", "0", "--jobs", "0",
                        "--keys-file", str(keys_file)], cwd=ROOT, env=run_env, check=True)
        keys: dict[str, str] = json.loads(keys_file.read_text())
        args.corpus = args.corpus.resolve()  # recorded in seed.json for run_load.py, whatever its working directory
        result = asyncio.run(_seed_imports(args, env, keys, started))
    finally:
        _restart_worker(state, env)  # IMPORT_MATCHING at its default (on): the measured runs' behaviour
    result["import_matching_during_seed"] = False
    (state / "seed.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))
    return 0


async def _seed_imports(args: argparse.Namespace, env: dict[str, str], keys: dict[str, str],
                        started: float) -> dict[str, Any]:
    corpus: Path = args.corpus
    timings: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=env["API_URL"], timeout=600) as http:
        t = time.monotonic()
        worker_lines = 0
        if args.workers:
            print(f"workers: {args.workers:,} consenting from {corpus / 'workers.ndjson'}", flush=True)
            uploads, worker_lines = worker_uploads(corpus / "workers.ndjson", args.workers, args.chunk)
            await _upload_all(http, keys, uploads, "/v1/workers/imports", args.in_flight)
        timings["workers_imported_s"] = time.monotonic() - t
        t = time.monotonic()
        done = 0
        if args.jobs:
            print(f"jobs: {args.jobs:,} open postings from {corpus / 'jobs.ndjson'}", flush=True)
            # Held or refused postings do not count: top up from the rest of the file until enough are open.
            want = args.jobs
            while want > 0:
                await _upload_all(http, keys, job_uploads(corpus / "jobs.ndjson", done, want, args.chunk),
                                  "/v1/jobs/imports", args.in_flight)
                done += want
                conn = await asyncpg.connect(env["DATABASE_URL"])
                try:
                    open_now = await conn.fetchval(
                        "SELECT count(*) FROM job_postings WHERE status = 'open' AND expires_at > now()")
                finally:
                    await conn.close()
                want = args.jobs - open_now
                if want > 0:
                    print(f"  {open_now:,} open so far; {want:,} more", flush=True)
        timings["jobs_imported_s"] = time.monotonic() - t
    t = time.monotonic()
    counts = await _drained(env)
    timings["drain_s"] = time.monotonic() - t
    timings["total_s"] = time.monotonic() - started
    return {"counts": counts, "timings": {k: round(v, 1) for k, v in timings.items()},
            "corpus": str(corpus), "worker_lines_used": worker_lines, "job_lines_used": done}


def restart_meili(args: argparse.Namespace) -> int:
    state: Path = args.state
    env = read_env(state)
    item = _replace(state, "meilisearch", _meili_command(state, env, args.meili_max_indexing_threads),
                    _process_env(env))
    _wait_http(env["MEILI_URL"] + "/health", "Meilisearch", item["log"], seconds=600)
    print(f"Meilisearch {env['MEILI_URL']} up, max indexing threads: {args.meili_max_indexing_threads or 'default'}")
    return 0


def restart_app(args: argparse.Namespace) -> int:
    """Run the code of this checkout on the seeded data: migrate, then replace the API and the worker."""
    state: Path = args.state
    env = read_env(state)
    dsn = env["DATABASE_URL"]
    asyncio.run(_create_and_migrate(_with_database(dsn, "postgres"), urlparse(dsn).path.lstrip("/")))
    api = _replace(state, "api", [sys.executable, "-m", "services.api"], _process_env(env))
    _restart_worker(state, env)
    _wait_http(env["API_URL"] + "/healthz", "the API", api["log"])
    print(f"API and worker restarted from {ROOT} on the same data")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Private stack for the issue-size load run.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--state", type=Path, required=True)
    p_up.add_argument("--db", default="bashu_load")
    p_up.add_argument("--port", type=int, help="API port (default: a free one)")
    p_up.add_argument("--database-server", help="default: $DATABASE_URL (its database name is replaced)")
    p_up.add_argument("--redis-url")
    p_up.add_argument("--meili-max-indexing-threads", type=int,
                      help="Meilisearch's --max-indexing-threads (default: its own, as many as cores)")
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--state", type=Path, required=True)
    p_seed.add_argument("--corpus", type=Path, default=ROOT / "loadtests" / "corpora" / "500k")
    p_seed.add_argument("--workers", type=int, default=500_000)
    p_seed.add_argument("--jobs", type=int, default=200_000)
    p_seed.add_argument("--chunk", type=int, default=25_000, help="rows per upload")
    p_seed.add_argument("--in-flight", type=int, default=2, help="imports unfinished at a time")
    p_down = sub.add_parser("down")
    p_down.add_argument("--state", type=Path, required=True)
    p_down.add_argument("--drop", action="store_true", help="also drop the database and the Meilisearch data")
    p_meili = sub.add_parser("restart-meili", help="restart the stack's Meilisearch (same data, port and key)")
    p_meili.add_argument("--state", type=Path, required=True)
    p_meili.add_argument("--meili-max-indexing-threads", type=int)
    p_app = sub.add_parser("restart-app", help="migrate, restart the API and worker with this checkout's code "
                                               "(same data, port, keys)")
    p_app.add_argument("--state", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "restart-app":
        return restart_app(args)
    if args.command == "up":
        return up(args)
    if args.command == "seed":
        return seed(args)
    if args.command == "restart-meili":
        return restart_meili(args)
    return down(args)


if __name__ == "__main__":
    raise SystemExit(main())
