"""The ranking measures of the relevance evaluation set."""

from __future__ import annotations

import pytest

from matching.relevance import ndcg_at, precision_at, recall_at


def test_precision_counts_relevant_answers_in_the_first_k() -> None:
    assert precision_at(["a", "x", "b", "y"], {"a", "b", "c", "d", "e"}, 4) == 0.5
    assert precision_at(["a", "b", "x"], {"a", "b"}, 10) == 1.0  # only two exist: both found is perfect
    assert precision_at([], set(), 10) == 1.0
    assert precision_at(["x"], set(), 10) == 0.0


def test_recall_is_capped_at_k() -> None:
    assert recall_at(["a", "x"], {"a", "b"}, 50) == 0.5
    assert recall_at(["a", "b"], {"a", "b", "c"}, 2) == 1.0


def test_ndcg_rewards_better_items_first() -> None:
    gains = {"a": 2.0, "b": 1.0}
    assert ndcg_at(["a", "b"], gains, 10) == pytest.approx(1.0)
    assert ndcg_at(["b", "a"], gains, 10) < 1.0
    assert ndcg_at(["x", "a", "b"], gains, 10) < ndcg_at(["a", "b", "x"], gains, 10)
    assert ndcg_at(["a"], {"a", "b"}, 10) == pytest.approx(1 / (1 + 1 / 1.584962500721156))
