"""Notification latency: from the commit that records a notification to its signed webhook arriving at a local
receiver. p50 / p95 / max over N notifications recorded at a steady rate.

By default this measures the second half of the issue's path alone, from the *notification record commit* (what
a matching run does at the end of its transaction) to arrival: outbox enqueue → `process_outbox` →
`notification.dispatch` (fan-out, cap check, delivery row, then the first attempt in the same job: SSRF
re-check, Standard Webhooks signature, POST) → receiver.

It makes its own database (migrated), a unique arq queue, starts one real worker process (`python -m workers`)
and an HTTP receiver on 127.0.0.1; everything is removed afterwards. Run (see loadtests/README.md):

    set -a; . .devstack/env; set +a
    export DATABASE_URL=${DATABASE_URL%/*}/postgres
    uv run python loadtests/notification_latency.py --count 1000 --rate 20

`--through-matching --workers 10000` measures the issue's path instead: it seeds that many worker profiles (the
demo corpus, through the worker-profile service, indexed in bulk before the clock starts), gives both demo
brokers a webhook, then creates `--count` postings (demo corpus, through the jobs service) at `--rate` and
measures **posting commit → first `match.created` webhook about that posting accepted**: one arq job,
`job.index` (upsert, wait for the Meilisearch task, then in the same job: multi-search, scoring,
`record_match_notifications`, and after that commit each notification's dispatch and first webhook attempt) →
receiver. Postings with no match above `MATCH_NOTIFY_MIN_SCORE` send nothing and are counted apart. The
worker's settings come from the environment (e.g. `ARQ_POLL_DELAY_SECONDS=0.5` for arq's default poll delay).
The load average before and after is printed with the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.api.auth.caller import Caller  # noqa: E402
from services.api.database import PendingWork  # noqa: E402
from services.api.notifications import service  # noqa: E402
from services.api.notifications.schemas import WebhookCreate  # noqa: E402
from services.api.organisations.schemas import OrgCreate  # noqa: E402
from services.api.organisations.service import create_org  # noqa: E402
from services.api.redis_connection import create_arq_redis  # noqa: E402
from services.db.migrate import apply_migrations  # noqa: E402
from services.db.pool import create_pool  # noqa: E402
from services.outbox import repository as outbox_repository  # noqa: E402
from services.outbox.dispatch import enqueue_outbox  # noqa: E402
from services.privacy.cipher import PersonalDataCipher  # noqa: E402
from tests.services.api.notifications.receiver import Receiver  # noqa: E402
from workers.settings import WorkerSettings  # noqa: E402


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _with_db(dsn: str, name: str) -> str:
    return dsn.rpartition("/")[0] + "/" + name


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a child process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_profiler(profile_dir: Path, pid: int, rate: float, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy on the worker while the postings are made (`pip install py-spy`, or PY_SPY=path)."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [os.environ.get("PY_SPY", "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds) + 1),
         "--rate", "50", "--nonblocking", "--format", "raw",
         "--output", str(profile_dir / f"worker-{rate:g}-per-s.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(count: int, rate: float, keep: bool) -> None:
    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"bashu_notif_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_with_db(server, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _with_db(server, name)
    env_settings = {
        "ENVIRONMENT": "test", "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "ARQ_QUEUE_NAME": f"bashu:bench:{uuid.uuid4().hex[:8]}", "PII_KEYRING": f"k1:{_key()}",
        "PII_ACTIVE_KEY_ID": "k1", "PII_BLIND_INDEX_KEY": _key(), "CURSOR_SECRET": secrets.token_hex(16),
        "MEILI_URL": os.environ.get("MEILI_URL", "http://127.0.0.1:7700"),
        "MEILI_MASTER_KEY": os.environ.get("MEILI_MASTER_KEY", ""),
        "MEILI_INDEX_PREFIX": f"bench{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "WARNING", "LOG_JSON": "true",
        # One recipient gets every notification here: lift its daily cap, or all but 50 wait for the digest.
        "NOTIFICATION_DAILY_CAP": str(count + 1),
    }
    pool = await create_pool(dsn, min_size=1, max_size=4)
    receiver = await Receiver().start()
    worker: subprocess.Popen[bytes] | None = None
    redis = create_arq_redis(redis_url, queue_name=env_settings["ARQ_QUEUE_NAME"])
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            async with conn.transaction():
                org = await create_org(conn, OrgCreate(type="enterprise", name="压测企业"))
            cipher = PersonalDataCipher.from_settings(env_settings["PII_KEYRING"], "k1",
                                                      env_settings["PII_BLIND_INDEX_KEY"])
            caller = Caller(org_id=org.org.id, role="enterprise", key_id=uuid.uuid4(), province=None,
                            licence_valid_until=None, kiosk_adcode=None)
            async with conn.transaction():
                hook = await service.create_webhook(
                    conn, caller, WebhookCreate(url=receiver.url, events=["match.created"]), cipher=cipher,
                    environment="test", now=datetime.now(UTC))
        receiver.secret = hook.secret
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, "-m", "workers"], cwd=REPO, env={**os.environ, **env_settings},
            stdout=subprocess.DEVNULL)
        await asyncio.sleep(2.0)  # worker start-up (not measured)

        committed: dict[str, float] = {}
        interval = 1.0 / rate
        started = time.perf_counter()
        for i in range(count):
            target = started + i * interval
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            pending = PendingWork()
            async with pool.acquire() as conn:
                async with conn.transaction():
                    notification_id = await service.record_match_notification(
                        conn, pending, recipient_org_id=org.org.id, job_id=uuid.uuid4(), worker_id=uuid.uuid4(),
                        score=0.8, direction="worker_for_job", summary={"title": f"岗位{i}"})
                committed[f"msg_{notification_id.hex}"] = time.time()  # type: ignore[union-attr]
                sent = await enqueue_outbox(redis, pending.outbox_ids)
                if sent:
                    await outbox_repository.mark_enqueued(conn, sent)
        deadline = time.monotonic() + 120
        while len(receiver.first_accepted_at) < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        latencies = [receiver.first_accepted_at[m] - t for m, t in committed.items() if m in receiver.first_accepted_at]
        missing = count - len(latencies)
        unverified = sum(1 for r in receiver.requests if not r.verified)
        result = {
            "measured": "notification record commit → webhook accepted by a 127.0.0.1 receiver",
            "count": count, "rate_per_s": rate, "delivered": len(latencies), "missing": missing,
            "duplicates": sum(receiver.duplicates.values()), "unverified_signatures": unverified,
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(_percentile(latencies, 95) * 1000, 1) if latencies else None,
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        if worker is not None:
            worker.terminate()
            await asyncio.to_thread(worker.wait)
        await receiver.stop()
        await redis.aclose(close_connection_pool=True)
        await pool.close()
        if not keep:
            admin = await asyncpg.connect(_with_db(server, "postgres"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def through_matching(count: int, rates: list[float], keep: bool, workers: int, settle_seconds: float,
                           profile_dir: Path | None) -> None:
    """Posting commit → first match.created webhook about it, with `workers` profiles indexed."""
    from services.api.china_calendar import china_today
    from services.api.jobs import service as jobs_service
    from services.api.search_index import create_search_client
    from services.api.settings import load_api_settings
    from services.demo.corpus import Corpus
    from services.demo.loader import DEMO_ORGS, load_demo
    from services.indexing.catalogue_source import current_catalogue
    from services.indexing.sync import indexer_for

    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"bashu_notif_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_with_db(server, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _with_db(server, name)
    env_settings = {
        "ENVIRONMENT": "test", "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "ARQ_QUEUE_NAME": f"bashu:bench:{uuid.uuid4().hex[:8]}", "PII_KEYRING": f"k1:{_key()}",
        "PII_ACTIVE_KEY_ID": "k1", "PII_BLIND_INDEX_KEY": _key(), "CURSOR_SECRET": secrets.token_hex(16),
        "MEILI_URL": os.environ.get("MEILI_URL", "http://127.0.0.1:7700"),
        "MEILI_MASTER_KEY": os.environ.get("MEILI_MASTER_KEY", ""),
        "MEILI_INDEX_PREFIX": f"bench{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "WARNING", "LOG_JSON": "true",
        # Two brokers get every match: lift their daily cap, or the rest waits for the next daily digest.
        "NOTIFICATION_DAILY_CAP": str(count * 50 + 1),
    }
    settings = load_api_settings(**{k.lower(): v for k, v in env_settings.items()})
    search = create_search_client(env_settings["MEILI_URL"], env_settings["MEILI_MASTER_KEY"])
    pool = await create_pool(dsn, min_size=1, max_size=4)
    receiver = await Receiver().start()
    worker: subprocess.Popen[bytes] | None = None
    redis = create_arq_redis(redis_url, queue_name=env_settings["ARQ_QUEUE_NAME"])
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver.secret = secret
    extensions: dict[str, object] = {}
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        t0 = time.monotonic()
        demo = await load_demo(settings, workers=workers, jobs=0, enqueue=False,
                               keys_path=Path(f"/tmp/{name}-keys.json"))  # noqa: S108 - scratch, removed below
        await asyncio.to_thread(Path(f"/tmp/{name}-keys.json").unlink, missing_ok=True)  # noqa: S108
        snapshot = await current_catalogue(extensions)
        indexer = indexer_for(extensions, search, env_settings["MEILI_INDEX_PREFIX"])
        synced = await indexer.reindex_all(pool, "workers", snapshot.catalogue, snapshot.regions, china_today())
        for uid in synced.task_uids:
            await search.wait_for_task(uid, timeout_in_ms=600_000)
        async with pool.acquire() as conn:
            # Bulk-indexed above: the seeding's own outbox rows (worker.index …) are not part of the measurement.
            await conn.execute("UPDATE outbox SET done_at = now() WHERE done_at IS NULL")
            roles = {n: DEMO_ORGS[n]["type"] for n in demo.org_ids}
            for org_name in (n for n, r in roles.items() if r == "broker"):
                caller = Caller(org_id=uuid.UUID(demo.org_ids[org_name]), role="broker", key_id=uuid.uuid4(),
                                province=None, licence_valid_until=None, kiosk_adcode=None)
                cipher = PersonalDataCipher.from_settings(env_settings["PII_KEYRING"], "k1",
                                                          env_settings["PII_BLIND_INDEX_KEY"])
                async with conn.transaction():
                    await service.create_webhook(
                        conn, caller, WebhookCreate(url=receiver.url, events=["match.created"], secret=secret),
                        cipher=cipher, environment="test", now=datetime.now(UTC))
        enterprise_name = next(n for n, r in roles.items() if r == "enterprise")
        enterprise = Caller(org_id=uuid.UUID(demo.org_ids[enterprise_name]), role="enterprise",
                            key_id=uuid.uuid4(), province=None, licence_valid_until=None, kiosk_adcode=None)
        print(json.dumps({"seeded_workers": synced.upserted, "seed_seconds": round(time.monotonic() - t0, 1)}))
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, "-m", "workers"], cwd=REPO, env={**os.environ, **env_settings},
            stdout=subprocess.DEVNULL)
        await asyncio.sleep(3.0)  # worker start-up (not measured)

        async def settled() -> bool:
            async with pool.acquire() as conn:
                return bool(await conn.fetchval("SELECT count(*) = 0 FROM outbox WHERE done_at IS NULL"))

        first: dict[str, float] = {}  # job id → first webhook about it (arrival time)
        read = 0

        def first_webhooks() -> dict[str, float]:
            nonlocal read  # only the requests that arrived since the last look: the worker needs the CPU
            for request in receiver.requests[read:]:
                job_id = json.loads(request.body)["data"]["job_id"]
                first[job_id] = min(first.get(job_id, request.arrived), request.arrived)
                read += 1
            return first

        async def post_job(body: dict[str, object]) -> str:
            pending = PendingWork()
            async with pool.acquire() as conn:
                ctx = await jobs_service.build_context(settings, extensions, pending)
                async with conn.transaction():
                    job = await jobs_service.create_job(conn, ctx, enterprise, jobs_service.parse_fields(body))
                sent = await enqueue_outbox(redis, pending.outbox_ids)
                if sent:
                    await outbox_repository.mark_enqueued(conn, sent)
            return str(job.id)

        # Warm-up, not measured: a worker's first posting pays once per process for the catalogue snapshot, the
        # segmenter's dictionary (jieba) and the index settings check; a long-running worker has paid it.
        for body in Corpus(seed=1, today=china_today()).jobs(3, ref_prefix="bench-warm-"):
            await post_job(body)
        deadline = time.monotonic() + 120
        while not await settled() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # its webhooks (attempted after the outbox row is done)

        # One seeding, then one phase per rate (the phases' postings add up in the jobs index; matching a
        # posting searches the workers index, which stays as seeded).
        for phase, rate in enumerate(rates):
            load_before = [round(x, 2) for x in os.getloadavg()]
            cpu_before = _cpu_seconds(worker.pid), time.process_time()
            requests_before = len(receiver.requests)
            duplicates_before = sum(receiver.duplicates.values())
            committed: dict[str, float] = {}
            bodies = list(Corpus(seed=7 + phase, today=china_today()).jobs(count, ref_prefix=f"bench-j{phase}-"))
            profiler = _start_profiler(profile_dir, worker.pid, rate, count / rate) if profile_dir else None
            interval = 1.0 / rate
            started = time.perf_counter()
            for i, body in enumerate(bodies):
                await asyncio.sleep(max(0.0, started + i * interval - time.perf_counter()))
                pending = PendingWork()
                async with pool.acquire() as conn:
                    ctx = await jobs_service.build_context(settings, extensions, pending)
                    async with conn.transaction():
                        job = await jobs_service.create_job(conn, ctx, enterprise, jobs_service.parse_fields(body))
                    committed[str(job.id)] = time.time()  # the commit, before the enqueue (part of the path)
                    sent = await enqueue_outbox(redis, pending.outbox_ids)
                    if sent:
                        await outbox_repository.mark_enqueued(conn, sent)
            posting_seconds = time.perf_counter() - started

            deadline = time.monotonic() + settle_seconds
            while not await settled() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            async with pool.acquire() as conn:
                expected = {str(r["job_id"]) for r in await conn.fetch(
                    "SELECT DISTINCT job_id FROM notifications WHERE event = 'match.created'"
                    " AND job_id = ANY($1::uuid[])", [uuid.UUID(j) for j in committed])}
            first = first_webhooks()
            while time.monotonic() < deadline and not expected <= set(first):
                await asyncio.sleep(0.2)  # the retries of deliveries (arq jobs, not outbox rows) may still run
                first = first_webhooks()
            drained_seconds = time.perf_counter() - started
            if profiler is not None:
                await asyncio.to_thread(profiler.wait)
            latencies = [first[j] - t for j, t in committed.items() if j in first]
            # Behind at the deadline: postings still waiting count with their age so far (a lower bound).
            now = time.time()
            async with pool.acquire() as conn:
                unmatched = [str(r["entity_id"]) for r in await conn.fetch(
                    "SELECT entity_id FROM outbox WHERE done_at IS NULL AND topic = 'job.index'"
                    " AND entity_id = ANY($1::text[])", list(committed))]
            waiting = [now - committed[j] for j in (expected - set(first)) | set(unmatched)]
            result = {
                "measured": "posting commit → first match.created webhook about it accepted by a 127.0.0.1 receiver",
                "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "poll_delay_s": float(os.environ.get("ARQ_POLL_DELAY_SECONDS",
                                                     WorkerSettings.model_fields["arq_poll_delay_seconds"].default)),
                "workers_indexed": synced.upserted, "postings": count, "rate_per_s": rate,
                "posting_seconds": round(posting_seconds, 1), "drained_after_seconds": round(drained_seconds, 1),
                "worker_cpu_seconds": round(_cpu_seconds(worker.pid) - cpu_before[0], 1),
                "bench_process_cpu_seconds (postings + receiver)": round(time.process_time() - cpu_before[1], 1),
                "postings_with_matches": len(expected), "postings_delivered": len(latencies),
                "missing": len(expected - set(first)), "webhooks": len(receiver.requests) - requests_before,
                "duplicates": sum(receiver.duplicates.values()) - duplicates_before,
                "unverified_signatures": sum(1 for r in receiver.requests if not r.verified),
                "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                "p95_ms": round(_percentile(latencies, 95) * 1000, 1) if latencies else None,
                "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
                "postings_not_yet_matched": len(unmatched),
                "p95_ms_at_least (waiting ones counted with their age)":
                    round(_percentile(latencies + waiting, 95) * 1000, 1) if waiting else None,
            }
            print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    finally:
        if worker is not None:
            worker.terminate()
            await asyncio.to_thread(worker.wait)
        await receiver.stop()
        await redis.aclose(close_connection_pool=True)
        await pool.close()
        for index in await search.get_indexes() or []:
            if index.uid.startswith(env_settings["MEILI_INDEX_PREFIX"]) and not keep:
                await search.index(index.uid).delete()
        await search.aclose()
        if not keep:
            admin = await asyncpg.connect(_with_db(server, "postgres"))
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", default="20", help="notifications (postings) recorded per second; with "
                        "--through-matching a comma-separated list runs one phase of --count postings per rate")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--through-matching", action="store_true",
                        help="measure posting commit → webhook through indexing and matching")
    parser.add_argument("--workers", type=int, default=10_000, help="worker profiles indexed (--through-matching)")
    parser.add_argument("--settle", type=float, default=300.0,
                        help="seconds to wait after a phase's last posting for its webhooks (--through-matching)")
    parser.add_argument("--profile-dir", type=Path, help="py-spy the worker during each phase (--through-matching)")
    args = parser.parse_args()
    if args.through_matching:
        asyncio.run(through_matching(args.count, [float(r) for r in args.rate.split(",")], args.keep, args.workers,
                                     args.settle, args.profile_dir))
    else:
        asyncio.run(main(args.count, float(args.rate), args.keep))
