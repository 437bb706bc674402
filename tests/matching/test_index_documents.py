from dataclasses import replace
from datetime import UTC, date, datetime

from matching.catalogue import Catalogue
from matching.documents import (
    JOBS_INDEX_SETTINGS,
    OPEN_END,
    PII_KEYS,
    WORKERS_INDEX_SETTINGS,
    job_document,
    jobs_index_settings,
    worker_document,
    workers_index_settings,
)
from matching.facts import JobFacts, Wage, WorkerFacts
from matching.geo import encode
from matching.regions import RegionDirectory
from matching.search_filters import FILTERABLE_ATTRIBUTES

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

JOB = JobFacts(
    id="j1",
    title="招电焊工",
    description="汽车零部件厂，包住",
    occupation_code="6-18-02-04",
    headcount=3,
    adcode="500107",
    wage=Wage(250, 300, "day"),
    work_type="daily",
    start_date=date(2026, 12, 1),
    posted_at=NOW,
    benefits=("包住",),
    required_certificates=("焊工证",),
)
WORKER = WorkerFacts(
    id="w1",
    home_adcode="500235",
    current_adcode="500106",
    available_from=date(2026, 11, 25),
    updated_at=NOW,
    occupation_codes=("6-18-02-04",),
    certificates=("焊工证",),
    max_commute_km=20,
    share_with_enterprises=True,
    expected_wage=Wage(6000, 8000, "month"),
    age=35,
    labour_brand="云阳面工",
)


def test_job_document_fields(catalogue: Catalogue, regions: RegionDirectory) -> None:
    doc = job_document(JOB, catalogue, regions)
    assert doc["occupation_name"] == "焊工"
    assert "电焊工" in doc["occupation_aliases"]
    assert doc["shortage_level"] == 1
    assert doc["county_name"] == "九龙坡区"
    assert doc["city_adcode"] == "500000"
    assert doc["province"] == "CQ"
    assert doc["start_date"] == 20261201
    assert doc["end_date"] == OPEN_END
    assert doc["wage_monthly_min"] == round(250 * 21.75)
    assert [len(c) for c in doc["geo_cells"]] == [3, 4, 5]
    assert "_geo" not in doc
    assert doc["posted_at"] == int(NOW.timestamp())
    assert "contact" not in doc


def test_worker_document_never_carries_personal_data(catalogue: Catalogue, regions: RegionDirectory) -> None:
    doc = worker_document(WORKER, catalogue, regions)
    assert not PII_KEYS & set(doc)
    assert doc["current_adcode"] == "500106"
    assert doc["home_adcode"] == "500235"
    assert doc["share_with_enterprises"] is True
    assert doc["available_until"] == OPEN_END
    assert doc["occupation_small_groups"] == ["6-18-02"]
    assert doc["commute_cells"]
    assert doc["desired_anywhere"] is True
    # A commute past ~250 km keeps its area too (the coarsest cells), rather than none at all.
    long_commute = worker_document(replace(WORKER, max_commute_km=280), catalogue, regions)
    chengdu = regions.get("510104")
    assert chengdu is not None  # 锦江区, ~270 km from the worker's 沙坪坝
    assert encode(chengdu.lat, chengdu.lng, 3) in long_commute["commute_cells"]
    # nothing in the values either: the fixture has no personal data to leak, and no field named like it
    assert all(not key.endswith(("_phone", "_id_number", "_name_raw")) for key in doc)


def test_settings_are_consistent_with_documents(catalogue: Catalogue, regions: RegionDirectory) -> None:
    job_keys = set(job_document(JOB, catalogue, regions))
    worker_keys = set(worker_document(WORKER, catalogue, regions))
    for settings, keys in ((JOBS_INDEX_SETTINGS, job_keys), (WORKERS_INDEX_SETTINGS, worker_keys)):
        assert set(settings["searchableAttributes"]) <= keys
        assert set(settings["filterableAttributes"]) <= keys
        assert set(settings["filterableAttributes"]) <= FILTERABLE_ATTRIBUTES
        assert set(settings["sortableAttributes"]) <= keys
        assert settings["localizedAttributes"] == [{"attributePatterns": ["*"], "locales": ["cmn"]}]
        assert "_geo" not in settings["filterableAttributes"]
    assert not PII_KEYS & set(WORKERS_INDEX_SETTINGS["searchableAttributes"])
    full = jobs_index_settings(catalogue, regions)
    assert "电焊工" in full["synonyms"]["焊工"]
    assert full["dictionary"] == catalogue.meilisearch_dictionary(regions)
    assert "synonyms" not in JOBS_INDEX_SETTINGS  # the base constant is not mutated
    # the workers index is not searched by text: no catalogue words to re-index it for
    assert "synonyms" not in workers_index_settings(catalogue, regions)
    assert "dictionary" not in workers_index_settings(catalogue, regions)


def test_worker_documents_of_one_county_and_trade_are_equal_but_independent(catalogue: Catalogue,
                                                                             regions: RegionDirectory) -> None:
    # The county's place fields and the trade fields are computed once per directory / catalogue (an import
    # indexes thousands of profiles over a few hundred counties): each document still gets its own lists.
    first = worker_document(WORKER, catalogue, regions)
    second = worker_document(replace(WORKER, id="w2"), catalogue, regions)
    assert {k: v for k, v in first.items() if k != "id"} == {k: v for k, v in second.items() if k != "id"}
    first["geo_cells"].append("x")
    first["occupation_names"].append("x")
    first["commute_cells"].clear()
    third = worker_document(WORKER, catalogue, regions)
    assert third["geo_cells"] == second["geo_cells"]
    assert "x" not in third["geo_cells"]
    assert third["occupation_names"] == ["焊工"]
    assert third["commute_cells"] == second["commute_cells"] != []


def test_worker_document_follows_the_catalogue_version_it_is_given(catalogue: Catalogue,
                                                                   regions: RegionDirectory) -> None:
    before = worker_document(WORKER, catalogue, regions)
    entry = catalogue.by_code("6-18-02-04")
    assert entry is not None
    renamed = Catalogue(catalogue.version + 1, [replace(e, name="电焊作业人员", shortage_level=3)
                                                if e.occupation_code == entry.occupation_code else e
                                                for e in catalogue.entries])
    after = worker_document(WORKER, renamed, regions)
    assert before["occupation_names"] == ["焊工"]
    assert before["shortage_level"] == 1
    assert after["occupation_names"] == ["电焊作业人员"]
    assert after["shortage_level"] == 3
    assert worker_document(WORKER, catalogue, regions)["occupation_names"] == ["焊工"]



def test_phones_written_as_people_write_them_are_masked_in_a_worker_document(catalogue: Catalogue,
                                                                               regions: RegionDirectory) -> None:
    # A broker writes a phone into the free text with its country code or in groups (有事打+8613923456781,
    # 联系 139 2345 6781): enterprises see these fields as the document has them, so they must be masked too.
    worker = replace(WORKER, skills=("氩弧焊", "有事打+8613923456781", "tel13923456781"),
                     certificates=("焊工证 联系139-2345-6781",), labour_brand="云阳面工 139 2345 6781")
    doc = worker_document(worker, catalogue, regions)
    text = repr([doc["skills"], doc["certificates"], doc["labour_brand"]])
    assert "2345" not in text, text
    assert doc["skills"] == ["氩弧焊", "有事打+86139****6781", "tel139****6781"]
    assert doc["certificates"] == ["焊工证 联系139****6781"]
    assert doc["labour_brand"] == "云阳面工 139****6781"
