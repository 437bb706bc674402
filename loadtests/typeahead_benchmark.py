"""In-process typeahead latency over the shipped catalogue (issue 3: p95 under 10 ms for 2,000 entries).

    uv run python loadtests/typeahead_benchmark.py

Needs no services: it builds the same Typeahead the API's catalogue runtime uses.
"""

from __future__ import annotations

import statistics
import time

from matching.catalogue import load_initial_catalogue
from matching.regions import load_regions
from matching.typeahead import Typeahead

QUERIES = ["h", "hg", "hangong", "电焊", "叉车", "6-18", "bm", "baomu", "yuesao", "厨", "jlp", "九龙"] * 200


def main() -> None:
    started = time.perf_counter()
    typeahead = Typeahead(load_initial_catalogue(), load_regions())
    built = time.perf_counter() - started
    timings = []
    for query in QUERIES:
        t0 = time.perf_counter()
        typeahead.suggest(query, limit=10)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    print(f"build {built * 1000:.0f} ms; {len(QUERIES)} queries: p50 {statistics.median(timings):.3f} ms, "
          f"p95 {timings[int(len(timings) * 0.95)]:.3f} ms, max {timings[-1]:.3f} ms (target p95 < 10 ms)")


if __name__ == "__main__":
    main()
