"""Import benchmark: N worker profiles from one CSV, end to end, against Meilisearch alone.

    set -a; . .devstack/env; set +a          # DATABASE_URL, REDIS_URL, MEILI_URL, MEILI_MASTER_KEY
    uv run python loadtests/import_benchmark.py --rows 100000

What it does, in one run:
1. Generates N realistic rows as a Chinese-header CSV (valid 18-character ID numbers with their check
   characters, mobile numbers, counties of Chongqing/Sichuan from matching/reference/regions.csv by name or
   adcode, trades from the shipped catalogue, wages, consent).
2. Starts its own stack on this machine: a fresh PostgreSQL database (migrated), the API
   (`python -m services.api`, uvicorn) and one arq worker (`python -m workers`) as separate processes with a
   unique queue name and index prefix, on the servers named by the environment; creates a broker.
3. Warm-up, not timed: waits until the worker polls its queue, then imports one row for another broker (the
   worker process builds its catalogue snapshot and cipher once, the index is created), as any running
   worker would have done before.
   Pipeline: POST /v1/workers/imports with the CSV, then waits until the import is completed, its indexing
   outbox rows (`import.process`, `import.batch`) are done and Meilisearch has processed every task of the
   workers index (validated, encrypted, stored, searchable). Wall time from the first byte of the upload; also
   the worker's own queued/processing times. The matching of the imported profiles (`import.match`, issue 6)
   runs in the same worker meanwhile and is reported as far as it got (`--wait-matching` waits for it); the
   worker is stopped before Meilisearch alone is timed.
4. Meilisearch alone: exports the very documents the pipeline indexed to NDJSON (not timed), creates a
   scratch index with the same settings, and times adding the NDJSON (10,000-document requests) until the
   tasks have succeeded.
5. Prints both wall times, their ratio (target ≤ 1.5), the CPU seconds the API, the worker and Meilisearch
   used (where the time goes on a small machine) and the peak RSS (VmHWM) of the API and the worker.
   Everything it created (database, indexes, processes) is removed unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import datetime
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.catalogue import load_initial_catalogue  # noqa: E402
from matching.identity import id_check_character  # noqa: E402
from matching.regions import load_regions  # noqa: E402

HEADER = ["外部编号", "姓名", "身份证号", "手机号", "性别", "户籍地", "现居地", "工种", "技能", "证书", "工作年限",
          "学历", "意向地区", "愿意异地", "期望薪资", "可到岗日期", "用工形式", "同意共享", "同意短信", "同意时间"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅兰志文斌辉鹏飞云峰波海燕玲萍春林成福贵荣德兴"
EDUCATION = ["小学", "初中", "初中", "高中", "中专", "大专"]
WORK_TYPES = ["全职", "季节工", "零工", "日结"]
SKILLS = ["氩弧焊", "二保焊", "砌砖", "抹灰", "钢筋绑扎", "叉车", "电工作业", "川菜", "面点", "缝纫", "装配", "采摘"]
CERTS = ["焊工证", "电工证", "叉车证", "健康证", "特种作业操作证", ""]


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    regions = load_regions()
    counties = [r for r in regions if r.level == "county"]
    unique_names = [r for r in counties if len(regions.adcodes_for_word(r.name)) == 1]
    trades = [e.name for e in load_initial_catalogue().entries][:120]
    seen: set[str] = set()
    today = datetime.date.today()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            while True:
                county = rng.choice(counties)
                birth = datetime.date(rng.randint(1962, 2006), rng.randint(1, 12), rng.randint(1, 28))
                seq = rng.randint(0, 999)
                first17 = f"{county.adcode}{birth:%Y%m%d}{seq:03d}"
                number = first17 + id_check_character(first17)
                if number not in seen:
                    seen.add(number)
                    break
            home = rng.choice(unique_names)
            wage_min = rng.randrange(3000, 8000, 500)
            writer.writerow([
                f"B-{i:07d}",
                rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
                number,
                f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}",
                "男" if seq % 2 else "女",
                home.name if i % 2 else home.adcode,
                rng.choice(counties).adcode if i % 3 == 0 else "",
                "、".join(rng.sample(trades, rng.randint(1, 2))),
                ";".join(rng.sample(SKILLS, rng.randint(0, 3))),
                rng.choice(CERTS),
                rng.randint(0, 30),
                rng.choice(EDUCATION),
                ";".join(c.adcode for c in rng.sample(counties, rng.randint(0, 3))),
                rng.choice(["是", "否"]),
                f"{wage_min}-{wage_min + rng.randrange(500, 4000, 500)}元/月",
                (today + datetime.timedelta(days=rng.randint(0, 90))).isoformat(),
                rng.choice(WORK_TYPES),
                "是", rng.choice(["是", "否"]),
                (today - datetime.timedelta(days=rng.randint(0, 300))).isoformat(),
            ])


# ----------------------------------------------------------------------------------------------- the stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def meilisearch_pid(meili_url: str) -> int | None:
    """The local Meilisearch serving `meili_url` (by its --http-addr port), to account its CPU time."""
    port = meili_url.rstrip("/").rsplit(":", 1)[-1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"meilisearch") and any(a.endswith(f":{port}".encode()) for a in cmdline):
            return int(entry.name)
    return None


class Stack:
    def __init__(self, server_dsn: str, redis_url: str, meili_url: str, meili_key: str, workdir: Path) -> None:
        self.server_dsn, self.redis_url, self.meili_url, self.meili_key = server_dsn, redis_url, meili_url, meili_key
        self.workdir = workdir
        self.db_name = f"bashu_bench_{uuid.uuid4().hex[:8]}"
        self.dsn = _with_database(server_dsn, self.db_name)
        self.prefix = f"bench_{uuid.uuid4().hex[:8]}"
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.api_key = ""
        self.warm_up_key = ""
        self._env: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        """The environment of the API and the worker (the same keys for both, made once)."""
        if self._env is not None:
            return self._env

        def key() -> str:
            return base64.b64encode(secrets.token_bytes(32)).decode()

        env = dict(os.environ)
        env.update({
            "ENVIRONMENT": "production", "HOST": "127.0.0.1", "PORT": str(self.port), "DATABASE_URL": self.dsn,
            "REDIS_URL": self.redis_url, "ARQ_QUEUE_NAME": f"bashu:{self.prefix}", "MEILI_URL": self.meili_url,
            "MEILI_MASTER_KEY": self.meili_key, "MEILI_INDEX_PREFIX": self.prefix, "MEILI_TIMEOUT_SECONDS": "60",
            "PII_KEYRING": f"k1:{key()}", "PII_ACTIVE_KEY_ID": "k1", "PII_BLIND_INDEX_KEY": key(),
            "CURSOR_SECRET": secrets.token_hex(16), "LOG_LEVEL": "WARNING",
        })
        self._env = env
        return env

    async def start(self) -> None:
        from services.api.china_calendar import china_today
        from services.api.organisations.schemas import OrgCreate
        from services.api.organisations.service import create_org
        from services.db.migrate import apply_migrations
        from services.db.pool import connect

        admin = await asyncpg.connect(_with_database(self.server_dsn, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()
        conn = await connect(self.dsn)
        try:
            await apply_migrations(conn)
            keys = []
            for name, licence in (("基准测试劳务公司", "9999"), ("预热劳务公司", "9998")):  # measured, warm-up
                async with conn.transaction():
                    created = await create_org(conn, OrgCreate.model_validate({
                        "type": "broker", "name": name,
                        "licence": {"number": f"渝人服证字〔2026〕第{licence}号", "issuer_province": "CQ",
                                    "valid_until": (china_today() + datetime.timedelta(days=365)).isoformat()}}))
                keys.append(created.api_key)
            self.api_key, self.warm_up_key = keys
        finally:
            await conn.close()
        env = self.env()
        for name, module in (("api", "services.api"), ("worker", "workers")):
            log = (self.workdir / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        # Generous: on a loaded two-core machine importing jieba and building the catalogue took over 30 s.
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{self.api_url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start; see {self.workdir / 'api.log'}")
                await asyncio.sleep(0.1)
        # The clock starts with the upload: the worker must be polling by then (arq records its health key on
        # its first poll), or its start-up would be counted as import time.
        from arq.connections import RedisSettings, create_pool

        redis = await create_pool(RedisSettings.from_dsn(self.redis_url))
        try:
            for _ in range(600):
                if await redis.exists(f"bashu:{self.prefix}:health-check"):
                    await asyncio.sleep(1.0)  # its start-up jobs (reconciler, figures …) run first
                    return
                await asyncio.sleep(0.1)
        finally:
            await redis.aclose()
        raise RuntimeError(f"the worker did not start; see {self.workdir / 'worker.log'}")

    def stop_worker(self) -> None:
        worker = self.processes.get("worker")
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()

    def peak_rss(self) -> dict[str, float | None]:
        return {name: peak_rss_mib(p.pid) for name, p in self.processes.items()}

    def cpu(self) -> dict[str, float | None]:
        return {name: cpu_seconds(p.pid) for name, p in self.processes.items()}

    async def stop(self, keep: bool) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if keep:
            return
        admin = await asyncpg.connect(_with_database(self.server_dsn, "postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await admin.close()


# ----------------------------------------------------------------------------------------------- timing


class Meili:
    def __init__(self, url: str, key: str) -> None:
        headers = {"Accept-Encoding": "identity"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.http = httpx.AsyncClient(base_url=url, headers=headers, timeout=120)

    async def wait_idle(self, index: str) -> None:
        """Until no task of `index` is enqueued or processing."""
        while True:
            response = await self.http.get("/tasks", params={"indexUids": index,
                                                             "statuses": "enqueued,processing", "limit": 1})
            response.raise_for_status()
            if response.json()["total"] == 0:
                return
            await asyncio.sleep(0.05)

    async def failed_tasks(self, index: str) -> int:
        response = await self.http.get("/tasks", params={"indexUids": index, "statuses": "failed", "limit": 1})
        return int(response.json()["total"])

    async def count(self, index: str) -> int:
        response = await self.http.get(f"/indexes/{index}/stats")
        response.raise_for_status()
        return int(response.json()["numberOfDocuments"])

    async def export_ndjson(self, index: str, path: Path) -> int:
        n = 0
        with path.open("wb") as out:
            offset = 0
            while True:
                response = await self.http.get(f"/indexes/{index}/documents", params={"offset": offset, "limit": 5000})
                response.raise_for_status()
                results = response.json()["results"]
                for document in results:
                    out.write(orjson.dumps(document) + b"\n")
                n += len(results)
                if len(results) < 5000:
                    return n
                offset += 5000

    async def delete(self, index: str) -> None:
        await self.http.delete(f"/indexes/{index}")


async def _import(http: httpx.AsyncClient, headers: dict[str, str], content: bytes) -> dict[str, Any]:
    response = await http.post("/v1/workers/imports", content=content, headers=headers)
    response.raise_for_status()
    import_id = response.json()["import_id"]
    while True:
        status: dict[str, Any] = (await http.get(f"/v1/workers/imports/{import_id}?error_limit=5",
                                                 headers=headers)).json()
        if status["status"] in ("completed", "failed"):
            return status
        await asyncio.sleep(0.2)


async def warm_up(stack: Stack, workdir: Path, meili: Meili, index: str) -> None:
    """One single-row import by another broker before the clock starts, as a running worker would have done
    before: its process builds the catalogue snapshot (jieba dictionary, ~0.7 s) and the cipher once, and the
    first import creates the index. Not part of any import's cost."""
    path = workdir / "warm-up.csv"
    generate_csv(path, 1, seed=99)
    headers = {"Authorization": f"Bearer {stack.warm_up_key}", "Content-Type": "text/csv"}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=600) as http:
        status = await _import(http, headers, path.read_bytes())
    if status["status"] != "completed" or status["created"] != 1:
        raise RuntimeError(f"the warm-up import did not store its row: {status}")
    conn = await asyncpg.connect(stack.dsn)
    try:
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL"):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    await meili.wait_idle(index)


async def pipeline(stack: Stack, csv_path: Path, meili: Meili, index: str, *,
                   wait_matching: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "text/csv"}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=600) as http:
        started = time.perf_counter()
        with csv_path.open("rb") as body:
            response = await http.post("/v1/workers/imports", content=body.read(), headers=headers)
        response.raise_for_status()
        uploaded = time.perf_counter() - started
        import_id = response.json()["import_id"]
        while True:
            status = (await http.get(f"/v1/workers/imports/{import_id}?error_limit=5", headers=headers)).json()
            if status["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        stored = time.perf_counter() - started
    conn = await asyncpg.connect(stack.dsn)
    try:
        # Searchable: the import's own follow-ups (indexing) done and Meilisearch idle on the index.
        while await conn.fetchval(  # noqa: ASYNC110
                "SELECT count(*) FROM outbox WHERE done_at IS NULL AND topic IN ('import.process', 'import.batch')"):
            await asyncio.sleep(0.1)
        await meili.wait_idle(index)
        searchable = time.perf_counter() - started
        # Matching of the imported profiles (issue 6: `import.match` per batch → match_worker per profile) runs
        # alongside, a few at a time; how far it got by now (it is not waited for unless asked: at ~4 ms of
        # worker CPU per profile it takes minutes for 100,000).
        matched: float | None = None
        if wait_matching:
            while await conn.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL"):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            matched = time.perf_counter() - started
        match_rows = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE done_at IS NOT NULL) AS done, count(*) AS total FROM outbox
                WHERE topic = 'import.match' AND entity_id LIKE $1""", f"{import_id}:%")
        profiles_matched = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'worker.matched'")
        # The worker's own view: queued (upload committed → picked up) and processing (first → last batch).
        times = await conn.fetchrow(
            """SELECT extract(epoch FROM started_at - created_at) AS queued,
                      extract(epoch FROM finished_at - started_at) AS processing FROM imports WHERE id = $1""",
            uuid.UUID(import_id))
    finally:
        await conn.close()
    return {"status": status, "upload_s": uploaded, "stored_s": stored, "searchable_s": searchable,
            "matched_s": matched, "match_batches": (match_rows["done"], match_rows["total"]),
            "profiles_matched": profiles_matched, "queued_s": float(times["queued"]),
            "processing_s": float(times["processing"])}


async def meili_alone(meili: Meili, source: str, scratch: str, ndjson: Path) -> float:
    settings = (await meili.http.get(f"/indexes/{source}/settings")).json()
    await meili.http.post("/indexes", json={"uid": scratch, "primaryKey": "id"})
    await meili.http.patch(f"/indexes/{scratch}/settings", json=settings)
    await meili.wait_idle(scratch)
    lines = ndjson.read_bytes().splitlines(keepends=True)  # noqa: ASYNC240 - before the clock starts
    started = time.perf_counter()
    for i in range(0, len(lines), 10_000):
        response = await meili.http.post(f"/indexes/{scratch}/documents", content=b"".join(lines[i:i + 10_000]),
                                         headers={"Content-Type": "application/x-ndjson"})
        response.raise_for_status()
    await meili.wait_idle(scratch)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database, indexes and logs")
    parser.add_argument("--wait-matching", action="store_true",
                        help="also wait until the imported profiles are matched (every outbox row done)")
    args = parser.parse_args()

    server_dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    meili_url = os.environ.get("MEILI_URL", "http://127.0.0.1:7700")
    meili_key = os.environ.get("MEILI_MASTER_KEY", "")
    workdir = Path(tempfile.mkdtemp(prefix="bashu-import-bench-"))
    csv_path = workdir / "workers.csv"
    started = time.perf_counter()
    generate_csv(csv_path, args.rows)
    print(f"generated {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB, "
          f"in {time.perf_counter() - started:.1f} s → {csv_path}")

    stack = Stack(server_dsn, redis_url, meili_url, meili_key, workdir)
    meili = Meili(meili_url, meili_key)
    index = f"{stack.prefix}_workers"
    scratch = f"{stack.prefix}_scratch"
    meili_pid = meilisearch_pid(meili_url)
    try:
        await stack.start()
        await warm_up(stack, workdir, meili, index)
        cpu_before = {**stack.cpu(), "meilisearch": cpu_seconds(meili_pid) if meili_pid else None}
        result = await pipeline(stack, csv_path, meili, index, wait_matching=args.wait_matching)
        cpu_after = {**stack.cpu(), "meilisearch": cpu_seconds(meili_pid) if meili_pid else None}
        rss = stack.peak_rss()
        # Matching still running would take CPU from Meilisearch alone: the stack's worker stops here.
        stack.stop_worker()
        status = result["status"]
        documents = await meili.count(index)
        failed = await meili.failed_tasks(index)
        ndjson = workdir / "documents.ndjson"
        exported = await meili.export_ndjson(index, ndjson)
        meili_cpu = cpu_seconds(meili_pid) if meili_pid else None
        alone = await meili_alone(meili, index, scratch, ndjson)
        meili_cpu_alone = ((cpu_seconds(meili_pid) or 0) - meili_cpu
                           if meili_pid is not None and meili_cpu is not None else None)
    finally:
        await stack.stop(args.keep)
        if not args.keep:
            await meili.delete(index)
            await meili.delete(scratch)
        await meili.http.aclose()

    ratio = result["searchable_s"] / alone if alone else float("inf")
    print(f"import {status['status']}: total {status['total']:,}, created {status['created']:,}, "
          f"updated {status['updated']:,}, unchanged {status['unchanged']:,}, rejected {status['rejected']:,}")
    if status["errors"]:
        print("  first errors:", status["errors"][:3])
    print(f"documents in the index: {documents:,} incl. the warm-up row (failed Meilisearch tasks: {failed}); "
          f"exported {exported:,} "
          f"({ndjson.stat().st_size / 1e6:.1f} MB NDJSON)")
    print(f"pipeline   upload accepted  {result['upload_s']:8.2f} s")
    print(f"pipeline   stored           {result['stored_s']:8.2f} s  (validated, encrypted, in PostgreSQL)")
    print(f"pipeline   searchable       {result['searchable_s']:8.2f} s  (end to end)")
    done, total = result["match_batches"]
    if result["matched_s"] is not None:
        print(f"pipeline   matched          {result['matched_s']:8.2f} s  (every follow-up done: matching, "
              f"subscriptions)")
    else:
        print(f"           matching (not waited for): {done}/{total} import.match batches done, "
              f"{result['profiles_matched']:,} profiles matched when searchable")
    print(f"           in the worker: queued {result['queued_s']:.2f} s, processing {result['processing_s']:.2f} s")
    print(f"meilisearch alone (NDJSON)  {alone:8.2f} s")
    used = {name: (cpu_after[name] or 0) - (cpu_before[name] or 0) for name in cpu_after
            if cpu_after[name] is not None and cpu_before[name] is not None}
    print("CPU seconds during the pipeline: " + ", ".join(f"{name} {sec:.2f}" for name, sec in used.items())
          + (f"; Meilisearch alone used {meili_cpu_alone:.2f}" if meili_cpu_alone is not None else "")
          + " (Meilisearch's figures include any other index it serves meanwhile)")
    print(f"ratio pipeline / meilisearch alone: {ratio:.2f}× (target ≤ 1.5×)")
    print(f"peak RSS: API {rss['api'] or 0:.0f} MiB, worker {rss['worker'] or 0:.0f} MiB")
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; logs in {workdir}")


if __name__ == "__main__":
    asyncio.run(main())
