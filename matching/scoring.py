"""Two-way match scoring with reasons, and the hard filters that decide which pairs may match at all.

Hard filters exist twice, and must agree: as a Python predicate (`hard_filter_violations`) and as the
Meilisearch filter of the candidate query (`worker_candidate_filter`, `job_candidate_filter`). The filter may
let through a few pairs the predicate refuses (geohash cells are a superset of a radius), never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from matching.catalogue import Catalogue
from matching.documents import date_int
from matching.facts import JobFacts, WorkerFacts
from matching.geo import GeoPoint, covering_cells, distance_km, point_cells
from matching.occupations import middle_group_code, small_group_code
from matching.regions import RegionDirectory
from matching.search_filters import all_of, all_present, any_of, compare, eq, missing, one_of

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


def pair_distance_km(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> float | None:
    a, b = _job_point(job, regions), _point(worker.location_adcode, regions)
    return None if a is None or b is None else round(distance_km(a, b), 1)


def _occupation_factor(job: JobFacts, worker: WorkerFacts, catalogue: Catalogue) -> tuple[float, str]:
    if not job.occupation_code:
        return 0.0, "岗位未注明职业"
    code = catalogue.resolve(job.occupation_code)
    entry = catalogue.by_code(code)
    name = entry.name if entry else code
    codes = {catalogue.resolve(c) for c in worker.occupation_codes}
    if code in codes:
        return OCCUPATION_EXACT, f"职业完全匹配：{name}"
    if any(small_group_code(c) == small_group_code(code) for c in codes):
        return OCCUPATION_SAME_SMALL_GROUP, f"同一职业小类（{small_group_code(code)}）"
    if any(catalogue.code_for_word(t) == code for t in worker.occupation_terms):
        return OCCUPATION_ALIAS_TERM, f"求职工种是{name}的别称"
    if any(middle_group_code(c) == middle_group_code(code) for c in codes):
        return OCCUPATION_SAME_MIDDLE_GROUP, f"相近职业（{middle_group_code(code)}）"
    return 0.0, "职业不同"


def _overlap(required: tuple[str, ...], held: tuple[str, ...]) -> float | None:
    if not required:
        return None
    return len(set(required) & set(held)) / len(set(required))


def _wage_factor(job: JobFacts, worker: WorkerFacts) -> tuple[float, str]:
    offered = job.wage.monthly()
    expected = worker.expected_wage.monthly() if worker.expected_wage else None
    if offered is None or expected is None:
        return 0.6, "工资无法比较（计件或未填期望）"
    if offered[1] >= expected[0]:
        return 1.0, f"工资满足期望（约{round(offered[1])}元/月）"
    gap = (expected[0] - offered[1]) / max(expected[0], 1.0)
    return max(0.0, 1.0 - 2 * gap), f"工资低于期望约{round(gap * 100)}%"


def _availability_factor(job: JobFacts, worker: WorkerFacts, today: date) -> tuple[float, str]:
    start = max(job.start_date, today)
    if worker.available_from <= start:
        return 1.0, "开工时可以到岗"
    delay = (worker.available_from - start).days
    return max(0.0, 1.0 - delay / 30), f"晚{delay}天到岗"


def _freshness(moment: datetime | None, today: date) -> float:
    if moment is None:
        return 0.5
    days = max(0, (today - moment.date()).days)
    return float(0.5 ** (days / FRESHNESS_HALF_DAYS))


def score(
    job: JobFacts, worker: WorkerFacts, catalogue: Catalogue, regions: RegionDirectory, today: date
) -> Match:
    """Score a (job, worker) pair in [0, 1] with one reason per factor (the same score both ways)."""
    factors: list[tuple[str, float, str]] = []
    occupation, text = _occupation_factor(job, worker, catalogue)
    factors.append(("occupation", occupation, text))

    distance = pair_distance_km(job, worker, regions)
    if worker.location_adcode == job.adcode:
        factors.append(("distance", 1.0, "同一区县"))
    elif distance is None:
        factors.append(("distance", 0.3, "距离未知"))
    else:
        factors.append(("distance", float(0.5 ** (distance / DISTANCE_HALF_KM)), f"相距约{distance:g}公里"))

    wage, text = _wage_factor(job, worker)
    factors.append(("wage", wage, text))

    entry = catalogue.by_code(catalogue.resolve(job.occupation_code)) if job.occupation_code else None
    skills = _overlap(entry.skills if entry else (), worker.skills)
    factors.append(
        (
            "skills",
            0.5 if skills is None else skills,
            "岗位无技能要求" if skills is None else f"技能匹配{round(skills * 100)}%",
        )
    )
    certificates = _overlap(job.required_certificates, worker.certificates)
    factors.append(
        (
            "certificates",
            1.0 if certificates is None else certificates,
            "无证书要求" if certificates is None else f"持有所需证书{round(certificates * 100)}%",
        )
    )

    availability, text = _availability_factor(job, worker, today)
    factors.append(("availability", availability, text))

    level = entry.shortage_level if entry else None
    factors.append(
        (
            "shortage",
            SHORTAGE_FACTOR.get(level or 0, 0.0),
            f"急需紧缺职业（{level}级）" if level else "不在紧缺目录",
        )
    )

    fresh = min(_freshness(job.updated_at or job.posted_at, today), _freshness(worker.updated_at, today))
    factors.append(("freshness", fresh, "信息较新" if fresh > 0.5 else "信息较旧"))

    reasons = tuple(Reason(code, text, round(WEIGHTS[code] * value, 4)) for code, value, text in factors)
    total = sum(WEIGHTS[code] * value for code, value, _ in factors)
    job_province = regions.province_of(job.adcode)
    return Match(
        score=round(min(1.0, max(0.0, total)), 4),
        reasons=tuple(sorted(reasons, key=lambda r: -r.weight)),
        distance_km=distance,
        transfer=worker.home_adcode != job.adcode,
        cross_province=job_province is not None and job_province != regions.province_of(worker.home_adcode),
    )


# ----- hard filters -----


def _job_end(job: JobFacts) -> date:
    return job.end_date or date.max


def _within_commute(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> bool:
    distance = pair_distance_km(job, worker, regions)
    limit = worker.max_commute_km or DEFAULT_MAX_COMMUTE_KM
    return distance is not None and distance <= limit


def _place_ok(job: JobFacts, worker: WorkerFacts, regions: RegionDirectory) -> bool:
    if job.adcode in (worker.home_adcode, worker.location_adcode) or worker.willing_to_relocate:
        return True
    city = regions.city_of(job.adcode)
    if worker.desired_adcodes:
        if job.adcode in worker.desired_adcodes or (city is not None and city in worker.desired_adcodes):
            return True
    else:
        region = regions.get(job.adcode)
        if region is not None and region.in_circle:
            return True  # empty desired regions: anywhere in the circle
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
    place = one_of(
        any_of("home_adcode", [job.adcode]),
        any_of("current_adcode", [job.adcode]),
        eq("willing_to_relocate", True),
        any_of("desired_adcodes", [job.adcode, *([city] if city else [])]),
        eq("desired_anywhere", True) if region is not None and region.in_circle else None,
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
    if not worker.willing_to_relocate:
        if worker.desired_adcodes:
            places.append(any_of("adcode", worker.desired_adcodes))
            places.append(any_of("city_adcode", worker.desired_adcodes))
        else:
            places.append(eq("in_circle", True))
        point = _point(where, regions)
        if worker.max_commute_km and point is not None:
            cells = covering_cells(point, worker.max_commute_km)
            places.append(any_of("geo_cells", cells) if cells else None)
    place = None if worker.willing_to_relocate else one_of(*places)
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
