"""Reading uploads row by row and mapping spreadsheet conventions onto the create schemas (no services)."""

from __future__ import annotations

import codecs
import datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from matching.regions import load_regions
from services.api.imports import readers
from services.api.imports.mapping import RowMapper, normalise_header, parse_wage_text
from services.api.imports.readers import ImportFileError, OpenedSource, SourceRow, format_of, open_source
from services.api.jobs.schemas import JobCreate
from services.api.worker_profiles.schemas import WorkerCreate, WorkerFields
from tests.services.api.imports.rows import CHINESE_HEADER, ods_bytes, swollen_workbook, to_csv, worker_row


@pytest.fixture
def mapper() -> RowMapper:
    return RowMapper("workers", WorkerCreate, load_regions())


def _open(path: Path, fmt: str, mapper: RowMapper) -> tuple[OpenedSource, list[SourceRow]]:
    handle = path.open("rb")
    try:
        with open_source(path, handle, fmt, mapper.header_score) as source:  # type: ignore[arg-type]
            return source, list(source.rows)
    finally:
        handle.close()


def test_csv_with_bom_and_chinese_headers_maps_to_the_create_schema(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(codecs.BOM_UTF8 + to_csv([worker_row(1), worker_row(2)]).encode())
    source, rows = _open(path, "csv", mapper)
    assert source.encoding == "utf-8-sig"
    assert source.headers == CHINESE_HEADER
    assert mapper.plan(source.headers) == []
    assert [r.number for r in rows] == [2, 3]
    mapped = mapper.map_tabular(rows[0])
    model = mapper.validate(mapped)
    assert model is not None, mapped.errors
    body = model.model_dump(mode="json")
    assert body["home_adcode"] == "500107"  # 九龙坡区 resolved by name
    assert body["occupations"] == ["焊工", "电工"]
    assert body["skills"] == ["氩弧焊", "二保焊"]
    assert body["expected_wage"] == {"min": 5000, "max": 8000, "unit": "month"}
    assert body["gender"] == "male"
    assert body["willing_to_relocate"] is True
    assert body["consent"]["share_with_enterprises"] is True
    assert body["consent"]["given_at"].startswith("2026-01-15T00:00:00")


def test_gbk_csv_is_detected(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(to_csv([worker_row(1)]).encode("gbk"))
    source, rows = _open(path, "csv", mapper)
    assert source.encoding == "gb18030"
    assert rows[0].values is not None
    assert rows[0].values["姓名"] == "测试1号"


def _mixed_csv(odd_rows: set[int], *, odd: str, rest: str, rows: list[dict[str, Any]] | None = None,
               bom: bytes = b"") -> bytes:
    """A CSV of `rows` (five workers by default) in `rest`, but for the rows numbered in `odd_rows` (spreadsheet
    rows: header = 1), which are in `odd`."""
    lines = to_csv(rows or [worker_row(n) for n in range(1, 6)]).splitlines(keepends=True)
    return bom + b"".join(line.encode(odd if number in odd_rows else rest)
                          for number, line in enumerate(lines, start=1))


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_utf8_csv_with_some_gbk_rows_is_refused_naming_the_lines(tmp_path: Path, mapper: RowMapper,
                                                                   bom: bytes) -> None:
    # Read as GB18030 (which decodes almost any bytes), such a file was imported with every UTF-8 row garbled.
    path = tmp_path / "w.csv"
    path.write_bytes(_mixed_csv({3, 5}, odd="gbk", rest="utf-8", bom=bom))
    with pytest.raises(ImportFileError) as caught:
        _open(path, "csv", mapper)
    assert caught.value.code == "mixed_encoding"
    assert "3、5" in caught.value.message
    assert "3, 5" in caught.value.message
    assert "测试" not in caught.value.message  # no cell values


def test_a_gbk_csv_with_some_utf8_rows_is_refused_naming_the_lines(tmp_path: Path, mapper: RowMapper) -> None:
    # Read as GB18030 (which decodes UTF-8 bytes too), such a file was imported with its UTF-8 rows garbled.
    path = tmp_path / "w.csv"
    path.write_bytes(_mixed_csv({4, 6}, odd="utf-8", rest="gbk", rows=[worker_row(n) for n in range(1, 8)]))
    with pytest.raises(ImportFileError) as caught:
        _open(path, "csv", mapper)
    assert caught.value.code == "mixed_encoding"
    assert "4、6" in caught.value.message
    assert "4, 6" in caught.value.message
    assert "GBK" in caught.value.message
    assert "测试" not in caught.value.message  # no cell values


def test_a_utf8_row_with_a_middle_dot_in_a_gbk_csv_is_found_too(tmp_path: Path, mapper: RowMapper) -> None:
    # Uyghur and Yi names are written with a middle dot (U+00B7), as are × and ° in skills: such a UTF-8 row
    # was taken for GBK decoding by chance and imported garbled.
    path = tmp_path / "w.csv"
    rows = [worker_row(n) for n in range(1, 6)]
    rows[2] = {**rows[2], "姓名": "阿卜杜·热合曼", "技能": "焊接×2年;高温40°"}
    path.write_bytes(_mixed_csv({4}, odd="utf-8", rest="gbk", rows=rows))
    with pytest.raises(ImportFileError) as caught:
        _open(path, "csv", mapper)
    assert caught.value.code == "mixed_encoding"
    assert "第 4 行" in caught.value.message


def test_a_gbk_csv_with_a_row_that_happens_to_be_valid_utf8_is_read_as_gbk(tmp_path: Path, mapper: RowMapper) -> None:
    # 卢茂 in GBK is also valid UTF-8: a GBK file is told from a mixed one by most of its lines, not by any one.
    path = tmp_path / "w.csv"
    rows = [worker_row(n) for n in range(1, 4)]
    rows[1] = {**rows[1], "姓名": "卢茂", "性别": "", "户籍地": "500107", "工种": "6-18-02-04", "技能": "",
               "期望薪资": "", "愿意异地": "1", "同意共享": "1"}
    content = to_csv(rows).encode("gbk")
    assert content.splitlines()[2].decode("utf-8")  # the premise
    path.write_bytes(content)
    source, read = _open(path, "csv", mapper)
    assert source.encoding == "gb18030"
    assert [r.values["姓名"] for r in read if r.values is not None] == ["测试1号", "卢茂", "测试3号"]


def test_title_row_above_the_header_is_skipped(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.csv"
    path.write_text("2026年春季劳务输出人员名单,,,\n" + to_csv([worker_row(1)]), encoding="utf-8")
    source, rows = _open(path, "csv", mapper)
    assert source.header_row == 2
    assert [r.number for r in rows] == [3]


def test_empty_and_header_only_files(tmp_path: Path, mapper: RowMapper) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n\n")
    with pytest.raises(ImportFileError) as caught:
        _open(empty, "csv", mapper)
    assert caught.value.code == "empty"
    header_only = tmp_path / "h.csv"
    header_only.write_text(",".join(CHINESE_HEADER) + "\n", encoding="utf-8")
    _, rows = _open(header_only, "csv", mapper)
    assert rows == []


def test_unknown_and_missing_columns_are_reported(mapper: RowMapper) -> None:
    problems = mapper.plan(["姓名", "身份证号", "手机号", "户籍地", "可到岗日期", "同意共享", "同意时间", "血型"])
    assert len(problems) == 1
    assert "血型" in problems[0]
    problems = mapper.plan(["姓名", "手机号"])
    assert "id_number" in problems[0]
    assert "身份证号" in problems[0]
    assert "consent.given_at" in problems[0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_data_row_taken_for_the_header_is_refused_without_quoting_it(tmp_path: Path, mapper: RowMapper,
                                                                       fmt: str) -> None:
    # A sheet without a header row: its first person's name, ID number and phone were listed as "unknown
    # columns" in the import's status (and the notice and webhook that copy it).
    person, other = worker_row(7), worker_row(8)
    path = tmp_path / f"w.{fmt}"
    if fmt == "csv":
        path.write_text("".join(to_csv([person, other]).splitlines(keepends=True)[1:]), encoding="utf-8")
    else:
        with xlsxwriter.Workbook(str(path)) as book:
            sheet = book.add_worksheet()
            for r, row in enumerate((person, other)):
                sheet.write_row(r, 0, [str(row[h]) for h in CHINESE_HEADER])
    with pytest.raises(ImportFileError) as caught:
        _open(path, fmt, mapper)
    assert caught.value.code == "header_is_data"
    for value in (person["姓名"], person["身份证号"], person["手机号"]):
        assert value not in caught.value.message


def test_a_data_row_of_full_width_numbers_taken_for_the_header_is_refused_too(tmp_path: Path,
                                                                            mapper: RowMapper) -> None:
    # ５００１０７… typed in a Chinese input method's full-width mode is the same ID number: as a header it was not
    # recognised as one, and the sheet's first person was quoted as "unknown columns".
    wide = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}
    person = {**worker_row(7), "序号": "", "手机号": ""}
    person["身份证号"] = person["身份证号"].translate(wide)
    path = tmp_path / "w.csv"
    path.write_text("".join(to_csv([person, worker_row(8)]).splitlines(keepends=True)[1:]), encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        _open(path, "csv", mapper)
    assert caught.value.code == "header_is_data"


def test_a_sheet_with_thousands_of_stray_columns_gets_a_short_report() -> None:
    # The report is stored with the import and copied into its notification and webhook body.
    required = ["姓名", "身份证号", "手机号", "户籍地", "可到岗日期", "同意共享", "同意时间"]
    stray = [f"列{i}" + "x" * 200 for i in range(100_000)]
    problems = RowMapper("workers", WorkerCreate, load_regions()).plan(required + stray + ["姓名"] * 5_000)
    assert sum(len(p) for p in problems) < 10_000
    assert any("列0" in p and "and 99980 more" in p for p in problems)
    assert any("4980 more repeated columns" in p for p in problems)


def test_headers_with_markers_and_dotted_names() -> None:
    assert normalise_header("*姓名（必填）") == "姓名"
    assert normalise_header(" Consent.Share_With_Enterprises ") == "consent.share_with_enterprises"
    mapper = RowMapper("workers", WorkerCreate, load_regions())
    assert mapper.target_of("consent.share_with_enterprises").path == "consent.share_with_enterprises"  # type: ignore[union-attr]
    assert mapper.target_of("expected_wage.min").path == "expected_wage.min"  # type: ignore[union-attr]


def test_row_errors_name_the_field_but_not_the_value(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.csv"
    rows = [worker_row(1, 同意共享="也许", 户籍地="不存在县"), worker_row(2, 期望薪资="面议")]
    path.write_text(to_csv(rows), encoding="utf-8")
    source, read = _open(path, "csv", mapper)
    mapper.plan(source.headers or [])
    first = mapper.map_tabular(read[0])
    assert mapper.validate(first) is None
    assert {e.field for e in first.errors} == {"consent.share_with_enterprises", "home_adcode"}
    assert all("也许" not in e.message and "不存在县" not in e.message for e in first.errors)
    second = mapper.map_tabular(read[1])
    assert [(e.row, e.field) for e in second.errors] == [(3, "expected_wage")]


def test_ndjson_bad_line_is_a_row_error(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.ndjson"
    path.write_bytes(b'{"name": "a"}\n{not json\n\n[1, 2]\n{"consent.share_with_enterprises": true}\n')
    source, rows = _open(path, "ndjson", mapper)
    assert source.headers is None
    assert [(r.number, r.error is None) for r in rows] == [(1, True), (2, False), (4, False), (5, True)]
    assert mapper.map_json(rows[3]).body == {"consent": {"share_with_enterprises": True}}


def test_xlsx_formulas_dates_and_merged_cells(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("名单")
    sheet.write_row(0, 0, ["劳务输出人员名单"])  # a title row
    sheet.write_row(1, 0, CHINESE_HEADER)
    for i, n in enumerate((1, 2, 3), start=2):
        row = worker_row(n)
        for j, header in enumerate(CHINESE_HEADER):
            value = row[header]
            if header in ("身份证号", "手机号"):
                sheet.write_string(i, j, str(value))
            elif header != "户籍地":
                sheet.write(i, j, value)
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_datetime(2, CHINESE_HEADER.index("可到岗日期"), datetime.datetime(2030, 5, 1), date_format)
    # A formula with its cached value (as Excel saves it): =DATE(2030,6,1) without a date format.
    sheet.write_formula(3, CHINESE_HEADER.index("可到岗日期"), "=DATE(2030,6,1)", None, 47635)
    # 户籍地 merged over the three data rows: only the first row has the value.
    sheet.merge_range(2, CHINESE_HEADER.index("户籍地"), 4, CHINESE_HEADER.index("户籍地"), "江北区")
    # 手机号 as a number cell is fine (11 digits); an 18-digit ID number as a number is not.
    sheet.write_number(4, CHINESE_HEADER.index("手机号"), 13800000003)
    workbook.close()

    source, rows = _open(path, "xlsx", mapper)
    assert source.header_row == 2
    assert mapper.plan(source.headers or []) == []
    assert [r.number for r in rows] == [3, 4, 5]
    models = [mapper.validate(mapped := mapper.map_tabular(r)) or mapped for r in rows]
    first = models[0]
    assert isinstance(first, WorkerFields)
    assert first.home_adcode == "500105"
    assert first.available_from == datetime.date(2030, 5, 1)
    for number, failed in zip((4, 5), models[1:], strict=True):
        assert not isinstance(failed, WorkerFields)
        assert [(e.row, e.field) for e in failed.errors] == [(number, "home_adcode")]
        assert "合并单元格" in failed.errors[0].message
        assert "merged" in failed.errors[0].message
    # The formula's cached serial number became a date.
    assert mapper.map_tabular(rows[1]).body["available_from"] == "2030-06-01"  # type: ignore[index]


def test_formula_cells_without_a_result_are_found_across_the_sheet(tmp_path: Path) -> None:
    # The sheet XML is scanned in 1 MiB chunks: a cell cut by a chunk boundary must still be seen whole.
    path = tmp_path / "f.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    expected: dict[tuple[int, int], str] = {}
    for r in range(6000):
        sheet.write_row(r, 0, list(range(r, r + 10)))
        if r % 97 == 5:
            sheet.write_formula(r, 3, "=A1*2", None, "")
            expected[(r + 1, 3)] = readers.FORMULA_UNCALCULATED
        elif r % 89 == 7:
            sheet.write_formula(r, 8, "=VLOOKUP(A1,B:C,2,0)", None, "#N/A")
            expected[(r + 1, 8)] = readers.FORMULA_ERROR
        elif r % 83 == 1:
            sheet.write_formula(r, 2, "=A1+1", None, r + 1)  # a formula with its result is fine
    workbook.close()
    assert readers.check_xlsx_archive(path) == expected


def test_a_workbook_that_unpacks_too_far_is_refused_before_it_is_read(
        tmp_path: Path, mapper: RowMapper, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = swollen_workbook(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImportFileError) as refused:
        _open(bomb, "xlsx", mapper)
    assert refused.value.code == "xlsx_too_large"
    # An ordinary workbook passes; the same one over the unpacked-size limit does not.
    path = tmp_path / "w.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet().write_row(0, 0, CHINESE_HEADER)
    workbook.add_worksheet().write_row(1, 0, list(worker_row(1).values()))
    workbook.close()
    readers.check_xlsx_archive(path)
    monkeypatch.setattr(readers, "XLSX_MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(ImportFileError) as too_big:
        readers.check_xlsx_archive(path)
    assert too_big.value.code == "xlsx_too_large"
    assert "CSV" in too_big.value.message


def test_a_first_sheet_reaching_far_is_refused_before_it_is_read(tmp_path: Path, mapper: RowMapper) -> None:
    # calamine's grid spans A1 to the furthest cell: one cell at row 1,000,000, column 200 made a 5 KB file
    # cost 6 GB. Only the first sheet is read, so only it counts.
    far = tmp_path / "far.xlsx"
    workbook = xlsxwriter.Workbook(str(far))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, CHINESE_HEADER)
    sheet.write_string(999_999, 199, "x")
    workbook.close()
    assert far.stat().st_size < 20_000
    with pytest.raises(ImportFileError) as refused:
        _open(far, "xlsx", mapper)
    assert refused.value.code == "xlsx_too_large"
    assert "1000000" in refused.value.message

    second_far = tmp_path / "second.xlsx"
    workbook = xlsxwriter.Workbook(str(second_far))
    workbook.add_worksheet("名单").write_row(0, 0, CHINESE_HEADER)
    workbook.worksheets()[0].write_row(1, 0, [str(v) for v in worker_row(1).values()])
    workbook.add_worksheet("备注").write_string(999_999, 199, "x")
    workbook.close()
    source, rows = _open(second_far, "xlsx", mapper)
    assert source.headers == CHINESE_HEADER
    assert len(rows) == 1


def test_id_number_stored_as_excel_number_is_refused(tmp_path: Path, mapper: RowMapper) -> None:
    row = SourceRow(2, {**worker_row(1), "身份证号": 5.00107198001011e17})
    mapper.plan(CHINESE_HEADER)
    mapped = mapper.map_tabular(row)
    assert [e.field for e in mapped.errors] == ["id_number"]
    assert "15" in mapped.errors[0].message


def test_wage_text_and_job_headers() -> None:
    assert parse_wage_text("5000-8000元/月", None) == {"min": 5000, "max": 8000, "unit": "month"}
    assert parse_wage_text("200元/天", None) == {"min": 200, "max": 200, "unit": "day"}
    assert parse_wage_text("6k-8k", "month") == {"min": 6000, "max": 8000, "unit": "month"}
    jobs = RowMapper("jobs", JobCreate, load_regions())
    assert jobs.plan(["岗位名称", "招聘人数", "工作地点", "月薪下限", "月薪上限", "用工形式", "开工日期"]) == []
    mapped = jobs.map_tabular(SourceRow(2, {"岗位名称": "电焊工", "招聘人数": 3.0, "工作地点": "成都市武侯区",
                                            "月薪下限": 6000.0, "月薪上限": 9000, "用工形式": "全职",
                                            "开工日期": datetime.date(2030, 1, 1)}))
    model = jobs.validate(mapped)
    assert isinstance(model, JobCreate), mapped.errors
    assert model.wage.unit == "month"
    assert model.adcode == "510107"
    assert model.work_type == "full_time"


def test_ambiguous_county_name_asks_for_the_city(mapper: RowMapper) -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        mapper.resolve_place("市中区")
    assert mapper.resolve_place("乐山市市中区") == "511102"
    assert mapper.resolve_place("重庆市江北区") == "500105"


def test_format_detection() -> None:
    assert format_of("text/csv; charset=utf-8", None, b"a,b") == "csv"
    assert format_of("application/octet-stream", "名单.xlsx", b"PK\x03\x04") == "xlsx"
    assert format_of("application/octet-stream", None, b"PK\x03\x04") == "xlsx"
    assert format_of(None, "x.jsonl", b"{") == "ndjson"
    assert format_of("image/png", None, b"\x89PNG") is None


@pytest.mark.parametrize(("media_type", "filename"), [
    ("text/csv", None), ("application/vnd.ms-excel", "名单.xlsx"), ("application/x-ndjson", None),
    ("application/octet-stream", "a.csv")])
def test_a_workbook_is_known_by_its_bytes_whatever_it_is_labelled(media_type: str, filename: str | None) -> None:
    # Labelled text it was read as text: "neither UTF-8 nor GBK", or as NDJSON one "not valid JSON" per line.
    assert format_of(media_type, filename, b"PK\x03\x04\x14\x00") == "xlsx"
    with pytest.raises(readers.LegacyWorkbook):
        format_of("application/vnd.ms-excel", "名单.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00")


def test_an_ods_spreadsheet_is_known_by_its_bytes_and_refused() -> None:
    content = ods_bytes([CHINESE_HEADER])
    for media_type, filename in (("application/octet-stream", None), ("application/vnd.ms-excel", "名单.xlsx"),
                                 ("application/vnd.oasis.opendocument.spreadsheet", None),
                                 ("application/octet-stream", "名单.ods")):
        with pytest.raises(readers.OpenDocumentSpreadsheet):
            format_of(media_type, filename, content[:8192])


@pytest.mark.parametrize("mimetype_first", [True, False])
def test_a_zip_that_is_no_xlsx_is_refused_before_calamine_reads_it(tmp_path: Path, mapper: RowMapper,
                                                                   mimetype_first: bool) -> None:
    # calamine reads an .ods (named anything but .xlsx, as the upload precheck's file is) and expands its repeated
    # cells into its grid: this 1 KB file of 3,000 × 1,000 cells took the API ~370 MB; 100 times as many rows, a
    # few bytes more, are gigabytes. None of the XLSX bounds (unpacked size, grid) saw it.
    path = tmp_path / "w.upload"
    path.write_bytes(ods_bytes([CHINESE_HEADER, [str(worker_row(1)[h]) for h in CHINESE_HEADER]],
                               repeated=(3_000, 1_000), mimetype_first=mimetype_first))
    assert path.stat().st_size < 2048
    with pytest.raises(ImportFileError) as caught:
        _open(path, "xlsx", mapper)
    assert caught.value.code == "xlsx_unreadable"
    assert "ODS" in caught.value.message


def test_an_ndjson_line_in_another_encoding_says_so(tmp_path: Path, mapper: RowMapper) -> None:
    path = tmp_path / "w.ndjson"
    path.write_bytes(b'{"name": "a"}\n' + '{"name": "张三"}\n'.encode("gbk") + b"{oops\n")
    _, rows = _open(path, "ndjson", mapper)
    assert [r.error for r in rows][1:] == [
        "不是 UTF-8 编码（NDJSON 须为 UTF-8，GBK 等编码请转换）/ not UTF-8 text (NDJSON must be UTF-8, not GBK)",
        "不是合法的 JSON / not valid JSON"]


def test_repeated_cells_are_converted_once_but_every_row_gets_its_own_values_and_errors(
        tmp_path: Path, mapper: RowMapper) -> None:
    # Each distinct cell of a repeating column (places, trades, wages …) is converted once per import: the rows
    # must still be independent, and a bad cell must be reported on every row that has it.
    rows = [worker_row(1), worker_row(3), worker_row(5, 户籍地="不存在县"), worker_row(7, 户籍地="不存在县")]
    path = tmp_path / "w.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    source, read = _open(path, "csv", mapper)
    assert mapper.plan(source.headers or []) == []
    first, second, bad1, bad2 = (mapper.map_tabular(r) for r in read)
    assert first.body is not None
    assert second.body is not None
    assert first.body["home_adcode"] == second.body["home_adcode"] == "500107"
    assert first.body["skills"] == second.body["skills"] == ["氩弧焊", "二保焊"]
    assert first.body["expected_wage"] == second.body["expected_wage"]
    assert first.body["skills"] is not second.body["skills"]
    assert first.body["expected_wage"] is not second.body["expected_wage"]
    first.body["skills"].append("x")
    assert mapper.map_tabular(read[1]).body["skills"] == ["氩弧焊", "二保焊"]  # type: ignore[index]
    assert [(e.row, e.field) for e in bad1.errors + bad2.errors] == [(4, "home_adcode"), (5, "home_adcode")]
    assert bad1.errors[0].message == bad2.errors[0].message


@pytest.mark.parametrize(("cell", "given_at"), [
    ("2026/1/15 9:30", "2026-01-15T09:30:00+08:00"),
    ("2026-01-15 09:30:05", "2026-01-15T09:30:05+08:00"),
    ("2026-01-15T09:30", "2026-01-15T09:30:00+08:00"),
    ("2026年1月15日 9:30", "2026-01-15T09:30:00+08:00"),
    ("2026-01-15T09:30:00+00:00", "2026-01-15T09:30:00+00:00"),  # an offset given is kept
    ("2026-01-15T09:30:00Z", "2026-01-15T09:30:00+00:00"),
])
def test_a_date_and_time_written_without_an_offset_is_china_time(mapper: RowMapper, cell: str,
                                                                 given_at: str) -> None:
    # Every row of a CSV whose 同意时间 said "2026/1/15 9:30" was refused ("given_at needs a UTC offset"), while
    # the same value in a datetime cell, or a bare date, was read as China time.
    assert mapper.plan(CHINESE_HEADER) == []
    mapped = mapper.map_tabular(SourceRow(2, {k: str(v) for k, v in worker_row(1, 同意时间=cell).items()}))
    model = mapper.validate(mapped)
    assert model is not None, mapped.errors
    assert isinstance(model, WorkerFields)
    assert model.consent.given_at == datetime.datetime.fromisoformat(given_at)


@pytest.mark.parametrize(("cell", "available_from", "given_at"), [
    ("46357", "2026-12-01", "2026-12-01T00:00:00+08:00"),
    ("46357.75", "2026-12-01", "2026-12-01T00:00:00+08:00"),
])
def test_an_excel_serial_number_written_as_text_is_a_date(mapper: RowMapper, cell: str, available_from: str,
                                                          given_at: str) -> None:
    # A CSV saved from a sheet whose date columns had no date format holds serial day numbers: pydantic read
    # them as seconds since 1970 (consent stored as given on 1970-01-01; availability "should have zero time").
    assert mapper.plan(CHINESE_HEADER) == []
    row = {k: str(v) for k, v in worker_row(1, 可到岗日期=cell, 同意时间=cell).items()}
    mapped = mapper.map_tabular(SourceRow(2, row))
    model = mapper.validate(mapped)
    assert model is not None, mapped.errors
    assert isinstance(model, WorkerFields)
    assert model.available_from == datetime.date.fromisoformat(available_from)
    assert model.consent.given_at == datetime.datetime.fromisoformat(given_at)


def _workbook(path: Path, sheets: list[tuple[str, list[list[str]]]]) -> Path:
    with xlsxwriter.Workbook(str(path)) as book:
        for name, rows in sheets:
            sheet = book.add_worksheet(name)
            for r, cells in enumerate(rows):
                sheet.write_row(r, 0, cells)
    return path


def _sheet_rows(*numbers: int) -> list[list[str]]:
    return [CHINESE_HEADER] + [[str(worker_row(n)[h]) for h in CHINESE_HEADER] for n in numbers]


def test_rows_on_a_sheet_that_is_not_read_refuse_the_workbook(tmp_path: Path, mapper: RowMapper) -> None:
    # Only the first sheet is read: the rows of a list split over two sheets were left out without a word.
    split = _workbook(tmp_path / "split.xlsx", [("一组", _sheet_rows(1, 2)), ("二组", _sheet_rows(3))])
    with pytest.raises(ImportFileError) as caught:
        _open(split, "xlsx", mapper)
    assert caught.value.code == "xlsx_sheets"
    assert "第 2 个工作表（二组）" in caught.value.message
    # Instructions first and the rows behind them: the failure named the instructions as unknown columns.
    behind = _workbook(tmp_path / "behind.xlsx", [("填写说明", [["说明"], ["请在第二页填写"]]),
                                                  ("名单", _sheet_rows(1))])
    with pytest.raises(ImportFileError) as caught:
        _open(behind, "xlsx", mapper)
    assert caught.value.code == "xlsx_sheets"
    assert "move that sheet to the front" in caught.value.message
    # Other sheets without such a header (instructions, a list of counties for a drop-down) are no rows of ours.
    fine = _workbook(tmp_path / "fine.xlsx", [("名单", _sheet_rows(1, 2)), ("说明", [["说明"], ["必填：姓名"]]),
                                              ("区县", [["区县", "代码"], ["九龙坡区", "500107"]])])
    _, rows = _open(fine, "xlsx", mapper)
    assert [r.number for r in rows] == [2, 3]


def test_a_rule_across_fields_names_its_field_in_a_row_error(mapper: RowMapper) -> None:
    # The schemas' cross-field checks were one model validator: an import reported them without a field.
    assert mapper.plan(CHINESE_HEADER) == []
    mapped = mapper.map_tabular(SourceRow(2, {k: str(v) for k, v in worker_row(1, 技能="焊" * 41).items()}))
    assert mapper.validate(mapped) is None
    assert [e.field for e in mapped.errors] == ["skills"]
    jobs = RowMapper("jobs", JobCreate, load_regions())
    header = ["岗位名称", "招聘人数", "工作地点", "月薪", "用工形式", "开工日期", "结束日期", "年龄下限", "年龄上限"]
    assert jobs.plan(header) == []
    cells = ["焊工", "2", "500107", "6000-8000", "全职", "2026-12-10", "2026-12-01", "40", "30"]
    mapped = jobs.map_tabular(SourceRow(2, dict(zip(header, cells, strict=True))))
    assert jobs.validate(mapped) is None
    # each rule names both of its fields
    assert sorted(e.field or "" for e in mapped.errors) == ["age_max", "age_min", "end_date", "start_date"]
