"""Match items: `{worker|job: {…public fields…}, score, reasons: [{code, text, weight}], distance_km, transfer}`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.api.jobs.schemas import CERTIFICATES_OUT


class MatchReason(BaseModel):
    code: str = Field(description="occupation, distance, wage, skills, certificates, availability, shortage, "
                                  "freshness")
    text: str = Field(description="Why, in Chinese")
    weight: float = Field(description="This factor's contribution to the score (weights: matching/scoring.py)")


class Place(BaseModel):
    adcode: str
    name: str


class Occupation(BaseModel):
    code: str
    name: str | None


class ExpectedWage(BaseModel):
    min: float
    unit: str


class MaskedWorker(BaseModel):
    """What an enterprise may see of a worker: no name, ID number, phone, gender, birth date or notes."""

    id: str
    occupations: list[Occupation]
    skills: list[str]
    certificates: list[str] = Field(description=CERTIFICATES_OUT)
    labour_brand: str | None
    experience_years: int | None
    age_band: str | None = Field(description="e.g. 30–39")
    home_county: Place
    current_county: Place
    willing_to_relocate: bool
    work_types: list[str]
    available_from: str | None
    available_until: str | None
    expected_wage: ExpectedWage | None


class MatchedJob(BaseModel):
    id: str
    title: str
    occupation_code: str | None
    occupation_name: str | None
    county: Place
    wage: dict[str, float | str]
    work_type: str
    start_date: str | None
    end_date: str | None
    benefits: list[str]
    required_certificates: list[str] = Field(description=CERTIFICATES_OUT)
    headcount: int
    posted_at: str | None


class WorkerMatch(BaseModel):
    worker: MaskedWorker
    score: float = Field(ge=0, le=1)
    reasons: list[MatchReason]
    distance_km: float | None
    transfer: bool = Field(description="The worker's home county is not the job's county")
    cross_province: bool


class JobMatch(BaseModel):
    job: MatchedJob
    score: float = Field(ge=0, le=1)
    reasons: list[MatchReason]
    distance_km: float | None
    transfer: bool
    cross_province: bool


class WorkerMatchList(BaseModel):
    items: list[WorkerMatch]
    next_cursor: str | None = Field(default=None, description="Always null: the best `limit` matches, ranked")


class JobMatchList(BaseModel):
    items: list[JobMatch]
    next_cursor: str | None = None
