"""Ledger sources and the points each one is worth (the published scoring rules).

Score = `credit_base_score` (100) + the sum of the ledger's points. With the default thresholds (A ≥ 90,
B ≥ 75, C ≥ 60, D below) a new organisation starts at A; one upheld fake-job report takes it to B, two to C,
three to D.

| source | points | recorded by |
| --- | --- | --- |
| report_upheld | fake −20, fees −20, holds_id −20, unpaid −15, other −5, filled −3 | a report upheld by an authority |
| posting_removed | −10 | a posting rejected in review (compliance) |
| duplicate_profiles | −5 | an authority's finding |
| fake_profiles | −20 | an authority's finding |
| consent_problem | −10 | an authority's finding |
| placement_retained | +2 | the placements domain, at 90 days |
| profile_verified | +1 | a verification (or an authority's finding) |
| authority_adjustment | ± as written (at most 100 either way), with a written reason | an authority |
"""

from __future__ import annotations

from typing import Final, Literal

CreditSource = Literal["report_upheld", "posting_removed", "duplicate_profiles", "fake_profiles",
                       "consent_problem", "placement_retained", "profile_verified", "authority_adjustment"]
# Sources an authority may write by hand through POST /v1/credit/{org_id}/adjustments.
ManualSource = Literal["authority_adjustment", "duplicate_profiles", "fake_profiles", "consent_problem",
                       "profile_verified"]
ReportReason = Literal["fake", "fees", "holds_id", "filled", "unpaid", "other"]

REPORT_UPHELD_POINTS: Final[dict[str, int]] = {
    "fake": -20, "fees": -20, "holds_id": -20, "unpaid": -15, "other": -5, "filled": -3,
}
SOURCE_POINTS: Final[dict[str, int]] = {
    "posting_removed": -10,
    "duplicate_profiles": -5,
    "fake_profiles": -20,
    "consent_problem": -10,
    "placement_retained": 2,
    "profile_verified": 1,
}
MAX_ADJUSTMENT: Final = 100

REASON_LABELS: Final[dict[str, tuple[str, str]]] = {
    "fake": ("虚假岗位", "fake job"),
    "fees": ("收取费用", "charges fees"),
    "holds_id": ("扣押证件", "holds ID cards"),
    "filled": ("岗位已招满", "already filled"),
    "unpaid": ("拖欠工资", "wage not paid"),
    "other": ("其他", "other"),
}


def positive_source(source: str) -> bool:
    return source in ("placement_retained", "profile_verified")
