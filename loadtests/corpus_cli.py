"""Write seeded load-test corpora: workers, jobs and kiosk queries at 10k / 200k / 500k.

    uv run python loadtests/corpus_cli.py --size 10k [--out loadtests/corpora] [--seed 20260101] [--csv]

Writes `<out>/<size>/workers.ndjson`, `jobs.ndjson` (POST /v1/workers and /v1/jobs request shapes, one per
line, ready for `POST /v1/workers/imports` / `/v1/jobs/imports` as NDJSON), `kiosk_queries.ndjson`
(`{kind, endpoint, params}`) and, with --csv, `workers.csv` / `jobs.csv` with the API's flattened column
names (`consent.share_with_enterprises`, lists joined with `;`). Sizes: workers = size, jobs = 40 % of size
(the issue's 500k workers : 200k postings), kiosk queries = 20 % of size. Same seed, same files.
Generation is pure Python, about 15–25k items a second on one core.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.demo.corpus import Corpus

SIZES = {"10k": 10_000, "200k": 200_000, "500k": 500_000}


def flatten(item: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ";".join(str(v) for v in value)
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def write_ndjson(path: Path, items: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


WAGE_COLUMNS = ("min", "max", "unit")
NESTED = {"expected_wage": WAGE_COLUMNS, "wage": WAGE_COLUMNS, "location": ("lat", "lng"),
          "consent": ("share_with_enterprises", "contact_by_sms", "given_at"), "contact": ("name", "phone", "note")}


def columns(item: dict[str, Any]) -> list[str]:
    """Flattened column names of an item shape, nested objects expanded even where the first item has null."""
    names: list[str] = []
    for key in item:
        names.extend(f"{key}.{sub}" for sub in NESTED[key]) if key in NESTED else names.append(key)
    return names


def write_csv(path: Path, items: Iterator[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer: csv.DictWriter[str] | None = None
        for item in items:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=columns(item), extrasaction="ignore", restval="")
                writer.writeheader()
            writer.writerow(flatten(item))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="10k")
    parser.add_argument("--workers", type=int, help="override the number of workers")
    parser.add_argument("--jobs", type=int, help="override the number of jobs")
    parser.add_argument("--queries", type=int, help="override the number of kiosk queries")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(),
                        help="the day dates are relative to (default: today)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "corpora")
    parser.add_argument("--csv", action="store_true", help="also write workers.csv and jobs.csv")
    args = parser.parse_args(argv)

    n = SIZES[args.size]
    workers = args.workers if args.workers is not None else n
    jobs = args.jobs if args.jobs is not None else n * 2 // 5
    queries = args.queries if args.queries is not None else n // 5
    out = args.out / args.size
    out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(seed=args.seed, today=args.today)
    started = time.monotonic()
    written = {
        "workers.ndjson": write_ndjson(out / "workers.ndjson", corpus.workers(workers)),
        "jobs.ndjson": write_ndjson(out / "jobs.ndjson", corpus.jobs(jobs)),
        "kiosk_queries.ndjson": write_ndjson(out / "kiosk_queries.ndjson", corpus.kiosk_queries(queries)),
    }
    if args.csv:
        written["workers.csv"] = write_csv(out / "workers.csv", corpus.workers(workers))
        written["jobs.csv"] = write_csv(out / "jobs.csv", corpus.jobs(jobs))
    for name, count in written.items():
        print(f"{out / name}: {count:,} rows")
    print(f"seed {args.seed}, today {args.today}, {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
