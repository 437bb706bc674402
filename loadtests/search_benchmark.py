"""Kiosk search benchmark: our `/v1/kiosk/search` against raw Meilisearch with the same search parameters,
in the same run, on the same machine.

    set -a; . .devstack/env; set +a
    uv run python loadtests/search_benchmark.py --size 200000          # the issue's run
    uv run python loadtests/search_benchmark.py --size 20000 --requests 2000   # a few minutes here

1. Generates a seeded corpus of `--size` open postings (the circle's counties × catalogue trades, slang
   titles, pay and benefit words) and indexes it with the production settings into `<prefix>_jobs`
   (prefix `bench<size>`; kept between runs, `--reindex` rebuilds it).
2. Starts the API (`python -m services.api`, its own process, loopback port, that prefix) unless `--api-url`
   points at one, and creates a kiosk organisation for its key (in DATABASE_URL's database).
3. For each mix — `tap` (a few dozen trade + district taps repeated, what kiosks mostly send) and `free`
   (typed phrases: slang, homophone mistakes, districts, pay words) — and each concurrency (1 and 32):
   (a) raw: POST /indexes/<uid>/search straight to Meilisearch with exactly the body the API builds for that
   query (matching/kiosk_search_query.search_body: filters, q, matchingStrategy, facets, attributes);
   (a') raw chain: the same, but a query whose first search finds nothing goes on with the API's fallbacks
   (`all` → `last` → the understood filters alone), one after the other: what a client of raw Meilisearch
   needs to send to give the API's answers;
   (b) api: GET /v1/kiosk/search. All with one keep-alive httpx client, `Accept-Encoding: identity`.
   Prints p50 / p99 / requests per second and the ratios api:raw, and each target's Δp50 against raw chain.

Loopback only: MEILI_URL and API_URL must point at 127.0.0.1 / localhost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.documents import job_document, jobs_index_settings
from matching.facts import JobFacts, Wage
from matching.job_terms import WorkType
from matching.kiosk_search_query import KioskParams, SearchPlan, build_plan, search_body
from matching.regions import RegionDirectory, load_regions
from matching.segmentation import Analyzer
from services.api.china_calendar import CHINA_TZ
from services.api.kiosk.service import _build_context
from services.api.search_index import index_name

SEED = 20261125
HALL_TRADES = ("焊工", "装卸搬运工", "砌筑工", "钢筋工", "手工木工", "起重装卸机械操作工", "家政服务员", "保洁员",
               "中式烹调师", "计算机及外部设备装配调试员", "快递员", "道路货运汽车驾驶员", "养老护理员", "装饰装修工",
               "架子工", "混凝土工", "管道工", "中式面点师", "电工", "防水工", "快件处理员", "医疗护理员",
               "汽车维修工", "挖掘铲运和桩工机械司机", "餐厅服务员")
BENEFITS = ("包吃", "包住", "社保", "交通补贴", "五险一金", "加班费")
FREE_TEXT = ("九龙坡 电焊 日结 包住", "电悍工", "叉车师机", "江北 保姆", "成都 叉车", "渝北 普工 日结", "烧电焊的",
             "棒棒", "住家阿姨", "日薪300以上", "月薪8000", "包吃住 普工", "沙坪坝 钢筋工", "万州 货车司机",
             "武侯区 服务员 包吃", "鲜の屋", "快递小哥 日结", "挖机司机", "明天开工 小工", "绵阳 厨师 月薪5000",
             "九龙破 电焊", "服物员", "电焊 学徒", "找个工地的活", "南岸 装修工", "护工", "保洁阿姨 巴南",
             "重庆 电工 社保", "四川 厨师", "双流 搬运工 日结")


def loopback(url: str) -> str:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing non-loopback target {url}")
    return url.rstrip("/")


# ------------------------------------------------------------------------------------------- corpus


def corpus(size: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    catalogue, regions = load_initial_catalogue(), load_regions()
    entries = [e for e in catalogue.entries if e.name in HALL_TRADES]
    others = [e for e in catalogue.active_entries() if e.name not in HALL_TRADES]
    counties = [r for r in regions.counties() if r.in_circle]
    now = datetime.now(UTC)
    today = now.astimezone(CHINA_TZ).date()
    documents = []
    for n in range(size):
        entry = rng.choice(entries) if rng.random() < 0.8 else rng.choice(others)
        county = rng.choice(counties)
        word = rng.choice([entry.name, *entry.aliases])
        work_type: WorkType = rng.choices(("full_time", "daily", "gig", "seasonal"), weights=(6, 3, 1, 1))[0]
        daily = work_type in ("daily", "gig")
        low = rng.choice((150, 200, 250, 300)) if daily else rng.choice((4000, 5000, 6000, 7000, 8000))
        benefits = tuple(b for b in BENEFITS if rng.random() < 0.3)
        title = rng.choice((f"急招{word}", f"{county.short_name}{word}", f"招聘{word}若干名",
                            f"{word} {'日结' if daily else '长期'}", f"{county.short_name}急招{word} 包吃住"))
        facts = JobFacts(
            id=f"b{n:07d}", title=title,
            description=f"{county.name}招{word}，{'、'.join(benefits) or '待遇面议'}，工作稳定，按时发薪。" * 3,
            occupation_code=entry.occupation_code, headcount=rng.randint(1, 30), adcode=county.adcode,
            wage=Wage(low, low + (50 if daily else 1500), "day" if daily else "month"), work_type=work_type,
            start_date=today + timedelta(days=rng.randint(-5, 30)), posted_at=now - timedelta(days=rng.randint(0, 40)),
            benefits=benefits, expires_at=now + timedelta(days=rng.randint(20, 90)), updated_at=now,
        )
        documents.append(job_document(facts, catalogue, regions))
    return documents


def index_settings(build: Callable[[Catalogue, RegionDirectory], dict[str, Any]],
                   full_dictionary: bool) -> dict[str, Any]:
    """The production settings (`build`: jobs_index_settings / workers_index_settings); with `full_dictionary`,
    the untrimmed word list the dictionary had before (every trade, county and pay word), to measure what the
    trimmed one saves on the same corpus."""
    catalogue, regions = load_initial_catalogue(), load_regions()
    settings = build(catalogue, regions)
    if full_dictionary:
        settings["dictionary"] = catalogue.kept_whole_words(regions)
    return settings


_INDEXING_KEYS = ("dictionary", "searchableAttributes", "filterableAttributes", "sortableAttributes", "prefixSearch",
                  "facetSearch")


def _comparable(value: Any) -> Any:
    return sorted(value, key=repr) if isinstance(value, list) else value


async def ensure_index(meili: httpx.AsyncClient, uid: str, size: int, reindex: bool, *, settings: dict[str, Any],
                       documents: Callable[[int], list[dict[str, Any]]], what: str) -> None:
    """`uid` with `size` documents and `settings`; a kept index only gets the settings that changed (of those that
    decide what is indexed: the dictionary, searchable, filterable and sortable attributes, prefixes, facet search)."""
    response = await meili.get(f"/indexes/{uid}/stats")
    if response.status_code == 200 and not reindex and response.json()["numberOfDocuments"] == size:
        print(f"index {uid}: {size} documents already there")
        current = (await meili.get(f"/indexes/{uid}/settings")).json()
        defaults: dict[str, Any] = {"dictionary": [], "searchableAttributes": ["*"], "prefixSearch": "indexingTime",
                                    "facetSearch": True}
        changed = {key: settings.get(key, defaults.get(key)) for key in _INDEXING_KEYS
                   if _comparable(current.get(key)) != _comparable(settings.get(key, defaults.get(key)))}
        if changed:
            # Such a change re-indexes every document: minutes at these sizes.
            started = time.perf_counter()
            await wait(meili, (await meili.patch(f"/indexes/{uid}/settings", json=changed)).json(), seconds=7200)
            print(f"{', '.join(changed)} set in {time.perf_counter() - started:.0f} s")
        return
    await meili.delete(f"/indexes/{uid}")
    await wait(meili, (await meili.post("/indexes", json={"uid": uid, "primaryKey": "id"})).json())
    await wait(meili, (await meili.patch(f"/indexes/{uid}/settings", json=settings)).json())
    started = time.perf_counter()
    generated = documents(size)
    print(f"generated {size} {what} in {time.perf_counter() - started:.0f} s; indexing …")
    started = time.perf_counter()
    tasks = []
    for i in range(0, size, 10_000):
        response = await meili.post(f"/indexes/{uid}/documents", content=orjson.dumps(generated[i:i + 10_000]),
                                    headers={"Content-Type": "application/json"})
        tasks.append(response.json())
    for task in tasks:
        await wait(meili, task, seconds=7200)
    print(f"indexed {size} {what} in {time.perf_counter() - started:.0f} s")


async def wait(meili: httpx.AsyncClient, task: dict[str, Any], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = (await meili.get(f"/tasks/{task['taskUid']}")).json()
        if status["status"] in ("succeeded", "failed", "canceled"):
            if status["status"] != "succeeded":
                raise SystemExit(f"task failed: {status.get('error')}")
            return
        await asyncio.sleep(0.2)
    raise SystemExit("timed out waiting for Meilisearch")


# ------------------------------------------------------------------------------------------- queries


def query_mix(kind: str, count: int) -> list[dict[str, Any]]:
    """The API query parameters of `count` requests of one mix (seeded)."""
    rng = random.Random(SEED + (1 if kind == "tap" else 2))
    regions = load_regions()
    counties = [r.adcode for r in regions.counties() if r.in_circle and r.province == "CQ"][:12]
    counties += ["510107", "510104", "510114"]
    trades = ("焊工", "普工", "保姆", "叉车司机", "服务员", "厨师", "小工", "保洁", "快递员", "货车司机")
    if kind == "tap":
        taps = [{"q": t, "adcode": c} for t in trades for c in rng.sample(counties, 4)]
        taps += [{"q": t, "adcode": c, "work_type": "daily"} for t in trades[:5] for c in counties[:2]]
        taps = taps[:50]
        return [dict(rng.choice(taps)) for _ in range(count)]
    return [{"q": rng.choice(FREE_TEXT)} for _ in range(count)]


def _plan(ctx: Any, params: dict[str, Any]) -> SearchPlan:
    now = datetime.now(CHINA_TZ)
    interpretation = ctx.interpreter.interpret(params.get("q") or "")
    return build_plan(interpretation, KioskParams(adcodes=tuple(filter(None, [params.get("adcode")])),
                                                  work_type=params.get("work_type")), ctx.regions, now, now.date())


def raw_body(ctx: Any, params: dict[str, Any], limit: int) -> dict[str, Any]:
    """Exactly the body the API sends for these parameters (first page, first strategy)."""
    plan = _plan(ctx, params)
    return search_body(plan, offset=0, limit=limit, strategy=plan.strategy, facets=True)


def raw_chain_bodies(ctx: Any, params: dict[str, Any], limit: int) -> list[bytes]:
    """The bodies of the whole chain the issue asks for: the first strategy, then each fallback while the
    previous one found nothing (`all` → `last` → the understood filters alone), in the API's order."""
    plan = _plan(ctx, params)
    return [orjson.dumps(search_body(plan, offset=0, limit=limit, strategy=step, facets=True))
            for step in (plan.strategy, *plan.fallbacks())]


# ------------------------------------------------------------------------------------------- load


async def drive(send: Any, items: list[Any], concurrency: int) -> dict[str, float]:
    """Send `items` with `concurrency` workers: p50/p99 in ms, requests per second."""
    latencies, wall = await drive_raw(send, items, concurrency)
    return summary(latencies, wall)


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    latencies = sorted(latencies)
    return {"p50": statistics.median(latencies), "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)],
            "rps": len(latencies) / wall, "n": len(latencies)}


async def interleaved(targets: dict[str, tuple[Any, list[Any]]], concurrency: int,
                      blocks: int) -> dict[str, dict[str, float]]:
    """Each target's requests split into `blocks` blocks, the targets' blocks taking turns (the order
    rotating every round), so that a load change on this shared machine hits every target alike."""
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    walls: dict[str, float] = dict.fromkeys(targets, 0.0)
    names = list(targets)
    for block in range(blocks):
        for name in names[block % len(names):] + names[:block % len(names)]:
            send, items = targets[name]
            size = -(-len(items) // blocks)
            part = items[block * size:(block + 1) * size]
            if not part:
                continue
            result = await drive_raw(send, part, concurrency)
            latencies[name] += result[0]
            walls[name] += result[1]
    return {name: summary(latencies[name], walls[name]) for name in names}


async def drive_raw(send: Any, items: list[Any], concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(items):
            item = items[position]
            position += 1
            started = time.perf_counter()
            await send(item)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    return latencies, time.perf_counter() - started


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def migrate(database_url: str) -> None:
    """The API refuses to start on a database behind the code's migrations (a fresh `make services` stack is
    not migrated yet): apply them with the project's runner, which takes its lock and skips what is done."""
    from services.db.migrate import apply_migrations
    from services.db.pool import connect

    conn = await connect(database_url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def kiosk_key(database_url: str) -> str:
    from services.api.organisations.schemas import OrgCreate
    from services.api.organisations.service import create_org
    from services.db.pool import connect

    conn = await connect(database_url)
    try:
        async with conn.transaction():
            created = await create_org(conn, OrgCreate(type="kiosk", name=f"bench-{uuid.uuid4().hex[:6]}",
                                                       kiosk_adcode="500107"))
        return str(created.api_key)
    finally:
        await conn.close()


def start_api(prefix: str, port: int, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MEILI_INDEX_PREFIX": prefix, "HOST": "127.0.0.1", "PORT": str(port),
           "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
           # As deployed: JSON log lines (the development console renderer costs more per request).
           "LOG_JSON": os.environ.get("LOG_JSON", "true"), **extra_env}
    return subprocess.Popen([sys.executable, "-m", "services.api"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])


async def wait_for_api(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=3000, help="requests per (mix, target, concurrency)")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--mix", default="tap,free")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--reindex", action="store_true")
    parser.add_argument("--full-dictionary", action="store_true", help="index with the untrimmed dictionary "
                        "(every trade, county and pay word, as before the trim) to compare on the same corpus")
    parser.add_argument("--index-only", action="store_true", help="build or update the index, then stop")
    parser.add_argument("--api-url", default=os.environ.get("API_URL"))
    parser.add_argument("--baseline-api-url", help="a second API on the same index (e.g. the previous "
                                                    "commit's code) measured in the same interleaved blocks")
    parser.add_argument("--blocks", type=int, default=10, help="interleaved blocks per cell")
    parser.add_argument("--no-memo", action="store_true", help="also measure `no-memo no-cache`: a second API "
                        "process of this code with KIOSK_INTERPRETATION_MEMO=false (every phrase interpreted "
                        "afresh, every search sent to Meilisearch: a phrase nobody typed before)")
    args = parser.parse_args()

    meili_url = loopback(os.environ.get("MEILI_URL", "http://127.0.0.1:7700"))
    key = os.environ.get("MEILI_MASTER_KEY", "")
    headers = {"Accept-Encoding": "identity", **({"Authorization": f"Bearer {key}"} if key else {})}
    prefix = f"bench{args.size}"
    uid = index_name(prefix, "jobs")
    # Idle connections are dropped after 2 s, before the servers' own keep-alive timeout (uvicorn and
    # Meilisearch: 5 s) closes them: with both at 5 s (httpx's default), a block that reused a connection the
    # API was closing at that moment failed with httpx.ReadError (the free c=32 cell, three runs).
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2.0)
    catalogue, regions = load_initial_catalogue(), load_regions()
    ctx = _build_context((0, 0, 0), catalogue, regions, Analyzer.build(catalogue, regions), None)

    api: subprocess.Popen[bytes] | None = None
    no_memo_api: subprocess.Popen[bytes] | None = None
    no_memo_url: str | None = None
    async with httpx.AsyncClient(base_url=meili_url, headers=headers, timeout=60, limits=limits) as meili:
        await ensure_index(meili, uid, args.size, args.reindex, documents=corpus, what="postings",
                           settings=index_settings(jobs_index_settings, args.full_dictionary))
        if args.index_only:
            return
        api_url = args.api_url
        if api_url is None:
            await migrate(os.environ["DATABASE_URL"])
            port = free_port()
            api = start_api(prefix, port)
            api_url = f"http://127.0.0.1:{port}"
        api_url = loopback(api_url)
        if args.no_memo:
            no_memo_port = free_port()
            no_memo_api = start_api(prefix, no_memo_port, KIOSK_INTERPRETATION_MEMO="false")
            no_memo_url = f"http://127.0.0.1:{no_memo_port}"
        try:
            await wait_for_api(api_url)
            if no_memo_url is not None:
                await wait_for_api(no_memo_url)
            token = await kiosk_key(os.environ["DATABASE_URL"])
            client_headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
            baseline = (httpx.AsyncClient(base_url=loopback(args.baseline_api_url), timeout=60, limits=limits,
                                          headers=client_headers) if args.baseline_api_url else None)
            no_memo = (httpx.AsyncClient(base_url=no_memo_url, timeout=60, limits=limits, headers=client_headers)
                       if no_memo_url is not None else None)
            async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits,
                                         headers=client_headers) as client:
                print(f"\ncorpus {args.size} postings, {args.requests} requests per cell, limit {args.limit}, "
                      f"{os.cpu_count()} CPUs, {args.blocks} interleaved blocks, load average {load_average()}\n")
                print(f"{'mix':<5} {'conc':>4} {'target':<16} | {'p50 ms':>8} {'p99 ms':>8} {'rps':>6} | "
                      f"{'Δp50 ms':>8} {'p99/raw':>7} {'rps/raw':>7}")
                for mix in args.mix.split(","):
                    queries = query_mix(mix, args.requests)
                    bodies = [orjson.dumps(raw_body(ctx, q, args.limit)) for q in queries]

                    async def raw(body: bytes) -> None:
                        response = await meili.post(f"/indexes/{uid}/search", content=body,
                                                    headers={"Content-Type": "application/json"})
                        response.raise_for_status()

                    chains = [raw_chain_bodies(ctx, q, args.limit) for q in queries]

                    async def raw_chain(chain: list[bytes]) -> None:
                        # A client of raw Meilisearch giving the API's answers: the next step only after an
                        # empty answer (Meilisearch writes an empty result as `"hits":[]`).
                        for body in chain:
                            response = await meili.post(f"/indexes/{uid}/search", content=body,
                                                        headers={"Content-Type": "application/json"})
                            response.raise_for_status()
                            if not response.content.startswith(b'{"hits":[]'):
                                return

                    def through(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Any:
                        async def send(params: dict[str, Any]) -> None:
                            response = await http.get("/v1/kiosk/search", params={**params, "limit": args.limit},
                                                      headers=headers)
                            response.raise_for_status()
                        return send

                    targets: dict[str, tuple[Any, list[Any]]] = {
                        "raw": (raw, bodies),
                        "raw chain": (raw_chain, chains),
                        "api": (through(client), queries),
                        "api no-cache": (through(client, {"Cache-Control": "no-cache"}), queries),
                    }
                    if baseline is not None:
                        targets["baseline"] = (through(baseline), queries)
                        targets["base no-cache"] = (through(baseline, {"Cache-Control": "no-cache"}), queries)
                    if no_memo is not None:
                        targets["no-memo no-cache"] = (through(no_memo, {"Cache-Control": "no-cache"}), queries)
                    for sender, items in targets.values():  # warm-up (and, for `api`, the cache)
                        await drive(sender, items[:100], 4)
                    for concurrency in (int(c) for c in args.concurrency.split(",")):
                        results = await interleaved(targets, concurrency, args.blocks)
                        a = results["raw"]
                        for name, b in results.items():
                            print(f"{mix:<5} {concurrency:>4} {name:<16} | {b['p50']:>8.2f} {b['p99']:>8.2f} "
                                  f"{b['rps']:>6.0f} | {b['p50'] - a['p50']:>8.2f} {b['p99'] / a['p99']:>7.2f} "
                                  f"{b['rps'] / a['rps']:>7.2f}")
                        chain = results["raw chain"]
                        print("      Δp50 against raw chain: " + ", ".join(
                            f"{name} {b['p50'] - chain['p50']:+.2f} ms" for name, b in results.items()
                            if not name.startswith("raw")))
                        print(f"      load average {load_average()}")
            for extra in (baseline, no_memo):
                if extra is not None:
                    await extra.aclose()
        finally:
            for process in (api, no_memo_api):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=10)
    print(f"\ndate {date.today()}; raw = Meilisearch alone with the API's exact body (its first search); "
          "raw chain = Meilisearch alone asked the API's whole chain, one search after the other, the next only "
          "when the previous found nothing (all → last → filters: what a raw client needs for the same answers); "
          "api = /v1/kiosk/search "
          "(auth, interpretation, Meilisearch, shaping; repeated searches from its cache, checked against the "
          "index version on every request) in its own process; api no-cache = the same with "
          "`Cache-Control: no-cache` (every search goes to Meilisearch); baseline / base no-cache = the same two "
          "through --baseline-api-url; no-memo no-cache = this code's API with KIOSK_INTERPRETATION_MEMO=false, "
          "no cache (--no-memo); "
          "client = this process.")


if __name__ == "__main__":
    asyncio.run(main())
