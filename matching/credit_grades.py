"""Integrity credit grades (诚信积分, policy clause 20): score → grade, and the ranking nudge a grade gives.

Pure: no I/O. The score itself is derived from the credit ledger (services/api/credit): base score plus the
sum of an organisation's ledger points. Thresholds come from settings (`credit_grade_thresholds`); these are
the defaults.

Ranking nudge (for the matching engine): a match score (0–1) is moved by a small, fixed amount according to
the credit grade of the organisation on the other side (the broker of a worker, the enterprise of a posting),
then clamped to 0–1. It is deliberately small — it reorders near-equal matches, it never lifts a poor fit over
a good one — and it is a *nudge*, not a filter: the hard effects of a bad grade are elsewhere (a grade-D
broker's new profiles are held for review). An unknown grade (None) is neutral.

    A +0.03   B 0   C −0.03   D −0.08
"""

from __future__ import annotations

from typing import Final, Literal

Grade = Literal["A", "B", "C", "D"]
GRADES: Final[tuple[Grade, ...]] = ("A", "B", "C", "D")

DEFAULT_BASE_SCORE: Final = 100
# Minimum score of A, B and C; below the last is D. Must strictly decrease.
DEFAULT_GRADE_THRESHOLDS: Final[tuple[int, int, int]] = (90, 75, 60)

GRADE_RANKING_NUDGE: Final[dict[str, float]] = {"A": 0.03, "B": 0.0, "C": -0.03, "D": -0.08}


class InvalidThresholds(ValueError):
    """A threshold set that does not strictly decrease (A > B > C)."""


def check_thresholds(thresholds: tuple[int, ...]) -> tuple[int, int, int]:
    """The thresholds if they are three strictly decreasing numbers, else InvalidThresholds."""
    if len(thresholds) != 3:
        raise InvalidThresholds(f"need three thresholds (minimum score of A, B, C), got {len(thresholds)}")
    a, b, c = thresholds
    if not a > b > c:
        raise InvalidThresholds(
            f"grade thresholds must strictly decrease (A > B > C), got A={a}, B={b}, C={c}")
    return a, b, c


def grade_for(score: int, thresholds: tuple[int, int, int] = DEFAULT_GRADE_THRESHOLDS) -> Grade:
    a, b, c = thresholds
    if score >= a:
        return "A"
    if score >= b:
        return "B"
    if score >= c:
        return "C"
    return "D"


def score_range(grade: Grade, thresholds: tuple[int, int, int] = DEFAULT_GRADE_THRESHOLDS,
                ) -> tuple[int | None, int | None]:
    """[low, high) of scores with this grade (None: unbounded), for filtering in SQL."""
    a, b, c = thresholds
    return {"A": (a, None), "B": (b, a), "C": (c, b), "D": (None, c)}[grade]


def apply_grade_nudge(score: float, grade: str | None) -> float:
    """`score` (0–1) moved by GRADE_RANKING_NUDGE[grade] and clamped to 0–1; unknown grade: unchanged."""
    nudged = score + GRADE_RANKING_NUDGE.get(grade, 0.0) if grade is not None else score
    return min(1.0, max(0.0, nudged))
