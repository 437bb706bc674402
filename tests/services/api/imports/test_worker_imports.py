"""`POST /v1/workers/imports` end to end: upload → arq worker (burst) → status, against real services."""

from __future__ import annotations

import codecs
import io
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import xlsxwriter

from services.api.imports.readers import XLSX_MEDIA_TYPE as XLSX
from services.api.settings import ApiSettings
from services.api.worker_profiles.repository import COPY_THRESHOLD
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.imports.rows import (
    CHINESE_HEADER,
    id_number,
    ods_bytes,
    swollen_workbook,
    to_csv,
    worker_row,
)
from tests.services.indexing.pipeline import run_worker_burst


async def upload(client: httpx.AsyncClient, who: OrgKey, content: bytes, content_type: str = "text/csv",
                 **headers: str) -> httpx.Response:
    return await client.post("/v1/workers/imports", content=content,
                              headers={**who.headers, "Content-Type": content_type, **headers})


async def import_and_wait(client: httpx.AsyncClient, settings: ApiSettings, who: OrgKey, content: bytes,
                          content_type: str = "text/csv") -> dict[str, Any]:
    response = await upload(client, who, content, content_type)
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await run_worker_burst(settings)
    status = await client.get(f"/v1/workers/imports/{import_id}", headers=who.headers)
    assert status.status_code == 200, status.text
    body: dict[str, Any] = status.json()
    return body


async def test_csv_with_chinese_headers_stores_valid_rows_and_reports_bad_ones(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    rows = [worker_row(n) for n in range(1, 6)]
    rows[1]["身份证号"] = rows[1]["身份证号"][:-1] + ("0" if rows[1]["身份证号"][-1] != "0" else "1")  # bad check
    rows[3]["期望薪资"] = "8000-5000元/月"  # min > max
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode())
    assert status["status"] == "completed", status
    assert status["encoding"] == "utf-8"
    assert (status["total"], status["created"], status["rejected"]) == (5, 3, 2)
    # The wage names both bounds, as a request body's does (it was the whole `expected_wage`).
    assert [(e["row"], e["field"]) for e in status["errors"]] == [
        (3, "id_number"), (5, "expected_wage.min"), (5, "expected_wage.max")]
    assert status["errors_total"] == 3
    stored = await db.fetch("SELECT external_ref, home_adcode FROM worker_profiles ORDER BY external_ref")
    assert [(r["external_ref"], r["home_adcode"]) for r in stored] == [
        ("EXT-1", "500107"), ("EXT-3", "500107"), ("EXT-5", "500107")]
    # The upload (it held ID numbers in clear) is gone once processed; nothing of it is in clear anyway.
    assert await db.fetchval("SELECT count(*) FROM import_chunks") == 0
    # Indexing and then matching went out in one outbox row each per batch, not one per profile; import.finished
    # was recorded (and its handler notified the uploader).
    topics = Counter(r["topic"] for r in await db.fetch("SELECT topic FROM outbox"))
    assert [topics[t] for t in ("import.process", "import.batch", "import.match", "import.finished")] == [1, 1, 1, 1]
    assert topics["worker.index"] == topics["worker.match"] == 0


async def test_reupload_changes_nothing(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # 60 rows: more than COPY_THRESHOLD, so the profiles are inserted through COPY and the staging table, and
    # must read back (decrypted, occupations as stored jsonb) equal to the re-uploaded rows.
    n_rows = 60
    assert n_rows >= COPY_THRESHOLD
    content = to_csv([worker_row(n) for n in range(1, n_rows + 1)]).encode()
    first = await import_and_wait(client, settings, broker, content)
    assert (first["created"], first["unchanged"]) == (n_rows, 0)
    before = await db.fetch("SELECT id, updated_at FROM worker_profiles ORDER BY id")
    second = await import_and_wait(client, settings, broker, content)
    assert second["status"] == "completed"
    assert (second["created"], second["updated"], second["unchanged"], second["rejected"]) == (0, 0, n_rows, 0)
    assert await db.fetch("SELECT id, updated_at FROM worker_profiles ORDER BY id") == before
    # Without external_ref the person (blind index of the ID number) is the key: still no duplicate; a
    # changed field is an update.
    header = [h for h in CHINESE_HEADER if h != "外部编号"]
    changed = [worker_row(n, 技能="砌砖") for n in range(1, n_rows + 1)]
    third = await import_and_wait(client, settings, broker, to_csv(changed, header).encode())
    assert (third["created"], third["updated"], third["unchanged"]) == (0, n_rows, 0)
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == n_rows


async def test_a_person_or_reference_repeated_in_one_file_is_a_row_error_and_a_reupload_changes_nothing(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Saved in order, a later row updated what an earlier one had just written (the person's reference moved,
    # another person took the reference): every upload of the same file then rewrote those profiles again.
    first, second = worker_row(1), worker_row(2)
    rows = [first, second,
            {**first, "外部编号": "EXT-moved"},                     # row 4: the person of row 2
            {**worker_row(3), "外部编号": second["外部编号"]}]      # row 5: the reference of row 3
    content = to_csv(rows).encode()
    status = await import_and_wait(client, settings, broker, content)
    assert (status["created"], status["updated"], status["rejected"]) == (2, 0, 2), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(4, "id_number"), (5, "external_ref")]
    assert "row 2" in status["errors"][0]["message"]
    assert "row 3" in status["errors"][1]["message"]
    assert first["身份证号"] not in str(status)
    before = await db.fetch("SELECT id, external_ref, updated_at FROM worker_profiles ORDER BY id")
    again = await import_and_wait(client, settings, broker, content)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 2, 2), again
    assert await db.fetch("SELECT id, external_ref, updated_at FROM worker_profiles ORDER BY id") == before


async def test_imported_certificates_are_official_names_and_a_re_upload_is_unchanged(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    header = [*CHINESE_HEADER, "证书"]
    content = to_csv([worker_row(1, 证书="焊工证、电焊证、叉车证")], header).encode()
    first = await import_and_wait(client, settings, broker, content)
    assert first["created"] == 1, first
    stored = await db.fetchrow("SELECT updated_at, certificates FROM worker_profiles")
    assert list(stored["certificates"]) == ["特种作业操作证（焊接与热切割作业）", "特种设备作业人员证（N1 叉车司机）"]
    # The sheet still says 焊工证: compared as canonical names, the row is the stored profile.
    again = await import_and_wait(client, settings, broker, content)
    assert (again["updated"], again["unchanged"]) == (0, 1), again
    assert await db.fetchrow("SELECT updated_at, certificates FROM worker_profiles") == stored


async def test_same_person_from_another_broker_is_a_row_error(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, make_org: MakeOrg,
) -> None:
    await import_and_wait(client, settings, broker, to_csv([worker_row(1)]).encode())
    other = await make_org("broker")
    status = await import_and_wait(client, settings, other, to_csv([worker_row(1), worker_row(2)]).encode())
    assert (status["created"], status["rejected"]) == (1, 1)
    assert status["errors"][0]["field"] == "id_number"
    assert "another broker" in status["errors"][0]["message"]
    assert broker.org_id not in str(status)


async def test_gbk_csv(client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey) -> None:
    status = await import_and_wait(client, settings, broker,
                                   to_csv([worker_row(1), worker_row(2)]).encode("gbk"))
    assert status["status"] == "completed", status
    assert status["encoding"] == "gb18030"
    assert status["created"] == 2



async def test_a_utf8_csv_with_some_gbk_rows_is_refused_at_upload(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # It was accepted and read as GB18030, which decodes almost anything: every UTF-8 row stored garbled, silently.
    lines = to_csv([worker_row(n) for n in range(1, 6)]).splitlines(keepends=True)
    content = b"".join(line.encode("gbk" if number == 4 else "utf-8") for number, line in enumerate(lines, start=1))
    response = await upload(client, broker, content)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "mixed_encoding"
    assert "4" in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_a_gbk_csv_with_some_utf8_rows_is_refused_at_upload(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Read as GB18030, its UTF-8 rows (pasted in from a web page or a UTF-8 export) were stored garbled, silently.
    lines = to_csv([worker_row(n) for n in range(1, 6)]).splitlines(keepends=True)
    content = b"".join(line.encode("utf-8" if number == 4 else "gbk") for number, line in enumerate(lines, start=1))
    response = await upload(client, broker, content)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "mixed_encoding"
    assert "4" in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM imports") == 0
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0


async def test_the_status_names_the_encoding_from_the_upload_on(client: httpx.AsyncClient, settings: ApiSettings,
                                                               broker: OrgKey) -> None:
    # The 202 named the encoding; the status said null until the worker started, and for good when the import
    # then failed on its columns.
    accepted = await upload(client, broker, to_csv([worker_row(1)]).encode("gbk"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["encoding"] == "gb18030"
    queued = await client.get(f"/v1/workers/imports/{accepted.json()['import_id']}", headers=broker.headers)
    assert (queued.json()["status"], queued.json()["encoding"]) == ("queued", "gb18030")
    failed = await upload(client, broker, "血型,姓名\nO,张三\n".encode("utf-16"))
    assert failed.status_code == 202, failed.text
    await run_worker_burst(settings)
    status = (await client.get(f"/v1/workers/imports/{failed.json()['import_id']}", headers=broker.headers)).json()
    assert (status["status"], status["encoding"]) == ("failed", "utf-16")

async def test_control_characters_in_the_file_name_are_dropped(client: httpx.AsyncClient, broker: OrgKey) -> None:
    # Written by hand: httpx would percent-encode them, curl and browsers send them as they are.
    name = "名\x00单\x07\u3000表.csv".encode()
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="' + name
            + b'"\r\nContent-Type: text/csv\r\n\r\n' + to_csv([worker_row(1)]).encode() + b"\r\n--b0undary--\r\n")
    response = await client.post("/v1/workers/imports", content=body,
                                 headers={**broker.headers, "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert response.status_code == 202, response.text
    status = await client.get(f"/v1/workers/imports/{response.json()['import_id']}", headers=broker.headers)
    assert status.json()["filename"] == "名单\u3000表.csv"  # an ideographic space is not a control character


async def test_numbers_in_the_file_name_are_masked(client: httpx.AsyncClient, broker: OrgKey) -> None:
    # Named after the person; the name is read back with the import long after the person may be erased.
    response = await upload(client, broker, to_csv([worker_row(1)]).encode(),
                            **{"X-Filename": "zhangsan 510107199003070014 tel 138-1234-5678.csv"})
    assert response.status_code == 202, response.text
    status = await client.get(f"/v1/workers/imports/{response.json()['import_id']}", headers=broker.headers)
    assert status.json()["filename"] == "zhangsan 510107********0014 tel 138****5678.csv"


async def test_a_file_name_stored_before_masking_is_shown_masked(client: httpx.AsyncClient, broker: OrgKey,
                                                                 db: asyncpg.Connection) -> None:
    response = await upload(client, broker, to_csv([worker_row(1)]).encode(), **{"X-Filename": "list.csv"})
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await db.execute("UPDATE imports SET filename = '张三 13812345678.csv' WHERE id = $1", uuid.UUID(import_id))
    status = await client.get(f"/v1/workers/imports/{import_id}", headers=broker.headers)
    assert status.json()["filename"] == "张三 138****5678.csv"


def worker_sheet(numbers: tuple[int, ...], leave_out: str | None = None) -> tuple[io.BytesIO, Any, Any]:
    """An in-memory workbook (buffer, workbook, sheet) with the Chinese header and `worker_row(n)` for each n,
    every cell as text, the `leave_out` column left empty; the caller adds its cells and closes it."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, CHINESE_HEADER)
    for i, n in enumerate(numbers, start=1):
        row = worker_row(n)
        for j, header in enumerate(CHINESE_HEADER):
            if header != leave_out:
                sheet.write_string(i, j, str(row[header]))
    return buffer, workbook, sheet


async def test_xlsx_multipart_upload_with_formula_and_merged_cells(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    buffer, workbook, sheet = worker_sheet((1, 2, 3), leave_out="户籍地")
    column = CHINESE_HEADER.index("可到岗日期")
    sheet.write_formula(1, column, "=DATE(2030,6,1)", None, 47635)  # cached value, as Excel saves it
    sheet.merge_range(1, CHINESE_HEADER.index("户籍地"), 2, CHINESE_HEADER.index("户籍地"), "江北区")
    sheet.write_string(3, CHINESE_HEADER.index("户籍地"), "南岸区")
    workbook.close()
    response = await client.post("/v1/workers/imports", headers=broker.headers,
                                 files={"file": ("名单.xlsx", buffer.getvalue(), "application/octet-stream")})
    assert response.status_code == 202, response.text
    assert response.json()["format"] == "xlsx"
    await run_worker_burst(settings)
    status = (await client.get(f"/v1/workers/imports/{response.json()['import_id']}", headers=broker.headers)).json()
    assert (status["created"], status["rejected"]) == (2, 1)
    assert status["errors"][0]["row"] == 3
    assert status["errors"][0]["field"] == "home_adcode"
    assert "B2:B3" not in status["errors"][0]["message"]  # 户籍地 is column F
    assert "F2:F3" in status["errors"][0]["message"]
    first = await db.fetchrow("SELECT home_adcode, available_from::text AS day FROM worker_profiles "
                              "WHERE external_ref = 'EXT-1'")
    assert (first["home_adcode"], first["day"]) == ("500105", "2030-06-01")


async def test_formula_cells_without_a_usable_value_are_row_errors_not_blanks(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Excel saves a formula's result beside it; a failed lookup saves an error (#N/A) and a workbook written by a
    # script (openpyxl) or never recalculated saves no result at all. calamine reads both as an empty cell, so
    # without this a required column said "required" about a filled-in cell, and an optional one (外部编号) was
    # silently stored empty.
    buffer, workbook, sheet = worker_sheet((81, 82, 83))
    sheet.write_formula(1, CHINESE_HEADER.index("外部编号"), "=VLOOKUP(A2,编号!A:B,2,0)", None, "#N/A")
    sheet.write_formula(2, CHINESE_HEADER.index("手机号"), '="138"&"00000082"', None, "")  # no cached result
    workbook.close()

    status = await import_and_wait(client, settings, broker, buffer.getvalue(),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (status["created"], status["rejected"]) == (1, 2), status
    errors = {(e["row"], e["field"]): e["message"] for e in status["errors"]}
    assert set(errors) == {(2, "external_ref"), (3, "phone")}
    assert "#N/A" in errors[(2, "external_ref")]
    assert "公式" in errors[(2, "external_ref")]
    assert "formula" in errors[(3, "phone")]
    assert "必填" not in errors[(3, "phone")]
    stored = await db.fetch("SELECT external_ref FROM worker_profiles WHERE broker_org_id = $1", broker.org_id)
    assert [r["external_ref"] for r in stored] == ["EXT-83"]


async def test_a_merged_optional_column_is_a_row_error_too(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # A merged 工种 shows its value on every row it spans, but the file holds it only in the first: the other
    # rows were stored without their trade, silently (only required columns were reported).
    buffer, workbook, sheet = worker_sheet((91, 92, 93), leave_out="工种")
    column = CHINESE_HEADER.index("工种")
    sheet.merge_range(1, column, 3, column, "电工")
    # An empty merged range is only formatting: nothing is lost, nothing to report.
    sheet.merge_range(1, CHINESE_HEADER.index("技能"), 3, CHINESE_HEADER.index("技能"), "")
    workbook.close()

    status = await import_and_wait(client, settings, broker, buffer.getvalue(),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (status["created"], status["rejected"]) == (1, 2), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(3, "occupations"), (4, "occupations")]
    assert all("G2:G4" in e["message"] for e in status["errors"])
    stored = await db.fetch("SELECT external_ref, occupation_codes FROM worker_profiles WHERE broker_org_id = $1",
                            broker.org_id)
    assert [(r["external_ref"], len(r["occupation_codes"])) for r in stored] == [("EXT-91", 1)]


async def test_a_nul_character_is_a_row_error_and_the_import_finishes(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # PostgreSQL text cannot hold U+0000: a NUL in a skills cell (or a header) failed the whole batch's
    # transaction on every retry, so the import stayed `processing` for ever and stored nothing.
    rows = [worker_row(n) for n in (131, 132, 133)]
    rows[1]["技能"] = "氩弧\x00焊"
    text = to_csv(rows).replace("技能", "技\x00能", 1)
    status = await import_and_wait(client, settings, broker, text.encode())
    assert status["status"] == "completed", status
    assert (status["created"], status["rejected"]) == (2, 1)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(3, "skills")]
    assert "U+0000" in status["errors"][0]["message"]

    # NDJSON: the same in a JSON string, and in a key
    line = {"external_ref": "NUL-1", "labour_brand": "巴\x00渝", "\x00": 1}
    status = await import_and_wait(client, settings, broker, orjson.dumps(line) + b"\n", "application/x-ndjson")
    assert status["status"] == "completed", status
    assert status["rejected"] == 1
    assert {e["field"] for e in status["errors"]} == {"labour_brand", None}
    count = await db.fetchval("SELECT count(*) FROM worker_profiles WHERE broker_org_id = $1", broker.org_id)
    assert count == 2


async def test_ndjson_with_a_bad_line(client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey) -> None:
    def body(n: int) -> bytes:
        return orjson.dumps({
            "external_ref": f"J-{n}", "name": f"工人{n}", "id_number": id_number("510107", "19900101", n * 2 + 1),
            "phone": f"1390000{n:04d}", "home_adcode": "510107", "occupations": ["焊工"],
            "available_from": "2030-01-01",
            "consent": {"share_with_enterprises": True, "given_at": "2026-01-01T08:00:00+08:00"}})

    content = b"\n".join([body(1), b"{oops", body(2), b'{"name": "x"}']) + b"\n"
    status = await import_and_wait(client, settings, broker, content, "application/x-ndjson")
    assert status["format"] == "ndjson"
    assert (status["total"], status["created"], status["rejected"]) == (4, 2, 2)
    assert status["errors"][0] == {"row": 2, "field": None, "message": status["errors"][0]["message"]}
    assert "JSON" in status["errors"][0]["message"]
    assert {e["field"] for e in status["errors"][1:]} >= {"id_number", "phone"}


async def test_a_consent_dated_year_one_is_a_row_error_and_the_profiles_stay_readable(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # What an empty date cell becomes in some spreadsheet exports; stored, it read back as a naive
    # datetime.min and every GET of the broker's profiles answered 500.
    def body(n: int, given_at: str) -> bytes:
        return orjson.dumps({
            "external_ref": f"Y-{n}", "name": f"工人{n}", "id_number": id_number("510107", "19900101", n * 2 + 1),
            "phone": f"1390000{n:04d}", "home_adcode": "510107", "occupations": ["焊工"],
            "available_from": "2030-01-01", "consent": {"share_with_enterprises": True, "given_at": given_at}})

    content = body(1, "0001-01-01T00:00:00+08:00") + b"\n" + body(2, "2026-01-01T08:00:00+08:00") + b"\n"
    status = await import_and_wait(client, settings, broker, content, "application/x-ndjson")
    assert (status["total"], status["created"], status["rejected"]) == (2, 1, 1)
    assert status["errors"][0]["row"] == 1
    assert status["errors"][0]["field"] == "consent.given_at"
    assert await db.fetchval("SELECT count(*) FROM worker_profiles WHERE external_ref = 'Y-1'") == 0
    listing = await client.get("/v1/workers", headers=broker.headers)
    assert listing.status_code == 200
    assert [w["external_ref"] for w in listing.json()["items"]] == ["Y-2"]


async def test_implausible_availability_is_a_row_error_with_the_apis_message(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Imports reuse the API's validation: 9999-12-31 (a spreadsheet's "no end") is refused per row, as by the API.
    rows = [worker_row(1, **{"可到岗日期": "9999-12-31"}), worker_row(2), worker_row(3, **{"可到岗日期": "2062/3/1"})]
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode(), "text/csv")
    assert (status["total"], status["created"], status["rejected"]) == (3, 1, 2)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "available_from"), (4, "available_from")]
    assert all("at most 5 years from today" in e["message"] for e in status["errors"]), status["errors"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-2"]


async def test_numbers_excel_mangled_are_row_errors_that_say_so(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # A column of ID numbers or phones without the Text format: Excel shows and saves 5.00107E+17 (or keeps 15
    # digits and zeros), which was told "an ID number has 18 characters", as if the broker had typed it wrong.
    mangled = worker_row(2)["身份证号"][:15] + "000"
    rows = [worker_row(1, 身份证号="5.00107E+17"), worker_row(2, 身份证号=mangled), worker_row(3),
            worker_row(4, 手机号="1.38E+10")]
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode(), "text/csv")
    assert (status["total"], status["created"], status["rejected"]) == (4, 1, 3), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "id_number"), (3, "id_number"), (5, "phone")]
    for error in status["errors"]:
        assert "将该列设为“文本”格式后重新填写" in error["message"], error
        assert "dropped digits" in error["message"], error
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-3"]


async def test_a_unix_timestamp_is_no_date_in_an_import_row(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Left to pydantic, ten digits were read as seconds since 1970: an availability stored as 2023-11-14.
    rows = [worker_row(1, 可到岗日期="1700000000"), worker_row(2), worker_row(3, 同意时间="1700000000")]
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode(), "text/csv")
    assert (status["total"], status["created"], status["rejected"]) == (3, 1, 2), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "available_from"), (4, "consent.given_at")]
    assert all("Unix timestamp" in e["message"] for e in status["errors"]), status["errors"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-2"]


async def test_full_width_id_numbers_and_phones_are_imported_as_ascii(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    wide = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}
    rows = [worker_row(1), worker_row(2)]
    ascii_rows = [dict(r) for r in rows]
    for row in rows:
        row["身份证号"] = row["身份证号"].translate(wide)
        row["手机号"] = row["手机号"].translate(wide)
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode(), "text/csv")
    assert (status["created"], status["rejected"]) == (2, 0), status
    # The same people in ASCII are the same profiles, unchanged.
    again = await import_and_wait(client, settings, broker, to_csv(ascii_rows).encode(), "text/csv")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), again
    listed = (await client.get("/v1/workers", headers=broker.headers)).json()["items"]
    assert sorted(w["phone"] for w in listed) == sorted(r["手机号"][:3] + "****" + r["手机号"][-4:] for r in ascii_rows)


async def test_a_city_or_province_as_home_is_a_row_error_with_the_apis_message(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # A person's home is a county (api.md): 成都 (成都市, 510100) and 510000 (四川省) were stored as given.
    rows = [worker_row(1, 户籍地="成都"), worker_row(2), worker_row(3, 户籍地="510000")]
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode(), "text/csv")
    assert (status["total"], status["created"], status["rejected"]) == (3, 1, 2)
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(2, "home_adcode"), (4, "home_adcode")]
    assert all("a county code is needed" in e["message"] for e in status["errors"]), status["errors"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-2"]


async def test_a_consent_dated_just_inside_the_window_by_its_offset_is_a_row_error(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # 1900-01-01 in its own offset is 1899-12-31 in UTC, the time stored and read back: once stored, every GET of
    # the broker's profiles answered 500.
    content = orjson.dumps({
        "external_ref": "W-1", "name": "工人1", "id_number": id_number("510107", "19900101", 3),
        "phone": "13900000001", "home_adcode": "510107", "occupations": ["焊工"], "available_from": "2030-01-01",
        "consent": {"share_with_enterprises": True, "given_at": "1900-01-01T00:00:00+23:59"}}) + b"\n"
    status = await import_and_wait(client, settings, broker, content, "application/x-ndjson")
    assert (status["total"], status["created"], status["rejected"]) == (1, 0, 1)
    assert status["errors"][0]["field"] == "consent.given_at"
    assert await db.fetchval("SELECT count(*) FROM worker_profiles") == 0
    listing = await client.get("/v1/workers", headers=broker.headers)
    assert listing.status_code == 200


async def test_a_workbook_that_unpacks_too_far_is_refused_at_once(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection, tmp_path: Path,
) -> None:
    bomb = swollen_workbook(tmp_path / "bomb.xlsx").read_bytes()
    response = await upload(client, broker, bomb,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "xlsx_too_large"
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


@pytest.mark.parametrize(("content", "code"), [(b"", "empty"), ("\ufeff".encode(), "empty"),
                                               ((",".join(CHINESE_HEADER) + "\n").encode(), "header_only")])
async def test_empty_or_header_only_upload_is_refused_at_once(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection, content: bytes, code: str,
) -> None:
    response = await upload(client, broker, content)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_a_csv_malformed_far_down_is_refused_at_upload(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # The upload's check read only the first rows, so a broken row further down (here a cell past the CSV
    # reader's field limit) failed the import in the worker after the batches before it were committed: a
    # half-stored file with status `failed`. The whole file's CSV syntax is now checked before it is accepted.
    rows = [worker_row(n) for n in range(141, 171)]
    rows[25]["技能"] = "焊" * 140_000
    response = await upload(client, broker, to_csv(rows).encode())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "csv_syntax"
    assert "27" in response.json()["detail"]  # the spreadsheet row: the header is row 1
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_unknown_or_missing_columns_fail_the_import(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey,
) -> None:
    header = [*CHINESE_HEADER, "血型"]
    header.remove("同意时间")
    status = await import_and_wait(client, settings, broker, to_csv([worker_row(1)], header).encode())
    assert status["status"] == "failed"
    assert "血型" in status["detail"]
    assert "consent.given_at" in status["detail"]
    assert status["created"] == 0


async def test_a_sheet_without_a_header_row_is_refused_without_quoting_the_person(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Its first row was taken for the header and listed as "unknown columns": a name, an ID number and a phone in
    # the import's status and in its import-finished notice (unencrypted, kept after the upload is deleted).
    person = worker_row(3, 愿意异地="否")
    headerless = "".join(to_csv([person, worker_row(4)]).splitlines(keepends=True)[1:])
    response = await upload(client, broker, headerless.encode())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "header_is_data"
    for value in (person["姓名"], person["身份证号"], person["手机号"]):
        assert value not in response.text
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_status_is_private_to_the_organisation(
    client: httpx.AsyncClient, broker: OrgKey, make_org: MakeOrg,
) -> None:
    response = await upload(client, broker, codecs.BOM_UTF8 + to_csv([worker_row(1)]).encode())
    import_id = response.json()["import_id"]
    other = await make_org("broker")
    assert (await client.get(f"/v1/workers/imports/{import_id}", headers=other.headers)).status_code == 404
    enterprise = await make_org("enterprise")
    assert (await client.get(f"/v1/workers/imports/{import_id}", headers=enterprise.headers)).status_code == 403
    assert (await client.get(f"/v1/jobs/imports/{import_id}", headers=enterprise.headers)).status_code == 404
    mine = await client.get(f"/v1/workers/imports/{import_id}", headers=broker.headers)
    assert mine.json()["status"] == "queued"
    assert mine.json()["encoding"] == "utf-8-sig"  # found at upload, as the 202 said


async def test_idempotency_key_returns_the_same_import(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    content = to_csv([worker_row(1)]).encode()
    first = await upload(client, broker, content, **{"Idempotency-Key": "upload-1"})
    again = await upload(client, broker, content, **{"Idempotency-Key": "upload-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["import_id"] == again.json()["import_id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = await upload(client, broker, to_csv([worker_row(2)]).encode(), **{"Idempotency-Key": "upload-1"})
    assert other.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM imports") == 1


async def test_too_large_and_unsupported_uploads(
    client: httpx.AsyncClient, broker: OrgKey, settings: ApiSettings,
) -> None:
    big = b"x" * (settings.max_upload_bytes + 1)
    assert (await upload(client, broker, big)).status_code == 413
    png = await upload(client, broker, b"\x89PNG\r\n\x1a\n....", "image/png")
    assert png.status_code == 415


async def test_a_workbook_labelled_as_text_is_read_as_a_workbook(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey,
) -> None:
    book, workbook, _ = worker_sheet((1, 2))
    workbook.close()
    # What a browser sends for a workbook on some Windows set-ups; and a tool that labels every upload NDJSON.
    for content_type in ("application/vnd.ms-excel", "application/x-ndjson"):
        status = await import_and_wait(client, settings, broker, book.getvalue(), content_type)
        assert (status["format"], status["status"], status["rejected"]) == ("xlsx", "completed", 0), status
    legacy = await upload(client, broker, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "application/vnd.ms-excel")
    assert legacy.status_code == 415, legacy.text
    assert legacy.json()["code"] == "xls"


async def test_an_ods_spreadsheet_is_refused_at_upload(client: httpx.AsyncClient, broker: OrgKey,
                                                       db: asyncpg.Connection) -> None:
    # It was accepted (the precheck's calamine read it), past the XLSX bounds, then failed in the worker as "cannot
    # read the XLSX file"; a tiny one of repeated cells took the API's memory to gigabytes.
    rows = [CHINESE_HEADER, [str(worker_row(1)[h]) for h in CHINESE_HEADER]]
    ods = await upload(client, broker, ods_bytes(rows, repeated=(3_000, 1_000)),
                       "application/vnd.oasis.opendocument.spreadsheet")
    assert ods.status_code == 415, ods.text
    assert ods.json()["code"] == "ods"
    # Known by its structure when its first bytes do not say OpenDocument (and it is labelled XLSX).
    hidden = await upload(client, broker, ods_bytes(rows, repeated=(3_000, 1_000), mimetype_first=False), XLSX)
    assert hidden.status_code == 422, hidden.text
    assert hidden.json()["code"] == "xlsx_unreadable"
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


@pytest.mark.parametrize("content", [to_csv([worker_row(1), worker_row(2)]).encode(),
                                     b'[{"name": "a"}, {"name": "b"}]\n',
                                     '{"name": "张三"}\n{"name": "李四"}\n'.encode("gbk")])
async def test_a_file_without_one_json_object_is_refused_as_ndjson(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection, content: bytes,
) -> None:
    # A CSV, a JSON array or a GBK file sent as NDJSON was accepted and "completed" with every line a row error.
    response = await upload(client, broker, content, "application/x-ndjson")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_ndjson"
    assert "张三" not in response.text
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_a_workbook_with_rows_on_two_sheets_is_refused_at_upload(
    client: httpx.AsyncClient, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # Only the first sheet is read: the second sheet's people were left out of a "completed" import.
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        for name, numbers in (("一组", (1, 2)), ("二组", (3,))):
            sheet = workbook.add_worksheet(name)
            sheet.write_row(0, 0, CHINESE_HEADER)
            for i, n in enumerate(numbers, start=1):
                sheet.write_row(i, 0, [str(worker_row(n)[h]) for h in CHINESE_HEADER])
    response = await upload(client, broker, buffer.getvalue(), XLSX)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "xlsx_sheets"
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_only_brokers_import_workers(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    enterprise = await make_org("enterprise")
    response = await upload(client, enterprise, to_csv([worker_row(1)]).encode())
    assert response.status_code == 403


async def test_a_sheet_with_fewer_columns_updates_only_what_it_gives(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    full = worker_row(1)
    first = await import_and_wait(client, settings, broker, to_csv([full]).encode())
    assert first["created"] == 1
    worker_id = await db.fetchval("SELECT id FROM worker_profiles")
    before = (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).json()
    assert before["skills"] == ["氩弧焊", "二保焊"]
    assert before["external_ref"] == "EXT-1"
    # A later sheet of the same people: a new phone number, no skills / wage / relocation / reference columns,
    # and the trade left empty. What it does not give must not be wiped.
    header = ["姓名", "身份证号", "手机号", "户籍地", "工种", "可到岗日期", "同意共享", "同意时间"]
    partial = {**full, "手机号": "13900000001", "工种": ""}
    second = await import_and_wait(client, settings, broker, to_csv([partial], header).encode())
    assert (second["updated"], second["created"], second["rejected"]) == (1, 0, 0), second
    after = (await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)).json()
    assert after["phone"] == "139****0001"
    kept = ("skills", "expected_wage", "willing_to_relocate", "external_ref", "occupations")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    # The same partial sheet again changes nothing.
    third = await import_and_wait(client, settings, broker, to_csv([partial], header).encode())
    assert (third["updated"], third["unchanged"]) == (0, 1), third


async def test_a_broker_whose_licence_lapsed_cannot_upload(client: httpx.AsyncClient, broker: OrgKey,
                                                           db: asyncpg.Connection) -> None:
    # Refused at upload, as POST /v1/workers is: nothing stored to fail later in the worker.
    await db.execute("UPDATE organisations SET licence_valid_until = '2024-01-01' WHERE id = $1::uuid", broker.org_id)
    refused = await upload(client, broker, to_csv([worker_row(1)]).encode())
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "licence_expired"
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_spreadsheet_numbers_and_yes_no_are_read_as_before_the_strict_json_types(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # The schema's integers and yes/no take no text, floats or 0/1 (services/api/json_scalars.py); a cell is turned
    # into the field's type first, so "3.0" (a tool that writes every number with a decimal point) is still 3 years,
    # 1/0 still yes/no, and "12公里" still 12 km.
    header = [*CHINESE_HEADER, "工作年限", "最大通勤距离"]
    rows = [worker_row(1, 工作年限="3.0", 最大通勤距离="12公里", 愿意异地="1", 同意共享="1"),
            worker_row(2, 工作年限="4", 最大通勤距离="7.5", 愿意异地="0", 同意共享="true")]
    status = await import_and_wait(client, settings, broker, to_csv(rows, header).encode())
    assert (status["created"], status["rejected"]) == (2, 0), status
    stored = await db.fetch("SELECT external_ref, experience_years, max_commute_km, willing_to_relocate "
                            "FROM worker_profiles ORDER BY external_ref")
    assert [(r["external_ref"], r["experience_years"], float(r["max_commute_km"]), r["willing_to_relocate"])
            for r in stored] == [("EXT-1", 3, 12.0, True), ("EXT-2", 4, 7.5, False)]


async def test_ndjson_lines_are_as_strict_as_the_api(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # A line is the body POST /v1/workers takes, written by a program: `false` for a number or "true" for a yes is
    # the program's bug, refused naming the field as the API refuses it, not stored as 0 or true.
    def line(n: int, **fields: Any) -> bytes:
        return orjson.dumps({
            "external_ref": f"S-{n}", "name": f"工人{n}", "id_number": id_number("510107", "19900101", n * 2 + 1),
            "phone": f"1390000{n:04d}", "home_adcode": "510107", "occupations": ["焊工"],
            "available_from": "2030-01-01",
            "consent": {"share_with_enterprises": True, "given_at": "2026-01-01T08:00:00+08:00"}, **fields})

    content = b"\n".join([line(1, experience_years=False), line(2, experience_years="3"),
                          line(3, willing_to_relocate="true"), line(4, experience_years=3, max_commute_km=20)]) + b"\n"
    status = await import_and_wait(client, settings, broker, content, "application/x-ndjson")
    assert (status["total"], status["created"], status["rejected"]) == (4, 1, 3), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [
        (1, "experience_years"), (2, "experience_years"), (3, "willing_to_relocate")]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["S-4"]


async def test_a_control_character_in_a_cell_is_a_row_error_as_in_the_api(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    rows = [worker_row(n) for n in (141, 142)]
    rows[1]["技能"] = "氩弧焊;二保\x1b焊"
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode())
    assert (status["created"], status["rejected"]) == (1, 1), status
    assert [(e["row"], e["field"]) for e in status["errors"]] == [(3, "skills")]
    assert "control character" in status["errors"][0]["message"]
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-141"]


async def test_a_rows_number_errors_come_with_its_other_errors(
    client: httpx.AsyncClient, settings: ApiSettings, broker: OrgKey, db: asyncpg.Connection,
) -> None:
    # A broker fixing a file learns every mistake of a row at once: the mistyped phone used to be reported only
    # once the row's other error was fixed and the file uploaded again.
    rows = [worker_row(n) for n in (151, 152)]
    rows[1].update({"技能": "氩弧焊;二保\x1b焊", "手机号": "12345"})
    status = await import_and_wait(client, settings, broker, to_csv(rows).encode())
    assert (status["created"], status["rejected"]) == (1, 1), status
    assert sorted((e["row"], e["field"]) for e in status["errors"]) == [(3, "phone"), (3, "skills")]
    assert "12345" not in str(status["errors"])
    assert await db.fetchval("SELECT array_agg(external_ref) FROM worker_profiles") == ["EXT-151"]
