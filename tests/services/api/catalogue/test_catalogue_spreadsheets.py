"""The spreadsheet round trip: export CSV/XLSX, import CSV (UTF-8 or GBK) or XLSX, all or nothing."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from matching.catalogue import CSV_COLUMNS, catalogue_rows, load_initial_catalogue
from services.api.catalogue.spreadsheets import XLSX_MEDIA_TYPE
from tests.conftest import OrgKey
from tests.services.api.catalogue.conftest import (
    CHEF,
    SAMPLE_ENTRIES,
    WELDER,
    entry_body,
    new_draft,
    sample_catalogue,
)
from tests.services.api.imports.rows import swollen_workbook


async def _entries(client: httpx.AsyncClient, version: int, who: OrgKey) -> list[dict[str, object]]:
    response = await client.get(f"/v1/catalogue/versions/{version}", headers=who.headers)
    assert response.status_code == 200, response.text
    entries: list[dict[str, object]] = response.json()["entries"]
    return entries


async def _import(client: httpx.AsyncClient, draft: int, who: OrgKey, data: bytes,
                  name: str = "catalogue.csv", media: str = "text/csv") -> httpx.Response:
    return await client.post(f"/v1/catalogue/drafts/{draft}/import", headers=who.headers,
                             files={"file": (name, data, media)})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_then_import_is_a_round_trip(
    initial_version: int, client: httpx.AsyncClient, cq: OrgKey, fmt: str,
) -> None:
    exported = await client.get(f"/v1/catalogue/versions/{initial_version}/export?format={fmt}",
                                headers=cq.headers)
    assert exported.status_code == 200, exported.text
    assert f"catalogue-v{initial_version}.{fmt}" in exported.headers["content-disposition"]
    if fmt == "xlsx":
        assert exported.headers["content-type"] == XLSX_MEDIA_TYPE
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(exported.content)).get_sheet_by_index(0).to_python()
        assert [str(c) for c in sheet[0][: len(CSV_COLUMNS)]] == list(CSV_COLUMNS)
        assert len(sheet) == len(load_initial_catalogue()) + 1
    else:
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.content.startswith("\ufeff".encode())  # Excel opens UTF-8 CSV with a BOM correctly
    draft = await new_draft(client, cq)
    # Start the draft from something else, so the import has to bring everything back.
    welder = load_initial_catalogue().by_code(WELDER)
    assert welder is not None
    edited = await client.put(f"/v1/catalogue/drafts/{draft}/entries/{WELDER}", headers=cq.headers,
                              json=entry_body(welder, shortage_level=welder.shortage_level % 3 + 1, notes="x"))
    assert edited.status_code == 200, edited.text
    imported = await _import(client, draft, cq, exported.content, f"c.{fmt}",
                             XLSX_MEDIA_TYPE if fmt == "xlsx" else "text/csv")
    assert imported.status_code == 200, imported.text
    assert imported.json()["format"] == fmt
    assert imported.json()["entries"] == len(load_initial_catalogue())
    assert await _entries(client, draft, cq) == await _entries(client, initial_version, cq)
    diff = (await client.get(f"/v1/catalogue/versions/{draft}/diff?against={initial_version}",
                             headers=cq.headers)).json()
    assert diff["added"] == diff["removed"] == diff["changed"] == []


async def test_gbk_csv_from_excel_is_detected(sample_version: int, client: httpx.AsyncClient, cq: OrgKey) -> None:
    csv_text = (await client.get(f"/v1/catalogue/versions/{sample_version}/export", headers=cq.headers)).text
    csv_text = csv_text.lstrip("\ufeff").replace("炒菜师傅", "炒菜师傅;掌勺的")
    draft = await new_draft(client, cq)
    imported = await _import(client, draft, cq, csv_text.encode("gbk"))
    assert imported.status_code == 200, imported.text
    assert imported.json()["encoding"] == "gb18030"
    assert imported.json()["changed"] == [CHEF]
    chef = next(e for e in await _entries(client, draft, cq) if e["occupation_code"] == CHEF)
    assert chef["aliases"] == ["厨师", "炒菜师傅", "掌勺的"]


async def test_undecodable_file_is_refused_clearly(sample_version: int, client: httpx.AsyncClient,
                                                   cq: OrgKey) -> None:
    draft = await new_draft(client, cq)
    refused = await _import(client, draft, cq, b"occupation_code,name\n\xff\xfe\xfa\x80\x81 bad bytes\n")
    assert refused.status_code == 422
    assert "GBK" in refused.text
    assert "UTF-8" in refused.text


async def test_wrong_header_is_refused_and_the_draft_unchanged(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    draft = await new_draft(client, cq)
    before = await _entries(client, draft, cq)
    refused = await _import(client, draft, cq, "职业编码,名称,别名\n6-18-02-04,焊工,电焊工\n".encode())
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"][0]["field"].startswith("row 1")
    assert "missing columns" in problem["errors"][0]["message"]
    assert await _entries(client, draft, cq) == before


async def test_a_csv_cell_over_the_field_limit_is_a_422_and_the_draft_unchanged(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    # Python's csv module refuses a field over 131,072 characters; that error was a 500.
    draft = await new_draft(client, cq)
    before = await _entries(client, draft, cq)
    data = (",".join(CSV_COLUMNS) + "\n" + f"{WELDER},焊工,{'电焊工;' * 40_000},制造业,1,,,,,,,CQ,,\n").encode()
    refused = await _import(client, draft, cq, data)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "row 2" in refused.json()["errors"][0]["message"]
    assert await _entries(client, draft, cq) == before


async def test_row_errors_name_their_rows_and_nothing_is_half_imported(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    csv_text = (await client.get(f"/v1/catalogue/versions/{sample_version}/export", headers=cq.headers)).text
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[2].startswith(SAMPLE_ENTRIES[1].occupation_code)
    lines[2] = lines[2].replace(",2,", ",7,", 1)  # row 3: shortage level out of range
    lines.append("6-99-99-99,不存在,,制造业,2,,,,,,,CQ,,")  # row 7: not a 2022 code
    draft = await new_draft(client, cq)
    before = await _entries(client, draft, cq)
    refused = await _import(client, draft, cq, "\n".join(lines).encode())
    assert refused.status_code == 422
    fields = [e["field"] for e in refused.json()["errors"]]
    assert "row 3: shortage_level" in fields
    assert await _entries(client, draft, cq) == before
    # Fix row 3: the unknown code on row 7 is still reported with its row number.
    lines[2] = lines[2].replace(",7,", ",2,", 1)
    refused = await _import(client, draft, cq, "\n".join(lines).encode())
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["row 7: occupation_code"]
    assert await _entries(client, draft, cq) == before


async def test_dropping_a_published_code_in_a_spreadsheet_is_refused(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    csv_text = (await client.get(f"/v1/catalogue/versions/{sample_version}/export", headers=cq.headers)).text
    lines = [line for line in csv_text.lstrip("\ufeff").splitlines() if not line.startswith(CHEF)]
    draft = await new_draft(client, cq)
    refused = await _import(client, draft, cq, "\n".join(lines).encode())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == f"entries[{CHEF}]"
    assert "replaced_by" in refused.json()["errors"][0]["message"]


async def test_oversize_upload_is_413(sample_version: int, client: httpx.AsyncClient, cq: OrgKey) -> None:
    draft = await new_draft(client, cq)
    twenty_megabytes = b"occupation_code,name\n" + b"x" * (20 * 1_048_576)
    refused = await _import(client, draft, cq, twenty_megabytes)
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")
    # Raw bodies (no multipart) are limited the same way.
    raw = await client.post(f"/v1/catalogue/drafts/{draft}/import", headers={**cq.headers,
                            "Content-Type": "text/csv"}, content=twenty_megabytes)
    assert raw.status_code == 413


async def test_raw_xlsx_body_is_accepted(sample_version: int, client: httpx.AsyncClient, cq: OrgKey) -> None:
    xlsx = (await client.get(f"/v1/catalogue/versions/{sample_version}/export?format=xlsx",
                             headers=cq.headers)).content
    draft = await new_draft(client, cq)
    imported = await client.post(f"/v1/catalogue/drafts/{draft}/import", content=xlsx,
                                 headers={**cq.headers, "Content-Type": XLSX_MEDIA_TYPE})
    assert imported.status_code == 200, imported.text
    assert imported.json()["format"] == "xlsx"
    assert imported.json()["changed"] == []


async def test_a_workbook_that_unpacks_too_far_is_refused(client: httpx.AsyncClient, cq: OrgKey,
                                                          tmp_path: Path) -> None:
    # The same limits as the profile and posting importers: calamine would load the whole sheet first.
    draft = await new_draft(client, cq)
    refused = await client.post(f"/v1/catalogue/drafts/{draft}/import",
                                content=swollen_workbook(tmp_path / "bomb.xlsx").read_bytes(),
                                headers={**cq.headers, "Content-Type": XLSX_MEDIA_TYPE})
    assert refused.status_code == 422, refused.text
    assert "CSV" in refused.json()["errors"][0]["message"]



def _workbook_with_formulas(formulas: dict[tuple[int, str], tuple[str, str]]) -> bytes:
    """The sample catalogue as XLSX text cells, with (row index, column) → (formula, saved result) written over
    it (an empty result: none saved, as a script writes it)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for r, row in enumerate(catalogue_rows(sample_catalogue())):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    for (r, column), (formula, result) in formulas.items():
        sheet.write_formula(r, CSV_COLUMNS.index(column), formula, None, result)
    workbook.close()
    return buffer.getvalue()


async def test_a_formula_cell_without_a_usable_result_is_named_as_a_formula(
    sample_version: int, client: httpx.AsyncClient, cq: OrgKey,
) -> None:
    # calamine reads a formula whose saved result is an error (#N/A of a failed lookup), or that has no saved
    # result (written by a script, never recalculated), as an empty cell: a filled-in name was refused as
    # "empty name", and aliases were dropped without a word.
    draft = await new_draft(client, cq)
    before = await _entries(client, draft, cq)
    data = _workbook_with_formulas({
        (1, "name"): ('="焊"&"工"', ""),  # row 2: no saved result
        (3, "aliases"): ("=VLOOKUP(A4,别名!A:B,2,0)", "#N/A"),  # row 4: an error
        (4, "industry"): ('="物"&"流"', "物流"),  # row 5: a result, as Excel saves it
    })
    refused = await _import(client, draft, cq, data, "catalogue.xlsx", XLSX_MEDIA_TYPE)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == ["row 2: name", "row 4: aliases"]
    for error in errors:
        assert "公式" in error["message"]
        assert "values, not formulas" in error["message"]
    assert "#N/A" in errors[1]["message"]
    assert await _entries(client, draft, cq) == before
    # A formula's saved result is its value, as the profile and posting importers read it.
    data = _workbook_with_formulas({(4, "industry"): ('="仓储"&"物流"', "仓储物流")})
    imported = await _import(client, draft, cq, data, "catalogue.xlsx", XLSX_MEDIA_TYPE)
    assert imported.status_code == 200, imported.text
    assert imported.json()["changed"] == [SAMPLE_ENTRIES[3].occupation_code]
