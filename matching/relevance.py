"""Ranking quality measures for the relevance evaluation set: P@k, recall@k and nDCG@k.

`ranked` is what the system answered, best first; `relevant` the labelled ids (binary relevance) or, for
nDCG, a mapping id → gain (2 = exactly what was asked, 1 = acceptable).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence


def precision_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the first k answers that are relevant; when fewer than k relevant ones exist at all, the
    best possible precision is used as the denominator (a query with 3 relevant postings can score 1.0)."""
    if k <= 0:
        raise ValueError("k must be positive")
    wanted = set(relevant)
    if not wanted:
        return 1.0 if not ranked else 0.0
    found = sum(1 for item in ranked[:k] if item in wanted)
    return found / min(k, len(wanted))


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the first k answers; capped: when more than k are relevant,
    finding k of them is full recall (a page of k cannot hold more)."""
    wanted = set(relevant)
    if not wanted:
        return 1.0
    return len(wanted & set(ranked[:k])) / min(k, len(wanted))


def ndcg_at(ranked: Sequence[str], gains: Mapping[str, float] | Collection[str], k: int) -> float:
    graded: Mapping[str, float] = gains if isinstance(gains, Mapping) else {g: 1.0 for g in gains}
    if not graded:
        return 1.0 if not ranked else 0.0

    def dcg(values: Sequence[float]) -> float:
        return float(sum((2.0 ** v - 1.0) / math.log2(i + 2) for i, v in enumerate(values[:k])))

    ideal = dcg(sorted(graded.values(), reverse=True))
    return float(dcg([graded.get(item, 0.0) for item in ranked]) / ideal) if ideal > 0 else 0.0
