"""What matching knows about a job posting and a worker profile.

The API layer builds these from its rows. WorkerFacts carries no personal data: no name, ID number, phone,
notes, gender or birth date; only the age (for a posting's legal age range) and what matching needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from matching.catalogue import WageUnit
from matching.geo import GeoPoint
from matching.job_terms import WorkType

JobStatus = Literal["open", "pending_review", "closed", "expired"]
WorkerStatus = Literal["available", "placed", "inactive"]

# Monthly equivalents: 21.75 paid days a month (the statutory average), 8 hours a day.
DAYS_PER_MONTH = 21.75
HOURS_PER_DAY = 8


@dataclass(frozen=True, slots=True)
class Wage:
    min: float
    max: float
    unit: WageUnit

    def monthly(self) -> tuple[float, float] | None:
        """(min, max) as a monthly equivalent; None for piece rates, which have no fixed equivalent."""
        factor = {"month": 1.0, "day": DAYS_PER_MONTH, "hour": DAYS_PER_MONTH * HOURS_PER_DAY}.get(self.unit)
        if factor is None:
            return None
        return self.min * factor, self.max * factor


@dataclass(frozen=True, slots=True)
class JobFacts:
    id: str
    title: str
    description: str
    occupation_code: str | None
    headcount: int
    adcode: str
    wage: Wage
    work_type: WorkType
    start_date: date
    posted_at: datetime
    org_id: str = ""
    location: GeoPoint | None = None  # None: the county's representative point is used
    end_date: date | None = None
    benefits: tuple[str, ...] = ()
    required_certificates: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    status: JobStatus = "open"
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    occupation_inferred: bool = False


@dataclass(frozen=True, slots=True)
class WorkerFacts:
    id: str
    home_adcode: str
    available_from: date
    updated_at: datetime
    broker_org_id: str = ""
    current_adcode: str | None = None  # None: at home
    desired_adcodes: tuple[str, ...] = ()  # empty: anywhere in the circle
    willing_to_relocate: bool = False
    max_commute_km: float | None = None
    expected_wage: Wage | None = None
    occupation_codes: tuple[str, ...] = ()
    # Occupation words a broker typed that the API could not map to a code (scored against catalogue aliases).
    occupation_terms: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    labour_brand: str | None = None
    experience_years: int | None = None
    available_until: date | None = None
    work_types: tuple[WorkType, ...] = ()  # empty: any
    share_with_enterprises: bool = False
    age: int | None = None
    status: WorkerStatus = "available"

    @property
    def location_adcode(self) -> str:
        return self.current_adcode or self.home_adcode
