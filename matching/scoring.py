"""Two-way match scoring with reasons, and the hard filters that decide which pairs may match at all.

Hard filters exist twice, and must agree: as a Python predicate (`hard_filter_violations`) and as the
Meilisearch filter of the candidate query (`worker_candidate_filter`, `job_candidate_filter`). The filter may
let through a few pairs the predicate refuses (geohash cells are a superset of a radius), never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from matching.catalogue import Catalogue
from matching.documents import MAX_COMMUTE_CELLS_KM, date_int
from matching.facts import JobFacts, WorkerFacts
from matching.geo import GeoPoint, distance_km, point_cells, search_cells
from matching.occupations import middle_group_code, small_group_code
from matching.regions import RegionDirectory
from matching.search_filters import all_of, all_present, any_of, compare, eq, missing, none_of, one_of

# Score = Σ weight × factor, every factor in [0, 1], weights summing to 1. Occupation dominates: a close
# place or a good wage never makes the wrong trade a good match. Distance and wage come next because they
# decide whether the worker actually goes; availability, certificates and skills refine; the catalogue's
# shortage level and freshness break ties towards the trades the authorities prioritise and live postings.
WEIGHTS: dict[str, float] = {
    "occupation": 0.35,
    "distance": 0.15,
    "wage": 0.12,
    "skills": 0.08,
    "certificates": 0.08,
    "availability": 0.10,
    "shortage": 0.05,
    "freshness": 0.07,
}
# Occupation factor by how the worker's trade relates to the job's.
OCCUPATION_EXACT = 1.0
OCCUPATION_SAME_SMALL_GROUP = 0.6
OCCUPATION_ALIAS_TERM = 0.5  # a free-text trade word of the worker that is an alias of the job's trade
OCCUPATION_SAME_MIDDLE_GROUP = 0.25
DISTANCE_HALF_KM = 30.0  # distance factor halves every 30 km
FRESHNESS_HALF_DAYS = 14.0
SHORTAGE_FACTOR = {1: 1.0, 2: 0.6, 3: 0.3}
DEFAULT_MAX_COMMUTE_KM = 0.0


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str
    weight: float  # this factor's contribution to the score


@dataclass(frozen=True, slots=True)
class Match:
    score: float
    reasons: tuple[Reason, ...]
    distance_km: float | None
    transfer: bool  # the worker's home county is not the job's county
    cross_province: bool


def _point(adcode: str, regions: RegionDirectory) -> GeoPoint | None:
    region = regions.get(adcode)
    return GeoPoint(region.lat, region.lng) if region else None


def _job_point(job: JobFacts, regions: RegionDirectory) -> GeoPoint | None:
    return job.location or _point(job.adcode, regions)


def _exact_distance_km(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> float | None:
    a, b = _job_point(job, regions), _point(worker.location_adcode, regions)
    return None if a is None or b is None else distance_km(a, b)


def pair_distance_km(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> float | None:
    """The distance shown with a match, to 0.1 km. Hard filters compare the exact one (`_exact_distance_km`)."""
    distance = _exact_distance_km(job, worker, regions)
    return None if distance is None else round(distance, 1)


@dataclass(frozen=True, slots=True)
class PreparedJob:
    """What scoring needs of one job, computed once for all of its candidate workers (`prepare_job`)."""

    job: JobFacts
    today: date
    code: str | None  # the job's occupation code, resolved to the current one
    name: str  # its catalogue name (the code when unknown)
    small_group: str | None
    middle_group: str | None
    point: GeoPoint | None
    province: str | None
    offered: tuple[float, float] | None  # monthly equivalent of the wage; None for piece rates
    start: date  # max(start_date, today)
    skills: tuple[str, ...]  # the catalogue entry's skills
    shortage_level: int | None
    shortage: float
    freshness: float


def prepare_job(job: JobFacts, catalogue: Catalogue, regions: RegionDirectory, today: date) -> PreparedJob:
    code = catalogue.resolve(job.occupation_code) if job.occupation_code else None
    entry = catalogue.by_code(code) if code else None
    level = entry.shortage_level if entry else None
    return PreparedJob(
        job=job,
        today=today,
        code=code,
        name=entry.name if entry else (code or ""),
        small_group=small_group_code(code) if code else None,
        middle_group=middle_group_code(code) if code else None,
        point=_job_point(job, regions),
        province=regions.province_of(job.adcode),
        offered=job.wage.monthly(),
        start=max(job.start_date, today),
        skills=entry.skills if entry else (),
        shortage_level=level,
        shortage=SHORTAGE_FACTOR.get(level or 0, 0.0),
        freshness=_freshness(job.updated_at or job.posted_at, today),
    )


# How the worker's trade relates to the job's: the factor of each kind, in the order they are tried.
_OCCUPATION_FACTORS = {
    "none": 0.0,
    "exact": OCCUPATION_EXACT,
    "small_group": OCCUPATION_SAME_SMALL_GROUP,
    "alias": OCCUPATION_ALIAS_TERM,
    "middle_group": OCCUPATION_SAME_MIDDLE_GROUP,
    "other": 0.0,
}


def _occupation_kind(p: PreparedJob, worker: WorkerFacts, catalogue: Catalogue) -> str:
    if p.code is None:
        return "none"
    codes = {catalogue.resolve(c) for c in worker.occupation_codes}
    if p.code in codes:
        return "exact"
    if any(small_group_code(c) == p.small_group for c in codes):
        return "small_group"
    if any(catalogue.code_for_word(t) == p.code for t in worker.occupation_terms):
        return "alias"
    if any(middle_group_code(c) == p.middle_group for c in codes):
        return "middle_group"
    return "other"


def _overlap(required: tuple[str, ...], held: tuple[str, ...]) -> float | None:
    if not required:
        return None
    return len(set(required) & set(held)) / len(set(required))


def _wage_gap(p: PreparedJob, worker: WorkerFacts) -> float | None:
    """0 when the offer reaches the expectation, else the shortfall as a fraction; None when not comparable."""
    expected = worker.expected_wage.monthly() if worker.expected_wage else None
    if p.offered is None or expected is None:
        return None
    if p.offered[1] >= expected[0]:
        return 0.0
    return (expected[0] - p.offered[1]) / max(expected[0], 1.0)


def _freshness(moment: datetime | None, today: date) -> float:
    if moment is None:
        return 0.5
    days = max(0, (today - moment.date()).days)
    return float(0.5 ** (days / FRESHNESS_HALF_DAYS))


@dataclass(frozen=True, slots=True)
class _Factors:
    """The factor values of one pair (each in [0, 1]) and what their reasons quote."""

    occupation_kind: str
    distance_km: float | None
    same_county: bool
    wage_gap: float | None
    skills: float | None
    certificates: float | None
    delay_days: int
    worker_freshness: float

    def values(self, p: PreparedJob) -> tuple[float, float, float, float, float, float, float, float]:
        """In WEIGHTS order: occupation, distance, wage, skills, certificates, availability, shortage,
        freshness."""
        if self.same_county:
            distance = 1.0
        elif self.distance_km is None:
            distance = 0.3
        else:
            distance = float(0.5 ** (self.distance_km / DISTANCE_HALF_KM))
        gap = self.wage_gap
        wage = 0.6 if gap is None else (1.0 if gap == 0.0 else max(0.0, 1.0 - 2 * gap))
        return (
            _OCCUPATION_FACTORS[self.occupation_kind],
            distance,
            wage,
            0.5 if self.skills is None else self.skills,
            1.0 if self.certificates is None else self.certificates,
            1.0 if self.delay_days <= 0 else max(0.0, 1.0 - self.delay_days / 30),
            p.shortage,
            min(p.freshness, self.worker_freshness),
        )


_WEIGHT_ORDER: tuple[float, ...] = tuple(WEIGHTS[c] for c in (
    "occupation", "distance", "wage", "skills", "certificates", "availability", "shortage", "freshness"))


def _factors(p: PreparedJob, worker: WorkerFacts, catalogue: Catalogue, regions: RegionDirectory) -> _Factors:
    worker_point = _point(worker.location_adcode, regions)
    distance = None if p.point is None or worker_point is None else round(distance_km(p.point, worker_point), 1)
    return _Factors(
        occupation_kind=_occupation_kind(p, worker, catalogue),
        distance_km=distance,
        same_county=worker.location_adcode == p.job.adcode,
        wage_gap=_wage_gap(p, worker),
        skills=_overlap(p.skills, worker.skills),
        certificates=_overlap(p.job.required_certificates, worker.certificates),
        delay_days=(worker.available_from - p.start).days,
        worker_freshness=_freshness(worker.updated_at, p.today),
    )


def _total(values: tuple[float, ...]) -> float:
    total = sum(weight * value for weight, value in zip(_WEIGHT_ORDER, values, strict=True))
    return round(min(1.0, max(0.0, total)), 4)


def score_value(p: PreparedJob, worker: WorkerFacts, catalogue: Catalogue,
                regions: RegionDirectory) -> tuple[float, float | None]:
    """(score, distance_km) of a pair without its reasons: exactly `score(...).score` and `.distance_km`,
    for ranking many candidates and explaining only the ones shown."""
    factors = _factors(p, worker, catalogue, regions)
    return _total(factors.values(p)), factors.distance_km


def _occupation_text(kind: str, p: PreparedJob) -> str:
    if kind == "none":
        return "岗位未注明职业"
    if kind == "exact":
        return f"职业完全匹配：{p.name}"
    if kind == "small_group":
        return f"同一职业小类（{p.small_group}）"
    if kind == "alias":
        return f"求职工种是{p.name}的别称"
    if kind == "middle_group":
        return f"相近职业（{p.middle_group}）"
    return "职业不同"


def score_prepared(p: PreparedJob, worker: WorkerFacts, catalogue: Catalogue, regions: RegionDirectory) -> Match:
    """`score` for a job prepared once (`prepare_job`)."""
    f = _factors(p, worker, catalogue, regions)
    values = f.values(p)
    if f.same_county:
        distance_text = "同一区县"
    elif f.distance_km is None:
        distance_text = "距离未知"
    else:
        distance_text = f"相距约{f.distance_km:g}公里"
    if f.wage_gap is None:
        wage_text = "工资无法比较（计件或未填期望）"
    elif f.wage_gap == 0.0:
        assert p.offered is not None
        wage_text = f"工资满足期望（约{round(p.offered[1])}元/月）"
    else:
        wage_text = f"工资低于期望约{round(f.wage_gap * 100)}%"
    texts = (
        _occupation_text(f.occupation_kind, p),
        distance_text,
        wage_text,
        "岗位无技能要求" if f.skills is None else f"技能匹配{round(f.skills * 100)}%",
        "无证书要求" if f.certificates is None else f"持有所需证书{round(f.certificates * 100)}%",
        "开工时可以到岗" if f.delay_days <= 0 else f"晚{f.delay_days}天到岗",
        f"急需紧缺职业（{p.shortage_level}级）" if p.shortage_level else "不在紧缺目录",
        "信息较新" if values[7] > 0.5 else "信息较旧",
    )
    reasons = tuple(Reason(code, text, round(weight * value, 4)) for code, weight, value, text
                    in zip(WEIGHTS, _WEIGHT_ORDER, values, texts, strict=True))
    return Match(
        score=_total(values),
        reasons=tuple(sorted(reasons, key=lambda r: -r.weight)),
        distance_km=f.distance_km,
        transfer=worker.home_adcode != p.job.adcode,
        cross_province=p.province is not None and p.province != regions.province_of(worker.home_adcode),
    )


def score(
    job: JobFacts, worker: WorkerFacts, catalogue: Catalogue, regions: RegionDirectory, today: date
) -> Match:
    """Score a (job, worker) pair in [0, 1] with one reason per factor (the same score both ways)."""
    return score_prepared(prepare_job(job, catalogue, regions, today), worker, catalogue, regions)


# ----- hard filters -----


def _job_end(job: JobFacts) -> date:
    return job.end_date or date.max


def _within_commute(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> bool:
    # Exact, not rounded to 0.1 km: the candidate filters' cells cover the radius itself, so a pair at 50.04 km
    # for a 50 km limit would be kept here and never found by the search.
    distance = _exact_distance_km(job, worker, regions)
    # Profiles may say up to 1000 km, but the documents' commute cells reach 300: past that, a commute limit
    # found nothing by search, and only the predicate (subscriptions, checks of one pair) kept such pairs.
    limit = min(worker.max_commute_km or DEFAULT_MAX_COMMUTE_KM, MAX_COMMUTE_CELLS_KM)
    return distance is not None and distance <= limit


# Work types for which "willing to relocate" does not make any place fit: nobody moves cities for one day's pay,
# so a daily (日结) posting needs the worker to be there already, within commute, or wanting that region.
NO_RELOCATION_WORK_TYPES: tuple[str, ...] = ("daily",)
# For those work types, a worker who left desired regions empty ("anywhere in the circle") fits only places within
# a day's round trip of where they are (gig markets serve the people nearby, product.md); anywhere else in a
# circle 500 km wide is not a place they can work today. A place they named, or their own commute limit, still
# counts at any distance.
DAILY_ANYWHERE_KM = 50.0


def _relocation_counts(job: JobFacts, worker: WorkerFacts) -> bool:
    return worker.willing_to_relocate and job.work_type not in NO_RELOCATION_WORK_TYPES


def _place_ok(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> bool:
    if job.adcode in (worker.home_adcode, worker.location_adcode) or _relocation_counts(job, worker):
        return True
    city = regions.city_of(job.adcode)
    if worker.desired_adcodes:
        if job.adcode in worker.desired_adcodes or (city is not None and city in worker.desired_adcodes):
            return True
    else:
        region = regions.get(job.adcode)
        if region is not None and region.in_circle:  # empty desired regions: anywhere in the circle
            if job.work_type not in NO_RELOCATION_WORK_TYPES:
                return True
            distance = _exact_distance_km(job, worker, regions)  # exact, as in _within_commute
            if distance is not None and distance <= DAILY_ANYWHERE_KM:
                return True
    return _within_commute(job, worker, regions)


def hard_filter_violations(
    job: JobFacts, worker: WorkerFacts, regions: RegionDirectory, today: date
) -> tuple[str, ...]:
    """Codes of the rules that forbid this pair; empty when it may match."""
    problems: list[str] = []
    if job.status != "open":
        problems.append("job_not_open")
    if worker.status != "available":
        problems.append("worker_not_available")
    if not worker.share_with_enterprises:
        problems.append("no_consent")
    until = worker.available_until or date.max
    if not (worker.available_from <= _job_end(job) and until >= max(job.start_date, today)):
        problems.append("availability")
    if not set(job.required_certificates) <= set(worker.certificates):
        problems.append("certificates")
    if worker.age is not None and (
        (job.age_min is not None and worker.age < job.age_min)
        or (job.age_max is not None and worker.age > job.age_max)
    ):
        problems.append("age")
    if worker.work_types and job.work_type not in worker.work_types:
        problems.append("work_type")
    if not _place_ok(job, worker, regions):
        problems.append("place")
    return tuple(problems)


def may_match(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory, today: date) -> bool:
    return not hard_filter_violations(job, worker, regions, today)


def worker_candidate_filter(
    job: JobFacts, regions: RegionDirectory, today: date, *, same_trade_only: bool = True
) -> str:
    """The workers index filter for a job's candidates (job → workers)."""
    job_start = date_int(max(job.start_date, today))
    job_end = date_int(job.end_date)
    city = regions.city_of(job.adcode)
    region = regions.get(job.adcode)
    point = _job_point(job, regions)
    anywhere = None
    if region is not None and region.in_circle:
        anywhere = eq("desired_anywhere", True)
        if job.work_type in NO_RELOCATION_WORK_TYPES:
            # only workers within a day's reach (coarse cells here, the exact distance in _place_ok)
            nearby = search_cells(point, DAILY_ANYWHERE_KM) if point is not None else None
            anywhere = all_of(anywhere, any_of("geo_cells", nearby)) if nearby else None
    place = one_of(
        any_of("home_adcode", [job.adcode]),
        any_of("current_adcode", [job.adcode]),
        eq("willing_to_relocate", True) if job.work_type not in NO_RELOCATION_WORK_TYPES else None,
        any_of("desired_adcodes", [job.adcode, *([city] if city else [])]),
        anywhere,
        any_of("commute_cells", point_cells(point)) if point is not None else None,
    )
    age = None
    if job.age_min is not None or job.age_max is not None:
        age = one_of(
            missing("age"),
            all_of(
                compare("age", ">=", job.age_min) if job.age_min is not None else None,
                compare("age", "<=", job.age_max) if job.age_max is not None else None,
            ),
        )
    trade = None
    if same_trade_only and job.occupation_code:
        trade = any_of("occupation_small_groups", [small_group_code(job.occupation_code)])
    return all_of(
        eq("status", "available"),
        eq("share_with_enterprises", True),
        compare("available_from", "<=", job_end),
        compare("available_until", ">=", job_start),
        all_present("certificates", job.required_certificates) if job.required_certificates else None,
        age,
        one_of(missing("work_types"), "work_types IS EMPTY", any_of("work_types", [job.work_type])),
        place,
        trade,
    )


def job_candidate_filter(
    worker: WorkerFacts, regions: RegionDirectory, today: date, *, same_trade_only: bool = True
) -> str:
    """The jobs index filter for a worker's candidates (worker → jobs)."""
    start = max(worker.available_from, today)
    until = date_int(worker.available_until)
    where = worker.location_adcode
    places: list[str | None] = [any_of("adcode", list(dict.fromkeys([worker.home_adcode, where])))]
    if worker.willing_to_relocate:
        # relocating makes any place fit, except for the work types nobody relocates for
        places.append(none_of("work_type", NO_RELOCATION_WORK_TYPES))
    if worker.desired_adcodes:
        places.append(any_of("adcode", worker.desired_adcodes))
        places.append(any_of("city_adcode", worker.desired_adcodes))
    point = _point(where, regions)
    if not worker.desired_adcodes:
        # anywhere in the circle; for daily work only within a day's reach (exact distance in _place_ok)
        nearby = search_cells(point, DAILY_ANYWHERE_KM) if point is not None else None
        places.append(all_of(eq("in_circle", True), none_of("work_type", NO_RELOCATION_WORK_TYPES)))
        places.append(all_of(eq("in_circle", True), any_of("geo_cells", nearby)) if nearby else None)
    if worker.max_commute_km and point is not None:
        cells = search_cells(point, min(worker.max_commute_km, MAX_COMMUTE_CELLS_KM))  # as the worker's document
        places.append(any_of("geo_cells", cells) if cells else None)
    place = one_of(*places)
    age = None
    if worker.age is not None:
        age = all_of(compare("age_min", "<=", worker.age), compare("age_max", ">=", worker.age))
    certificates = (
        "required_certificates IS EMPTY"
        if not worker.certificates
        else one_of("required_certificates IS EMPTY", any_of("required_certificates", worker.certificates))
    )
    trade = None
    if same_trade_only and worker.occupation_codes:
        trade = any_of(
            "occupation_small_group", sorted({small_group_code(c) for c in worker.occupation_codes})
        )
    return all_of(
        eq("status", "open"),
        compare("start_date", "<=", until),
        compare("end_date", ">=", date_int(start)),
        any_of("work_type", worker.work_types) if worker.work_types else None,
        certificates,
        age,
        place,
        trade,
    )


def stale_before(today: date, days: int = 90) -> int:
    """A yyyymmdd cut-off for "not updated since", for callers that exclude stale profiles."""
    return date_int(today - timedelta(days=days))
