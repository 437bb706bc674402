import dataclasses
import math
from datetime import UTC, date, datetime

from matching.catalogue import Catalogue
from matching.documents import worker_document
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.geo import KM_PER_DEGREE_LAT, GeoPoint, distance_km, point_cells, search_cells
from matching.regions import RegionDirectory
from matching.scoring import (
    DAILY_ANYWHERE_KM,
    WEIGHTS,
    hard_filter_violations,
    job_candidate_filter,
    may_match,
    score,
    worker_candidate_filter,
)

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
JOB = JobFacts(
    id="j1",
    title="电焊工",
    description="",
    occupation_code="6-18-02-04",
    headcount=2,
    adcode="500107",
    wage=Wage(6000, 8000, "month"),
    work_type="full_time",
    start_date=date(2026, 12, 1),
    posted_at=NOW,
    required_certificates=("焊工证",),
    age_min=18,
    age_max=55,
)
WORKER = WorkerFacts(
    id="w1",
    home_adcode="500107",
    available_from=date(2026, 11, 20),
    updated_at=NOW,
    occupation_codes=("6-18-02-04",),
    certificates=("焊工证",),
    skills=("氩弧焊",),
    share_with_enterprises=True,
    expected_wage=Wage(6500, 7000, "month"),
    age=40,
    max_commute_km=30,
)


def test_weights_sum_to_one() -> None:
    assert math.isclose(sum(WEIGHTS.values()), 1.0)


def test_exact_code_beats_same_group_beats_unrelated(catalogue: Catalogue, regions: RegionDirectory) -> None:
    exact = score(JOB, WORKER, catalogue, regions, TODAY)
    group = score(
        JOB, dataclasses.replace(WORKER, occupation_codes=("6-18-02-01",)), catalogue, regions, TODAY
    )
    alias = score(
        JOB,
        dataclasses.replace(WORKER, occupation_codes=(), occupation_terms=("烧电焊的",)),
        catalogue,
        regions,
        TODAY,
    )
    other = score(
        JOB, dataclasses.replace(WORKER, occupation_codes=("4-03-02-01",)), catalogue, regions, TODAY
    )
    assert exact.score > group.score > alias.score > other.score
    assert 0.0 <= other.score <= exact.score <= 1.0
    assert exact.reasons[0].code == "occupation"
    assert "焊工" in exact.reasons[0].text
    assert {r.code for r in exact.reasons} == set(WEIGHTS)
    assert math.isclose(sum(r.weight for r in exact.reasons), exact.score, abs_tol=1e-3)


def test_nearer_beats_farther_and_transfer_flags(catalogue: Catalogue, regions: RegionDirectory) -> None:
    same = score(JOB, WORKER, catalogue, regions, TODAY)
    near = score(JOB, dataclasses.replace(WORKER, home_adcode="500106"), catalogue, regions, TODAY)  # 沙坪坝
    far = score(JOB, dataclasses.replace(WORKER, home_adcode="510104"), catalogue, regions, TODAY)  # 成都锦江
    assert same.score > near.score > far.score
    assert same.transfer is False
    assert near.transfer is True
    assert near.cross_province is False
    assert far.cross_province is True
    assert near.distance_km is not None
    assert far.distance_km is not None
    assert near.distance_km < 20 < 200 < far.distance_km


def test_hard_filters(catalogue: Catalogue, regions: RegionDirectory) -> None:
    assert may_match(JOB, WORKER, regions, TODAY)
    cases = {
        "no_consent": dataclasses.replace(WORKER, share_with_enterprises=False),
        "availability": dataclasses.replace(WORKER, available_until=date(2026, 11, 28)),
        "certificates": dataclasses.replace(WORKER, certificates=()),
        "age": dataclasses.replace(WORKER, age=60),
        "worker_not_available": dataclasses.replace(WORKER, status="placed"),
        # lives in 城口, wants work in 成都锦江 only, short commute, not relocating
        "place": dataclasses.replace(
            WORKER, home_adcode="500229", desired_adcodes=("510104",), max_commute_km=10
        ),
    }
    for code, worker in cases.items():
        assert code in hard_filter_violations(JOB, worker, regions, TODAY), code
    closed = dataclasses.replace(JOB, status="closed")
    assert "job_not_open" in hard_filter_violations(closed, WORKER, regions, TODAY)
    relocating = dataclasses.replace(cases["place"], willing_to_relocate=True)
    assert may_match(JOB, relocating, regions, TODAY)
    desired = dataclasses.replace(cases["place"], desired_adcodes=("500000",))  # anywhere in 重庆 city
    assert may_match(JOB, desired, regions, TODAY)
    anywhere = dataclasses.replace(cases["place"], desired_adcodes=())  # empty: anywhere in the circle
    assert may_match(JOB, anywhere, regions, TODAY)
    # Nobody moves cities for one day's pay: for daily work relocating does not make the place fit.
    daily = dataclasses.replace(JOB, work_type="daily")
    assert "place" in hard_filter_violations(daily, dataclasses.replace(relocating, work_types=()), regions, TODAY)
    assert may_match(daily, dataclasses.replace(desired, work_types=()), regions, TODAY)
    assert may_match(daily, dataclasses.replace(WORKER, willing_to_relocate=True), regions, TODAY)  # same county
    # "Anywhere in the circle" reaches daily work only within a day's trip: 城口 is ~260 km from 九龙坡, 沙坪坝 ~10.
    assert "place" in hard_filter_violations(daily, dataclasses.replace(anywhere, work_types=()), regions, TODAY)
    next_door = dataclasses.replace(anywhere, home_adcode="500106", work_types=())
    assert may_match(daily, next_door, regions, TODAY)


def test_the_50_km_reach_is_the_exact_distance_like_the_candidate_filters(
        catalogue: Catalogue, regions: RegionDirectory) -> None:
    # 青羊区's seat lies 8 m west of a geohash cell edge (lng 104.0625). A daily posting placed 50.03 km due east
    # is beyond the 50 km reach, and the candidate filters' cells say so (the seat's cell is 50.02 km away);
    # the hard filter must not keep it because the distance shown rounds to 50.0.
    seat = regions.require("510105")
    east = 50.03 / (KM_PER_DEGREE_LAT * math.cos(math.radians(seat.lat)))
    location = GeoPoint(seat.lat, seat.lng + east)
    assert 50.0 < distance_km(GeoPoint(seat.lat, seat.lng), location) < 50.05
    job = dataclasses.replace(JOB, adcode="510121", location=location, work_type="daily", required_certificates=())
    worker = dataclasses.replace(WORKER, home_adcode="510105", work_types=(), max_commute_km=None)
    cells = set(worker_document(worker, catalogue, regions)["geo_cells"])
    assert not cells & set(search_cells(location, DAILY_ANYWHERE_KM) or ())  # the search never finds the pair
    assert "place" in hard_filter_violations(job, worker, regions, TODAY)
    # The same for a worker's own commute limit.
    commuter = dataclasses.replace(worker, desired_adcodes=("500107",), max_commute_km=50.0)
    assert "place" in hard_filter_violations(dataclasses.replace(job, work_type="full_time"), commuter, regions, TODAY)


def test_a_commute_limit_past_the_documents_cells_counts_as_their_reach(
        catalogue: Catalogue, regions: RegionDirectory) -> None:
    # A profile may say 400 km, but its document's commute cells (and the jobs filter's) reach 300 km: 万州 →
    # 九龙坡 (~233 km) is found by search, 巫山 → 九龙坡 (~368 km) never is, so the hard filter must not keep it.
    def seat(adcode: str) -> GeoPoint:
        region = regions.require(adcode)
        return GeoPoint(region.lat, region.lng)

    worker = dataclasses.replace(WORKER, home_adcode="500237", desired_adcodes=("510104",), max_commute_km=400.0)
    assert 300 < distance_km(seat("500237"), seat(JOB.adcode)) <= 400
    cells = set(worker_document(worker, catalogue, regions)["commute_cells"])
    assert not cells & set(point_cells(seat(JOB.adcode)))  # the search never finds the pair
    assert "place" in hard_filter_violations(JOB, worker, regions, TODAY)
    assert may_match(JOB, dataclasses.replace(worker, home_adcode="500101"), regions, TODAY)


def test_age_limits_are_inclusive_like_the_candidate_filter(regions: RegionDirectory) -> None:
    # The search filter asks for "age >= 18" and "age <= 55": the hard filter must agree at both ends, or a
    # worker aged exactly 55 is found by the search yet dropped (or one aged 56 kept).
    for age, fits in ((17, False), (18, True), (55, True), (56, False)):
        worker = dataclasses.replace(WORKER, age=age)
        assert ("age" not in hard_filter_violations(JOB, worker, regions, TODAY)) is fits, age


def test_a_lower_wage_says_by_how_much(catalogue: Catalogue, regions: RegionDirectory) -> None:
    # The worker expects at least 7,500 a month and the job pays at most 6,000: 20% short, and the reason says so
    # rather than claiming the wage fits.
    worker = dataclasses.replace(WORKER, expected_wage=Wage(7500, 8000, "month"))
    low = score(dataclasses.replace(JOB, wage=Wage(5000, 6000, "month")), worker, catalogue, regions, TODAY)
    [wage] = [r for r in low.reasons if r.code == "wage"]
    assert wage.text == "工资低于期望约20%"
    fits = score(JOB, WORKER, catalogue, regions, TODAY)
    [fine] = [r for r in fits.reasons if r.code == "wage"]
    assert fine.text == "工资满足期望（约8000元/月）"
    assert fine.weight > wage.weight


def test_candidate_filters_express_the_hard_filters(regions: RegionDirectory) -> None:
    workers = worker_candidate_filter(JOB, regions, TODAY)
    for part in (
        'status = "available"',
        "share_with_enterprises = true",
        'certificates = "焊工证"',
        "available_until >= 20261201",
        "available_from <= 99991231",
        "age >= 18",
        "age <= 55",
        'home_adcode IN ["500107"]',
        "willing_to_relocate = true",
        "commute_cells IN [",
        'occupation_small_groups IN ["6-18-02"]',
    ):
        assert part in workers, part
    jobs = job_candidate_filter(WORKER, regions, TODAY)
    for part in (
        'status = "open"',
        "end_date >= 20261125",
        "start_date <= 99991231",
        'adcode IN ["500107"]',
        "geo_cells IN [",
        "age_min <= 40",
        'required_certificates IN ["焊工证"]',
        'occupation_small_group IN ["6-18-02"]',
    ):
        assert part in jobs, part
    relocating = job_candidate_filter(dataclasses.replace(WORKER, willing_to_relocate=True), regions, TODAY)
    assert 'work_type NOT IN ["daily"]' in relocating  # relocating fits any place, except for day labour
    assert 'willing_to_relocate = true' not in worker_candidate_filter(
        dataclasses.replace(JOB, work_type="daily"), regions, TODAY)
    # A long commute keeps its area (coarse cells) instead of losing it past ~250 km.
    far = job_candidate_filter(dataclasses.replace(WORKER, desired_adcodes=("500107",), max_commute_km=280),
                               regions, TODAY)
    assert "geo_cells IN [" in far
