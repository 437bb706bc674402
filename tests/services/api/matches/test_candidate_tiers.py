"""Which candidates matching fetches from Meilisearch: against a real index with the production settings, more
same-trade candidates than one query fetches, all fresher than the best one but far away, must not hide the
best one (services/api/matches/service.py, the near tier). Documents are indexed directly (as in
tests/relevance): the point is how many there are, not how they got there."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from matching.catalogue import load_initial_catalogue
from matching.documents import job_document, jobs_index_settings, worker_document, workers_index_settings
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.regions import load_regions
from services.api.china_calendar import CHINA_TZ
from services.api.matches import service as matches
from services.api.search_index import create_search_client
from services.api.settings import ApiSettings
from tests.services.indexing.pipeline import index_documents

WELDER = "6-18-02-04"
CUTTER = "6-18-02-05"  # 机械加工材料切割工: the welder's small group, another trade
WELDING_SKILLS = ("手工电弧焊", "气体保护焊", "氩弧焊", "焊缝外观检验", "识图")  # the catalogue's, all of them
JOB_COUNTY = "500107"  # 九龙坡区
FAR_COUNTY = "500235"  # 云阳县, ~250 km away
# More than a search of far candidates fetches (and than the 100 of the one exact-trade search there was before).
CROWD = 150


def _today_now() -> tuple[date, datetime]:
    now = datetime.now(UTC)
    return now.astimezone(CHINA_TZ).date(), now


def _worker(key: str, county: str, updated: datetime, today: date, **overrides: Any) -> WorkerFacts:
    fields: dict[str, Any] = {
        "id": key, "home_adcode": county, "available_from": today, "updated_at": updated,
        "willing_to_relocate": True, "expected_wage": Wage(6000, 6000, "month"), "occupation_codes": (WELDER,),
        "work_types": ("full_time",), "share_with_enterprises": True, "age": 35,
    }
    fields.update(overrides)
    return WorkerFacts(**fields)


def _job(key: str, county: str, posted: datetime, today: date, **overrides: Any) -> JobFacts:
    fields: dict[str, Any] = {
        "id": key, "title": "招聘电焊工", "description": "", "occupation_code": WELDER, "headcount": 5,
        "adcode": county, "wage": Wage(6500, 9000, "month"), "work_type": "full_time",
        "start_date": today + timedelta(days=3), "posted_at": posted, "updated_at": posted,
        "expires_at": posted + timedelta(days=365),
    }
    fields.update(overrides)
    return JobFacts(**fields)


async def test_a_job_finds_the_nearby_worker_behind_a_crowd_of_fresher_far_ones(settings: ApiSettings) -> None:
    catalogue, regions = load_initial_catalogue(), load_regions()
    today, now = _today_now()
    # The crowd: same trade, relocating from far away, all updated within the last hours.
    crowd = [_worker(f"far{n:03d}", FAR_COUNTY, now - timedelta(minutes=n), today) for n in range(CROWD)]
    # Two months old, so last in Meilisearch's freshest-first order, but in the job's own county.
    local = _worker("local", JOB_COUNTY, now - timedelta(days=60), today, willing_to_relocate=False)
    # Same county and older still, but without consent: the near tier keeps the hard filters.
    hidden = _worker("hidden", JOB_COUNTY, now - timedelta(days=61), today, share_with_enterprises=False)
    documents = [worker_document(w, catalogue, regions) for w in [*crowd, local, hidden]]
    await index_documents(settings, "workers", documents, workers_index_settings(catalogue, regions))
    job = _job("job", JOB_COUNTY, now, today)
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        env = matches.MatchEnv(catalogue=catalogue, regions=regions, http=client.http_client,
                               prefix=settings.meili_index_prefix)
        ranked = await matches.rank_workers_for_job(env, job, today, limit=20, min_score=0.0)
    finally:
        await client.aclose()
    ids = [r.document["id"] for r in ranked]
    assert ids[0] == "local", ids  # the best score of all: same county outweighs two months of staleness
    assert ranked[0].match.score > ranked[1].match.score
    assert "hidden" not in ids
    assert len(ids) == len(set(ids)) == 20


async def test_a_job_finds_the_nearby_worker_of_its_small_group_behind_fresher_far_ones(
        settings: ApiSettings) -> None:
    # A cutter next door who has every welding skill (0.6 × occupation + same county + skills) outscores welders
    # far away who have none, and must not be hidden by more far cutters and welders than a search fetches.
    catalogue, regions = load_initial_catalogue(), load_regions()
    today, now = _today_now()
    crowd = [_worker(f"far{trade}{n:03d}", FAR_COUNTY, now - timedelta(minutes=n), today, occupation_codes=(code,))
             for trade, code in (("w", WELDER), ("c", CUTTER)) for n in range(CROWD)]
    local = _worker("local", JOB_COUNTY, now - timedelta(days=10), today, willing_to_relocate=False,
                    occupation_codes=(CUTTER,), skills=WELDING_SKILLS)
    await index_documents(settings, "workers", [worker_document(w, catalogue, regions) for w in [*crowd, local]],
                          workers_index_settings(catalogue, regions))
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        env = matches.MatchEnv(catalogue=catalogue, regions=regions, http=client.http_client,
                               prefix=settings.meili_index_prefix)
        ranked = await matches.rank_workers_for_job(env, _job("job", JOB_COUNTY, now, today), today, limit=20,
                                                    min_score=0.0)
    finally:
        await client.aclose()
    assert [r.document["id"] for r in ranked][:1] == ["local"]
    assert ranked[0].match.score > ranked[1].match.score
    assert next(r for r in ranked[0].match.reasons if r.code == "occupation").text == "同一职业小类（6-18-02）"


async def test_a_worker_finds_the_nearby_job_behind_a_crowd_of_fresher_far_ones(settings: ApiSettings) -> None:
    # The same both ways: a broker's relocating welder in 九龙坡 sees the older posting next door first.
    catalogue, regions = load_initial_catalogue(), load_regions()
    today, now = _today_now()
    crowd = [_job(f"far{n:03d}", FAR_COUNTY, now - timedelta(minutes=n), today) for n in range(CROWD)]
    local = _job("local", JOB_COUNTY, now - timedelta(days=60), today)
    closed = _job("closed", JOB_COUNTY, now - timedelta(days=61), today, status="closed")
    await index_documents(settings, "jobs", [job_document(j, catalogue, regions) for j in [*crowd, local, closed]],
                          jobs_index_settings(catalogue, regions))
    worker = _worker("worker", JOB_COUNTY, now, today)
    client = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    try:
        env = matches.MatchEnv(catalogue=catalogue, regions=regions, http=client.http_client,
                               prefix=settings.meili_index_prefix)
        ranked = await matches.rank_jobs_for_worker(env, worker, today, now, limit=20, min_score=0.0)
    finally:
        await client.aclose()
    ids = [r.document["id"] for r in ranked]
    assert ids[0] == "local", ids
    assert ranked[0].match.score > ranked[1].match.score
    assert "closed" not in ids
    assert len(ids) == len(set(ids)) == 20
