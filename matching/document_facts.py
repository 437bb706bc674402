"""Meilisearch documents back to matching facts, so that candidates found in an index can be scored without a
database read per candidate.

The inverse of matching/documents.py for what scoring needs. A worker document has no personal data, so the
WorkerFacts built from one has none either; what the document does not carry (the free-text trade words a
broker typed, the top of an expected-wage range) is left empty, which scoring treats as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from matching.documents import OPEN_END
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.geo import GeoPoint


def int_date(value: int | None) -> date | None:
    """20250301 → 2025-03-01; OPEN_END and None → None."""
    if value is None or value >= OPEN_END:
        return None
    return date(value // 10000, value // 100 % 100, value % 100)


def _moment(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def job_facts_from_document(doc: Mapping[str, Any]) -> JobFacts:
    start = int_date(doc["start_date"])
    posted = _moment(doc.get("posted_at")) or datetime(1970, 1, 1, tzinfo=UTC)
    lat, lng = doc.get("lat"), doc.get("lng")
    age_min, age_max = doc.get("age_min"), doc.get("age_max")
    return JobFacts(
        id=str(doc["id"]), title=doc.get("title", ""), description=doc.get("description", ""),
        occupation_code=doc.get("occupation_code"), headcount=int(doc.get("headcount") or 0),
        adcode=doc["adcode"], wage=Wage(float(doc["wage_min"]), float(doc["wage_max"]), doc["wage_unit"]),
        work_type=doc["work_type"], start_date=start or date(1970, 1, 1), posted_at=posted,
        org_id=str(doc.get("org_id") or ""),
        location=GeoPoint(lat, lng) if lat is not None and lng is not None else None,
        end_date=int_date(doc.get("end_date")), benefits=tuple(doc.get("benefits") or ()),
        required_certificates=tuple(doc.get("required_certificates") or ()),
        # documents store "no limit" as 0 and 200
        age_min=age_min if age_min else None, age_max=age_max if age_max is not None and age_max < 200 else None,
        status=doc.get("status", "open"), updated_at=_moment(doc.get("updated_at")),
        expires_at=_moment(doc.get("expires_at")), occupation_inferred=bool(doc.get("occupation_inferred")),
    )


def worker_facts_from_document(doc: Mapping[str, Any]) -> WorkerFacts:
    wage = None
    if doc.get("expected_wage_min") is not None and doc.get("expected_wage_unit"):
        amount = float(doc["expected_wage_min"])
        wage = Wage(amount, amount, doc["expected_wage_unit"])
    home = doc["home_adcode"]
    current = doc.get("current_adcode")
    return WorkerFacts(
        id=str(doc["id"]), home_adcode=home, available_from=int_date(doc["available_from"]) or date(1970, 1, 1),
        updated_at=_moment(doc.get("updated_at")) or datetime(1970, 1, 1, tzinfo=UTC),
        broker_org_id=str(doc.get("broker_org_id") or ""),
        current_adcode=current if current and current != home else None,
        desired_adcodes=tuple(doc.get("desired_adcodes") or ()),
        willing_to_relocate=bool(doc.get("willing_to_relocate")), max_commute_km=doc.get("max_commute_km"),
        expected_wage=wage, occupation_codes=tuple(doc.get("occupation_codes") or ()),
        skills=tuple(doc.get("skills") or ()), certificates=tuple(doc.get("certificates") or ()),
        labour_brand=doc.get("labour_brand"), experience_years=doc.get("experience_years"),
        available_until=int_date(doc.get("available_until")), work_types=tuple(doc.get("work_types") or ()),
        share_with_enterprises=bool(doc.get("share_with_enterprises")), age=doc.get("age"),
        status=doc.get("status", "available"),
    )
