"""`POST /v1/jobs/imports` end to end: upload → arq worker (burst) → status, against real services."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from services.api.china_calendar import china_today
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.indexing.pipeline import document_ids, run_worker_burst, settle

JOB_HEADER = ["岗位编号", "岗位名称", "岗位描述", "招聘人数", "工作地点", "月薪", "用工形式", "开工日期", "福利",
              "证书要求", "联系人", "联系电话"]


# Relative to today: a new posting's start may lie at most a year ahead and 90 days back (plausible_dates).
START = china_today() + timedelta(days=30)


def job_row(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "岗位编号": f"JOB-{n}",
        "岗位名称": f"招聘电焊工{n}名",
        "岗位描述": "九龙坡工厂招熟练电焊工，会氩弧焊优先，包吃包住。",
        "招聘人数": n,
        "工作地点": "九龙坡区",
        "月薪": "6500-9000",
        "用工形式": "全职",
        "开工日期": f"{START.year}/{START.month}/{START.day}",  # as people type it: no zero padding
        "福利": "包吃、包住",
        "证书要求": "焊工证",
        "联系人": "李经理",
        "联系电话": "023-68000000",
    }
    row.update(overrides)
    return row


def to_csv(rows: list[dict[str, Any]], header: list[str] = JOB_HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue().encode()


async def import_and_wait(client: httpx.AsyncClient, settings: ApiSettings, who: OrgKey,
                          content: bytes) -> dict[str, Any]:
    response = await client.post("/v1/jobs/imports", content=content,
                                 headers={**who.headers, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    await run_worker_burst(settings)
    status = await client.get(f"/v1/jobs/imports/{response.json()['import_id']}", headers=who.headers)
    assert status.status_code == 200, status.text
    body: dict[str, Any] = status.json()
    return body


async def test_a_city_or_province_as_the_place_is_a_row_error(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A posting is in a county (api.md): 成都 (成都市, 510100) and 500000 (重庆市) were stored as given.
    rows = [job_row(1, 工作地点="成都"), job_row(2), job_row(3, 工作地点="500000")]
    status = await import_and_wait(client, settings, enterprise, to_csv(rows))
    assert (status["total"], status["created"], status["rejected"]) == (3, 1, 2)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "adcode"), (4, "adcode")]
    assert all("a county code is needed" in e["message"] for e in status["errors"]), status["errors"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM job_postings") == ["JOB-2"]


async def test_a_row_can_mend_a_stored_posting_that_no_longer_passes_the_rules(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # A title of invisible characters was accepted before it was refused (fbdc260). A row giving the posting a
    # readable title was refused about the stored one ("the title must have visible characters"): the check
    # for an unchanged row validated the stored posting alone. Only a PATCH could mend it.
    first = await import_and_wait(client, settings, enterprise, to_csv([job_row(1)]))
    assert first["created"] == 1, first
    await db.execute("UPDATE job_postings SET title = '\u200b' WHERE external_ref = 'JOB-1'")
    mended = await import_and_wait(client, settings, enterprise, to_csv([job_row(1, 岗位名称="招聘电焊工")]))
    assert (mended["updated"], mended["rejected"]) == (1, 0), mended["errors"]
    assert await db.fetchval("SELECT title FROM job_postings WHERE external_ref = 'JOB-1'") == "招聘电焊工"


async def test_implausible_start_dates_are_row_errors_with_the_apis_message(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # Imports reuse the API's validation: a start decades ahead or behind is refused per row, nothing stored.
    rows = [job_row(1, **{"开工日期": "2062/3/1"}), job_row(2), job_row(3, **{"开工日期": "1999-03-01"})]
    status = await import_and_wait(client, settings, enterprise, to_csv(rows))
    assert (status["total"], status["created"], status["rejected"]) == (3, 1, 2)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "start_date"), (4, "start_date")]
    assert "at most 1 year(s) from today" in status["errors"][0]["message"]
    assert "at most 90 days in the past" in status["errors"][1]["message"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM job_postings") == ["JOB-2"]


async def test_csv_with_chinese_headers_end_to_end(client: httpx.AsyncClient, settings: ApiSettings,
                                                  enterprise: OrgKey, db: asyncpg.Connection) -> None:
    """岗位名称/招聘人数/工作地点/月薪 … → postings (occupation inferred, county by name, wage unit from the
    header), compliance per row (a deposit is a row error with its reason, a gender restriction is held for
    review), the open ones searchable; the same file again changes nothing; a changed row updates its posting."""
    rows = [job_row(n) for n in range(1, 6)]
    rows[1]["岗位描述"] = "需交押金500元，包吃包住。"                 # row 3: rejected (charges job seekers)
    rows[2]["岗位描述"] = "招电焊工，限男性，包吃包住。"               # row 4: held for review
    rows[3]["工作地点"] = "火星区"                                    # row 5: unknown county
    rows[4]["岗位编号"] = ""                                          # row 6: no reference (identity by content)
    content = to_csv(rows)
    status = await import_and_wait(client, settings, enterprise, content)
    assert status["status"] == "completed", status
    assert (status["total"], status["created"], status["updated"], status["unchanged"], status["rejected"]) == (
        5, 3, 0, 0, 2)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(3, "description"), (5, "adcode")]
    assert "押金" in status["errors"][0]["message"]

    stored = await db.fetch("""SELECT id, external_ref, status, occupation_code, occupation_inferred, adcode,
                                      wage_min, wage_max, wage_unit, work_type, headcount, benefits
                                 FROM job_postings ORDER BY title""")
    by_ref = {r["external_ref"]: r for r in stored}
    assert set(by_ref) == {"JOB-1", "JOB-3", None}
    first = by_ref["JOB-1"]
    assert (first["status"], first["occupation_code"], first["occupation_inferred"], first["adcode"]) == (
        "open", "6-18-02-04", True, "500107")
    assert (float(first["wage_min"]), float(first["wage_max"]), first["wage_unit"]) == (6500, 9000, "month")
    assert (first["work_type"], first["headcount"], list(first["benefits"])) == ("full_time", 1, ["包吃", "包住"])
    assert by_ref["JOB-3"]["status"] == "pending_review"

    await run_worker_burst(settings)
    await settle(settings)
    assert await document_ids(settings, "jobs") == {str(first["id"]), str(by_ref[None]["id"])}
    # One indexing job for the batch, not one per posting.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'job.index'") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'import.batch'") == 1

    before = await db.fetch("SELECT id, updated_at FROM job_postings ORDER BY id")
    again = await import_and_wait(client, settings, enterprise, content)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 3, 2)
    assert await db.fetch("SELECT id, updated_at FROM job_postings ORDER BY id") == before

    rows[0]["招聘人数"] = 8
    changed = await import_and_wait(client, settings, enterprise, to_csv(rows))
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    assert await db.fetchval("SELECT headcount FROM job_postings WHERE external_ref = 'JOB-1'") == 8
    assert await db.fetchval("SELECT count(*) FROM job_postings") == 3


async def test_missing_required_columns_fail_the_job_import(client: httpx.AsyncClient, settings: ApiSettings,
                                                           enterprise: OrgKey) -> None:
    header = [h for h in JOB_HEADER if h != "招聘人数"]
    status = await import_and_wait(client, settings, enterprise, to_csv([job_row(1)], header))
    assert status["status"] == "failed"
    assert "headcount" in status["detail"]


async def test_only_enterprises_import_jobs(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    response = await client.post("/v1/jobs/imports", content=to_csv([job_row(1)]),
                                 headers={**broker.headers, "Content-Type": "text/csv"})
    assert response.status_code == 403


async def test_a_sheet_with_fewer_columns_updates_only_what_it_gives(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    first = await import_and_wait(client, settings, enterprise, to_csv([job_row(1)]))
    assert first["created"] == 1
    before = await db.fetchrow("SELECT id, updated_at, benefits, required_certificates FROM job_postings")
    # The same posting from a sheet without the benefits, certificate and contact columns: nothing it gives
    # differs, so nothing changes; then a new headcount changes only the headcount.
    header = ["岗位编号", "岗位名称", "岗位描述", "招聘人数", "工作地点", "月薪", "用工形式", "开工日期"]
    same = await import_and_wait(client, settings, enterprise, to_csv([job_row(1)], header))
    assert (same["updated"], same["unchanged"], same["rejected"]) == (0, 1, 0), same
    assert await db.fetchrow("SELECT id, updated_at, benefits, required_certificates FROM job_postings") == before
    changed = await import_and_wait(client, settings, enterprise, to_csv([job_row(1, 招聘人数=4)], header))
    assert changed["updated"] == 1, changed
    after = await db.fetchrow("SELECT headcount, benefits, required_certificates FROM job_postings")
    assert after["headcount"] == 4
    # 焊工证 was stored as the catalogue's official name
    assert (list(after["benefits"]), list(after["required_certificates"])) == (["包吃", "包住"],
                                                                               ["特种作业操作证（焊接与热切割作业）"])


async def test_imported_certificates_are_official_names_and_a_re_upload_is_unchanged(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    sheet = to_csv([job_row(1, 证书要求="焊工证、电焊证、叉车证")])
    first = await import_and_wait(client, settings, enterprise, sheet)
    assert first["created"] == 1, first
    stored = await db.fetchrow("SELECT updated_at, required_certificates FROM job_postings")
    assert list(stored["required_certificates"]) == ["特种作业操作证（焊接与热切割作业）",
                                                     "特种设备作业人员证（N1 叉车司机）"]
    # The sheet still says 焊工证: compared as canonical names, the row is what is stored.
    again = await import_and_wait(client, settings, enterprise, sheet)
    assert (again["updated"], again["unchanged"]) == (0, 1), again
    assert await db.fetchrow("SELECT updated_at, required_certificates FROM job_postings") == stored


async def test_a_reference_repeated_in_one_file_is_a_row_error_and_a_reupload_changes_nothing(
        client: httpx.AsyncClient, settings: ApiSettings, enterprise: OrgKey, db: asyncpg.Connection) -> None:
    # The second row updated the posting the first had just created: every upload of the same file then updated
    # it twice more (back and forth, reindexed and rematched), where the same file must change nothing.
    content = to_csv([job_row(1), job_row(2), job_row(1, 岗位描述="九龙坡工厂招电焊工，包住。")])
    status = await import_and_wait(client, settings, enterprise, content)
    assert (status["created"], status["updated"], status["rejected"]) == (2, 0, 1), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(4, "external_ref")]
    assert "row 2" in status["errors"][0]["message"]
    before = await db.fetch("SELECT id, description, updated_at FROM job_postings ORDER BY id")
    again = await import_and_wait(client, settings, enterprise, content)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 2, 1), again
    assert await db.fetch("SELECT id, description, updated_at FROM job_postings ORDER BY id") == before
