"""Job → worker matching benchmark: p50/p95/p99 of `rank_workers_for_job` at concurrency 1 over a worker corpus.

    set -a; . .devstack/env; set +a
    uv run python loadtests/match_benchmark.py --size 500000      # the issue's run
    uv run python loadtests/match_benchmark.py --size 50000       # a few minutes here

Generates `--size` seeded worker documents (trades, home counties — many from labour-exporting ones —,
desired regions, certificates, consent, availability; no personal data, as in production) and indexes them
with the production settings into `bench<size>_workers` (kept between runs; `--reindex` rebuilds). Then,
for `--jobs` seeded postings, runs the service's matching (services/api/matches: four concurrent searches under
the hard filters, documents → facts, exact predicate, scoring, ranking) one after another over the same
Meilisearch client the API uses (services/api/meili_reader.py) and prints the latency percentiles and the
candidates scored. It measures the matching path; the endpoint adds the API-key check and three short
PostgreSQL reads (the posting by primary key, the brokers whose licence lapsed, the kept candidates' rows by
primary key: the index lags them). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.search_benchmark import ensure_index, index_settings, load_average, loopback
from matching.catalogue import load_initial_catalogue
from matching.documents import worker_document, workers_index_settings
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.regions import load_regions
from services.api.china_calendar import CHINA_TZ
from services.api.matches.service import MatchEnv, rank_workers_for_job
from services.api.meili_reader import MeiliReader
from services.api.search_index import index_name

SEED = 20261126
EXPORTERS = ("500235", "500101", "511702", "511302", "510502", "500236", "500238", "511621")


def workers(size: int) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    catalogue, regions = load_initial_catalogue(), load_regions()
    entries = list(catalogue.active_entries())
    hall = entries[:60]
    counties = [r.adcode for r in regions.counties() if r.in_circle]
    exporters = [c for c in EXPORTERS if c in regions]
    now = datetime.now(UTC)
    today = now.astimezone(CHINA_TZ).date()
    out = []
    for n in range(size):
        entry = rng.choice(hall) if rng.random() < 0.7 else rng.choice(entries)
        home = rng.choice(exporters) if rng.random() < 0.4 else rng.choice(counties)
        start = today + timedelta(days=rng.randint(-30, 30))
        facts = WorkerFacts(
            id=f"w{n:07d}", home_adcode=home, available_from=start,
            available_until=start + timedelta(days=rng.choice((60, 120, 365))) if rng.random() < 0.5 else None,
            updated_at=now - timedelta(days=rng.randint(0, 90)),
            desired_adcodes=tuple(rng.sample(counties, k=rng.choice((0, 1, 2)))),
            willing_to_relocate=rng.random() < 0.3, max_commute_km=rng.choice((None, 20.0, 50.0)),
            expected_wage=Wage(rng.choice((4000, 5000, 6000, 7000)), 9000, "month"),
            occupation_codes=(entry.occupation_code,),
            certificates=entry.certificates[:1] if entry.certificates and rng.random() < 0.6 else (),
            work_types=tuple(rng.sample(["full_time", "daily", "gig", "seasonal"], k=rng.choice((0, 1, 2)))),
            share_with_enterprises=rng.random() < 0.9, age=rng.randint(18, 62), experience_years=rng.randint(0, 30),
        )
        out.append(worker_document(facts, catalogue, regions))
    return out


def jobs(count: int) -> list[JobFacts]:
    rng = random.Random(SEED + 1)
    catalogue, regions = load_initial_catalogue(), load_regions()
    hall = list(catalogue.active_entries())[:60]
    counties = [r.adcode for r in regions.counties() if r.in_circle]
    now = datetime.now(UTC)
    today = now.astimezone(CHINA_TZ).date()
    out = []
    for n in range(count):
        entry = rng.choice(hall)
        out.append(JobFacts(
            id=f"j{n}", title=f"招聘{entry.name}", description="", occupation_code=entry.occupation_code,
            headcount=5, adcode=rng.choice(counties), wage=Wage(5000, 8000, "month"),
            work_type=rng.choice(("full_time", "daily")), start_date=today + timedelta(days=rng.randint(0, 20)),
            posted_at=now, required_certificates=entry.certificates[:1] if rng.random() < 0.2 else (),
            age_max=rng.choice((None, 55, 60))))
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=500_000)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--reindex", action="store_true")
    parser.add_argument("--full-dictionary", action="store_true", help="index with the untrimmed dictionary "
                        "(every trade, county and pay word, as before the trim) to compare on the same corpus")
    parser.add_argument("--index-only", action="store_true", help="build or update the index, then stop")
    args = parser.parse_args()
    meili_url = loopback(os.environ.get("MEILI_URL", "http://127.0.0.1:7700"))
    key = os.environ.get("MEILI_MASTER_KEY", "")
    headers = {"Accept-Encoding": "identity", **({"Authorization": f"Bearer {key}"} if key else {})}
    prefix = f"bench{args.size}"
    catalogue, regions = load_initial_catalogue(), load_regions()
    async with httpx.AsyncClient(base_url=meili_url, headers=headers, timeout=60) as meili:
        await ensure_index(meili, index_name(prefix, "workers"), args.size, args.reindex, documents=workers,
                           what="workers", settings=index_settings(workers_index_settings, args.full_dictionary))
        if args.index_only:
            return
        http = MeiliReader(meili_url, key or None, timeout=60)  # the API's client for these reads
        env = MatchEnv(catalogue=catalogue, regions=regions, http=http, prefix=prefix)
        load_before = load_average()
        today = datetime.now(CHINA_TZ).date()
        postings = jobs(args.jobs)
        for job in postings[:20]:  # warm-up
            await rank_workers_for_job(env, job, today, limit=20, min_score=0.0)
        latencies, found = [], []
        for job in postings:
            started = time.perf_counter()
            ranked = await rank_workers_for_job(env, job, today, limit=20, min_score=0.0)
            latencies.append((time.perf_counter() - started) * 1000)
            found.append(len(ranked))
        await http.aclose()
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[max(0, int(len(latencies) * q) - 1)]

    print(f"\n{args.size} workers, {len(latencies)} postings matched one after another (concurrency 1), "
          f"{os.cpu_count()} CPUs, load average {load_before} before, {load_average()} after")
    print(f"p50 {statistics.median(latencies):.1f} ms  p95 {pick(0.95):.1f} ms  p99 {pick(0.99):.1f} ms  "
          f"max {latencies[-1]:.1f} ms; matches returned per posting: median {statistics.median(found):.0f}")


if __name__ == "__main__":
    asyncio.run(main())
